package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/databricks/databricks-sdk-go/service/serving"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/page"
)

// endpointNameRE is what Model Serving takes as an endpoint name.
var endpointNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)

// workloadSizes are the sizes Model Serving offers for a served entity.
var workloadSizes = []string{"Small", "Medium", "Large"}

// concurrencyPerReplica is how many concurrent requests Model Serving counts
// for one replica's worth of provisioned concurrency.
const concurrencyPerReplica = 4

// parseModelURI reads models:/NAME/VERSION, where NAME is a workspace
// registry name or a Unity Catalog catalog.schema.model.
func parseModelURI(uri string) (name, version string, err error) {
	rest, ok := strings.CutPrefix(uri, "models:/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i <= 0 {
		return "", "", sdk.FieldError("model", fmt.Sprintf("%q is not a registered model version", uri), "write models:/NAME/VERSION, such as models:/main.default.mnist/3")
	}
	name, version = rest[:i], rest[i+1:]
	if _, err := strconv.ParseUint(version, 10, 32); err != nil {
		return "", "", sdk.FieldError("model", fmt.Sprintf("%q does not end in a version number", uri), "write models:/NAME/VERSION; aliases and stages are not served")
	}
	return name, version, nil
}

// endpointRequest builds the create request for spec.
func endpointRequest(spec sdk.DeploySpec) (serving.CreateServingEndpoint, error) {
	if !endpointNameRE.MatchString(spec.Name) {
		return serving.CreateServingEndpoint{}, sdk.FieldError("name", fmt.Sprintf("%q is not a serving endpoint name", spec.Name), "use up to 63 letters, digits, '-' and '_'")
	}
	name, version, err := parseModelURI(spec.ModelURI)
	if err != nil {
		return serving.CreateServingEndpoint{}, err
	}
	entity := serving.ServedEntityInput{EntityName: name, EntityVersion: version, ScaleToZeroEnabled: spec.ScaleToZero,
		EnvironmentVars: spec.Env}
	entity.ForceSendFields = append(entity.ForceSendFields, "ScaleToZeroEnabled")
	wt := spec.InstanceType
	if v := spec.Options["workload_type"]; v != "" {
		wt = v
	}
	if wt != "" {
		var known serving.ServingModelWorkloadType
		if !slices.Contains(known.Values(), serving.ServingModelWorkloadType(wt)) {
			return serving.CreateServingEndpoint{}, sdk.FieldError("instance_type", fmt.Sprintf("%q is not a Model Serving workload type", wt), "use one of "+joinValues(known.Values()))
		}
		entity.WorkloadType = serving.ServingModelWorkloadType(wt)
	}
	if spec.MinReplicas < 0 || spec.MaxReplicas < 0 || (spec.MaxReplicas > 0 && spec.MinReplicas > spec.MaxReplicas) {
		return serving.CreateServingEndpoint{}, sdk.FieldError("replicas", fmt.Sprintf("min %d and max %d do not make a range", spec.MinReplicas, spec.MaxReplicas), "set 0 <= min <= max")
	}
	size := spec.Options["workload_size"]
	// One replica, the default, is what a workload size gives; more ask
	// for a provisioned concurrency range instead.
	if spec.MinReplicas > 1 || spec.MaxReplicas > 1 {
		if size != "" {
			return serving.CreateServingEndpoint{}, sdk.FieldError("options.workload_size", "cannot be combined with replica counts", "give either workload_size or min/max replicas")
		}
		// Zero replicas means one, unless the endpoint may scale to zero.
		lo := spec.MinReplicas
		if lo == 0 && !spec.ScaleToZero {
			lo = 1
		}
		hi := max(spec.MaxReplicas, lo, 1)
		entity.MinProvisionedConcurrency = lo * concurrencyPerReplica
		entity.MaxProvisionedConcurrency = hi * concurrencyPerReplica
		entity.ForceSendFields = append(entity.ForceSendFields, "MinProvisionedConcurrency")
	} else {
		if size == "" {
			size = "Small"
		}
		if !slices.Contains(workloadSizes, size) {
			return serving.CreateServingEndpoint{}, sdk.FieldError("options.workload_size", fmt.Sprintf("%q is not a workload size", size), "use Small, Medium or Large")
		}
		entity.WorkloadSize = size
	}
	return serving.CreateServingEndpoint{Name: spec.Name,
		Config: &serving.EndpointCoreConfigInput{ServedEntities: []serving.ServedEntityInput{entity}}}, nil
}

func joinValues(vs []serving.ServingModelWorkloadType) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func (p *Platform) Deploy(ctx context.Context, spec sdk.DeploySpec) (sdk.Endpoint, error) {
	req, err := endpointRequest(spec)
	if err != nil {
		return sdk.Endpoint{}, err
	}
	ws, err := p.client()
	if err != nil {
		return sdk.Endpoint{}, err
	}
	s := p.settings()
	w, err := ws.serving.Create(ctx, req)
	if err != nil {
		err = s.wrap(err, "creating serving endpoint "+spec.Name)
		if se, ok := err.(*sdk.Error); ok && se.Kind == sdk.ErrConflict {
			se.Hint = "an endpoint of that name exists; delete it with 'neural-host endpoint delete' or pick another name"
		}
		return sdk.Endpoint{}, err
	}
	if !spec.Wait {
		return endpointOf(ws, w.Response), nil
	}
	// The SDK's waiter polls until the configuration update ends; an
	// update that failed ends it with an error, and the endpoint then says why.
	_, werr := w.GetWithTimeout(s.waitTimeout)
	e, err := p.GetEndpoint(ctx, spec.Name)
	if err != nil {
		return sdk.Endpoint{}, err
	}
	if werr != nil || !e.Ready {
		msg := e.Message
		if msg == "" && werr != nil {
			msg = s.scrub(werr.Error())
		}
		return e, &sdk.Error{Message: fmt.Sprintf("databricks: endpoint %s is %s: %s", spec.Name, e.State, msg),
			Hint: "see the endpoint's build logs in the workspace's Serving page, fix the model, then delete and deploy again"}
	}
	return e, nil
}

// endpointOf describes an endpoint.
func endpointOf(ws *workspace, e *serving.ServingEndpointDetailed) sdk.Endpoint {
	out := sdk.Endpoint{Name: e.Name, URL: e.EndpointUrl, CreatedAt: ms(e.CreationTimestamp), Attributes: map[string]string{}}
	if out.URL == "" {
		out.URL = consoleBase(ws.cfg) + "/serving-endpoints/" + e.Name + "/invocations"
	}
	if e.Id != "" {
		out.Attributes["id"] = e.Id
	}
	if st := e.State; st != nil {
		out.State = string(st.Ready)
		if st.ConfigUpdate != "" && st.ConfigUpdate != serving.EndpointStateConfigUpdateNotUpdating {
			out.State += " (" + string(st.ConfigUpdate) + ")"
		}
		out.Ready = st.Ready == serving.EndpointStateReadyReady
	}
	var entities []serving.ServedEntityOutput
	if e.Config != nil {
		entities = e.Config.ServedEntities
	}
	if len(entities) == 0 && e.PendingConfig != nil {
		entities = e.PendingConfig.ServedEntities
	}
	for _, se := range entities {
		if out.ModelURI == "" && se.EntityName != "" {
			out.ModelURI = "models:/" + se.EntityName + "/" + se.EntityVersion
		}
		if se.State != nil && se.State.DeploymentStateMessage != "" {
			out.Message = se.State.DeploymentStateMessage
			out.Attributes["deployment"] = string(se.State.Deployment)
		}
		if se.WorkloadSize != "" {
			out.Attributes["workload_size"] = se.WorkloadSize
		}
	}
	return out
}

func (p *Platform) GetEndpoint(ctx context.Context, name string) (sdk.Endpoint, error) {
	if !endpointNameRE.MatchString(name) {
		return sdk.Endpoint{}, sdk.FieldError("name", fmt.Sprintf("%q is not a serving endpoint name", name), "use up to 63 letters, digits, '-' and '_'")
	}
	ws, err := p.client()
	if err != nil {
		return sdk.Endpoint{}, err
	}
	e, err := ws.serving.Get(ctx, serving.GetServingEndpointRequest{Name: name})
	if err != nil {
		return sdk.Endpoint{}, p.endpointError(err, name)
	}
	return endpointOf(ws, e), nil
}

func (p *Platform) endpointError(err error, name string) error {
	err = p.settings().wrap(err, "serving endpoint "+name)
	if se, ok := err.(*sdk.Error); ok && se.Kind == sdk.ErrNotFound {
		se.Hint = "list endpoints with 'neural-host endpoint list --platform databricks'"
	}
	return err
}

func (p *Platform) ListEndpoints(ctx context.Context, pageSize int, pageToken string) ([]sdk.Endpoint, string, error) {
	ws, err := p.client()
	if err != nil {
		return nil, "", err
	}
	start, err := page.Offset(pageToken)
	if err != nil {
		return nil, "", err
	}
	all, err := ws.serving.ListAll(ctx)
	if err != nil {
		return nil, "", p.settings().wrap(err, "listing serving endpoints")
	}
	if pageSize <= 0 {
		pageSize = 100
	}
	start = min(start, len(all))
	end := min(start+pageSize, len(all))
	var out []sdk.Endpoint
	for _, e := range all[start:end] {
		d := &serving.ServingEndpointDetailed{Name: e.Name, Id: e.Id, CreationTimestamp: e.CreationTimestamp, State: e.State}
		if e.Config != nil {
			d.Config = &serving.EndpointCoreConfigOutput{}
			for _, se := range e.Config.ServedEntities {
				d.Config.ServedEntities = append(d.Config.ServedEntities, serving.ServedEntityOutput{EntityName: se.EntityName, EntityVersion: se.EntityVersion})
			}
		}
		out = append(out, endpointOf(ws, d))
	}
	next := ""
	if end < len(all) {
		next = page.Token(end)
	}
	return out, next, nil
}

func (p *Platform) DeleteEndpoint(ctx context.Context, name string) error {
	if !endpointNameRE.MatchString(name) {
		return sdk.FieldError("name", fmt.Sprintf("%q is not a serving endpoint name", name), "use up to 63 letters, digits, '-' and '_'")
	}
	ws, err := p.client()
	if err != nil {
		return err
	}
	// Deleting the endpoint removes its served entities and their compute;
	// the registered model stays, as it was not created by Deploy.
	if err := ws.serving.DeleteByName(ctx, name); err != nil {
		return p.endpointError(err, name)
	}
	return nil
}
