package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
	"github.com/neural-dsl/neural-host/sdk"
)

// TestSubmitRetriesMakeOneJob covers the ways a submit is retried: by the
// host with the same key, by the SDK after throttling, and by the SDK after
// SageMaker created the job but the answer was lost.
func TestSubmitRetriesMakeOneJob(t *testing.T) {
	tests := []struct {
		name    string
		fault   *fakeaws.Fault
		submits int
		creates int // CreateTrainingJob requests SageMaker receives
	}{
		{"same key twice", nil, 2, 1},
		{"throttled twice", &fakeaws.Fault{Op: "CreateTrainingJob", Code: "ThrottlingException", Status: 400, Message: "Rate exceeded", Times: 2}, 1, 3},
		{"created but answer lost", &fakeaws.Fault{Op: "CreateTrainingJob", Code: "InternalFailure", Status: 500, Message: "boom", AfterHandling: true}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newPlatform(t, fakeaws.Options{})
			if tt.fault != nil {
				fake.Inject("sagemaker", *tt.fault)
			}
			spec := pythonJob(t, "retried", "same-key", "print('once')\n")
			var ids []string
			for i := 0; i < tt.submits; i++ {
				st, err := p.Submit(context.Background(), spec)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, st.ID)
			}
			if jobs, _, _, _ := fake.SageMaker.Counts(); jobs != 1 {
				t.Errorf("%d jobs, want 1", jobs)
			}
			if n := fake.Calls("sagemaker", "CreateTrainingJob"); n != tt.creates {
				t.Errorf("%d CreateTrainingJob requests, want %d", n, tt.creates)
			}
			for _, id := range ids[1:] {
				if id != ids[0] {
					t.Errorf("ids %v differ", ids)
				}
			}
			// A retry does not upload the same bundle again.
			if n := fake.Calls("s3", "PUT"); n != 1 {
				t.Errorf("%d uploads, want 1", n)
			}
		})
	}
}

func TestSubmitDifferentKeysMakeTwoJobs(t *testing.T) {
	p, fake := newPlatform(t, fakeaws.Options{})
	a, err := p.Submit(context.Background(), pythonJob(t, "twice", "key-a", "pass\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Submit(context.Background(), pythonJob(t, "twice", "key-b", "pass\n"))
	if err != nil {
		t.Fatal(err)
	}
	if jobs, _, _, _ := fake.SageMaker.Counts(); a.ID == b.ID || jobs != 2 {
		t.Errorf("ids %s %s, %d jobs", a.ID, b.ID, jobs)
	}
}

func TestSubmitThrottledThroughout(t *testing.T) {
	p, fake := newPlatform(t, fakeaws.Options{})
	fake.Inject("sagemaker", fakeaws.Fault{Op: "CreateTrainingJob", Code: "ThrottlingException", Status: 400, Message: "Rate exceeded", Times: 10})
	_, err := p.Submit(context.Background(), pythonJob(t, "throttled", "k", "pass\n"))
	se := wantKind(t, err, sdk.ErrRateLimited)
	if se.Hint == "" || !strings.Contains(se.Message, "ThrottlingException") {
		t.Errorf("error %v", se)
	}
	if jobs, _, _, _ := fake.SageMaker.Counts(); jobs != 0 {
		t.Errorf("%d jobs", jobs)
	}
}

// TestSubmitNameTakenByAnotherJob: a job of the derived name that the key
// did not create is a conflict, not a match.
func TestSubmitNameTakenByAnotherJob(t *testing.T) {
	p, fake := newPlatform(t, fakeaws.Options{})
	spec := pythonJob(t, "taken", "k", "pass\n")
	c, err := p.clients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.sm.CreateTrainingJob(context.Background(), &sagemaker.CreateTrainingJobInput{
		TrainingJobName: aws.String(jobName(spec)), RoleArn: aws.String(fake.RoleARN),
		AlgorithmSpecification: &types.AlgorithmSpecification{TrainingImage: aws.String("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5.1-cpu-py311"), TrainingInputMode: types.TrainingInputModeFile},
		OutputDataConfig:       &types.OutputDataConfig{S3OutputPath: aws.String("s3://elsewhere/out")},
		ResourceConfig:         &types.ResourceConfig{InstanceType: types.TrainingInstanceTypeMlM5Large, InstanceCount: aws.Int32(1), VolumeSizeInGB: aws.Int32(10)},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Submit(context.Background(), spec)
	if se := wantKind(t, err, sdk.ErrConflict); se.Hint == "" {
		t.Error("no hint")
	}
}

func TestSpotJob(t *testing.T) {
	p, fake := newPlatform(t, fakeaws.Options{})
	spec := pythonJob(t, "spot", "spot-key", "import time\ntime.sleep(1.2)\n")
	spec.Resources = sdk.Resources{Spot: true, MaxRuntime: time.Hour}
	spec.Options = map[string]string{"max_wait": "3h"}
	st, err := p.Submit(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := fake.SageMaker.Request(st.ID)
	var req struct {
		EnableManagedSpotTraining bool
		StoppingCondition         struct{ MaxRuntimeInSeconds, MaxWaitTimeInSeconds int }
		CheckpointConfig          struct{ S3Uri, LocalPath string }
	}
	json.Unmarshal(b, &req)
	wantCkpt := "s3://sagemaker-us-east-1-123456789012/neural/" + st.ID + "/checkpoints"
	if !req.EnableManagedSpotTraining || req.StoppingCondition.MaxRuntimeInSeconds != 3600 || req.StoppingCondition.MaxWaitTimeInSeconds != 10800 ||
		req.CheckpointConfig.S3Uri != wantCkpt || req.CheckpointConfig.LocalPath != "/opt/ml/checkpoints" {
		t.Errorf("request %s", b)
	}
	end := waitTerminal(t, p, st.ID)
	res, err := p.Result(context.Background(), st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if end.State != sdk.StateSucceeded || res.BillableSeconds <= 0 || res.BillableSeconds >= int64(res.Duration.Seconds()) ||
		end.Attributes["spot"] != "true" || end.Attributes["spot_savings_percent"] == "" {
		t.Errorf("billable %d of %v, attributes %v", res.BillableSeconds, res.Duration, end.Attributes)
	}
}

func TestJobEndings(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		runtime  time.Duration
		cancel   bool
		state    sdk.State
		raw      string
		reason   string
		artifact bool
	}{
		{"exit code", "import sys\nprint('bad input', file=sys.stderr)\nsys.exit(3)\n", 0, false, sdk.StateFailed, "Failed/Failed", "ExitCode 3", true},
		{"max runtime", "import time\nprint('slow', flush=True)\ntime.sleep(60)\n", time.Second, false, sdk.StateFailed, "Stopped/MaxRuntimeExceeded", "max_runtime", true},
		{"cancelled", "import time\nprint('ready', flush=True)\ntime.sleep(60)\n", 0, true, sdk.StateCancelled, "Stopped/Stopped", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newPlatform(t, fakeaws.Options{})
			spec := pythonJob(t, "ending", "k", tt.script)
			spec.Resources.MaxRuntime = tt.runtime
			st, err := p.Submit(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			if tt.cancel {
				eventually(t, 20*time.Second, "the job to run", func() bool {
					st, err := p.Status(context.Background(), st.ID)
					return err == nil && st.State == sdk.StateRunning
				})
				after, err := p.Cancel(context.Background(), st.ID)
				if err != nil {
					t.Fatal(err)
				}
				if after.State != sdk.StateStopping && after.State != sdk.StateCancelled {
					t.Errorf("after cancel: %s", after.State)
				}
				if n := fake.Calls("sagemaker", "StopTrainingJob"); n != 1 {
					t.Errorf("%d StopTrainingJob calls", n)
				}
			}
			end := waitTerminal(t, p, st.ID)
			if end.State != tt.state || end.RawState != tt.raw || !strings.Contains(end.Reason, tt.reason) {
				t.Errorf("ended %s %s %q, want %s %s %q", end.State, end.RawState, end.Reason, tt.state, tt.raw, tt.reason)
			}
			res, err := p.Result(context.Background(), st.ID)
			if err != nil {
				t.Fatal(err)
			}
			if (tt.state == sdk.StateFailed) != (res.Error != "") || (len(res.Artifacts) > 0) != tt.artifact {
				t.Errorf("result error %q artifacts %v", res.Error, res.Artifacts)
			}
			// Cancelling an ended job changes nothing and calls nothing.
			stops := fake.Calls("sagemaker", "StopTrainingJob")
			again, err := p.Cancel(context.Background(), st.ID)
			if err != nil || again.State != tt.state || fake.Calls("sagemaker", "StopTrainingJob") != stops {
				t.Errorf("cancel after the end: %v %s", err, again.State)
			}
		})
	}
}

func TestUnknownJob(t *testing.T) {
	p, _ := newPlatform(t, fakeaws.Options{})
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"status": func() error { _, err := p.Status(ctx, "no-such-job"); return err },
		"result": func() error { _, err := p.Result(ctx, "no-such-job"); return err },
		"cancel": func() error { _, err := p.Cancel(ctx, "no-such-job"); return err },
		"logs": func() error {
			return p.Logs(ctx, sdk.LogsRequest{ID: "no-such-job"}, func(sdk.LogEntry) error { return nil })
		},
	} {
		if se := wantKind(t, call(), sdk.ErrNotFound); se.Hint == "" {
			t.Errorf("%s: no hint", name)
		}
	}
	_, err := p.Status(ctx, "not_a/name")
	wantKind(t, err, sdk.ErrInvalidArgument)
}
