package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/neural-dsl/neural-host/plugins/databricks/internal/fakeworkspace"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/bundle"
	"github.com/neural-dsl/neural-host/sdk/runner"
	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

// trainPy is a job that writes metrics and an artifact to NEURAL_OUTPUT_DIR.
const trainPy = `import json, os, sys
out = os.environ["NEURAL_OUTPUT_DIR"]
print("job id", os.environ.get("NEURAL_JOB_ID"))
print("SEED=" + os.environ.get("SEED", ""))
print("args", " ".join(sys.argv[1:]))
for epoch in range(1, 4):
    print("epoch", epoch)
os.makedirs(os.path.join(out, "model"), exist_ok=True)
with open(os.path.join(out, "model", "weights.bin"), "wb") as f:
    f.write(b"\x00" * 128)
with open(os.path.join(out, "metrics.json"), "w") as f:
    json.dump({"loss": 0.25, "acc": {"top1": 0.9}, "note": "skipped"}, f)
`

// writeWorkDir writes files into a fresh work dir.
func writeWorkDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func pySpec(t *testing.T, script string) sdk.JobSpec {
	return sdk.JobSpec{Name: "test-job", Kind: sdk.KindPython, WorkDir: writeWorkDir(t, map[string]string{"train.py": script}),
		Entrypoint: "train.py", IdempotencyKey: "key-" + t.Name()}
}

// waitTerminal polls a job until it ends.
func waitTerminal(t *testing.T, p *Platform, id string) sdk.JobStatus {
	t.Helper()
	var st sdk.JobStatus
	eventually(t, 30*time.Second, "job "+id+" to end", func() bool {
		var err error
		st, err = p.Status(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return st.Terminal
	})
	return st
}

// collectLogs returns the lines of a job's logs and their cursors.
func collectLogs(t *testing.T, p *Platform, req sdk.LogsRequest) (lines, cursors []string) {
	t.Helper()
	err := p.Logs(context.Background(), req, func(e sdk.LogEntry) error {
		lines, cursors = append(lines, e.Line), append(cursors, e.Cursor)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines, cursors
}

func TestJobLifecycle(t *testing.T) {
	f := newFake(t)
	p := newPlatform(t, f, nil)
	ctx := context.Background()
	spec := pySpec(t, trainPy)
	spec.Args = []string{"--epochs", "3"}
	spec.Env = map[string]string{"SEED": "7"}
	spec.Labels = map[string]string{"team": "vision"}
	spec.Requirements = []string{"numpy==2.1.0"}
	spec.Resources.MaxRuntime = 90 * time.Minute

	plan, err := p.Plan(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if st.Terminal || st.ID == "" || st.Labels["team"] != "vision" {
		t.Fatalf("after submit: %+v", st)
	}
	// Plan rendered exactly the body Submit sent.
	var planned map[string]any
	dec := json.NewDecoder(strings.NewReader(plan.Requests[len(plan.Requests)-1].Body))
	dec.UseNumber()
	if err := dec.Decode(&planned); err != nil {
		t.Fatal(err)
	}
	sent := f.Submitted()
	if len(sent) != 1 || !jsonEqual(planned, sent[0]) {
		t.Fatalf("plan body differs from the submitted one:\nplan: %v\nsent: %v", planned, sent)
	}
	task := sent[0]["tasks"].([]any)[0].(map[string]any)
	cluster := task["new_cluster"].(map[string]any)
	checks := map[string]bool{
		"timeout_seconds is max_runtime": sent[0]["timeout_seconds"] == json.Number("5400"),
		"idempotency token":              strings.HasPrefix(sent[0]["idempotency_token"].(string), "neural-"),
		"ML runtime":                     cluster["spark_version"] == "15.4.x-cpu-ml-scala2.12",
		"default node type":              cluster["node_type_id"] == "m5d.xlarge",
		"single node":                    cluster["num_workers"] == json.Number("0"),
		"requirements as libraries":      strings.Contains(jsonString(task["libraries"]), "numpy==2.1.0"),
		"env passed to the task":         strings.Contains(jsonString(task["spark_python_task"]), `\"SEED\":\"7\"`),
		"cluster logs delivered":         strings.Contains(jsonString(cluster["cluster_log_conf"]), "dbfs:/FileStore/neural-host/runs/"),
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("submitted run lacks %s: %s", what, jsonString(sent[0]))
		}
	}

	st = waitTerminal(t, p, st.ID)
	if st.State != sdk.StateSucceeded || st.RawState != "TERMINATED:SUCCESS" || st.ConsoleURL == "" || st.Attributes["cluster_id"] == "" || st.StartedAt.IsZero() || st.EndedAt.IsZero() {
		t.Fatalf("final status: %+v", st)
	}
	res, err := p.Result(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Metrics["loss"] != 0.25 || res.Metrics["acc.top1"] != 0.9 || len(res.Metrics) != 2 {
		t.Errorf("metrics %v", res.Metrics)
	}
	var weights string
	for _, a := range res.Artifacts {
		if strings.HasSuffix(a, "/output/model/weights.bin") {
			weights = a
		}
	}
	if weights == "" || len(res.Artifacts) != 2 {
		t.Errorf("artifacts %v", res.Artifacts)
	}
	if !strings.Contains(res.OutputExcerpt, "epoch 3") || res.Error != "" || res.Duration <= 0 {
		t.Errorf("result %+v", res)
	}
	// The artifact can be fetched with the files capability.
	local := filepath.Join(t.TempDir(), "w.bin")
	if info, err := p.Download(ctx, sdk.TransferRequest{RemoteURI: weights, LocalPath: local}, nil); err != nil || info.Size != 128 {
		t.Errorf("download artifact: %+v %v", info, err)
	}

	lines, cursors := collectLogs(t, p, sdk.LogsRequest{ID: st.ID})
	all := strings.Join(lines, "\n")
	for _, want := range []string{"job id " + st.ID, "SEED=7", "args --epochs 3", "epoch 3"} {
		if !strings.Contains(all, want) {
			t.Errorf("logs lack %q:\n%s", want, all)
		}
	}
	rest, _ := collectLogs(t, p, sdk.LogsRequest{ID: st.ID, Cursor: cursors[len(cursors)-2]})
	if len(rest) != 1 || rest[0] != lines[len(lines)-1] {
		t.Errorf("from cursor %s: %q", cursors[len(cursors)-2], rest)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestIdempotentSubmit(t *testing.T) {
	f := newFake(t)
	p := newPlatform(t, f, nil)
	ctx := context.Background()
	spec := pySpec(t, "print('hi')\n")
	a, err := p.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	uploads := len(f.Requests("POST", "/api/2.0/dbfs/create"))
	b, err := p.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.IdempotencyKey += "-other"
	c, err := p.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || a.ID == c.ID {
		t.Errorf("ids %s %s %s: want the first two equal and the third new", a.ID, b.ID, c.ID)
	}
	if n := len(f.Runs()); n != 2 {
		t.Errorf("%d runs, want 2", n)
	}
	if uploads != 2 || len(f.Requests("POST", "/api/2.0/dbfs/create")) != uploads {
		t.Errorf("uploads: %d at first, %d in all; the bundle and launcher must be uploaded once", uploads, len(f.Requests("POST", "/api/2.0/dbfs/create")))
	}
}

// TestSubmitSurvivesTransientFailures: throttling, an unavailable service
// and a connection dropped after the run was created all end in one run.
func TestSubmitSurvivesTransientFailures(t *testing.T) {
	t.Parallel()
	const path = "/api/2.2/jobs/runs/submit"
	tests := []struct {
		name   string
		faults []fakeworkspace.Fault
		// answers are the statuses the fake gave, 0 for a dropped connection.
		answers []int
	}{
		{"429 with Retry-After", []fakeworkspace.Fault{{Path: path, Status: 429, RetryAfter: "1"}}, []int{429, 200}},
		{"503", []fakeworkspace.Fault{{Path: path, Status: 503}}, []int{503, 200}},
		{"dropped after creating the run", []fakeworkspace.Fault{{Path: path, Drop: true}}, []int{0, 200}},
		{"all three", []fakeworkspace.Fault{{Path: path, Status: 429, RetryAfter: "1"}, {Path: path, Status: 503}, {Path: path, Drop: true}}, []int{429, 503, 0, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			for _, fault := range tt.faults {
				f.Inject(fault)
			}
			p := newPlatform(t, f, nil)
			st, err := p.Submit(context.Background(), pySpec(t, "print('once')\n"))
			if err != nil {
				t.Fatal(err)
			}
			reqs := f.Requests("POST", path)
			var answers []int
			for _, r := range reqs {
				answers = append(answers, r.Status)
			}
			if len(f.Runs()) != 1 || !slices.Equal(answers, tt.answers) {
				t.Fatalf("%d runs from submit requests answered %v; want 1 run from %v", len(f.Runs()), answers, tt.answers)
			}
			if strconv.FormatInt(f.Runs()[0], 10) != st.ID {
				t.Errorf("submit returned %s, the run is %d", st.ID, f.Runs()[0])
			}
			if reqs[0].Status == 429 && reqs[1].Time.Sub(reqs[0].Time) < time.Second {
				t.Errorf("retried %s after a 429 with Retry-After: 1", reqs[1].Time.Sub(reqs[0].Time))
			}
		})
	}
}

func TestCancelMidRun(t *testing.T) {
	f := newFake(t)
	p := newPlatform(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := p.Submit(ctx, pySpec(t, "import time\nprint('ready', flush=True)\ntime.sleep(300)\n"))
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		done <- p.Logs(ctx, sdk.LogsRequest{ID: st.ID, Follow: true}, func(e sdk.LogEntry) error {
			ready <- e.Line
			return nil
		})
	}()
	for line := range ready {
		if line == "ready" {
			break
		}
	}
	if st, err = p.Status(ctx, st.ID); err != nil || st.State != sdk.StateRunning {
		t.Fatalf("before cancel: %+v %v", st, err)
	}
	after, err := p.Cancel(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.State != sdk.StateCancelled || !after.Terminal || after.RawState != "TERMINATED:USER_CANCELED" {
		t.Fatalf("after cancel: %+v", after)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("following logs: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("following logs did not end with the run")
	}
	if res, err := p.Result(ctx, st.ID); err != nil || res.Status.State != sdk.StateCancelled {
		t.Errorf("result after cancel: %+v %v", res, err)
	}
	// Cancelling again reports the same end.
	if again, err := p.Cancel(ctx, st.ID); err != nil || again.State != sdk.StateCancelled {
		t.Errorf("second cancel: %+v %v", again, err)
	}
}

func TestLogsFollow(t *testing.T) {
	f := newFake(t)
	p := newPlatform(t, f, nil)
	gate := filepath.Join(t.TempDir(), "gate")
	spec := pySpec(t, "import os, time\nprint('first', flush=True)\nwhile not os.path.exists(os.environ['GATE']):\n    time.sleep(0.02)\nprint('second')\n")
	spec.Env = map[string]string{"GATE": gate}
	st, err := p.Submit(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct{ line, cursor string }
	got := make(chan entry, 16)
	done := make(chan error, 1)
	go func() {
		done <- p.Logs(context.Background(), sdk.LogsRequest{ID: st.ID, Follow: true}, func(e sdk.LogEntry) error {
			got <- entry{e.Line, e.Cursor}
			return nil
		})
	}()
	next := func() entry {
		for {
			select {
			case e := <-got:
				if !strings.HasPrefix(e.line, "neural launcher:") {
					return e
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no log line")
			}
		}
	}
	first := next()
	if first.line != "first" || !strings.HasPrefix(first.cursor, "d:") {
		t.Fatalf("first entry %+v", first)
	}
	if st, _ := p.Status(context.Background(), st.ID); st.Terminal {
		t.Fatal("the job ended before the gate opened")
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if second := next(); second.line != "second" {
		t.Fatalf("second entry %+v", second)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rest, _ := collectLogs(t, p, sdk.LogsRequest{ID: st.ID, Cursor: first.cursor, Follow: true})
	if len(rest) != 1 || rest[0] != "second" {
		t.Errorf("resumed driver log: %q", rest)
	}
	if _, err := collectLogsErr(p, sdk.LogsRequest{ID: st.ID, Cursor: "x:1"}); !errors.Is(err, sdk.ErrInvalidArgument) {
		t.Errorf("bad cursor: %v", err)
	}
}

func collectLogsErr(p *Platform, req sdk.LogsRequest) ([]string, error) {
	var lines []string
	err := p.Logs(context.Background(), req, func(e sdk.LogEntry) error { lines = append(lines, e.Line); return nil })
	return lines, err
}

func TestFailedAndTimedOutJobs(t *testing.T) {
	tests := []struct {
		name, script string
		runtime      time.Duration
		raw, error   string
	}{
		{"exit code", "import sys\nprint('boom')\nsys.exit(3)\n", 0, "TERMINATED:RUN_EXECUTION_ERROR", "exited with code 3"},
		{"timeout", "import time\ntime.sleep(60)\n", time.Second, "TERMINATED:RUN_EXECUTION_ERROR", "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			p := newPlatform(t, f, nil)
			spec := pySpec(t, tt.script)
			spec.Resources.MaxRuntime = tt.runtime
			st, err := p.Submit(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			st = waitTerminal(t, p, st.ID)
			res, err := p.Result(context.Background(), st.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != sdk.StateFailed || st.RawState != tt.raw || !strings.Contains(res.Error, tt.error) || st.Reason == "" {
				t.Errorf("status %+v, error %q", st, res.Error)
			}
		})
	}
}

func TestStateTablesCoverTheEnums(t *testing.T) {
	var v2 jobs.RunLifecycleStateV2State
	var code jobs.TerminationCodeCode
	var lc jobs.RunLifeCycleState
	var result jobs.RunResultState
	sdktest.CheckStateTable(t, lifecycleStates, v2.Values())
	sdktest.CheckStateTable(t, terminationCodes, code.Values())
	sdktest.CheckStateTable(t, lifeCycleStates, lc.Values())
	sdktest.CheckStateTable(t, resultStates, result.Values())
}

// TestEveryTerminalStateIsTerminal walks every state the Jobs API defines.
func TestEveryTerminalStateIsTerminal(t *testing.T) {
	var code jobs.TerminationCodeCode
	for _, c := range code.Values() {
		for _, typ := range []jobs.TerminationTypeType{"", jobs.TerminationTypeTypeSuccess, jobs.TerminationTypeTypeClientError} {
			st, raw, _ := runState(&jobs.RunStatus{State: jobs.RunLifecycleStateV2StateTerminated,
				TerminationDetails: &jobs.TerminationDetails{Code: c, Type: typ}}, nil)
			if !st.Terminal() || raw != "TERMINATED:"+string(c) {
				t.Errorf("TERMINATED %s (%s) → %s, raw %q", c, typ, st, raw)
			}
		}
	}
	var result jobs.RunResultState
	for _, r := range result.Values() {
		if st, raw, _ := runState(nil, &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateTerminated, ResultState: r}); !st.Terminal() || raw != "TERMINATED:"+string(r) {
			t.Errorf("TERMINATED/%s → %s (raw %q)", r, st, raw)
		}
	}
	var lc jobs.RunLifeCycleState
	for _, l := range lc.Values() {
		st, _, _ := runState(nil, &jobs.RunState{LifeCycleState: l, ResultState: jobs.RunResultStateFailed})
		wantTerminal := l == jobs.RunLifeCycleStateTerminated || l == jobs.RunLifeCycleStateSkipped || l == jobs.RunLifeCycleStateInternalError
		if st.Terminal() != wantTerminal || st == sdk.StateUnknown {
			t.Errorf("life cycle %s → %s", l, st)
		}
	}
	var v2 jobs.RunLifecycleStateV2State
	for _, s := range v2.Values() {
		st, _, _ := runState(&jobs.RunStatus{State: s}, nil)
		if s != jobs.RunLifecycleStateV2StateTerminated && (st.Terminal() || st == sdk.StateUnknown) {
			t.Errorf("status %s → %s", s, st)
		}
	}
	unknown := []struct {
		status *jobs.RunStatus
		state  *jobs.RunState
	}{
		{&jobs.RunStatus{State: "EXPLODED"}, nil},
		{nil, &jobs.RunState{LifeCycleState: "EXPLODED"}},
		{&jobs.RunStatus{State: jobs.RunLifecycleStateV2StateTerminated, TerminationDetails: &jobs.TerminationDetails{Code: "NEW_CODE"}}, nil},
		{nil, &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateTerminated, ResultState: "NEW_RESULT"}},
	}
	for _, u := range unknown {
		if st, _, _ := runState(u.status, u.state); st != sdk.StateUnknown {
			t.Errorf("%+v %+v → %s, want unknown", u.status, u.state, st)
		}
	}

	// And through the API, as a run reports them.
	f := newFake(t)
	p := newPlatform(t, f, nil)
	forced := []struct {
		lc    jobs.RunLifeCycleState
		rs    jobs.RunResultState
		v2    jobs.RunLifecycleStateV2State
		code  jobs.TerminationCodeCode
		want  sdk.State
		raw   string
		extra string
	}{
		{jobs.RunLifeCycleStateSkipped, "", "", "", sdk.StateCancelled, "SKIPPED", ""},
		{jobs.RunLifeCycleStateInternalError, "", "", "", sdk.StateFailed, "INTERNAL_ERROR", ""},
		{jobs.RunLifeCycleStateTerminated, jobs.RunResultStateTimedout, "", "", sdk.StateFailed, "TERMINATED:TIMEDOUT", ""},
		{jobs.RunLifeCycleStateTerminated, jobs.RunResultStateUpstreamFailed, "", "", sdk.StateFailed, "TERMINATED:UPSTREAM_FAILED", ""},
		{jobs.RunLifeCycleStateTerminated, jobs.RunResultStateFailed, jobs.RunLifecycleStateV2StateTerminated, jobs.TerminationCodeCodeSkipped, sdk.StateCancelled, "TERMINATED:SKIPPED", ""},
		{jobs.RunLifeCycleStateTerminated, jobs.RunResultStateFailed, jobs.RunLifecycleStateV2StateTerminated, jobs.TerminationCodeCodeClusterError, sdk.StateFailed, "TERMINATED:CLUSTER_ERROR", "cluster lost"},
	}
	for _, fc := range forced {
		spec := pySpec(t, "import time\ntime.sleep(60)\n")
		spec.IdempotencyKey += string(fc.lc) + string(fc.rs) + string(fc.code)
		st, err := p.Submit(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := strconv.ParseInt(st.ID, 10, 64)
		if err := f.ForceState(id, fc.lc, fc.rs, fc.v2, fc.code, "", fc.extra); err != nil {
			t.Fatal(err)
		}
		st, err = p.Status(context.Background(), st.ID)
		if err != nil || st.State != fc.want || !st.Terminal || st.RawState != fc.raw || st.Reason != fc.extra {
			t.Errorf("forced %s/%s/%s: %+v %v", fc.lc, fc.rs, fc.code, st, err)
		}
	}
}

func TestStatusOfUnknownRun(t *testing.T) {
	f := newFake(t)
	p := newPlatform(t, f, nil)
	for id, kind := range map[string]error{"123456": sdk.ErrNotFound, "abc": sdk.ErrInvalidArgument, "-4": sdk.ErrInvalidArgument} {
		if _, err := p.Status(context.Background(), id); !errors.Is(err, kind) {
			t.Errorf("Status(%q) = %v, want %v", id, err, kind)
		}
	}
}

func TestComputeKinds(t *testing.T) {
	tests := []struct {
		name    string
		cfg     sdk.Config
		options map[string]string
		check   func(task map[string]any, body map[string]any) bool
	}{
		{"existing cluster from settings", sdk.Config{"cluster_id": testCluster}, nil,
			func(task, _ map[string]any) bool {
				return task["existing_cluster_id"] == testCluster && task["new_cluster"] == nil
			}},
		{"serverless with volume staging", sdk.Config{"staging_dir": testVolume + "/staging"}, map[string]string{"compute": "serverless"},
			func(task, body map[string]any) bool {
				return task["environment_key"] == "default" && body["environments"] != nil &&
					strings.HasPrefix(task["spark_python_task"].(map[string]any)["python_file"].(string), testVolume+"/staging/launcher/")
			}},
		{"new cluster on a volume", sdk.Config{"staging_dir": testVolume}, nil,
			func(task, _ map[string]any) bool {
				return strings.Contains(jsonString(task["new_cluster"]), `"volumes":{"destination":"`+testVolume+`/runs/`)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			p := newPlatform(t, f, tt.cfg)
			spec := pySpec(t, trainPy)
			spec.Options = tt.options
			st, err := p.Submit(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			body := f.Submitted()[0]
			if task := body["tasks"].([]any)[0].(map[string]any); !tt.check(task, body) {
				t.Errorf("submitted %s", jsonString(body))
			}
			st = waitTerminal(t, p, st.ID)
			res, err := p.Result(context.Background(), st.ID)
			if err != nil || st.State != sdk.StateSucceeded || res.Metrics["loss"] != 0.25 {
				t.Errorf("status %+v, result %+v, %v", st, res, err)
			}
		})
	}
}

func TestList(t *testing.T) {
	f := newFake(t)
	p := newPlatform(t, f, nil)
	ctx := context.Background()
	var ids []string
	for i, team := range []string{"a", "b", "a"} {
		spec := pySpec(t, "print(1)\n")
		spec.IdempotencyKey += strconv.Itoa(i)
		spec.Name = "list-" + team
		spec.Labels = map[string]string{"team": team}
		st, err := p.Submit(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
		waitTerminal(t, p, st.ID)
	}
	tests := []struct {
		req  sdk.ListRequest
		want []string
	}{
		{sdk.ListRequest{}, []string{ids[2], ids[1], ids[0]}},
		{sdk.ListRequest{Labels: map[string]string{"team": "a"}}, []string{ids[2], ids[0]}},
		{sdk.ListRequest{States: []sdk.State{sdk.StateSucceeded}, NamePrefix: "list-b"}, []string{ids[1]}},
		{sdk.ListRequest{States: []sdk.State{sdk.StateRunning}}, nil},
		{sdk.ListRequest{CreatedAfter: time.Now().Add(time.Hour)}, nil},
	}
	for _, tt := range tests {
		resp, err := p.List(ctx, tt.req)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, j := range resp.Jobs {
			got = append(got, j.ID)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("List(%+v) = %v, want %v", tt.req, got, tt.want)
		}
	}
	// Pages of one walk all three runs.
	var got []string
	req := sdk.ListRequest{PageSize: 1}
	for page := 0; page < 5; page++ {
		resp, err := p.List(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range resp.Jobs {
			got = append(got, j.ID)
		}
		if resp.NextPageToken == "" {
			break
		}
		req.PageToken = resp.NextPageToken
	}
	if strings.Join(got, ",") != strings.Join([]string{ids[2], ids[1], ids[0]}, ",") {
		t.Errorf("paged listing %v", got)
	}
	if _, err := p.List(ctx, sdk.ListRequest{PageToken: "!!"}); !errors.Is(err, sdk.ErrInvalidArgument) {
		t.Errorf("bad page token: %v", err)
	}
}

// TestLogsTruncated: Databricks keeps the last 5 MB of a task's output, and
// the logs say so before the lines that are left.
func TestLogsTruncated(t *testing.T) {
	f := newFake(t)
	p := newPlatform(t, f, nil)
	st, err := p.Submit(context.Background(), pySpec(t, "import sys\nfor i in range(70000):\n    sys.stdout.write('line %06d %s\\n' % (i, 'x' * 80))\nprint('last')\n"))
	if err != nil {
		t.Fatal(err)
	}
	waitTerminal(t, p, st.ID)
	var entries []sdk.LogEntry
	err = p.Logs(context.Background(), sdk.LogsRequest{ID: st.ID}, func(e sdk.LogEntry) error {
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 2 || !entries[0].Truncated || entries[0].Line != truncatedNotice || entries[len(entries)-1].Line != "last" {
		t.Fatalf("%d entries; first %+v", len(entries), entries[0])
	}
	if strings.HasPrefix(entries[1].Line, "line 000000") || len(entries) > 70000 {
		t.Errorf("the output was not cut: %d entries, first line %q", len(entries), entries[1].Line)
	}
	for _, e := range entries[1:] {
		if e.Truncated {
			t.Fatalf("entry %+v is marked truncated", e)
		}
	}
}

// TestDSLJobShipsTheRunner: a dsl job's bundle carries the generated
// runner, set to install neural-dsl on the cluster, and the task runs it.
func TestDSLJobShipsTheRunner(t *testing.T) {
	// The run never starts: the runner would reach PyPI.
	f, err := fakeworkspace.New(t.TempDir(), fakeworkspace.Options{StartDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := newPlatform(t, f, nil)
	spec := sdk.JobSpec{Kind: sdk.KindDSL, WorkDir: writeWorkDir(t, map[string]string{"mnist.neural": "network N {}\n"}),
		Entrypoint: "mnist.neural", IdempotencyKey: "dsl", DSL: sdk.DSLOptions{Backend: sdk.BackendPyTorch, NeuralVersion: "0.3.0"}}
	st, err := p.Submit(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	bundles, _ := filepath.Glob(filepath.Join(f.Root, "dbfs", "FileStore", "neural-host", "bundles", "*.tar.gz"))
	if len(bundles) != 1 {
		t.Fatalf("bundles %v", bundles)
	}
	b, err := os.Open(bundles[0])
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	if err := bundle.Extract(b, dir); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(dir, runner.FileName))
	if err != nil || !bytes.Contains(script, []byte(`"Install": true`)) || !bytes.Contains(script, []byte(`"NeuralVersion": "0.3.0"`)) {
		t.Errorf("runner in the bundle: %v\n%s", err, script)
	}
	if params := jsonString(f.Submitted()[0]); !strings.Contains(params, `"@python","`+runner.FileName+`"`) {
		t.Errorf("the task does not run the runner: %s", params)
	}
	if st, err = p.Cancel(context.Background(), st.ID); err != nil || st.State != sdk.StateCancelled {
		t.Errorf("cancel while pending: %+v %v", st, err)
	}
}
