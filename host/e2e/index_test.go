package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The fake platform plugin (sdk/sdktest/testdata/fakeplatform) is built
// once per test run, on first use, beside the binaries TestMain builds.
var (
	fakeOnce sync.Once
	fakeErr  error
)

func fakeBinary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(binDir, "fake", "neural-plugin-fake")
	fakeOnce.Do(func() {
		root, _ := filepath.Abs("../..")
		// The second build is another platform, fake2.
		for _, name := range []string{"fake", "fake2"} {
			cmd := exec.Command("go", "build", "-ldflags", "-X main.name="+name, "-o", filepath.Join(binDir, "fake", "neural-plugin-"+name), "./sdk/sdktest/testdata/fakeplatform")
			cmd.Dir = root
			if b, err := cmd.CombinedOutput(); err != nil {
				fakeErr = fmt.Errorf("building the fake platform: %v\n%s", err, b)
				return
			}
		}
	})
	if fakeErr != nil {
		t.Fatal(fakeErr)
	}
	return out
}

// newFakeEnv is a user with the local, fake and fake2 platforms installed
// and the fake ones configured through their environment variables.
func newFakeEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	bin := fakeBinary(t)
	e.ok("plugins", "install", bin)
	e.ok("plugins", "install", filepath.Join(filepath.Dir(bin), "neural-plugin-fake2"))
	e.extra = append(e.extra, "FAKEPLATFORM_DIR="+e.fakeDir(), "FAKEPLATFORM_API_KEY=test-key")
	return e
}

func (e *env) fakeDir() string { return filepath.Join(e.root, "fake") }

// call is one line of the fake platform's calls.log.
type call struct {
	platform, method, id string
	pid                  int
}

func (e *env) calls() []call {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.fakeDir(), "calls.log"))
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	var out []call
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var c call
		if _, err := fmt.Sscanf(l, "%s %d %s %s", &c.platform, &c.pid, &c.method, &c.id); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// count counts calls of method to platform ("" for any), and the distinct
// plugin processes that served them.
func count(calls []call, platform, method string) (n int, pids map[int]bool) {
	pids = map[int]bool{}
	for _, c := range calls {
		if c.method == method && (platform == "" || c.platform == platform) {
			n++
			pids[c.pid] = true
		}
	}
	return n, pids
}

// fakeJobs counts the jobs the fake platform holds for platform.
func (e *env) fakeJobs(platform string) int {
	entries, _ := os.ReadDir(filepath.Join(e.fakeDir(), platform, "jobs"))
	n := 0
	for _, d := range entries {
		if strings.HasSuffix(d.Name(), ".json") && !strings.HasPrefix(d.Name(), ".") {
			n++
		}
	}
	return n
}

type listedJob struct {
	Ref            string            `json:"ref"`
	ID             string            `json:"id"`
	Platform       string            `json:"platform"`
	Name           string            `json:"name"`
	State          string            `json:"state"`
	Submission     string            `json:"submission"`
	IdempotencyKey string            `json:"idempotency_key"`
	Batch          string            `json:"batch"`
	Indexed        bool              `json:"indexed"`
	SubmitError    string            `json:"submit_error"`
	Labels         map[string]string `json:"labels"`
}

type jobList struct {
	Jobs   []listedJob       `json:"jobs"`
	Errors map[string]string `json:"errors"`
}

type reconciled struct {
	Platform string `json:"platform"`
	Outcome  string `json:"outcome"`
	Ref      string `json:"ref"`
	Message  string `json:"message"`
}

func commandSpec(e *env, extra string) string {
	return e.writeSpec("kind: command\ncommand: [train]\n"+extra, map[string]string{})
}

// killDuringSubmit starts a submit to platform whose call never answers,
// waits until the plugin has the call (method in calls.log) and the index
// shows the submission, then kills the host with SIGKILL.
func killDuringSubmit(t *testing.T, e *env, platform, method string, args ...string) {
	t.Helper()
	cmd := e.command(args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the plugin to receive the submit", func() bool {
		n, _ := count(e.calls(), platform, method)
		return n == 1
	})
	// The row was written before the platform call; the call is still in
	// flight, so the row says submitting.
	var l jobList
	e.json(&l, "job", "list", "-p", platform)
	var open []listedJob
	for _, j := range l.Jobs {
		if j.Submission == "submitting" {
			open = append(open, j)
		}
	}
	if len(open) != 1 || open[0].IdempotencyKey == "" || open[0].State != "unknown" {
		t.Fatalf("index during the platform call: %+v", l.Jobs)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

func TestKilledBeforeThePlatformActsThenReconcile(t *testing.T) {
	e := newFakeEnv(t)
	spec := commandSpec(e, "")
	held := append(append([]string(nil), e.extra...), "FAKEPLATFORM_BLOCK_AFTER=0")
	saved := e.extra
	e.extra = held
	killDuringSubmit(t, e, "fake", "SubmitBlocked", "job", "submit", spec, "-p", "fake", "-o", "json")
	e.extra = saved

	var rows []reconciled
	e.json(&rows, "job", "reconcile")
	if len(rows) != 1 || rows[0].Outcome != "not_found" || !strings.Contains(rows[0].Message, "safe to resubmit") {
		t.Fatalf("reconcile: %+v", rows)
	}
	if n := e.fakeJobs("fake"); n != 0 {
		t.Fatalf("the platform has %d jobs before the resubmit", n)
	}
	e.json(&rows, "job", "reconcile", "--resubmit")
	if len(rows) != 1 || rows[0].Outcome != "resubmitted" || !strings.HasPrefix(rows[0].Ref, "fake:") {
		t.Fatalf("reconcile --resubmit: %+v", rows)
	}
	if n := e.fakeJobs("fake"); n != 1 {
		t.Errorf("the platform has %d jobs, want exactly 1", n)
	}
	e.json(&rows, "job", "reconcile", "--resubmit")
	if len(rows) != 0 {
		t.Errorf("a third reconcile still found work: %+v", rows)
	}
	var l jobList
	e.json(&l, "job", "list", "-p", "fake")
	if len(l.Jobs) != 1 || l.Jobs[0].Submission != "submitted" || l.Jobs[0].State != "succeeded" {
		t.Errorf("job list after reconcile: %+v", l.Jobs)
	}
}

func TestKilledAfterThePlatformActedThenReconcile(t *testing.T) {
	e := newFakeEnv(t)
	spec := commandSpec(e, "")
	saved := e.extra
	e.extra = append(append([]string(nil), e.extra...), "FAKEPLATFORM_HANG=after")
	killDuringSubmit(t, e, "fake", "SubmitHung", "job", "submit", spec, "-p", "fake")
	e.extra = saved
	if n := e.fakeJobs("fake"); n != 1 {
		t.Fatalf("the platform has %d jobs", n)
	}
	var rows []reconciled
	e.json(&rows, "job", "reconcile", "--resubmit")
	if len(rows) != 1 || rows[0].Outcome != "found" || !strings.HasPrefix(rows[0].Ref, "fake:") {
		t.Fatalf("reconcile: %+v", rows)
	}
	if n, _ := count(e.calls(), "fake", "Submit"); n != 1 {
		t.Errorf("%d submits reached the platform, want 1 (reconcile must look up, not resubmit)", n)
	}
	if n := e.fakeJobs("fake"); n != 1 {
		t.Errorf("the platform has %d jobs, want exactly 1", n)
	}
}

func TestReconcileLeavesLiveSubmissionsAlone(t *testing.T) {
	e := newFakeEnv(t)
	spec := commandSpec(e, "")
	cmd := e.command("job", "submit", spec, "-p", "fake")
	cmd.Env = append(cmd.Env, "FAKEPLATFORM_BLOCK_AFTER=0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	eventually(t, 20*time.Second, "the plugin to receive the submit", func() bool {
		n, _ := count(e.calls(), "fake", "SubmitBlocked")
		return n == 1
	})
	var rows []reconciled
	e.json(&rows, "job", "reconcile", "--resubmit")
	if len(rows) != 1 || rows[0].Outcome != "in_progress" {
		t.Fatalf("reconcile while the submitting process runs: %+v", rows)
	}
	if n, _ := count(e.calls(), "fake", "Submit"); n != 0 {
		t.Errorf("reconcile resubmitted a live submission")
	}
}

func TestRetriedSubmitLaunchesOnce(t *testing.T) {
	e := newFakeEnv(t)
	e.extra = append(e.extra, "FAKEPLATFORM_LOSE_FIRST=1")
	var j job
	e.json(&j, "job", "submit", commandSpec(e, ""), "-p", "fake")
	if n, _ := count(e.calls(), "fake", "Submit"); n != 2 {
		t.Errorf("%d submit calls, want 2 (the lost answer and the retry)", n)
	}
	if n := e.fakeJobs("fake"); n != 1 {
		t.Errorf("the platform has %d jobs, want 1", n)
	}
	var l jobList
	e.json(&l, "job", "list")
	if len(l.Jobs) != 1 || l.Jobs[0].Ref != j.Ref || l.Jobs[0].Submission != "submitted" {
		t.Errorf("index: %+v, submitted %s", l.Jobs, j.Ref)
	}
}

func TestProcessesWriteTheIndexAtOnce(t *testing.T) {
	e := newFakeEnv(t)
	const procs = 6
	specs := make([]string, procs)
	for i := range specs {
		specs[i] = commandSpec(e, fmt.Sprintf("name: job%d\n", i))
	}
	var wg sync.WaitGroup
	results := make([]run, procs)
	// Two batches and four single submits, all at once.
	for i := 0; i < procs; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i < 2 {
				b := filepath.Join(e.root, fmt.Sprintf("batch%d.yaml", i))
				os.WriteFile(b, []byte(fmt.Sprintf("id: b%d\nplatform: fake\nbase: {kind: command, command: [train]}\nmatrix:\n  env.SEED: [%s]\n", i, seq(40))), 0o644)
				results[i] = e.run("batch", "submit", b, "--parallel", "8", "-o", "json")
				return
			}
			results[i] = e.run("job", "submit", specs[i], "-p", "fake", "-o", "json")
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("process %d: exit %d\n%s", i, r.code, r.stderr)
		}
	}
	var l jobList
	e.json(&l, "job", "list", "--limit", "1000")
	if len(l.Jobs) != 2*40+4 {
		t.Errorf("the index has %d jobs, want %d", len(l.Jobs), 2*40+4)
	}
	for _, j := range l.Jobs {
		if j.Submission != "submitted" || j.State != "succeeded" {
			t.Errorf("job %+v", j)
			break
		}
	}
}

func seq(n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, fmt.Sprintf("%q", fmt.Sprint(i)))
	}
	return strings.Join(parts, ", ")
}

func TestJobListMergesIndexAndPlatforms(t *testing.T) {
	e := newFakeEnv(t)
	var running, done job
	e.json(&running, "job", "submit", commandSpec(e, "labels: {team: a}\noptions: {duration: 1h}\n"), "-p", "fake")
	e.json(&done, "job", "submit", commandSpec(e, "name: quick\nlabels: {team: b}\n"), "-p", "fake")
	if running.State != "queued" || done.State != "queued" {
		t.Fatalf("submit states %s, %s", running.State, done.State)
	}
	// A job another machine submitted: same platform, another index.
	other := newFakeEnv(t)
	other.extra = append(other.extra, "FAKEPLATFORM_DIR="+e.fakeDir())
	var foreign job
	other.json(&foreign, "job", "submit", commandSpec(other, "name: foreign\n"), "-p", "fake")

	refs := func(l jobList) []string {
		var out []string
		for _, j := range l.Jobs {
			out = append(out, j.Ref+"="+j.State)
		}
		return out
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"fresh states from the platform", nil, []string{done.Ref + "=succeeded", running.Ref + "=running"}},
		{"state", []string{"--state", "running"}, []string{running.Ref + "=running"}},
		{"label", []string{"--label", "team=b"}, []string{done.Ref + "=succeeded"}},
		{"platform", []string{"-p", "fake2"}, nil},
		{"since", []string{"--since", "1h"}, []string{done.Ref + "=succeeded", running.Ref + "=running"}},
		{"batch", []string{"--batch", "nope"}, nil},
		{"all asks the platform too", []string{"--all", "-p", "fake"}, []string{foreign.Ref + "=succeeded", done.Ref + "=succeeded", running.Ref + "=running"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l jobList
			e.json(&l, append([]string{"job", "list"}, tt.args...)...)
			if fmt.Sprint(refs(l)) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", refs(l), tt.want)
			}
			for _, j := range l.Jobs {
				if j.Indexed != (j.Ref != foreign.Ref) {
					t.Errorf("%s: indexed = %v", j.Ref, j.Indexed)
				}
			}
		})
	}
	if r := e.run("job", "list", "--state", "bogus"); r.code != 2 || !strings.Contains(r.stderr, "--state") {
		t.Errorf("bad state: exit %d %s", r.code, r.stderr)
	}
	if r := e.run("job", "list", "--page-token", "3"); r.code != 2 || !strings.Contains(r.stderr, "--all") {
		t.Errorf("page token without --all: exit %d %s", r.code, r.stderr)
	}
}

// keysOf decodes one JSON object, or the first of an array, and fails the
// test for any of keys it lacks.
func keysOf(t *testing.T, what, out string, keys ...string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", what, err, out)
	}
	obj, ok := v.(map[string]any)
	if arr, isArr := v.([]any); isArr && len(arr) > 0 {
		obj, ok = arr[0].(map[string]any)
	}
	if !ok {
		t.Fatalf("%s: not an object or a non-empty array of objects: %s", what, out)
	}
	for _, k := range keys {
		if _, has := obj[k]; !has {
			t.Errorf("%s: missing field %q", what, k)
		}
	}
}

func TestIndexJSONShapes(t *testing.T) {
	e := newFakeEnv(t)
	b := filepath.Join(e.root, "b.yaml")
	os.WriteFile(b, []byte("id: shapes\nplatform: fake\nbase: {kind: command, command: [train], options: {duration: 1h}}\nmatrix:\n  env.X: [\"1\", \"2\"]\n"), 0o644)
	submitted := e.ok("batch", "submit", b, "-o", "json")
	keysOf(t, "batch submit", submitted, "batch", "file", "jobs", "counts", "duration_seconds")
	var bs struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	json.Unmarshal([]byte(submitted), &bs)
	keysOf(t, "batch submit job", string(bs.Jobs[0]), "index", "name", "platform", "ref", "id", "idempotency_key", "outcome", "state", "error", "matrix")
	keysOf(t, "batch status", e.ok("batch", "status", "shapes", "-o", "json"), "batch", "jobs", "counts", "errors")
	keysOf(t, "batch list", e.ok("batch", "list", "-o", "json"), "batch", "jobs", "created_at")
	var l struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	e.json(&l, "job", "list")
	keysOf(t, "job list row", string(l.Jobs[0]), "ref", "platform", "id", "name", "state", "raw_state", "reason", "terminal", "created_at",
		"labels", "attributes", "submission", "idempotency_key", "batch", "indexed", "submit_error")
	keysOf(t, "batch cancel", e.ok("batch", "cancel", "shapes", "-o", "json"), "batch", "jobs", "errors")
	r := e.run("batch", "wait", "shapes", "--poll-interval", "20ms", "-o", "json")
	var wait []job
	if err := json.Unmarshal([]byte(r.stdout), &wait); err != nil || r.code != 5 || len(wait) != 2 || wait[0].State != "cancelled" {
		t.Errorf("batch wait on a cancelled batch: exit %d (want 5), %+v %v", r.code, wait, err)
	}
	// Reconcile rows: one interrupted submission.
	saved := e.extra
	e.extra = append(append([]string(nil), e.extra...), "FAKEPLATFORM_BLOCK_AFTER=0")
	killDuringSubmit(t, e, "fake2", "SubmitBlocked", "job", "submit", commandSpec(e, ""), "-p", "fake2")
	e.extra = saved
	keysOf(t, "job reconcile", e.ok("job", "reconcile", "-o", "json"), "platform", "idempotency_key", "name", "batch", "outcome", "ref", "state", "message")
}
