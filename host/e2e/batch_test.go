package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type batchJob struct {
	Index    int               `json:"index"`
	Name     string            `json:"name"`
	Platform string            `json:"platform"`
	Ref      string            `json:"ref"`
	Outcome  string            `json:"outcome"`
	Error    string            `json:"error"`
	Matrix   map[string]string `json:"matrix"`
}

type batchResult struct {
	Batch  string         `json:"batch"`
	Jobs   []batchJob     `json:"jobs"`
	Counts map[string]int `json:"counts"`
}

func (e *env) writeBatch(body string) string {
	e.t.Helper()
	path := filepath.Join(e.root, "batch.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

func decodeBatch(t *testing.T, r run) batchResult {
	t.Helper()
	var res batchResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("batch output is not JSON (exit %d): %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	return res
}

func TestBatchWithAFailingJob(t *testing.T) {
	e := newFakeEnv(t)
	path := e.writeBatch(`id: mixed
base: {kind: command, command: [train]}
jobs:
  - {name: a}
  - {name: b}
  - {name: c}
  - {name: bad, options: {fail: submit}}
matrix:
  platform: [fake, fake2]
  env.LR: ["0.1", "0.01"]
`)
	r := e.run("batch", "submit", path, "--parallel", "4", "-o", "json")
	if r.code != 3 || !strings.Contains(r.stderr, "4 of 16 jobs of batch mixed were not submitted") {
		t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
	}
	res := decodeBatch(t, r)
	if res.Counts["submitted"] != 12 || res.Counts["failed"] != 4 {
		t.Fatalf("counts %v", res.Counts)
	}
	for _, j := range res.Jobs {
		bad := strings.HasPrefix(j.Name, "bad")
		if bad != (j.Outcome == "failed") || (bad && !strings.Contains(j.Error, "quota exceeded")) || (!bad && j.Ref == "") {
			t.Errorf("job %+v", j)
		}
	}
	// One plugin process per platform served every submit to it.
	calls := e.calls()
	n1, pids1 := count(calls, "fake", "Submit")
	n2, pids2 := count(calls, "fake2", "Submit")
	if n1 != 8 || n2 != 8 || len(pids1) != 1 || len(pids2) != 1 {
		t.Errorf("submits: fake %d from %d processes, fake2 %d from %d processes; want 8 from 1 each", n1, len(pids1), n2, len(pids2))
	}
	var st struct {
		Counts map[string]int `json:"counts"`
	}
	e.json(&st, "batch", "status", "mixed")
	if st.Counts["succeeded"] != 12 || st.Counts["rejected"] != 4 {
		t.Errorf("batch status counts %v", st.Counts)
	}
	// Waiting says the batch is incomplete.
	if r := e.run("batch", "wait", "mixed", "--poll-interval", "20ms"); r.code != 3 || !strings.Contains(r.stderr, "4 jobs of batch mixed were never submitted") {
		t.Errorf("batch wait: exit %d\n%s", r.code, r.stderr)
	}
}

func TestInterruptedBatchResumes(t *testing.T) {
	e := newFakeEnv(t)
	path := e.writeBatch("id: resume\nplatform: fake\nbase: {kind: command, command: [train]}\nmatrix:\n  env.SEED: [" + seq(20) + "]\n")
	cmd := e.command("batch", "submit", path, "--parallel", "3", "-o", "json")
	// After 8 submits the platform stops answering; Ctrl-C then stops the
	// batch with 3 calls in flight.
	cmd.Env = append(cmd.Env, "FAKEPLATFORM_BLOCK_AFTER=8")
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "three submits to hang", func() bool {
		n, _ := count(e.calls(), "fake", "SubmitBlocked")
		return n == 3
	})
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(interface{ ExitCode() int }); !ok || ee.ExitCode() != 130 {
		t.Fatalf("interrupted batch: %v, want exit 130", err)
	}
	first := decodeBatch(t, run{stdout: out.String()})
	if first.Counts["submitted"] != 8 || first.Counts["interrupted"] != 3 || first.Counts["not_attempted"] != 9 {
		t.Fatalf("first run counts %v", first.Counts)
	}
	// The three cut-off calls await reconcile; the nine never sent are
	// already known to be missing. One listing answers for the batch.
	var rows []reconciled
	e.json(&rows, "job", "reconcile")
	if len(rows) != 3 || rows[0].Outcome != "not_found" || rows[2].Outcome != "not_found" {
		t.Errorf("reconcile after the interruption: %+v", rows)
	}
	if n, _ := count(e.calls(), "fake", "List"); n != 1 {
		t.Errorf("reconcile listed the platform %d times, want once for the batch", n)
	}
	var l jobList
	e.json(&l, "job", "list", "--batch", "resume")
	missing := 0
	for _, j := range l.Jobs {
		if j.Submission == "missing" {
			missing++
		}
	}
	if len(l.Jobs) != 20 || missing != 12 {
		t.Errorf("after the interruption the index lists %d jobs, %d missing; want 20, 12", len(l.Jobs), missing)
	}
	before, _ := count(e.calls(), "fake", "Submit")

	r := e.run("batch", "submit", path, "--parallel", "3", "-o", "json")
	if r.code != 0 {
		t.Fatalf("second run: exit %d\n%s", r.code, r.stderr)
	}
	second := decodeBatch(t, r)
	if second.Counts["already_submitted"] != 8 || second.Counts["submitted"] != 12 {
		t.Errorf("second run counts %v", second.Counts)
	}
	if after, _ := count(e.calls(), "fake", "Submit"); after-before != 12 {
		t.Errorf("the second run sent %d submits, want only the 12 missing", after-before)
	}
	if n := e.fakeJobs("fake"); n != 20 {
		t.Errorf("the platform has %d jobs, want 20", n)
	}
	// A third run has nothing left to send.
	third := decodeBatch(t, e.run("batch", "submit", path, "-o", "json"))
	if third.Counts["already_submitted"] != 20 {
		t.Errorf("third run counts %v", third.Counts)
	}
}

func TestBadBatchSendsNothing(t *testing.T) {
	tests := []struct {
		name, batch, field string
	}{
		{"unknown key", "platform: fake\njobs:\n  - {kind: command, command: [x], resorces: {}}\n", "jobs[0].resorces"},
		{"unknown option", "platform: fake\njobs:\n  - {kind: command, command: [x], options: {colour: red}}\n", "options.colour"},
		{"bad matrix key", "platform: fake\nbase: {kind: command, command: [x]}\nmatrix:\n  lr: [1]\n", "matrix.lr"},
		{"not installed", "platform: nosuch\njobs:\n  - {kind: command, command: [x]}\n", "nosuch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFakeEnv(t)
			r := e.run("batch", "submit", e.writeBatch(tt.batch), "-o", "json")
			if r.code != 2 || !strings.Contains(r.stderr, tt.field) || !strings.Contains(r.stderr, "hint") {
				t.Errorf("exit %d, want 2 naming %q with a hint\n%s", r.code, tt.field, r.stderr)
			}
			if n, _ := count(e.calls(), "", "Submit"); n != 0 {
				t.Errorf("%d submits were sent", n)
			}
		})
	}
	e := newFakeEnv(t)
	if r := e.run("batch", "submit", e.writeBatch("platform: fake\njobs:\n  - {kind: command, command: [x]}\n"), "--parallel", "0"); r.code != 2 || !strings.Contains(r.stderr, "--parallel") {
		t.Errorf("--parallel 0: exit %d %s", r.code, r.stderr)
	}
	if r := e.run("batch", "status", "nope"); r.code != 2 || !strings.Contains(r.stderr, "batch list") {
		t.Errorf("unknown batch: exit %d %s", r.code, r.stderr)
	}
}

func TestBatchProgress(t *testing.T) {
	e := newFakeEnv(t)
	path := e.writeBatch("id: progress\nplatform: fake\nbase: {kind: command, command: [train]}\nmatrix:\n  env.SEED: [" + seq(5) + "]\n")
	// Not a terminal: one plain line per job on stderr, the table on stdout.
	r := e.run("batch", "submit", path)
	if r.code != 0 || strings.Count(r.stderr, "/5] ") != 5 || strings.Contains(r.stderr, "\x1b[") {
		t.Errorf("plain progress: exit %d\n%q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "already submitted") || strings.Count(r.stdout, "fake:") != 5 {
		t.Errorf("result table:\n%s", r.stdout)
	}
	// On a terminal: see TestBatchBarsOnATerminal.
}
