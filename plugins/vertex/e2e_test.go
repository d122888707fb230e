package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"google.golang.org/protobuf/encoding/protojson"
)

// host runs the neural-host binary as a user would, with its own XDG
// directories and the fakes' environment.
type host struct {
	t    *testing.T
	root string
	env  []string
}

func newHost(t *testing.T, fakeEnv []string) *host {
	root := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "NEURAL_") && !strings.HasPrefix(kv, "GOOGLE_") && !strings.HasPrefix(kv, "CLOUDSDK_") {
			env = append(env, kv)
		}
	}
	env = append(env, "XDG_STATE_HOME="+filepath.Join(root, "state"), "XDG_DATA_HOME="+filepath.Join(root, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(root, "config"), "NEURAL_PLUGIN_PATH="+binDir)
	return &host{t: t, root: root, env: append(env, fakeEnv...)}
}

func (h *host) run(args ...string) (stdout, stderr string, code int) {
	h.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "neural-host"), args...)
	cmd.Env, cmd.Dir = h.env, h.root
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatalf("neural-host %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// json runs a command that must succeed and decodes its JSON output.
func (h *host) json(v any, args ...string) {
	h.t.Helper()
	out, errs, code := h.run(append(args, "-o", "json")...)
	if code != 0 {
		h.t.Fatalf("neural-host %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		h.t.Fatalf("neural-host %v: not JSON: %v\n%s", args, err, out)
	}
}

type hostJob struct {
	Ref      string `json:"ref"`
	ID       string `json:"id"`
	State    string `json:"state"`
	RawState string `json:"raw_state"`
	Terminal bool   `json:"terminal"`
}

func quickstartSpec(t *testing.T) string {
	p, err := filepath.Abs("../../examples/quickstart/neural-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEndToEndThroughHost(t *testing.T) {
	needBinaries(t)
	fs := startFakeSet(t)
	h := newHost(t, fs.env)
	spec := quickstartSpec(t)

	t.Run("plan", func(t *testing.T) {
		var plan struct {
			Requests []struct {
				Operation string `json:"operation"`
				Body      string `json:"body"`
			} `json:"requests"`
			InstanceType string `json:"instance_type"`
			HourlyPrice  struct {
				Known bool `json:"known"`
			} `json:"hourly_price"`
		}
		h.json(&plan, "job", "plan", spec, "-p", "vertex")
		if len(plan.Requests) != 3 || plan.Requests[2].Operation != "CreateCustomJob" || plan.InstanceType != "e2-standard-4" || !plan.HourlyPrice.Known {
			t.Errorf("plan %+v", plan)
		}
		var req aiplatformpb.CreateCustomJobRequest
		if err := protojson.Unmarshal([]byte(plan.Requests[2].Body), &req); err != nil || req.GetCustomJob().GetJobSpec().GetScheduling().GetTimeout().AsDuration() != 10*time.Minute {
			t.Errorf("max_runtime is not the timeout (%v) in\n%s", err, plan.Requests[2].Body)
		}
	})

	var j hostJob
	t.Run("submit, wait, result, logs", func(t *testing.T) {
		h.json(&j, "job", "submit", spec, "--platform", "vertex", "--idempotency-key", "e2e-quickstart")
		var again hostJob
		h.json(&again, "job", "submit", spec, "--platform", "vertex", "--idempotency-key", "e2e-quickstart")
		if j.Ref == "" || !strings.HasPrefix(j.Ref, "vertex:") || again.Ref != j.Ref {
			t.Fatalf("submits gave %+v and %+v", j, again)
		}
		if out, errs, code := h.run("job", "wait", j.Ref, "--poll-interval", "50ms", "--timeout", "60s"); code != 0 {
			t.Fatalf("wait: exit %d\n%s%s", code, out, errs)
		}
		var st hostJob
		h.json(&st, "job", "status", j.Ref)
		if st.State != "succeeded" || st.RawState != "JOB_STATE_SUCCEEDED" || !st.Terminal {
			t.Fatalf("status %+v", st)
		}
		var res struct {
			Metrics   map[string]float64 `json:"metrics"`
			Artifacts []string           `json:"artifacts"`
			Output    string             `json:"output_excerpt"`
			Duration  float64            `json:"duration_seconds"`
		}
		h.json(&res, "job", "result", j.Ref)
		if res.Metrics["epochs"] != 30 || res.Metrics["val_accuracy"] < 0.7 || res.Duration <= 0 {
			t.Errorf("result %+v", res)
		}
		model := ""
		for _, a := range res.Artifacts {
			if strings.HasSuffix(a, "/model.json") && strings.HasPrefix(a, "gs://"+testBucket+"/runs/neural/jobs/") {
				model = a
			}
		}
		if model == "" {
			t.Errorf("no model.json among %v", res.Artifacts)
		}
		out, errs, code := h.run("job", "logs", j.Ref)
		if code != 0 || !strings.Contains(out, "done: val_loss") || !strings.Contains(res.Output, "done: val_loss") {
			t.Errorf("logs: exit %d\n%s%s\nexcerpt %q", code, out, errs, res.Output)
		}
		// The model the job wrote comes back through the files commands.
		dst := filepath.Join(h.root, "model.json")
		if out, errs, code := h.run("files", "download", model, dst, "-p", "vertex"); code != 0 {
			t.Fatalf("download: exit %d\n%s%s", code, out, errs)
		}
		if b, err := os.ReadFile(dst); err != nil || !json.Valid(b) {
			t.Errorf("model.json %q, %v", b, err)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		long := filepath.Join(h.root, "long.yaml")
		_ = os.WriteFile(long, []byte("kind: command\ncommand: [sh, -c, 'echo started; sleep 300']\nresources:\n  max_runtime: 10m\n"), 0o644)
		var l hostJob
		h.json(&l, "job", "submit", long, "--platform", "vertex")
		var after hostJob
		h.json(&after, "job", "cancel", l.Ref)
		if after.State != "cancelled" || !after.Terminal || after.RawState != "JOB_STATE_CANCELLED" {
			t.Errorf("after cancel %+v", after)
		}
		if _, _, code := h.run("job", "wait", l.Ref, "--poll-interval", "20ms"); code != 5 {
			t.Errorf("wait on a cancelled job: exit %d, want 5", code)
		}
	})

	t.Run("list", func(t *testing.T) {
		var list struct {
			Jobs []hostJob `json:"jobs"`
		}
		h.json(&list, "job", "list", "-p", "vertex", "--label", "example=quickstart", "--state", "succeeded")
		if len(list.Jobs) != 1 || list.Jobs[0].Ref != j.Ref {
			t.Errorf("list %+v", list.Jobs)
		}
	})

	t.Run("auth check", func(t *testing.T) {
		var rows []struct {
			Status   string `json:"status"`
			Identity string `json:"identity"`
			Account  string `json:"account"`
		}
		h.json(&rows, "auth", "check", "vertex")
		if len(rows) != 1 || rows[0].Status != "ok" || rows[0].Identity != fs.id.email || !strings.HasPrefix(rows[0].Account, testProject) {
			t.Errorf("auth %+v", rows)
		}
	})

	t.Run("endpoint", func(t *testing.T) {
		var ep struct {
			Name  string `json:"name"`
			Ready bool   `json:"ready"`
			URL   string `json:"url"`
		}
		h.json(&ep, "endpoint", "deploy", "quickstart", "--model", "gs://neural-models/quickstart", "-p", "vertex")
		if ep.Name != "quickstart" || !ep.Ready || !strings.HasSuffix(ep.URL, "/endpoints/quickstart:predict") {
			t.Errorf("deploy %+v", ep)
		}
		if out, errs, code := h.run("endpoint", "delete", "quickstart", "-p", "vertex"); code != 0 {
			t.Fatalf("delete: exit %d\n%s%s", code, out, errs)
		}
		if _, errs, code := h.run("endpoint", "get", "quickstart", "-p", "vertex"); code != 3 || !strings.Contains(errs, "hint:") {
			t.Errorf("get after delete: exit %d %s", code, errs)
		}
	})

	t.Run("bad spec", func(t *testing.T) {
		bad := filepath.Join(h.root, "bad.yaml")
		_ = os.WriteFile(bad, []byte("kind: command\ncommand: [\"true\"]\nresources:\n  gpu_type: Z9\n  gpus: 1\n"), 0o644)
		before := fs.f.totalCalls()
		if _, errs, code := h.run("job", "submit", bad, "--platform", "vertex"); code != 2 || !strings.Contains(errs, "resources.gpu_type") || !strings.Contains(errs, "hint:") {
			t.Errorf("exit %d: %s", code, errs)
		}
		if fs.f.totalCalls() != before {
			t.Error("a bad spec reached Vertex AI")
		}
	})
}
