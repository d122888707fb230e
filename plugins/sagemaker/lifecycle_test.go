package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
	"github.com/neural-dsl/neural-host/sdk"
)

const trainScript = `import json, os, sys
out = os.environ["NEURAL_OUTPUT_DIR"]
print("epoch 1 loss 0.5", flush=True)
print("args", sys.argv[1:], "seed", os.environ.get("SEED"), "job", os.environ.get("NEURAL_JOB_ID"), flush=True)
with open(os.path.join(out, "metrics.json"), "w") as f:
    json.dump({"loss": 0.25, "eval": {"accuracy": 0.9}, "note": "skipped"}, f)
with open(os.path.join(out, "model.bin"), "w") as f:
    f.write("weights")
print("done", flush=True)
`

func TestLifecycle(t *testing.T) {
	p, fake := newPlatform(t, fakeaws.Options{})
	ctx := context.Background()
	spec := pythonJob(t, "quick start", "key-1", trainScript)
	spec.Args = []string{"--epochs", "3"}
	spec.Env = map[string]string{"SEED": "7"}
	spec.Labels = map[string]string{"team": "vision"}
	st, err := p.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.ID, "quick-start-") || st.Terminal || st.Labels["team"] != "vision" {
		t.Fatalf("submitted %+v", st)
	}
	end := waitTerminal(t, p, st.ID)
	if end.State != sdk.StateSucceeded || end.RawState != "Completed/Completed" || end.EndedAt.IsZero() {
		t.Fatalf("ended %+v", end)
	}
	res, err := p.Result(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantMetrics := map[string]float64{"loss": 0.25, "eval.accuracy": 0.9}
	if len(res.Metrics) != len(wantMetrics) || res.Metrics["loss"] != 0.25 || res.Metrics["eval.accuracy"] != 0.9 {
		t.Errorf("metrics %v, want %v", res.Metrics, wantMetrics)
	}
	bucket := "s3://sagemaker-" + fake.Region + "-" + fake.Account + "/neural/" + st.ID + "/output/"
	if len(res.Artifacts) != 2 || res.Artifacts[0] != bucket+"model.tar.gz" || res.Artifacts[1] != bucket+"output.tar.gz" {
		t.Errorf("artifacts %v", res.Artifacts)
	}
	if res.Duration <= 0 || res.BillableSeconds != int64(res.Duration/time.Second) || res.Error != "" {
		t.Errorf("duration %v billable %d error %q", res.Duration, res.BillableSeconds, res.Error)
	}
	want := "args ['--epochs', '3'] seed 7 job " + st.ID
	if !strings.Contains(res.OutputExcerpt, want) || !strings.HasSuffix(res.OutputExcerpt, "done") {
		t.Errorf("excerpt %q lacks %q", res.OutputExcerpt, want)
	}
	var lines []string
	if err := p.Logs(ctx, sdk.LogsRequest{ID: st.ID}, func(e sdk.LogEntry) error {
		lines = append(lines, e.Line)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || lines[0] != "epoch 1 loss 0.5" || lines[2] != "done" {
		t.Errorf("logs %q", lines)
	}
	// What was sent is script mode on the framework container.
	b, _ := fake.SageMaker.Request(st.ID)
	var req struct {
		HyperParameters        map[string]string
		AlgorithmSpecification struct{ TrainingImage string }
		Environment            map[string]string
	}
	json.Unmarshal(b, &req)
	if req.HyperParameters["sagemaker_program"] != `"_neural_sagemaker.py"` ||
		req.HyperParameters["sagemaker_submit_directory"] != `"s3://sagemaker-us-east-1-123456789012/neural/`+st.ID+`/source/sourcedir.tar.gz"` ||
		req.AlgorithmSpecification.TrainingImage != "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5.1-cpu-py311" ||
		req.Environment["SEED"] != "7" {
		t.Errorf("request %s", b)
	}
}
