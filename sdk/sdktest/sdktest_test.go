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
	}
	for _, tt := range tests {
		t.Run("mode="+tt.mode, func(t *testing.T) {
			t.Parallel()
			results := Check(context.Background(), Config{
				Binary: testPlugin, Env: []string{"TESTPLUGIN_MODE=" + tt.mode}, CallGrace: 3 * time.Second,
				LongJob: sdk.JobSpec{Name: "long", Kind: sdk.KindCommand, Command: []string{"sleep", "600"}},
			})
			var failed []string
			for _, r := range results {
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
