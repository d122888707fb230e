package fakeworkspace

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/databricks/databricks-sdk-go/service/serving"
)

var endpointNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)

// endpoint is a serving endpoint; it becomes ready, or fails, ReadyAfter
// after it was created.
type endpoint struct {
	id      string
	name    string
	created time.Time
	config  serving.EndpointCoreConfigInput
	fails   bool
}

func (s *Server) createEndpoint(w http.ResponseWriter, r *http.Request) *apiError {
	var req serving.CreateServingEndpoint
	if _, e := decode(r, &req); e != nil {
		return e
	}
	bad := func(format string, args ...any) *apiError {
		return errf(400, "INVALID_PARAMETER_VALUE", format, args...)
	}
	if !endpointNameRE.MatchString(req.Name) {
		return bad("Endpoint name %q must be 1 to 63 letters, digits, '-' or '_'", req.Name)
	}
	if req.Config == nil || len(req.Config.ServedEntities)+len(req.Config.ServedModels) == 0 {
		return bad("Missing required field: config.served_entities")
	}
	fails := false
	for i, e := range req.Config.ServedEntities {
		if e.EntityName == "" || e.EntityVersion == "" {
			return bad("served_entities[%d] must name entity_name and entity_version", i)
		}
		versions, known := s.opts.Models[e.EntityName]
		if !known || !contains(versions, e.EntityVersion) {
			return errf(404, "RESOURCE_DOES_NOT_EXIST", "Model version %s of %s does not exist.", e.EntityVersion, e.EntityName)
		}
		concurrency := e.MinProvisionedConcurrency > 0 || e.MaxProvisionedConcurrency > 0
		if concurrency == (e.WorkloadSize != "") {
			return bad("served_entities[%d]: give exactly one of workload_size or min/max_provisioned_concurrency", i)
		}
		if e.WorkloadSize != "" && !contains([]string{"Small", "Medium", "Large"}, e.WorkloadSize) {
			return bad("served_entities[%d].workload_size %q is not Small, Medium or Large", i, e.WorkloadSize)
		}
		if concurrency && (e.MinProvisionedConcurrency%4 != 0 || e.MaxProvisionedConcurrency%4 != 0 || e.MaxProvisionedConcurrency < e.MinProvisionedConcurrency) {
			return bad("served_entities[%d]: provisioned concurrency must be multiples of 4 with min <= max", i)
		}
		if e.MinProvisionedConcurrency == 0 && concurrency && !e.ScaleToZeroEnabled {
			return bad("served_entities[%d]: min_provisioned_concurrency 0 needs scale_to_zero_enabled", i)
		}
		fails = fails || contains(s.opts.FailingModels, e.EntityName)
	}
	s.mu.Lock()
	if _, ok := s.endpoints[req.Name]; ok {
		s.mu.Unlock()
		return errf(409, "RESOURCE_ALREADY_EXISTS", "Endpoint with name '%s' already exists.", req.Name)
	}
	s.nextID++
	ep := &endpoint{id: "ep" + strconv.FormatInt(s.nextID, 10), name: req.Name, created: time.Now(), config: *req.Config, fails: fails}
	s.endpoints[req.Name] = ep
	out := s.endpointView(ep)
	s.mu.Unlock()
	writeJSON(w, out)
	return nil
}

// endpointView renders an endpoint's current state; s.mu is held.
func (s *Server) endpointView(ep *endpoint) serving.ServingEndpointDetailed {
	settled := time.Since(ep.created) >= s.opts.ReadyAfter
	var entities []serving.ServedEntityOutput
	for _, e := range ep.config.ServedEntities {
		st := &serving.ServedModelState{Deployment: serving.ServedModelStateDeploymentDeploymentCreating,
			DeploymentStateMessage: "Creating the served entity's container."}
		if settled && ep.fails {
			st = &serving.ServedModelState{Deployment: serving.ServedModelStateDeploymentDeploymentFailed,
				DeploymentStateMessage: "Container build failed: could not install the model's requirements."}
		} else if settled {
			st = &serving.ServedModelState{Deployment: serving.ServedModelStateDeploymentDeploymentReady, DeploymentStateMessage: ""}
		}
		entities = append(entities, serving.ServedEntityOutput{Name: e.EntityName + "-" + e.EntityVersion, EntityName: e.EntityName,
			EntityVersion: e.EntityVersion, WorkloadSize: e.WorkloadSize, WorkloadType: e.WorkloadType, ScaleToZeroEnabled: e.ScaleToZeroEnabled,
			MinProvisionedConcurrency: e.MinProvisionedConcurrency, MaxProvisionedConcurrency: e.MaxProvisionedConcurrency,
			EnvironmentVars: e.EnvironmentVars, State: st, CreationTimestamp: ep.created.UnixMilli(), Creator: s.opts.UserName})
	}
	out := serving.ServingEndpointDetailed{Id: ep.id, Name: ep.name, CreationTimestamp: ep.created.UnixMilli(),
		LastUpdatedTimestamp: ep.created.UnixMilli(), Creator: s.opts.UserName, PermissionLevel: serving.ServingEndpointDetailedPermissionLevelCanManage}
	switch {
	case !settled:
		out.State = &serving.EndpointState{Ready: serving.EndpointStateReadyNotReady, ConfigUpdate: serving.EndpointStateConfigUpdateInProgress}
		out.PendingConfig = &serving.EndpointPendingConfig{ServedEntities: entities, StartTime: ep.created.UnixMilli(), ConfigVersion: 1}
	case ep.fails:
		out.State = &serving.EndpointState{Ready: serving.EndpointStateReadyNotReady, ConfigUpdate: serving.EndpointStateConfigUpdateUpdateFailed}
		out.PendingConfig = &serving.EndpointPendingConfig{ServedEntities: entities, StartTime: ep.created.UnixMilli(), ConfigVersion: 1}
	default:
		out.State = &serving.EndpointState{Ready: serving.EndpointStateReadyReady, ConfigUpdate: serving.EndpointStateConfigUpdateNotUpdating}
		out.Config = &serving.EndpointCoreConfigOutput{ServedEntities: entities, ConfigVersion: 1}
	}
	return out
}

func (s *Server) getEndpoint(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	ep, ok := s.endpoints[r.PathValue("name")]
	var out serving.ServingEndpointDetailed
	if ok {
		out = s.endpointView(ep)
	}
	s.mu.Unlock()
	if !ok {
		return errf(404, "RESOURCE_DOES_NOT_EXIST", "Serving endpoint with name '%s' does not exist.", r.PathValue("name"))
	}
	writeJSON(w, out)
	return nil
}

func (s *Server) listEndpoints(w http.ResponseWriter, _ *http.Request) *apiError {
	s.mu.Lock()
	resp := serving.ListEndpointsResponse{}
	for _, ep := range s.endpoints {
		d := s.endpointView(ep)
		e := serving.ServingEndpoint{Id: d.Id, Name: d.Name, CreationTimestamp: d.CreationTimestamp, Creator: d.Creator, State: d.State,
			Config: &serving.EndpointCoreConfigSummary{}}
		for _, se := range ep.config.ServedEntities {
			e.Config.ServedEntities = append(e.Config.ServedEntities, serving.ServedEntitySpec{EntityName: se.EntityName, EntityVersion: se.EntityVersion})
		}
		resp.Endpoints = append(resp.Endpoints, e)
	}
	s.mu.Unlock()
	sort.Slice(resp.Endpoints, func(i, j int) bool { return resp.Endpoints[i].Name < resp.Endpoints[j].Name })
	writeJSON(w, resp)
	return nil
}

func (s *Server) deleteEndpoint(w http.ResponseWriter, r *http.Request) *apiError {
	name := r.PathValue("name")
	s.mu.Lock()
	_, ok := s.endpoints[name]
	delete(s.endpoints, name)
	s.mu.Unlock()
	if !ok {
		return errf(404, "RESOURCE_DOES_NOT_EXIST", "Serving endpoint with name '%s' does not exist.", name)
	}
	writeJSON(w, struct{}{})
	return nil
}

// Endpoints returns the names of the serving endpoints that exist.
func (s *Server) Endpoints() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.endpoints {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
