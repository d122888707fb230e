package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

func TestJobName(t *testing.T) {
	tests := []struct {
		name, key, prefix string
	}{
		{"my job", "k1", "my-job-"},
		{"__weird__!!name", "k1", "weird-name-"},
		{"", "k1", "neural-"},
		{"ünïcode", "k1", "n-code-"},
		{strings.Repeat("long", 30), "k1", strings.Repeat("long", 30)[:50] + "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := sdk.JobSpec{Name: tt.name, IdempotencyKey: tt.key}
			got := jobName(spec)
			if !namePattern.MatchString(got) || len(got) > maxName || !strings.HasPrefix(got, tt.prefix) {
				t.Errorf("jobName = %q (len %d), want prefix %q", got, len(got), tt.prefix)
			}
			if again := jobName(spec); again != got {
				t.Errorf("not stable: %q then %q", got, again)
			}
			spec.IdempotencyKey = "k2"
			if other := jobName(spec); other == got {
				t.Errorf("keys k1 and k2 give one name %q", got)
			}
		})
	}
	if a, b := jobName(sdk.JobSpec{Name: "x"}), jobName(sdk.JobSpec{Name: "x"}); a == b {
		t.Errorf("without a key two names are equal: %q", a)
	}
}

func TestSubmittedWith(t *testing.T) {
	old := sha256.Sum256([]byte("k1"))
	tests := []struct {
		name, tag, key string
		want           bool
	}{
		{"this version's tag", keyHash("k1"), "k1", true},
		{"0.1.0's unprefixed tag", hex.EncodeToString(old[:16]), "k1", true},
		{"another key's tag", keyHash("k2"), "k1", false},
		{"no tag", "", "k1", false},
		{"no key", keyHash(""), "", false},
	}
	for _, tt := range tests {
		if got := submittedWith(tt.tag, tt.key); got != tt.want {
			t.Errorf("%s: submittedWith(%q, %q) = %v, want %v", tt.name, tt.tag, tt.key, got, tt.want)
		}
	}
}

func TestStateTablesCoverTheEnums(t *testing.T) {
	sdktest.CheckStateTable(t, jobStatuses, types.TrainingJobStatus("").Values())
	sdktest.CheckStateTable(t, inProgressStates, types.SecondaryStatus("").Values())
}

func TestStatusesOf(t *testing.T) {
	tests := []struct {
		state sdk.State
		want  []types.TrainingJobStatus
	}{
		{sdk.StateQueued, []types.TrainingJobStatus{types.TrainingJobStatusInProgress}},
		{sdk.StateRunning, []types.TrainingJobStatus{types.TrainingJobStatusInProgress}},
		{sdk.StateSucceeded, []types.TrainingJobStatus{types.TrainingJobStatusCompleted}},
		{sdk.StateCancelled, []types.TrainingJobStatus{types.TrainingJobStatusStopped}},
		{sdk.StateFailed, []types.TrainingJobStatus{types.TrainingJobStatusFailed, types.TrainingJobStatusStopped}},
		{sdk.StateStopping, []types.TrainingJobStatus{types.TrainingJobStatusStopping, types.TrainingJobStatusInProgress}},
	}
	for _, tt := range tests {
		if got := statusesOf(tt.state); !slices.Equal(got, tt.want) {
			t.Errorf("statusesOf(%s) = %v, want %v", tt.state, got, tt.want)
		}
	}
}

func TestStateMapping(t *testing.T) {
	tests := []struct {
		primary   types.TrainingJobStatus
		secondary types.SecondaryStatus
		want      sdk.State
	}{
		{"InProgress", "Pending", sdk.StateQueued},
		{"InProgress", "Starting", sdk.StateStarting},
		{"InProgress", "LaunchingMLInstances", sdk.StateStarting},
		{"InProgress", "PreparingTrainingStack", sdk.StateStarting},
		{"InProgress", "Downloading", sdk.StateStarting},
		{"InProgress", "DownloadingTrainingImage", sdk.StateStarting},
		{"InProgress", "Training", sdk.StateRunning},
		{"InProgress", "Uploading", sdk.StateRunning},
		{"InProgress", "Restarting", sdk.StateRunning},
		{"InProgress", "Updating", sdk.StateRunning},
		{"InProgress", "Interrupted", sdk.StateQueued},
		{"InProgress", "Hibernating", sdk.StateUnknown},
		{"Stopping", "Stopping", sdk.StateStopping},
		{"Completed", "Completed", sdk.StateSucceeded},
		{"Failed", "Failed", sdk.StateFailed},
		{"Stopped", "Stopped", sdk.StateCancelled},
		{"Stopped", "MaxRuntimeExceeded", sdk.StateFailed},
		{"Stopped", "MaxWaitTimeExceeded", sdk.StateFailed},
		{"Stopped", "Interrupted", sdk.StateFailed},
		{"Deleting", "", sdk.StateUnknown},
		{"Exploded", "", sdk.StateUnknown},
	}
	for _, tt := range tests {
		if got := stateOf(tt.primary, tt.secondary); got != tt.want {
			t.Errorf("%s/%s = %s, want %s", tt.primary, tt.secondary, got, tt.want)
		}
	}
	// Every status SageMaker can end in maps to a terminal state.
	for _, p := range []types.TrainingJobStatus{"Completed", "Failed", "Stopped"} {
		for _, s := range types.SecondaryStatus("").Values() {
			if !stateOf(p, s).Terminal() {
				t.Errorf("%s/%s is not terminal", p, s)
			}
		}
	}
}

func TestFrameworkImages(t *testing.T) {
	tests := []struct {
		fw, version, region string
		proc                processor
		training            bool
		want                string
	}{
		{"pytorch", "", "us-west-2", gpu, true, "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:2.5.1-gpu-py311"},
		{"pytorch", "2.2.0", "af-south-1", cpu, true, "626614931356.dkr.ecr.af-south-1.amazonaws.com/pytorch-training:2.2.0-cpu-py310"},
		{"tensorflow", "", "cn-north-1", cpu, true, "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/tensorflow-training:2.14.1-cpu-py310"},
		{"tensorflow", "2.14.1", "us-east-1", gpu, false, "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.14.1-gpu"},
		{"pytorch", "", "eu-central-2", cpu, false, "380420809688.dkr.ecr.eu-central-2.amazonaws.com/pytorch-inference:2.5.1-cpu-py311"},
	}
	for _, tt := range tests {
		got, err := frameworkImage(tt.fw, tt.version, tt.region, tt.proc, tt.training)
		if err != nil || got != tt.want {
			t.Errorf("%s %s %s: %q %v, want %q", tt.fw, tt.version, tt.region, got, err, tt.want)
		}
	}
	if _, err := frameworkImage("pytorch", "", "xx-nowhere-1", cpu, true); err == nil {
		t.Error("an unknown region has an image")
	}
	for instance, want := range map[string]processor{"ml.g5.xlarge": gpu, "ml.p4d.24xlarge": gpu, "ml.m5.large": cpu, "ml.trn1.2xlarge": neuron} {
		if got := processorOf(instance); got != want {
			t.Errorf("processorOf(%s) = %s, want %s", instance, got, want)
		}
	}
}

func TestPriceCatalog(t *testing.T) {
	rows, err := New().Prices(context.Background(), sdk.PriceFilter{})
	if err != nil || len(rows) < 10 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	date := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	for _, r := range rows {
		if r.OnDemandUSD <= 0 || r.SpotUSD != 0 || !date.MatchString(r.AsOf) || (r.GPUs > 0) != (r.GPUType != "") ||
			!(strings.HasPrefix(r.Source, trainingSource) || strings.HasPrefix(r.Source, hostingSource)) {
			t.Errorf("row %+v", r)
		}
		training := strings.HasPrefix(r.Source, trainingSource)
		if training && !validTrainingInstance(r.InstanceType) || !training && !validServingInstance(r.InstanceType) {
			t.Errorf("%s is not a SageMaker instance type for %s", r.InstanceType, r.Source)
		}
	}
	gpus, _ := New().Prices(context.Background(), sdk.PriceFilter{GPUType: "a10g", Region: "us-east-1"})
	for _, r := range gpus {
		if r.GPUType != "A10G" {
			t.Errorf("filter returned %+v", r)
		}
	}
	if len(gpus) == 0 || price(trainingSource, "ml.g5.xlarge", "eu-west-1").Known {
		t.Error("A10G rows missing, or a price known where the catalog has none")
	}
	if _, err := parsePrices([]byte("instance_type,gpu_type,gpus,vcpus,memory_gb,region,on_demand_usd,spot_usd,source,as_of\nml.x,,0,1,1,r,0,,s,2024-01-01\n")); err == nil {
		t.Error("a zero price parsed")
	}
}

func TestLauncherConfig(t *testing.T) {
	script := []string{"--python", "@python", "--in-place", "--output-dir", "/opt/ml/model", "--output-dir-env", "SM_MODEL_DIR",
		"--metrics-to", "/opt/ml/output/data", "--metrics-to-env", "SM_OUTPUT_DATA_DIR", "--job-id-env", "TRAINING_JOB_NAME"}
	tests := []struct {
		spec sdk.JobSpec
		want []string
	}{
		{sdk.JobSpec{Kind: sdk.KindPython, Entrypoint: "train.py", Args: []string{"--x", "1"}, Requirements: []string{"numpy==2.1.0"}},
			append(slices.Clone(script), "--requirement", "numpy==2.1.0", "--", "@python", "train.py", "--x", "1")},
		{sdk.JobSpec{Kind: sdk.KindCommand, Command: []string{"sh", "-c", "echo hi"}}, append(slices.Clone(script), "--", "sh", "-c", "echo hi")},
		{sdk.JobSpec{Kind: sdk.KindDSL, Entrypoint: "m.neural", Requirements: []string{"x"}}, append(slices.Clone(script), "--", "@python", "_neural_runner.py")},
	}
	for _, tt := range tests {
		c := launcherConfig(tt.spec)
		if got := c.Args(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: launcher args %q, want %q", tt.spec.Kind, got, tt.want)
		}
		embedded := regexp.MustCompile(`(?m)^EMBEDDED_ARGS = json.loads\(r'''(.*)'''\)$`).FindStringSubmatch(string(c.Embedded()))
		var got []string
		if embedded == nil || json.Unmarshal([]byte(embedded[1]), &got) != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: the launcher file does not carry its arguments", tt.spec.Kind)
		}
	}
}

func TestAWSErrorKinds(t *testing.T) {
	tests := []struct {
		code, msg string
		want      error
	}{
		{"ThrottlingException", "Rate exceeded", sdk.ErrRateLimited},
		{"ResourceLimitExceeded", "quota", sdk.ErrRateLimited},
		{"ExpiredTokenException", "expired", sdk.ErrUnauthenticated},
		{"AccessDeniedException", "not allowed", sdk.ErrPermissionDenied},
		{"ValidationException", "Requested resource not found.", sdk.ErrNotFound},
		{"ValidationException", `Could not find endpoint "x".`, sdk.ErrNotFound},
		{"ValidationException", "Cannot create already existing model", sdk.ErrConflict},
		{"ResourceInUse", "exists", sdk.ErrConflict},
		{"ValidationException", "1 validation error detected", sdk.ErrInvalidArgument},
		{"InternalFailure", "boom", sdk.ErrUnavailable},
		{"NoSuchKey", "gone", sdk.ErrNotFound},
	}
	for _, tt := range tests {
		err := awsError(&smithy.GenericAPIError{Code: tt.code, Message: tt.msg}, "doing it", "look elsewhere")
		var se *sdk.Error
		if !errors.Is(err, tt.want) || !errors.As(err, &se) || !strings.HasPrefix(se.Message, "doing it: "+tt.code) {
			t.Errorf("%s %q: %v, want kind %v", tt.code, tt.msg, err, tt.want)
		}
		if tt.want != sdk.ErrInvalidArgument && tt.want != sdk.ErrConflict && se != nil && se.Hint == "" {
			t.Errorf("%s: no hint", tt.code)
		}
	}
}
