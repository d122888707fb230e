package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
)

// cli runs neural-host as a user would, with its own XDG directories, the
// plugin found through NEURAL_PLUGIN_PATH and the stand-ins' environment.
type cli struct {
	t    *testing.T
	root string
	env  []string
}

func newCLI(t *testing.T, env []string) *cli {
	root := t.TempDir()
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "NEURAL_") && !strings.HasPrefix(kv, "AWS_") {
			base = append(base, kv)
		}
	}
	return &cli{t: t, root: root, env: append(append(base,
		"XDG_STATE_HOME="+filepath.Join(root, "state"), "XDG_DATA_HOME="+filepath.Join(root, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(root, "config"), "NEURAL_PLUGIN_PATH="+binDir), env...)}
}

func (c *cli) command(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, "neural-host"), args...)
	cmd.Env, cmd.Dir = c.env, c.root
	return cmd
}

// run returns stdout, stderr and the exit code.
func (c *cli) run(args ...string) (string, string, int) {
	c.t.Helper()
	var out, errb bytes.Buffer
	cmd := c.command(args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	case err != nil:
		c.t.Fatalf("neural-host %v: %v", args, err)
	}
	return out.String(), errb.String(), 0
}

func (c *cli) json(v any, args ...string) {
	c.t.Helper()
	out, errs, code := c.run(append(args, "-o", "json")...)
	if code != 0 {
		c.t.Fatalf("neural-host %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("neural-host %v: %v\n%s", args, err, out)
	}
}

type cliJob struct {
	Ref, ID, State, RawState string
	Terminal                 bool
}

func (j *cliJob) UnmarshalJSON(b []byte) error {
	var m struct {
		Ref      string `json:"ref"`
		ID       string `json:"id"`
		State    string `json:"state"`
		RawState string `json:"raw_state"`
		Terminal bool   `json:"terminal"`
	}
	err := json.Unmarshal(b, &m)
	*j = cliJob{m.Ref, m.ID, m.State, m.RawState, m.Terminal}
	return err
}

// TestEndToEndQuickstart runs the repository's quickstart through
// neural-host on the SageMaker stand-ins: plan, submit, wait, status,
// result, logs and list.
func TestEndToEndQuickstart(t *testing.T) {
	c := newCLI(t, startFakes(t))
	spec, err := filepath.Abs("../../examples/quickstart/neural-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var plan struct {
		InstanceType string `json:"instance_type"`
		HourlyPrice  struct {
			Known bool    `json:"known"`
			USD   float64 `json:"usd_per_hour"`
		} `json:"hourly_price"`
		Requests []struct{ Operation, Body string } `json:"requests"`
	}
	c.json(&plan, "job", "plan", spec, "--platform", "sagemaker")
	if plan.InstanceType != "ml.m5.large" || !plan.HourlyPrice.Known || plan.HourlyPrice.USD != 0.115 || len(plan.Requests) != 2 {
		t.Errorf("plan %+v", plan)
	}
	var job cliJob
	c.json(&job, "job", "submit", spec, "--platform", "sagemaker", "--idempotency-key", "e2e-1")
	if !strings.HasPrefix(job.Ref, "sagemaker:quickstart-") || job.Terminal {
		t.Fatalf("submitted %+v", job)
	}
	var again cliJob
	c.json(&again, "job", "submit", spec, "--platform", "sagemaker", "--idempotency-key", "e2e-1")
	if again.Ref != job.Ref {
		t.Errorf("a resubmit with the same key gave %s, then %s", job.Ref, again.Ref)
	}
	if out, errs, code := c.run("job", "wait", job.Ref, "--poll-interval", "50ms"); code != 0 {
		t.Fatalf("wait: exit %d\n%s%s", code, out, errs)
	}
	var st cliJob
	c.json(&st, "job", "status", job.Ref)
	if st.State != "succeeded" || st.RawState != "Completed/Completed" || !st.Terminal {
		t.Errorf("status %+v", st)
	}
	var res struct {
		Metrics   map[string]float64 `json:"metrics"`
		Artifacts []string           `json:"artifacts"`
		Output    string             `json:"output_excerpt"`
		Duration  float64            `json:"duration_seconds"`
		Billable  int64              `json:"billable_seconds"`
	}
	c.json(&res, "job", "result", job.Ref)
	if res.Metrics["epochs"] != 30 || res.Metrics["val_accuracy"] < 0.7 || !strings.Contains(res.Output, "done: val_loss") ||
		res.Duration <= 0 || res.Billable <= 0 || len(res.Artifacts) != 2 || !strings.HasSuffix(res.Artifacts[0], "/output/model.tar.gz") {
		t.Errorf("result %+v", res)
	}
	if out, _, _ := c.run("job", "logs", job.Ref); !strings.Contains(out, "epoch   1  loss") || !strings.Contains(out, "done: val_loss") {
		t.Errorf("logs:\n%s", out)
	}
	var list struct {
		Jobs []cliJob `json:"jobs"`
	}
	c.json(&list, "job", "list", "--platform", "sagemaker", "--state", "succeeded")
	if len(list.Jobs) != 1 || list.Jobs[0].Ref != job.Ref {
		t.Errorf("list %+v", list.Jobs)
	}
}

// TestEndToEndCancel cancels a running job through neural-host.
func TestEndToEndCancel(t *testing.T) {
	c := newCLI(t, startFakes(t))
	dir := t.TempDir()
	spec := filepath.Join(dir, "neural-job.yaml")
	os.WriteFile(spec, []byte("name: sleeper\nkind: command\ncommand: [sh, -c, 'echo ready; sleep 300']\n"), 0o644)
	var job cliJob
	c.json(&job, "job", "submit", spec, "--platform", "sagemaker")
	logs := c.command("job", "logs", "-f", job.Ref)
	stdout, err := logs.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := logs.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("first line %q", sc.Text())
	}
	var after cliJob
	c.json(&after, "job", "cancel", job.Ref)
	if after.State != "stopping" && after.State != "cancelled" {
		t.Errorf("after cancel: %+v", after)
	}
	if err := logs.Wait(); err != nil {
		t.Errorf("logs -f did not end cleanly with the job: %v", err)
	}
	if _, _, code := c.run("job", "wait", job.Ref, "--poll-interval", "50ms"); code != 5 {
		t.Errorf("wait on a cancelled job: exit %d, want 5", code)
	}
	var st cliJob
	c.json(&st, "job", "status", job.Ref)
	if st.State != "cancelled" || st.RawState != "Stopped/Stopped" {
		t.Errorf("status %+v", st)
	}
}

// TestEndToEndSetup: auth check, a missing role refused before anything
// is sent, files and an endpoint through neural-host.
func TestEndToEndSetup(t *testing.T) {
	fake, env := startFakeAWS(t, fakeaws.Options{})
	c := newCLI(t, env)
	var auth []struct {
		Status   string `json:"status"`
		Identity string `json:"identity"`
	}
	c.json(&auth, "auth", "check", "sagemaker")
	if len(auth) != 1 || auth[0].Status != "ok" || auth[0].Identity != "arn:aws:iam::123456789012:user/neural-test" {
		t.Errorf("auth %+v", auth)
	}

	var noRole []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SAGEMAKER_ROLE_ARN=") {
			noRole = append(noRole, kv)
		}
	}
	script := filepath.Join(t.TempDir(), "train.py")
	os.WriteFile(script, []byte("print(1)\n"), 0o644)
	_, errs, code := newCLI(t, noRole).run("job", "submit", script, "--platform", "sagemaker")
	if code != 2 || !strings.Contains(errs, "role_arn") || !strings.Contains(errs, "SAGEMAKER_ROLE_ARN") {
		t.Errorf("submit without a role: exit %d\n%s", code, errs)
	}
	if n := fake.Calls("sagemaker", "CreateTrainingJob"); n != 0 {
		t.Errorf("%d jobs created without a role", n)
	}

	fake.S3.CreateBucket("neural-data")
	model := filepath.Join(t.TempDir(), "model.tar.gz")
	os.WriteFile(model, []byte("not really a model"), 0o644)
	var up struct {
		URI  string `json:"uri"`
		Size int64  `json:"size"`
	}
	c.json(&up, "files", "upload", model, "s3://neural-data/serve/model.tar.gz", "--platform", "sagemaker")
	if up.URI != "s3://neural-data/serve/model.tar.gz" || up.Size != 18 {
		t.Errorf("upload %+v", up)
	}
	var ep struct {
		Name  string `json:"name"`
		State string `json:"state"`
		Ready bool   `json:"ready"`
	}
	c.json(&ep, "endpoint", "deploy", "served", "--platform", "sagemaker", "--model", up.URI)
	if !ep.Ready || ep.State != "InService" {
		t.Errorf("deploy %+v", ep)
	}
	if out, errs, code := c.run("endpoint", "delete", "served", "--platform", "sagemaker"); code != 0 {
		t.Fatalf("delete: exit %d\n%s%s", code, out, errs)
	}
	nothingLeft(t, fake)
}
