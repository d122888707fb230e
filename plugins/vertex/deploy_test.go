package main

import (
	"strings"
	"testing"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/neural-dsl/neural-host/sdk"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// completeOps finishes every pending operation, as time does on the real
// service.
func (f *fake) completeOps() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, op := range f.ops {
		if !op.op.Done {
			f.complete(op)
		}
	}
}

// snapshot copies the fake's models and endpoints.
func (f *fake) snapshot() (map[string]*aiplatformpb.Model, map[string]*aiplatformpb.Endpoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms, es := map[string]*aiplatformpb.Model{}, map[string]*aiplatformpb.Endpoint{}
	for k, v := range f.models {
		ms[k] = proto.Clone(v).(*aiplatformpb.Model)
	}
	for k, v := range f.endpoints {
		es[k] = proto.Clone(v).(*aiplatformpb.Endpoint)
	}
	return ms, es
}

func TestDeployLifecycle(t *testing.T) {
	fs := startFakeSet(t)
	p := fs.platform(t)
	spec := sdk.DeploySpec{Name: "churn", ModelURI: "gs://neural-models/churn/v1", InstanceType: "n1-standard-2",
		MinReplicas: 1, MaxReplicas: 3, Env: map[string]string{"MODEL_NAME": "churn"}, Wait: true}
	ep, err := p.Deploy(testCtx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	full := "projects/" + testProject + "/locations/" + testLocation + "/endpoints/churn"
	if !ep.Ready || ep.State != "ready" || ep.Name != "churn" || ep.ModelURI != spec.ModelURI || ep.CreatedAt.IsZero() ||
		!strings.HasSuffix(ep.URL, "/v1/"+full+":predict") || ep.Attributes["machine_type"] != "n1-standard-2" || ep.Attributes["replicas"] != "1-3" {
		t.Fatalf("endpoint %+v", ep)
	}
	// Three operations, each polled until done.
	for _, m := range []string{"UploadModel", "CreateEndpoint", "DeployModel"} {
		if n := fs.f.count(m); n != 1 {
			t.Errorf("%s called %d times", m, n)
		}
	}
	if n := fs.f.count("GetOperation"); n < 3*fs.f.lroPolls {
		t.Errorf("%d GetOperation calls; the operations were not polled to completion", n)
	}
	models, _ := fs.f.snapshot()
	model := models["projects/"+testProject+"/locations/"+testLocation+"/models/churn"]
	if model.GetContainerSpec().GetEnv()[0].GetName() != "MODEL_NAME" || model.GetLabels()[endpointLabel] != "churn" ||
		!strings.Contains(model.GetContainerSpec().GetImageUri(), "/vertex-ai/prediction/") {
		t.Errorf("model %v", model)
	}

	// Deploying again finds everything in place.
	again, err := p.Deploy(testCtx(t), spec)
	if err != nil || !again.Ready || fs.f.count("UploadModel") != 1 || fs.f.count("DeployModel") != 1 {
		t.Errorf("redeploy: %+v %v, %d uploads, %d deploys", again, err, fs.f.count("UploadModel"), fs.f.count("DeployModel"))
	}
	got, err := p.GetEndpoint(testCtx(t), "churn")
	if err != nil || got.URL != ep.URL || !got.Ready {
		t.Errorf("get: %+v %v", got, err)
	}

	if err := p.DeleteEndpoint(testCtx(t), "churn"); err != nil {
		t.Fatal(err)
	}
	models, endpoints := fs.f.snapshot()
	if fs.f.count("UndeployModel") != 1 || endpoints[full] != nil || len(models) != 0 {
		t.Errorf("after delete: %d undeploys, endpoint %v, models %v", fs.f.count("UndeployModel"), endpoints[full], models)
	}
	_, err = p.GetEndpoint(testCtx(t), "churn")
	wantKind(t, err, sdk.ErrNotFound, "")
	wantKind(t, p.DeleteEndpoint(testCtx(t), "churn"), sdk.ErrNotFound, "")
}

func TestDeployWithoutWaiting(t *testing.T) {
	fs := startFakeSet(t)
	p := fs.platform(t)
	ep, err := p.Deploy(testCtx(t), sdk.DeploySpec{Name: "later", ModelURI: "gs://neural-models/m"})
	if err != nil {
		t.Fatal(err)
	}
	if ep.Ready || ep.State != "deploying" || ep.Attributes["operation"] == "" {
		t.Fatalf("endpoint %+v", ep)
	}
	if got, _ := p.GetEndpoint(testCtx(t), "later"); got.Ready {
		t.Fatalf("ready before the operation finished: %+v", got)
	}
	fs.f.completeOps()
	if got, err := p.GetEndpoint(testCtx(t), "later"); err != nil || !got.Ready || got.ModelURI != "gs://neural-models/m" {
		t.Errorf("after the operation: %+v %v", got, err)
	}
}

func TestDeleteKeepsForeignModels(t *testing.T) {
	fs := startFakeSet(t)
	p := fs.platform(t)
	parent := "projects/" + testProject + "/locations/" + testLocation
	// A model registered outside the plugin, and an endpoint serving two
	// models.
	fs.f.mu.Lock()
	foreign := &aiplatformpb.Model{Name: parent + "/models/registry-model", DisplayName: "r", ArtifactUri: "gs://neural-models/r", CreateTime: timestamppb.Now()}
	fs.f.models[foreign.Name] = foreign
	fs.f.mu.Unlock()
	if _, err := p.Deploy(testCtx(t), sdk.DeploySpec{Name: "two", ModelURI: "gs://neural-models/own", Wait: true}); err != nil {
		t.Fatal(err)
	}
	fs.f.mu.Lock()
	ep := fs.f.endpoints[parent+"/endpoints/two"]
	second := proto.Clone(ep.DeployedModels[0]).(*aiplatformpb.DeployedModel)
	second.Id, second.Model = "42", foreign.Name
	ep.DeployedModels = append(ep.DeployedModels, second)
	ep.TrafficSplit = map[string]int32{ep.DeployedModels[0].Id: 50, "42": 50}
	fs.f.mu.Unlock()
	ep2, err := p.Deploy(testCtx(t), sdk.DeploySpec{Name: "two", ModelURI: foreign.Name, Wait: true})
	if err != nil || fs.f.count("UploadModel") != 1 {
		t.Fatalf("deploying a registered model: %+v %v, %d uploads", ep2, err, fs.f.count("UploadModel"))
	}
	if err := p.DeleteEndpoint(testCtx(t), "two"); err != nil {
		t.Fatal(err)
	}
	if models, _ := fs.f.snapshot(); models[foreign.Name] == nil || len(models) != 1 || fs.f.count("UndeployModel") != 2 {
		t.Errorf("models left %v, %d undeploys", models, fs.f.count("UndeployModel"))
	}
}

func TestListEndpoints(t *testing.T) {
	fs := startFakeSet(t)
	fs.f.lroPolls = 0
	p := fs.platform(t)
	for _, n := range []string{"a-1", "b-2", "c-3"} {
		if _, err := p.Deploy(testCtx(t), sdk.DeploySpec{Name: n, ModelURI: "gs://neural-models/" + n, Wait: true}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	token := ""
	for i := 0; i < 3; i++ {
		eps, next, err := p.ListEndpoints(testCtx(t), 2, token)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range eps {
			names = append(names, e.Name)
		}
		if token = next; token == "" {
			break
		}
	}
	if strings.Join(names, ",") != "a-1,b-2,c-3" {
		t.Errorf("listed %v", names)
	}
}

func TestDeployRejects(t *testing.T) {
	fs := startFakeSet(t)
	p := fs.platform(t)
	tests := []struct {
		name  string
		spec  sdk.DeploySpec
		kind  error
		field string
	}{
		{"bad name", sdk.DeploySpec{Name: "Churn", ModelURI: "gs://b/m"}, sdk.ErrInvalidArgument, "name"},
		{"bad model", sdk.DeploySpec{Name: "m", ModelURI: "s3://b/m"}, sdk.ErrInvalidArgument, "model"},
		{"bucket only", sdk.DeploySpec{Name: "m", ModelURI: "gs://b"}, sdk.ErrInvalidArgument, "model"},
		{"scale to zero", sdk.DeploySpec{Name: "m", ModelURI: "gs://b/m", ScaleToZero: true}, sdk.ErrUnsupported, "scale_to_zero"},
		{"replicas", sdk.DeploySpec{Name: "m", ModelURI: "gs://b/m", MinReplicas: 3, MaxReplicas: 2}, sdk.ErrInvalidArgument, "max_replicas"},
		{"machine", sdk.DeploySpec{Name: "m", ModelURI: "gs://b/m", InstanceType: "huge"}, sdk.ErrInvalidArgument, "instance_type"},
		{"env", sdk.DeploySpec{Name: "m", ModelURI: "gs://b/m", Env: map[string]string{"1X": "y"}}, sdk.ErrInvalidArgument, "env.1X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fs.f.totalCalls()
			_, err := p.Deploy(testCtx(t), tt.spec)
			wantKind(t, err, tt.kind, tt.field)
			if fs.f.totalCalls() != before {
				t.Error("a rejected deploy reached the API")
			}
		})
	}
	t.Run("model name taken by other artifacts", func(t *testing.T) {
		if _, err := p.Deploy(testCtx(t), sdk.DeploySpec{Name: "taken", ModelURI: "gs://neural-models/one", Wait: true}); err != nil {
			t.Fatal(err)
		}
		_, err := p.Deploy(testCtx(t), sdk.DeploySpec{Name: "taken", ModelURI: "gs://neural-models/two", Wait: true})
		wantKind(t, err, sdk.ErrConflict, "model")
	})
}
