package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

func TestServingEndpointLifecycle(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	p := newPlatform(t, f, nil)
	ctx := context.Background()
	e, err := p.Deploy(ctx, sdk.DeploySpec{Name: "mnist", ModelURI: "models:/" + testModel + "/2", ScaleToZero: true,
		Env: map[string]string{"MODE": "fast"}, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Ready || e.State != "READY" || e.ModelURI != "models:/"+testModel+"/2" || !strings.HasSuffix(e.URL, "/serving-endpoints/mnist/invocations") || e.CreatedAt.IsZero() {
		t.Fatalf("deployed %+v", e)
	}
	got, err := p.GetEndpoint(ctx, "mnist")
	if err != nil || got.Name != "mnist" || !got.Ready || got.Attributes["workload_size"] != "Small" {
		t.Errorf("get: %+v %v", got, err)
	}
	// Without waiting, the endpoint is reported while it is still updating.
	e2, err := p.Deploy(ctx, sdk.DeploySpec{Name: "mnist-2", ModelURI: "models:/" + testModel + "/1", MinReplicas: 1, MaxReplicas: 3})
	if err != nil || e2.Ready || e2.State != "NOT_READY (IN_PROGRESS)" {
		t.Errorf("deploy without wait: %+v %v", e2, err)
	}
	list, next, err := p.ListEndpoints(ctx, 1, "")
	if err != nil || len(list) != 1 || list[0].Name != "mnist" || next == "" {
		t.Fatalf("first page: %+v %q %v", list, next, err)
	}
	list, next, err = p.ListEndpoints(ctx, 1, next)
	if err != nil || len(list) != 1 || list[0].Name != "mnist-2" || next != "" || list[0].ModelURI != "models:/"+testModel+"/1" {
		t.Errorf("second page: %+v %q %v", list, next, err)
	}
	for _, name := range []string{"mnist", "mnist-2"} {
		if err := p.DeleteEndpoint(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if left := f.Endpoints(); len(left) != 0 {
		t.Errorf("endpoints left: %v", left)
	}
	if _, err := p.GetEndpoint(ctx, "mnist"); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if err := p.DeleteEndpoint(ctx, "mnist"); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestDeployFailures(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	p := newPlatform(t, f, nil)
	ctx := context.Background()
	// A deployment that fails to build ends the wait with its reason.
	e, err := p.Deploy(ctx, sdk.DeploySpec{Name: "broken", ModelURI: "models:/" + brokenModel + "/1", Wait: true})
	if err == nil || e.Ready || !strings.Contains(err.Error(), "Container build failed") || e.State != "NOT_READY (UPDATE_FAILED)" {
		t.Errorf("failed deployment: %+v %v", e, err)
	}
	if _, err := p.Deploy(ctx, sdk.DeploySpec{Name: "broken", ModelURI: "models:/" + testModel + "/1"}); !errors.Is(err, sdk.ErrConflict) {
		t.Errorf("second endpoint of one name: %v", err)
	}
	before := len(f.Requests("POST", "/api/2.0/serving-endpoints"))
	bad := []struct {
		spec  sdk.DeploySpec
		field string
	}{
		{sdk.DeploySpec{Name: "has space", ModelURI: "models:/m/1"}, "name"},
		{sdk.DeploySpec{Name: "e", ModelURI: "runs:/abc/model"}, "model"},
		{sdk.DeploySpec{Name: "e", ModelURI: "models:/m/champion"}, "model"},
		{sdk.DeploySpec{Name: "e", ModelURI: "models:/m/1", InstanceType: "ml.g5.xlarge"}, "instance_type"},
		{sdk.DeploySpec{Name: "e", ModelURI: "models:/m/1", Options: map[string]string{"workload_size": "Huge"}}, "options.workload_size"},
		{sdk.DeploySpec{Name: "e", ModelURI: "models:/m/1", MinReplicas: 3, MaxReplicas: 1}, "replicas"},
		{sdk.DeploySpec{Name: "e", ModelURI: "models:/m/1", MaxReplicas: 2, Options: map[string]string{"workload_size": "Small"}}, "options.workload_size"},
	}
	for _, b := range bad {
		_, err := p.Deploy(ctx, b.spec)
		var se *sdk.Error
		if !errors.As(err, &se) || se.Kind != sdk.ErrInvalidArgument || se.Field != b.field {
			t.Errorf("Deploy(%+v) = %v, want invalid %s", b.spec, err, b.field)
		}
	}
	if after := len(f.Requests("POST", "/api/2.0/serving-endpoints")); after != before {
		t.Errorf("bad deploy specs reached the workspace: %d requests", after-before)
	}
	if _, err := p.Deploy(ctx, sdk.DeploySpec{Name: "ghost", ModelURI: "models:/main.default.ghost/1"}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("unknown model: %v", err)
	}
}
