package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/neural-dsl/neural-host/sdk"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
)

// endpointLabel marks the endpoint and model Deploy made for an endpoint
// name, so that DeleteEndpoint removes exactly those.
const endpointLabel = "neural_endpoint"

// defaultServingMachine serves a model when the spec names no instance type.
const defaultServingMachine = "n1-standard-4"

const hintEndpoints = "list endpoints with 'neural-host endpoint list -p vertex'"

var (
	// endpointIDRe is what CreateEndpoint and UploadModel both accept as an
	// ID, so one name serves for both.
	endpointIDRe = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	modelNameRe  = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/models/[^/]+$`)
)

// await polls a long-running operation every interval until it is done.
func await(ctx context.Context, every func() error, poll func(context.Context) error, done func() bool) error {
	for {
		if err := poll(ctx); err != nil {
			return err
		}
		if done() {
			return nil
		}
		if err := every(); err != nil {
			return err
		}
	}
}

func checkEndpointName(name string) error {
	if !endpointIDRe.MatchString(name) {
		return sdk.FieldError("name", fmt.Sprintf("%q is not a Vertex AI endpoint ID", name), "use up to 63 lowercase letters, digits and '-', starting with a letter")
	}
	return nil
}

// Deploy uploads the model (unless ModelURI names a registered model),
// creates an endpoint named spec.Name and deploys the model to it on
// dedicated machines. Each step finds what an earlier attempt made, so a
// repeated Deploy resumes instead of duplicating.
func (p *Platform) Deploy(ctx context.Context, spec sdk.DeploySpec) (sdk.Endpoint, error) {
	if err := checkEndpointName(spec.Name); err != nil {
		return sdk.Endpoint{}, err
	}
	minR, maxR := max(spec.MinReplicas, 1), max(spec.MaxReplicas, 1)
	switch {
	case spec.ScaleToZero:
		return sdk.Endpoint{}, &sdk.Error{Kind: sdk.ErrUnsupported, Field: "scale_to_zero", Message: "Vertex AI endpoints keep at least one replica running",
			Hint: "leave out --scale-to-zero, and delete the endpoint when it is not needed"}
	case maxR < minR:
		return sdk.Endpoint{}, sdk.FieldError("max_replicas", fmt.Sprintf("%d is below min_replicas %d", maxR, minR), "set max_replicas to at least min_replicas")
	case spec.InstanceType != "" && !machineTypeRe.MatchString(spec.InstanceType):
		return sdk.Endpoint{}, sdk.FieldError("instance_type", fmt.Sprintf("%q is not a Compute Engine machine type", spec.InstanceType), "use a machine type such as n1-standard-4")
	}
	for k := range spec.Env {
		if !envNameRe.MatchString(k) {
			return sdk.Endpoint{}, sdk.FieldError("env."+k, "is not a valid variable name on Vertex AI", "use letters, digits and '_', not starting with a digit")
		}
	}
	registered := modelNameRe.MatchString(spec.ModelURI)
	if !registered {
		if _, obj, err := parseGCS(spec.ModelURI); err != nil || !strings.HasPrefix(spec.ModelURI, "gs://") || obj == "" {
			return sdk.Endpoint{}, sdk.FieldError("model", fmt.Sprintf("%q is neither a gs:// model directory nor a Vertex AI model", spec.ModelURI),
				"give the gs:// directory holding the saved model, or projects/P/locations/L/models/ID")
		}
	}
	s, c, err := p.ready(ctx)
	if err != nil {
		return sdk.Endpoint{}, err
	}
	models, err := c.modelClient()
	if err != nil {
		return sdk.Endpoint{}, err
	}
	endpoints, err := c.endpointClient()
	if err != nil {
		return sdk.Endpoint{}, err
	}
	wait := func() error { return sleep(ctx, s.pollInterval) }
	model := spec.ModelURI
	if !registered {
		if model, err = p.uploadModel(ctx, s, models, spec, wait); err != nil {
			return sdk.Endpoint{}, err
		}
	}
	ep, err := p.ensureEndpoint(ctx, s, endpoints, spec.Name, wait)
	if err != nil {
		return sdk.Endpoint{}, err
	}
	for _, dm := range ep.GetDeployedModels() {
		if dm.GetModel() == model {
			return p.describe(ctx, s, models, ep), nil
		}
	}
	machineType := spec.InstanceType
	if machineType == "" {
		machineType = defaultServingMachine
	}
	op, err := endpoints.DeployModel(ctx, &aiplatformpb.DeployModelRequest{
		Endpoint: ep.GetName(),
		DeployedModel: &aiplatformpb.DeployedModel{Model: model, DisplayName: spec.Name,
			PredictionResources: &aiplatformpb.DeployedModel_DedicatedResources{DedicatedResources: &aiplatformpb.DedicatedResources{
				MachineSpec: &aiplatformpb.MachineSpec{MachineType: machineType}, MinReplicaCount: int32(minR), MaxReplicaCount: int32(maxR)}}},
		TrafficSplit: map[string]int32{"0": 100},
	})
	if err != nil {
		return sdk.Endpoint{}, apiError(err, "DeployModel", "")
	}
	if !spec.Wait {
		out := p.describe(ctx, s, models, ep)
		out.State, out.Message = "deploying", "the model is being deployed; check with 'neural-host endpoint get "+spec.Name+" -p vertex'"
		out.Attributes["operation"] = op.Name()
		return out, nil
	}
	err = await(ctx, wait, func(ctx context.Context) error { _, err := op.Poll(ctx); return err }, op.Done)
	if err != nil {
		return sdk.Endpoint{}, apiError(err, "DeployModel", "")
	}
	return p.GetEndpoint(ctx, spec.Name)
}

// uploadModel registers the model as NAME, or finds it registered by an
// earlier Deploy of the same name.
func (p *Platform) uploadModel(ctx context.Context, s settings, models *aiplatform.ModelClient, spec sdk.DeploySpec, wait func() error) (string, error) {
	name := s.parent() + "/models/" + spec.Name
	m, err := models.GetModel(ctx, &aiplatformpb.GetModelRequest{Name: name}, readRetry(s))
	if err == nil {
		if m.GetArtifactUri() != spec.ModelURI {
			return "", &sdk.Error{Kind: sdk.ErrConflict, Field: "model", Message: fmt.Sprintf("model %s already holds %s", spec.Name, m.GetArtifactUri()),
				Hint: "delete endpoint " + spec.Name + " first, or deploy under another name"}
		}
		return name, nil
	}
	if !isCode(err, codes.NotFound) {
		return "", apiError(err, "GetModel", "")
	}
	image := spec.Options[optImage]
	if image == "" {
		image = s.servingImage
	}
	if image == "" {
		image = s.artifactRegistryHost() + "/vertex-ai/prediction/tf2-cpu.2-15:latest"
	}
	var env []*aiplatformpb.EnvVar
	for _, k := range sortedKeys(spec.Env) {
		env = append(env, &aiplatformpb.EnvVar{Name: k, Value: spec.Env[k]})
	}
	op, err := models.UploadModel(ctx, &aiplatformpb.UploadModelRequest{Parent: s.parent(), ModelId: spec.Name, Model: &aiplatformpb.Model{
		DisplayName: spec.Name, ArtifactUri: spec.ModelURI, Labels: map[string]string{endpointLabel: spec.Name},
		ContainerSpec: &aiplatformpb.ModelContainerSpec{ImageUri: image, Env: env}}})
	if err != nil {
		return "", apiError(err, "UploadModel", "")
	}
	var resp *aiplatformpb.UploadModelResponse
	err = await(ctx, wait, func(ctx context.Context) (err error) { resp, err = op.Poll(ctx); return err }, op.Done)
	if err != nil {
		return "", apiError(err, "UploadModel", "check that "+spec.ModelURI+" holds a saved model the serving image can load")
	}
	return resp.GetModel(), nil
}

// ensureEndpoint returns the endpoint NAME, creating it if need be.
func (p *Platform) ensureEndpoint(ctx context.Context, s settings, endpoints *aiplatform.EndpointClient, name string, wait func() error) (*aiplatformpb.Endpoint, error) {
	full := s.parent() + "/endpoints/" + name
	ep, err := endpoints.GetEndpoint(ctx, &aiplatformpb.GetEndpointRequest{Name: full}, readRetry(s))
	if err == nil {
		return ep, nil
	}
	if !isCode(err, codes.NotFound) {
		return nil, apiError(err, "GetEndpoint", "")
	}
	op, err := endpoints.CreateEndpoint(ctx, &aiplatformpb.CreateEndpointRequest{Parent: s.parent(), EndpointId: name,
		Endpoint: &aiplatformpb.Endpoint{DisplayName: name, Labels: map[string]string{endpointLabel: name}}})
	if isCode(err, codes.AlreadyExists) {
		ep, err = endpoints.GetEndpoint(ctx, &aiplatformpb.GetEndpointRequest{Name: full}, readRetry(s))
		return ep, apiError(err, "GetEndpoint", "")
	}
	if err != nil {
		return nil, apiError(err, "CreateEndpoint", "")
	}
	err = await(ctx, wait, func(ctx context.Context) (err error) { ep, err = op.Poll(ctx); return err }, op.Done)
	return ep, apiError(err, "CreateEndpoint", "")
}

// describe turns an endpoint into an sdk.Endpoint. The model URI is best
// effort: an endpoint whose model cannot be read is still described.
func (p *Platform) describe(ctx context.Context, s settings, models *aiplatform.ModelClient, ep *aiplatformpb.Endpoint) sdk.Endpoint {
	parts := strings.Split(ep.GetName(), "/")
	host := s.apiHost()
	if d := ep.GetDedicatedEndpointDns(); d != "" {
		host = d
	}
	out := sdk.Endpoint{Name: parts[len(parts)-1], State: "no model deployed", URL: "https://" + host + "/v1/" + ep.GetName() + ":predict",
		Attributes: map[string]string{"resource": ep.GetName()}}
	if t := ep.GetCreateTime(); t != nil {
		out.CreatedAt = t.AsTime()
	}
	if dms := ep.GetDeployedModels(); len(dms) > 0 {
		dm := dms[0]
		out.State, out.Ready = "ready", true
		out.Attributes["deployed_model_id"] = dm.GetId()
		out.Attributes["model"] = dm.GetModel()
		if r := dm.GetDedicatedResources(); r != nil {
			out.Attributes["machine_type"] = r.GetMachineSpec().GetMachineType()
			out.Attributes["replicas"] = fmt.Sprintf("%d-%d", r.GetMinReplicaCount(), r.GetMaxReplicaCount())
		}
		out.ModelURI = dm.GetModel()
		if models != nil {
			if m, err := models.GetModel(ctx, &aiplatformpb.GetModelRequest{Name: dm.GetModel()}); err == nil && m.GetArtifactUri() != "" {
				out.ModelURI = m.GetArtifactUri()
			}
		}
	}
	return out
}

func (p *Platform) GetEndpoint(ctx context.Context, name string) (sdk.Endpoint, error) {
	if err := checkEndpointName(name); err != nil {
		return sdk.Endpoint{}, err
	}
	s, c, err := p.ready(ctx)
	if err != nil {
		return sdk.Endpoint{}, err
	}
	endpoints, err := c.endpointClient()
	if err != nil {
		return sdk.Endpoint{}, err
	}
	models, err := c.modelClient()
	if err != nil {
		return sdk.Endpoint{}, err
	}
	ep, err := endpoints.GetEndpoint(ctx, &aiplatformpb.GetEndpointRequest{Name: s.parent() + "/endpoints/" + name}, readRetry(s))
	if err != nil {
		return sdk.Endpoint{}, apiError(err, "GetEndpoint "+name, hintEndpoints)
	}
	return p.describe(ctx, s, models, ep), nil
}

func (p *Platform) ListEndpoints(ctx context.Context, pageSize int, pageToken string) ([]sdk.Endpoint, string, error) {
	s, c, err := p.ready(ctx)
	if err != nil {
		return nil, "", err
	}
	endpoints, err := c.endpointClient()
	if err != nil {
		return nil, "", err
	}
	if pageSize <= 0 {
		pageSize = 100
	}
	it := endpoints.ListEndpoints(ctx, &aiplatformpb.ListEndpointsRequest{Parent: s.parent()}, readRetry(s))
	var page []*aiplatformpb.Endpoint
	next, err := iterator.NewPager(it, pageSize, pageToken).NextPage(&page)
	if err != nil {
		return nil, "", apiError(err, "ListEndpoints", "")
	}
	out := make([]sdk.Endpoint, 0, len(page))
	for _, ep := range page {
		// Listing stays one call per page: the model's URI is left as its
		// resource name.
		out = append(out, p.describe(ctx, s, nil, ep))
	}
	return out, next, nil
}

// DeleteEndpoint undeploys every model from the endpoint, deletes it, and
// deletes the models Deploy uploaded for it. Models registered by other
// means are left alone.
func (p *Platform) DeleteEndpoint(ctx context.Context, name string) error {
	if err := checkEndpointName(name); err != nil {
		return err
	}
	s, c, err := p.ready(ctx)
	if err != nil {
		return err
	}
	endpoints, err := c.endpointClient()
	if err != nil {
		return err
	}
	models, err := c.modelClient()
	if err != nil {
		return err
	}
	wait := func() error { return sleep(ctx, s.pollInterval) }
	full := s.parent() + "/endpoints/" + name
	ep, err := endpoints.GetEndpoint(ctx, &aiplatformpb.GetEndpointRequest{Name: full}, readRetry(s))
	switch {
	case isCode(err, codes.NotFound):
		// A previous delete may have removed the endpoint and stopped
		// short of the models; finish that.
		if n, derr := deleteModels(ctx, s, models, name, wait); derr != nil || n > 0 {
			return derr
		}
		return apiError(err, "GetEndpoint "+name, hintEndpoints)
	case err != nil:
		return apiError(err, "GetEndpoint "+name, hintEndpoints)
	}
	dms := ep.GetDeployedModels()
	for i, dm := range dms {
		req := &aiplatformpb.UndeployModelRequest{Endpoint: full, DeployedModelId: dm.GetId()}
		if i+1 < len(dms) {
			// The models left must take all the traffic.
			req.TrafficSplit = map[string]int32{dms[i+1].GetId(): 100}
		}
		op, err := endpoints.UndeployModel(ctx, req)
		if err == nil {
			err = await(ctx, wait, func(ctx context.Context) error { _, err := op.Poll(ctx); return err }, op.Done)
		}
		if err != nil && !isCode(err, codes.NotFound) {
			return apiError(err, "UndeployModel "+dm.GetId(), "")
		}
	}
	op, err := endpoints.DeleteEndpoint(ctx, &aiplatformpb.DeleteEndpointRequest{Name: full})
	if err == nil {
		err = await(ctx, wait, func(ctx context.Context) error { return op.Poll(ctx) }, op.Done)
	}
	if err != nil && !isCode(err, codes.NotFound) {
		return apiError(err, "DeleteEndpoint "+name, "")
	}
	_, err = deleteModels(ctx, s, models, name, wait)
	return err
}

// deleteModels deletes the models labelled for endpoint name and reports
// how many there were.
func deleteModels(ctx context.Context, s settings, models *aiplatform.ModelClient, name string, wait func() error) (int, error) {
	it := models.ListModels(ctx, &aiplatformpb.ListModelsRequest{Parent: s.parent(), Filter: "labels." + endpointLabel + "=\"" + name + "\""}, readRetry(s))
	n := 0
	for {
		m, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return n, nil
		}
		if err != nil {
			return n, apiError(err, "ListModels", "")
		}
		op, err := models.DeleteModel(ctx, &aiplatformpb.DeleteModelRequest{Name: m.GetName()})
		if err == nil {
			err = await(ctx, wait, func(ctx context.Context) error { return op.Poll(ctx) }, op.Done)
		}
		if err != nil && !isCode(err, codes.NotFound) {
			return n, apiError(err, "DeleteModel "+m.GetName(), "")
		}
		n++
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
