package sdktest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

var testPlugin string

// testToken is the test plugin's secret setting, which no check's detail
// may show.
const testToken = "tok-8c1f2e9a"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sdktest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testPlugin = filepath.Join(dir, "neural-plugin-testplugin")
	code := 1
	if out, err := exec.Command("go", "build", "-o", testPlugin, "./testdata/testplugin").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the test plugin: %v\n%s", err, out)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestSuite(t *testing.T) {
	tests := []struct {
		mode   string
		failed string // the check that must fail; empty: all pass
		detail string
	}{
		{"", "", ""},
		{"stdout", "handshake", "wrote \"hello from a chatty plugin\" to stdout"},
		{"protocol2", "handshake", "speaks plugin protocol 2; this neural-host speaks 1"},
		{"untyped", "typed errors", "want an error of kind not found"},
		{"duplicate", "idempotent submit", "same idempotency key started job"},
		{"stubborn", "context cancellation", "after its context ended"},
		{"files-unserved", "capabilities", "files is declared but not served"},
		{"states-stale", "job states", "JobStates says job 1 is queued; Status says running"},
		{"orphan", "clean shutdown", "outlived it"},
		{"list-ignores-labels", "list by label", "which does not match the filter"},
		{"logs-ignore-cursor", "logs resume", "with no repeats and no gaps"},
		{"result-without-metrics", "result of a succeeded job", "read that file into Metrics"},
		{"secret-in-error", "secrets in errors", `quotes the value of secret setting "token"`},
	}
	for _, tt := range tests {
		t.Run("mode="+tt.mode, func(t *testing.T) {
			t.Parallel()
			results := Check(context.Background(), Config{
				Binary: testPlugin, Env: []string{"TESTPLUGIN_MODE=" + tt.mode, "TESTPLUGIN_TOKEN=" + testToken}, CallGrace: 3 * time.Second,
				LongJob: sdk.JobSpec{Name: "long", Kind: sdk.KindCommand, Command: []string{"sleep", "600"}},
			})
			var failed []string
			for _, r := range results {
				if strings.Contains(r.Detail, testToken) {
					t.Errorf("%s shows the secret token: %s", r.Check, r.Detail)
				}
				if r.OK && r.Detail == "" {
					t.Errorf("%s passed without saying what it exercised", r.Check)
				}
				if !r.OK {
					failed = append(failed, r.Check)
					if r.Check == tt.failed && !strings.Contains(r.Detail, tt.detail) {
						t.Errorf("%s failed with %q, want it to say %q", r.Check, r.Detail, tt.detail)
					}
				}
			}
			want := []string{}
			if tt.failed != "" {
				want = []string{tt.failed}
			}
			if strings.Join(failed, ",") != strings.Join(want, ",") {
				t.Errorf("failed checks %v, want %v", failed, want)
			}
		})
	}
}

func TestNotApplicable(t *testing.T) {
	long := sdk.JobSpec{Name: "long", Kind: sdk.KindCommand, Command: []string{"sleep", "600"}}
	tests := []struct {
		name          string
		notApplicable map[string]string
		check, detail string // the result for check must say detail
		ok            bool
	}{
		{"reason reported", map[string]string{"page tokens": "the fake ignores page sizes"}, "page tokens", "not applicable: the fake ignores page sizes", true},
		{"unknown check", map[string]string{"pagination": "typo"}, "config", `NotApplicable names "pagination", which is no check`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			results := Check(context.Background(), Config{Binary: testPlugin, LongJob: long, NotApplicable: tt.notApplicable})
			for _, r := range results {
				if r.Check == tt.check {
					if r.OK != tt.ok || !strings.Contains(r.Detail, tt.detail) {
						t.Errorf("%s: ok=%v %q, want ok=%v saying %q", r.Check, r.OK, r.Detail, tt.ok, tt.detail)
					}
					return
				}
			}
			t.Errorf("no result for %s in %+v", tt.check, results)
		})
	}
}
