package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
	"github.com/neural-dsl/neural-host/sdk"
)

// trainedModel runs a job to completion and returns its model.tar.gz.
func trainedModel(t *testing.T, p *Platform) string {
	t.Helper()
	st, err := p.Submit(context.Background(), pythonJob(t, "to-serve", "k", trainScript))
	if err != nil {
		t.Fatal(err)
	}
	if end := waitTerminal(t, p, st.ID); end.State != sdk.StateSucceeded {
		t.Fatalf("training %s", end.State)
	}
	return waitTerminal(t, p, st.ID).Attributes["model_artifacts"]
}

func nothingLeft(t *testing.T, fake *fakeaws.Env) {
	t.Helper()
	eventually(t, 10*time.Second, "endpoint, config and model to be gone", func() bool {
		_, models, configs, endpoints := fake.SageMaker.Counts()
		return models == 0 && configs == 0 && endpoints == 0
	})
}

func TestDeployAndDelete(t *testing.T) {
	p, fake := newPlatform(t, fakeaws.Options{})
	ctx := context.Background()
	model := trainedModel(t, p)
	ep, err := p.Deploy(ctx, sdk.DeploySpec{Name: "churn", ModelURI: model, InstanceType: "ml.m5.large", Env: map[string]string{"MODE": "fast"}, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if !ep.Ready || ep.State != "InService" || ep.ModelURI != model ||
		ep.URL != "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/churn/invocations" ||
		ep.Attributes["image"] != "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.5.1-cpu-py311" {
		t.Fatalf("deployed %+v", ep)
	}
	if _, models, configs, endpoints := fake.SageMaker.Counts(); models != 1 || configs != 1 || endpoints != 1 {
		t.Fatalf("%d models, %d configs, %d endpoints", models, configs, endpoints)
	}
	got, err := p.GetEndpoint(ctx, "churn")
	if err != nil || got.State != "InService" || got.ModelURI != model {
		t.Fatalf("get: %+v %v", got, err)
	}
	list, next, err := p.ListEndpoints(ctx, 10, "")
	if err != nil || len(list) != 1 || list[0].Name != "churn" || next != "" {
		t.Fatalf("list: %+v %q %v", list, next, err)
	}
	_, err = p.Deploy(ctx, sdk.DeploySpec{Name: "churn", ModelURI: model, Wait: true})
	wantKind(t, err, sdk.ErrConflict)
	if err := p.DeleteEndpoint(ctx, "churn"); err != nil {
		t.Fatal(err)
	}
	nothingLeft(t, fake)
	err = p.DeleteEndpoint(ctx, "churn")
	wantKind(t, err, sdk.ErrNotFound)
}

// TestDeployFailures: an endpoint that fails comes back failed with the
// reason, and one that could not be created leaves nothing behind.
func TestDeployFailures(t *testing.T) {
	t.Run("model data missing", func(t *testing.T) {
		p, fake := newPlatform(t, fakeaws.Options{})
		ep, err := p.Deploy(context.Background(), sdk.DeploySpec{Name: "broken", ModelURI: "s3://sagemaker-us-east-1-123456789012/none/model.tar.gz", Wait: true})
		if err == nil || ep.State != "Failed" || ep.Ready || !strings.Contains(ep.Message, "model data") || !strings.Contains(err.Error(), "model data") {
			t.Fatalf("deploy: %+v %v", ep, err)
		}
		if err := p.DeleteEndpoint(context.Background(), "broken"); err != nil {
			t.Fatal(err)
		}
		nothingLeft(t, fake)
	})
	t.Run("endpoint refused", func(t *testing.T) {
		p, fake := newPlatform(t, fakeaws.Options{})
		fake.Inject("sagemaker", fakeaws.Fault{Op: "CreateEndpoint", Code: "ResourceLimitExceeded", Status: 400, Message: "quota"})
		_, err := p.Deploy(context.Background(), sdk.DeploySpec{Name: "refused", ModelURI: "s3://models-bucket/model.tar.gz", Wait: true})
		wantKind(t, err, sdk.ErrRateLimited)
		nothingLeft(t, fake)
	})
}

func TestDeployRejects(t *testing.T) {
	tests := []struct {
		name  string
		spec  sdk.DeploySpec
		field string
	}{
		{"bad name", sdk.DeploySpec{Name: "bad_name", ModelURI: "s3://models-bucket/m.tar.gz"}, "name"},
		{"not s3", sdk.DeploySpec{Name: "ok", ModelURI: "gs://models-bucket/m.tar.gz"}, "model"},
		{"prefix", sdk.DeploySpec{Name: "ok", ModelURI: "s3://models-bucket/dir/"}, "model"},
		{"instance type", sdk.DeploySpec{Name: "ok", ModelURI: "s3://models-bucket/m.tar.gz", InstanceType: "m5.large"}, "instance_type"},
		{"scale to zero", sdk.DeploySpec{Name: "ok", ModelURI: "s3://models-bucket/m.tar.gz", ScaleToZero: true}, "scale_to_zero"},
		{"autoscaling", sdk.DeploySpec{Name: "ok", ModelURI: "s3://models-bucket/m.tar.gz", MinReplicas: 1, MaxReplicas: 3}, "max_replicas"},
		{"option", sdk.DeploySpec{Name: "ok", ModelURI: "s3://models-bucket/m.tar.gz", Options: map[string]string{"gpu": "1"}}, "options.gpu"},
		{"env", sdk.DeploySpec{Name: "ok", ModelURI: "s3://models-bucket/m.tar.gz", Env: map[string]string{"A-B": "x"}}, "env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newPlatform(t, fakeaws.Options{})
			_, err := p.Deploy(context.Background(), tt.spec)
			if se := wantKind(t, err, sdk.ErrInvalidArgument); se.Field != tt.field || se.Hint == "" {
				t.Errorf("field %q hint %q, want %q", se.Field, se.Hint, tt.field)
			}
			if n := fake.Calls("sagemaker", "CreateModel") + fake.Calls("sagemaker", "DescribeEndpoint"); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}
