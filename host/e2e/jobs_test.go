package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func quickstart(t *testing.T) string {
	p, err := filepath.Abs("../../examples/quickstart/neural-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestQuickstartEndToEnd(t *testing.T) {
	e := newEnv(t)
	j := e.submit(quickstart(t))
	r := e.run("job", "wait", j.Ref, "--poll-interval", "50ms")
	if r.code != 0 {
		t.Fatalf("wait: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	var res struct {
		State     string             `json:"state"`
		Metrics   map[string]float64 `json:"metrics"`
		Artifacts []string           `json:"artifacts"`
		Output    string             `json:"output_excerpt"`
		Duration  float64            `json:"duration_seconds"`
	}
	e.json(&res, "job", "result", j.Ref)
	if res.State != "succeeded" {
		t.Fatalf("state = %s", res.State)
	}
	if res.Metrics["epochs"] != 30 || res.Metrics["val_accuracy"] < 0.7 || res.Metrics["loss"] <= 0 {
		t.Errorf("metrics = %v", res.Metrics)
	}
	var model string
	for _, a := range res.Artifacts {
		if strings.HasSuffix(a, "/model.json") {
			model = strings.TrimPrefix(a, "file://")
		}
	}
	if model == "" {
		t.Fatalf("no model.json among artifacts %v", res.Artifacts)
	}
	var weights struct{ Weights []float64 }
	b, _ := os.ReadFile(model)
	if json.Unmarshal(b, &weights) != nil || len(weights.Weights) != 4 {
		t.Errorf("model.json = %s", b)
	}
	if !strings.Contains(res.Output, "done: val_loss") || res.Duration <= 0 {
		t.Errorf("output excerpt %q, duration %v", res.Output, res.Duration)
	}
	// The table form shows the same metrics.
	if out := e.ok("job", "result", j.Ref); !strings.Contains(out, "val_accuracy") || !strings.Contains(out, "model.json") {
		t.Errorf("table result lacks metrics or artifacts:\n%s", out)
	}
}

func TestIdempotentSubmit(t *testing.T) {
	e := newEnv(t)
	spec := e.writeSpec("kind: command\ncommand: [\"true\"]\n", map[string]string{})
	a := e.submit(spec, "--idempotency-key", "retry-1")
	b := e.submit(spec, "--idempotency-key", "retry-1")
	c := e.submit(spec, "--idempotency-key", "retry-2")
	if a.Ref != b.Ref {
		t.Errorf("same key gave two jobs: %s and %s", a.Ref, b.Ref)
	}
	if a.Ref == c.Ref {
		t.Errorf("different keys gave one job %s", a.Ref)
	}
	entries, _ := os.ReadDir(e.jobsDir())
	if len(entries) != 2 {
		t.Errorf("%d job directories, want 2", len(entries))
	}
}

func TestCancelLeavesNoProcess(t *testing.T) {
	e := newEnv(t)
	// The job starts a background child as well, which must die too.
	spec := e.writeSpec("kind: command\ncommand: [sh, -c, 'sleep 300 & echo ready; sleep 300; wait']\n", map[string]string{})
	j := e.submit(spec)
	lines, closer := startLines(t, e.command("job", "logs", "-f", j.Ref))
	if got := lines.next(); got != "ready" {
		t.Fatalf("first line %q", got)
	}
	closer.Close()
	running := e.status(j.Ref)
	pgid, _ := strconv.Atoi(running.Attributes["pgid"])
	if running.State != "running" || pgid == 0 || groupGone(pgid) {
		t.Fatalf("before cancel: %+v", running)
	}
	var after job
	e.json(&after, "job", "cancel", j.Ref)
	if after.State != "cancelled" || !after.Terminal {
		t.Fatalf("after cancel: %+v", after)
	}
	if !groupGone(pgid) {
		t.Errorf("process group %d still has processes after cancel", pgid)
	}
	if e.status(j.Ref).State != "cancelled" {
		t.Error("status does not say cancelled")
	}
	if r := e.run("job", "wait", j.Ref); r.code != 5 {
		t.Errorf("wait on a cancelled job: exit %d, want 5", r.code)
	}
}

func TestLogsFollowStreamsAndStops(t *testing.T) {
	e := newEnv(t)
	gate := filepath.Join(e.root, "gate")
	spec := e.writeSpec("kind: command\ncommand: [sh, -c, 'echo first; while [ ! -e \"$GATE\" ]; do sleep 0.02; done; echo second']\nenv:\n  GATE: "+gate+"\n", map[string]string{})
	j := e.submit(spec)
	cmd := e.command("job", "logs", "-f", j.Ref)
	lines, _ := startLines(t, cmd)
	// "first" must arrive while the job is still blocked on the gate.
	if got := lines.next(); got != "first" {
		t.Fatalf("got %q, want first", got)
	}
	if st := e.status(j.Ref); st.Terminal {
		t.Fatalf("job ended before the gate opened: %+v", st)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := lines.next(); got != "second" {
		t.Fatalf("got %q, want second", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("logs -f did not end cleanly when the job ended: %v", err)
	}
	if st := e.status(j.Ref); st.State != "succeeded" {
		t.Errorf("state %s", st.State)
	}
	// Resuming from a cursor skips what was read.
	var entries []map[string]any
	out := e.ok("job", "logs", j.Ref, "-o", "json")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		entries = append(entries, m)
	}
	if len(entries) != 2 || entries[1]["line"] != "second" {
		t.Fatalf("entries %v", entries)
	}
	rest := e.ok("job", "logs", j.Ref, "--cursor", entries[0]["cursor"].(string))
	if rest != "second\n" {
		t.Errorf("from cursor: %q", rest)
	}
}

func TestBadSpecSendsNothing(t *testing.T) {
	tests := []struct {
		name, spec, field string
	}{
		{"unknown kind", "kind: notebook\nentrypoint: a.py\n", "kind"},
		{"negative gpus", "kind: python\nentrypoint: a.py\nresources:\n  gpus: -1\n", "resources.gpus"},
		{"missing entrypoint", "kind: python\n", "entrypoint"},
		{"unknown key", "kind: python\nentrypoint: a.py\nresource:\n  gpus: 1\n", "resource"},
		{"bad duration", "kind: python\nentrypoint: a.py\nresources:\n  max_runtime: forever\n", "forever"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			spec := e.writeSpec(tt.spec, map[string]string{"a.py": "print(1)\n"})
			r := e.run("job", "submit", spec, "--platform", "local")
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.field) || !strings.Contains(r.stderr, "hint:") {
				t.Errorf("stderr does not name %q with a hint:\n%s", tt.field, r.stderr)
			}
			if _, err := os.Stat(e.jobsDir()); !os.IsNotExist(err) {
				t.Errorf("a job directory was created: %v", err)
			}
			// The plugin was never started, so it never saw the spec.
			if _, err := os.Stat(filepath.Join(e.root, "state", "neural", "logs", "local.log")); !os.IsNotExist(err) {
				t.Errorf("the plugin was started for an invalid spec")
			}
			var body struct {
				Error struct {
					Kind     string `json:"kind"`
					Field    string `json:"field"`
					ExitCode int    `json:"exit_code"`
				} `json:"error"`
			}
			r = e.run("job", "submit", spec, "--platform", "local", "-o", "json")
			if err := json.Unmarshal([]byte(r.stderr), &body); err != nil || body.Error.Kind != "invalid_argument" || body.Error.ExitCode != 2 {
				t.Errorf("JSON error %q: %+v %v", r.stderr, body, err)
			}
		})
	}
}

func TestPluginKilledMidCall(t *testing.T) {
	e := newEnv(t)
	spec := e.writeSpec("kind: command\ncommand: [sh, -c, 'echo ready; sleep 300']\n", map[string]string{})
	j := e.submit(spec)
	cmd := e.command("job", "logs", "-f", j.Ref)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	lines, _ := startLines(t, cmd)
	if got := lines.next(); got != "ready" {
		t.Fatalf("got %q", got)
	}
	// The logs call is now in flight in the plugin, the host's only child.
	kids := children(cmd.Process.Pid)
	if len(kids) != 1 {
		t.Fatalf("host has children %v, want one plugin", kids)
	}
	plugin := kids[0]
	if err := syscall.Kill(plugin, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 3 {
		t.Fatalf("host exit: %v, want code 3; stderr:\n%s", err, stderr.String())
	}
	msg := stderr.String()
	if !strings.Contains(msg, "plugin local stopped unexpectedly") || !strings.Contains(msg, "local.log") {
		t.Errorf("stderr:\n%s", msg)
	}
	if strings.Contains(msg, "rpc error") || strings.Contains(msg, "Unavailable") {
		t.Errorf("raw gRPC error leaked:\n%s", msg)
	}
	if !groupGone(plugin) {
		t.Errorf("plugin process group %d left behind", plugin)
	}
	// The job itself is not an orphan of the plugin: it runs on under its
	// supervisor and can still be cancelled.
	if st := e.status(j.Ref); st.State != "running" {
		t.Errorf("job state after plugin crash: %s", st.State)
	}
	var after job
	e.json(&after, "job", "cancel", j.Ref)
	if after.State != "cancelled" {
		t.Errorf("cancel after crash: %+v", after)
	}
}

func TestJobOutlivesHost(t *testing.T) {
	e := newEnv(t)
	gate := filepath.Join(e.root, "gate")
	spec := e.writeSpec("kind: command\ncommand: [sh, -c, 'while [ ! -e \"$GATE\" ]; do sleep 0.02; done']\nenv:\n  GATE: "+gate+"\n", map[string]string{})
	j := e.submit(spec)
	// The submitting host has exited; the job must still be running.
	if st := e.status(j.Ref); st.State != "running" && st.State != "queued" {
		t.Fatalf("state after host exit: %s", st.State)
	}
	os.WriteFile(gate, nil, 0o644)
	if r := e.run("job", "wait", j.Ref, "--poll-interval", "20ms", "--timeout", "30s"); r.code != 0 {
		t.Fatalf("wait: %d %s", r.code, r.stderr)
	}
}

func TestWaitExitCodes(t *testing.T) {
	e := newEnv(t)
	fail := e.submit(e.writeSpec("kind: command\ncommand: [sh, -c, 'echo boom >&2; exit 3']\n", map[string]string{}))
	if r := e.run("job", "wait", fail.Ref, "--poll-interval", "20ms"); r.code != 4 || !strings.Contains(r.stderr, "exited with code 3") {
		t.Errorf("failed job: exit %d, stderr %q", r.code, r.stderr)
	}
	slow := e.submit(e.writeSpec("kind: command\ncommand: [sleep, '300']\n", map[string]string{}))
	if r := e.run("job", "wait", slow.Ref, "--timeout", "300ms", "--poll-interval", "20ms"); r.code != 6 {
		t.Errorf("timeout: exit %d, stderr %q", r.code, r.stderr)
	}
	if st := e.status(slow.Ref); st.Terminal {
		t.Errorf("timing out the wait ended the job: %+v", st)
	}
}

func TestMaxRuntimeStopsJob(t *testing.T) {
	e := newEnv(t)
	j := e.submit(e.writeSpec("kind: command\ncommand: [sleep, '300']\nresources:\n  max_runtime: 1s\n", map[string]string{}))
	r := e.run("job", "wait", j.Ref, "--poll-interval", "20ms", "--timeout", "30s")
	if r.code != 4 || !strings.Contains(r.stderr, "maximum run time") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUnsupportedCapability(t *testing.T) {
	e := newEnv(t)
	r := e.run("endpoint", "deploy", "m", "--model", "file:///m", "-p", "local")
	if r.code != 2 || !strings.Contains(r.stderr, "does not support deploying endpoints") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = e.run("job", "status", "nosuch:123")
	if r.code != 2 || !strings.Contains(r.stderr, `platform "nosuch" is not installed`) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = e.run("job", "status", "local:doesnotexist")
	if r.code != 3 || !strings.Contains(r.stderr, "no local job") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestFilesRoundTrip(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(e.root, "in.bin")
	data := make([]byte, 9<<20+17)
	for i := range data {
		data[i] = byte(i * 7)
	}
	os.WriteFile(src, data, 0o644)
	var up struct {
		URI  string `json:"uri"`
		Size int64  `json:"size"`
	}
	e.json(&up, "files", "upload", src, "models/in.bin", "-p", "local")
	if up.Size != int64(len(data)) || !strings.HasPrefix(up.URI, "file://") {
		t.Fatalf("upload: %+v", up)
	}
	dst := filepath.Join(e.root, "out.bin")
	e.ok("files", "download", up.URI, dst, "-p", "local")
	got, _ := os.ReadFile(dst)
	if string(got) != string(data) {
		t.Fatal("downloaded bytes differ")
	}
	var ls struct {
		Files []struct {
			URI string `json:"uri"`
		} `json:"files"`
	}
	e.json(&ls, "files", "ls", "models", "-p", "local")
	if len(ls.Files) != 1 || ls.Files[0].URI != up.URI {
		t.Errorf("ls: %+v", ls)
	}
}

func TestJSONShapes(t *testing.T) {
	e := newEnv(t)
	j := e.submit(e.writeSpec("kind: command\ncommand: [\"true\"]\nlabels: {team: a}\n", map[string]string{}))
	e.ok("job", "wait", j.Ref, "--poll-interval", "20ms")
	want := map[string][]string{
		"job status": {"ref", "platform", "id", "name", "state", "raw_state", "reason", "terminal", "created_at", "started_at", "ended_at", "console_url", "labels", "attributes"},
		"job result": {"ref", "state", "metrics", "artifacts", "output_excerpt", "error", "duration_seconds", "billable_seconds"},
		"job list":   {"jobs", "next_page_tokens", "errors"},
		"job plan":   {"platform", "requests", "instance_type", "hourly_price", "max_cost_usd", "warnings"},
		"platforms":  {"name", "version", "protocol_version", "sdk_version", "path", "capabilities", "config"},
		"auth check": {"platform", "status", "identity", "account", "message", "hint", "diagnostics"},
		"version":    {"version", "protocol_version", "sdk_version"},
	}
	args := map[string][]string{
		"job status": {"job", "status", j.Ref},
		"job result": {"job", "result", j.Ref},
		"job list":   {"job", "list", "--label", "team=a"},
		"job plan":   {"job", "plan", quickstart(t), "-p", "local"},
		"platforms":  {"platforms"},
		"auth check": {"auth", "check", "local"},
		"version":    {"version"},
	}
	for name, keys := range want {
		var v any
		e.json(&v, args[name]...)
		obj, ok := v.(map[string]any)
		if arr, isArr := v.([]any); isArr && len(arr) > 0 {
			obj, ok = arr[0].(map[string]any)
		}
		if !ok {
			t.Errorf("%s: not an object or array of objects: %v", name, v)
			continue
		}
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s: missing field %q", name, k)
			}
		}
	}
	var list struct {
		Jobs []job `json:"jobs"`
	}
	e.json(&list, "job", "list", "--label", "team=a", "--state", "succeeded")
	if len(list.Jobs) != 1 || list.Jobs[0].Ref != j.Ref {
		t.Errorf("filtered list: %+v", list.Jobs)
	}
	e.json(&list, "job", "list", "--label", "team=b")
	if len(list.Jobs) != 0 {
		t.Errorf("label filter let through %+v", list.Jobs)
	}
}

func TestDSLJobWithoutNeuralCLI(t *testing.T) {
	e := newEnv(t)
	e.extra = append(e.extra, "PATH="+filepath.Dir(mustLook(t, "sh"))+":"+filepath.Dir(mustLook(t, "python3")))
	spec := e.writeSpec("kind: dsl\nentrypoint: model.neural\ndsl: {backend: pytorch, dataset: MNIST}\n", map[string]string{"model.neural": "network N {}\n"})
	for _, cmd := range []string{"plan", "submit"} {
		r := e.run("job", cmd, spec, "-p", "local")
		if r.code != 2 || !strings.Contains(r.stderr, "neural CLI") || !strings.Contains(r.stderr, "pip install neural-dsl") {
			t.Errorf("%s: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
	if _, err := os.Stat(e.jobsDir()); !os.IsNotExist(err) {
		t.Error("a job was created")
	}
}

func mustLook(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found", name)
	}
	return p
}

var _ = time.Second

func TestWaitInterruptedLeavesJobRunning(t *testing.T) {
	e := newEnv(t)
	j := e.submit(e.writeSpec("kind: command\ncommand: [sh, -c, 'echo ready; sleep 300']\n", map[string]string{}))
	cmd := e.command("job", "wait", j.Ref, "--follow")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	lines, _ := startLines(t, cmd)
	if got := lines.next(); got != "ready" {
		t.Fatalf("got %q", got)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "keeps running") {
		t.Errorf("stderr: %s", stderr.String())
	}
	if st := e.status(j.Ref); st.State != "running" {
		t.Errorf("Ctrl-C during wait changed the job: %s", st.State)
	}
}
