package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

// hostEnv runs the built neural-host as a user would, with its own XDG
// directories and the plugin found through NEURAL_PLUGIN_PATH.
type hostEnv struct {
	t    *testing.T
	root string
	env  []string
}

func newHostEnv(t *testing.T, extra []string) *hostEnv {
	t.Helper()
	needBinaries(t, "neural-host", "neural-plugin-databricks")
	root := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "NEURAL_") && !strings.HasPrefix(kv, "DATABRICKS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "XDG_STATE_HOME="+filepath.Join(root, "state"), "XDG_DATA_HOME="+filepath.Join(root, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(root, "config"), "NEURAL_PLUGIN_PATH="+binDir)
	return &hostEnv{t: t, root: root, env: append(env, extra...)}
}

func (h *hostEnv) run(args ...string) (stdout, stderr string, code int) {
	h.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "neural-host"), args...)
	cmd.Env, cmd.Dir = h.env, h.root
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		h.t.Fatalf("neural-host %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// json runs a command that must succeed and decodes its JSON output.
func (h *hostEnv) json(v any, args ...string) {
	h.t.Helper()
	out, errs, code := h.run(append(args, "-o", "json")...)
	if code != 0 {
		h.t.Fatalf("neural-host %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		h.t.Fatalf("neural-host %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

type jobJSON struct {
	Ref       string             `json:"ref"`
	ID        string             `json:"id"`
	State     string             `json:"state"`
	RawState  string             `json:"raw_state"`
	Terminal  bool               `json:"terminal"`
	Metrics   map[string]float64 `json:"metrics"`
	Artifacts []string           `json:"artifacts"`
	Output    string             `json:"output_excerpt"`
}

func writeSpec(t *testing.T, spec string, files map[string]string) string {
	t.Helper()
	files["neural-job.yaml"] = spec
	return filepath.Join(writeWorkDir(t, files), "neural-job.yaml")
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	h := newHostEnv(t, fakeEnv(t, f))
	spec := writeSpec(t, "name: e2e\nkind: python\nworkdir: .\nentrypoint: train.py\nenv: {SEED: \"7\"}\nlabels: {team: vision}\nresources:\n  max_runtime: 10m\n",
		map[string]string{"train.py": trainPy})

	var plan struct {
		Requests []struct {
			Operation string `json:"operation"`
		} `json:"requests"`
		HourlyPrice struct {
			Known bool `json:"known"`
		} `json:"hourly_price"`
		InstanceType string `json:"instance_type"`
	}
	h.json(&plan, "job", "plan", spec, "--platform", "databricks")
	if len(plan.Requests) != 3 || !plan.HourlyPrice.Known || plan.InstanceType != "m5d.xlarge" {
		t.Errorf("plan %+v", plan)
	}
	if len(f.Requests("", "")) != 0 {
		t.Error("job plan reached the workspace")
	}

	var a, b jobJSON
	h.json(&a, "job", "submit", spec, "--platform", "databricks", "--idempotency-key", "e2e-1")
	h.json(&b, "job", "submit", spec, "--platform", "databricks", "--idempotency-key", "e2e-1")
	if a.Ref == "" || a.Ref != b.Ref || !strings.HasPrefix(a.Ref, "databricks:") || len(f.Runs()) != 1 {
		t.Fatalf("submits %+v and %+v; %d runs", a, b, len(f.Runs()))
	}
	if out, errs, code := h.run("job", "wait", a.Ref, "--poll-interval", "50ms", "--timeout", "60s"); code != 0 {
		t.Fatalf("wait: exit %d\n%s%s", code, out, errs)
	}
	var st, res jobJSON
	h.json(&st, "job", "status", a.Ref)
	if st.State != "succeeded" || !st.Terminal || st.RawState != "TERMINATED:SUCCESS" {
		t.Errorf("status %+v", st)
	}
	h.json(&res, "job", "result", a.Ref)
	if res.Metrics["loss"] != 0.25 || len(res.Artifacts) != 2 || !strings.Contains(res.Output, "epoch 3") {
		t.Errorf("result %+v", res)
	}
	if out, errs, code := h.run("job", "logs", a.Ref); code != 0 || !strings.Contains(out, "SEED=7") {
		t.Errorf("logs: exit %d\n%s%s", code, out, errs)
	}
	var list struct {
		Jobs []jobJSON `json:"jobs"`
	}
	h.json(&list, "job", "list", "--platform", "databricks", "--label", "team=vision")
	if len(list.Jobs) != 1 || list.Jobs[0].Ref != a.Ref {
		t.Errorf("list %+v", list)
	}
	h.run("--log-level", "debug", "job", "status", a.Ref)
	logs, err := os.ReadFile(filepath.Join(h.root, "state", "neural", "logs", "databricks.log"))
	if err != nil || bytes.Contains(logs, []byte(f.Token())) {
		t.Errorf("plugin log: %v; holds the token: %v", err, bytes.Contains(logs, []byte(f.Token())))
	}
}

func TestEndToEndCancel(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	h := newHostEnv(t, fakeEnv(t, f))
	spec := writeSpec(t, "kind: command\ncommand: [sleep, '300']\n", map[string]string{})
	var j jobJSON
	h.json(&j, "job", "submit", spec, "--platform", "databricks")
	eventually(t, 30*time.Second, "the job to run", func() bool {
		var st jobJSON
		h.json(&st, "job", "status", j.Ref)
		return st.State == "running"
	})
	var after jobJSON
	h.json(&after, "job", "cancel", j.Ref)
	if after.State != "cancelled" || !after.Terminal {
		t.Fatalf("after cancel %+v", after)
	}
	if _, errs, code := h.run("job", "wait", j.Ref); code != 5 {
		t.Errorf("wait on a cancelled job: exit %d, want 5\n%s", code, errs)
	}
}

func TestEndToEndFilesEndpointsAuth(t *testing.T) {
	t.Parallel()
	h := newHostEnv(t, startFakes(t))
	var auth []struct {
		Status   string `json:"status"`
		Identity string `json:"identity"`
	}
	h.json(&auth, "auth", "check", "databricks")
	if len(auth) != 1 || auth[0].Status != "ok" || auth[0].Identity != "neural@example.com" {
		t.Errorf("auth check %+v", auth)
	}
	local := filepath.Join(h.root, "in.bin")
	os.WriteFile(local, bytes.Repeat([]byte("neural"), 100000), 0o644)
	var up struct {
		URI  string `json:"uri"`
		Size int64  `json:"size"`
	}
	h.json(&up, "files", "upload", local, "models/in.bin", "-p", "databricks")
	if up.URI != "dbfs:/FileStore/neural-host/files/models/in.bin" || up.Size != 600000 {
		t.Errorf("upload %+v", up)
	}
	back := filepath.Join(h.root, "back.bin")
	h.json(&up, "files", "download", up.URI, back, "-p", "databricks")
	if got, _ := os.ReadFile(back); len(got) != 600000 {
		t.Errorf("downloaded %d bytes", len(got))
	}
	var ep struct {
		Name  string `json:"name"`
		Ready bool   `json:"ready"`
	}
	h.json(&ep, "endpoint", "deploy", "mnist", "--model", "models:/"+testModel+"/1", "-p", "databricks")
	if ep.Name != "mnist" || !ep.Ready {
		t.Errorf("deploy %+v", ep)
	}
	if out, errs, code := h.run("endpoint", "delete", "mnist", "-p", "databricks"); code != 0 {
		t.Errorf("delete: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := h.run("endpoint", "get", "mnist", "-p", "databricks"); code != 3 || !strings.Contains(errs, "does not exist") {
		t.Errorf("get after delete: exit %d\n%s", code, errs)
	}
}

// TestConformance runs the plugin contract's checks against the built
// binary, pointed at the fake workspace.
func TestConformance(t *testing.T) {
	t.Parallel()
	needBinaries(t, "neural-plugin-databricks")
	env := startFakes(t)
	results := sdktest.Check(context.Background(), sdktest.Config{Binary: filepath.Join(binDir, "neural-plugin-databricks"), Env: env,
		LongJob: sdk.JobSpec{Name: "conformance", Kind: sdk.KindCommand, Command: []string{"sleep", "600"}}})
	for _, r := range results {
		if !r.OK {
			t.Errorf("%s: %s", r.Check, r.Detail)
		}
	}
	if len(results) < 10 {
		t.Errorf("only %d checks ran: %+v", len(results), results)
	}
}
