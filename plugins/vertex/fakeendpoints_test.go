package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeOp is a long-running operation that completes after lroPolls
// GetOperation calls, applying its change only then, as the service does.
type fakeOp struct {
	op    *longrunningpb.Operation
	polls int
	done  func() (proto.Message, error)
}

// newOp registers an operation on resource; the caller holds f.mu.
func (f *fake) newOp(resource string, meta proto.Message, done func() (proto.Message, error)) *longrunningpb.Operation {
	m, _ := anypb.New(meta)
	op := &fakeOp{op: &longrunningpb.Operation{Name: fmt.Sprintf("%s/operations/%d", resource, 100+f.nextSeq()), Metadata: m}, done: done}
	f.ops[op.op.Name] = op
	if f.lroPolls == 0 {
		f.complete(op)
	}
	return proto.Clone(op.op).(*longrunningpb.Operation)
}

func (f *fake) complete(op *fakeOp) {
	res, err := op.done()
	op.op.Done = true
	if err != nil {
		st, _ := status.FromError(err)
		op.op.Result = &longrunningpb.Operation_Error{Error: st.Proto()}
		return
	}
	a, _ := anypb.New(res)
	op.op.Result = &longrunningpb.Operation_Response{Response: a}
}

func generic() *aiplatformpb.GenericOperationMetadata {
	return &aiplatformpb.GenericOperationMetadata{CreateTime: timestamppb.Now(), UpdateTime: timestamppb.Now()}
}

type opsServer struct {
	longrunningpb.UnimplementedOperationsServer
	*fake
}

func (s *opsServer) GetOperation(ctx context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	if _, err := s.begin(ctx, "GetOperation", "name", req.GetName()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.ops[req.GetName()]
	if op == nil {
		return nil, status.Errorf(codes.NotFound, "Operation %s not found.", req.GetName())
	}
	if op.polls++; !op.op.Done && op.polls >= s.lroPolls {
		s.complete(op)
	}
	return proto.Clone(op.op).(*longrunningpb.Operation), nil
}

var (
	modelIDFakeRe    = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,62}$|^[0-9]+$`)
	endpointIDFakeRe = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$|^[1-9][0-9]{0,8}$`)
)

type modelServer struct {
	aiplatformpb.UnimplementedModelServiceServer
	*fake
}

func (s *modelServer) UploadModel(ctx context.Context, req *aiplatformpb.UploadModelRequest) (*longrunningpb.Operation, error) {
	if _, err := s.begin(ctx, "UploadModel", "parent", req.GetParent()); err != nil {
		return nil, err
	}
	if err := s.checkParent("parent", req.GetParent(), "aiplatform.models.upload"); err != nil {
		return nil, err
	}
	var p problems
	m := req.GetModel()
	switch {
	case m == nil:
		p.add("model", "Required field is not set.")
	case m.GetDisplayName() == "" || utf8.RuneCountInString(m.GetDisplayName()) > 128:
		p.add("model.display_name", "Required, at most 128 characters.")
	}
	if m.GetContainerSpec().GetImageUri() == "" {
		p.add("model.container_spec.image_uri", "Required field is not set.")
	}
	for i, e := range m.GetContainerSpec().GetEnv() {
		if !cIdentRe.MatchString(e.GetName()) {
			p.add(fmt.Sprintf("model.container_spec.env[%d].name", i), "Must be a valid C identifier.")
		}
	}
	if a := m.GetArtifactUri(); a != "" && !gcsURIRe.MatchString(a) {
		p.add("model.artifact_uri", "Must be a Cloud Storage directory.")
	}
	checkLabels(&p, "model.labels", m.GetLabels())
	if id := req.GetModelId(); id != "" && !modelIDFakeRe.MatchString(id) {
		p.add("model_id", "Valid characters are [a-z0-9_-]; the first cannot be a number or hyphen.")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := req.GetModelId()
	if id == "" {
		id = strconv.FormatInt(5000000000000000000+s.nextSeq(), 10)
	}
	name := req.GetParent() + "/models/" + id
	if s.models[name] != nil {
		return nil, status.Errorf(codes.AlreadyExists, "Model %s already exists.", name)
	}
	model := proto.Clone(m).(*aiplatformpb.Model)
	model.Name, model.VersionId = name, "1"
	return s.newOp(name, &aiplatformpb.UploadModelOperationMetadata{GenericMetadata: generic()}, func() (proto.Message, error) {
		if s.models[name] != nil {
			return nil, status.Errorf(codes.AlreadyExists, "Model %s already exists.", name)
		}
		model.CreateTime, model.UpdateTime = timestamppb.Now(), timestamppb.Now()
		s.models[name] = model
		return &aiplatformpb.UploadModelResponse{Model: name, ModelVersionId: "1"}, nil
	}), nil
}

func (s *modelServer) modelCall(ctx context.Context, method, name string) (*aiplatformpb.Model, error) {
	if _, err := s.begin(ctx, method, "name", name); err != nil {
		return nil, err
	}
	if err := s.checkName("name", name, "models", modelIDFakeRe, "aiplatform.models.get"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if m := s.models[name]; m != nil {
		return m, nil
	}
	s.mu.Unlock()
	return nil, status.Errorf(codes.NotFound, "The Model does not exist: %s", name)
}

func (s *modelServer) GetModel(ctx context.Context, req *aiplatformpb.GetModelRequest) (*aiplatformpb.Model, error) {
	m, err := s.modelCall(ctx, "GetModel", req.GetName())
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return proto.Clone(m).(*aiplatformpb.Model), nil
}

func (s *modelServer) ListModels(ctx context.Context, req *aiplatformpb.ListModelsRequest) (*aiplatformpb.ListModelsResponse, error) {
	if _, err := s.begin(ctx, "ListModels", "parent", req.GetParent()); err != nil {
		return nil, err
	}
	if err := s.checkParent("parent", req.GetParent(), "aiplatform.models.list"); err != nil {
		return nil, err
	}
	expr, err := parseFilter(req.GetFilter(), func(field, _ string) error {
		if field == "display_name" || strings.HasPrefix(field, "labels.") {
			return nil
		}
		return fmt.Errorf("unsupported filter field %q", field)
	})
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "Invalid filter: "+err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &aiplatformpb.ListModelsResponse{}
	for _, name := range sortedKeys(s.models) {
		m := s.models[name]
		get := func(field string) (string, bool, bool) {
			if field == "display_name" {
				return m.GetDisplayName(), false, true
			}
			v, ok := m.GetLabels()[strings.TrimPrefix(field, "labels.")]
			return v, false, ok
		}
		if expr.eval(get) {
			resp.Models = append(resp.Models, proto.Clone(m).(*aiplatformpb.Model))
		}
	}
	return resp, nil
}

func (s *modelServer) DeleteModel(ctx context.Context, req *aiplatformpb.DeleteModelRequest) (*longrunningpb.Operation, error) {
	_, err := s.modelCall(ctx, "DeleteModel", req.GetName())
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	for _, ep := range s.endpoints {
		for _, dm := range ep.GetDeployedModels() {
			if dm.GetModel() == req.GetName() {
				return nil, status.Errorf(codes.FailedPrecondition, "The Model %s is deployed to Endpoint %s; undeploy it first.", req.GetName(), ep.GetName())
			}
		}
	}
	name := req.GetName()
	return s.newOp(name, &aiplatformpb.DeleteOperationMetadata{GenericMetadata: generic()}, func() (proto.Message, error) {
		delete(s.models, name)
		return &emptypb.Empty{}, nil
	}), nil
}

type endpointServer struct {
	aiplatformpb.UnimplementedEndpointServiceServer
	*fake
}

func (s *endpointServer) CreateEndpoint(ctx context.Context, req *aiplatformpb.CreateEndpointRequest) (*longrunningpb.Operation, error) {
	if _, err := s.begin(ctx, "CreateEndpoint", "parent", req.GetParent()); err != nil {
		return nil, err
	}
	if err := s.checkParent("parent", req.GetParent(), "aiplatform.endpoints.create"); err != nil {
		return nil, err
	}
	var p problems
	if e := req.GetEndpoint(); e == nil || e.GetDisplayName() == "" || utf8.RuneCountInString(e.GetDisplayName()) > 128 {
		p.add("endpoint.display_name", "Required, at most 128 characters.")
	}
	checkLabels(&p, "endpoint.labels", req.GetEndpoint().GetLabels())
	if id := req.GetEndpointId(); id != "" && !endpointIDFakeRe.MatchString(id) {
		p.add("endpoint_id", "Must be a letter then up to 62 of [a-z0-9-], or up to 9 digits without a leading zero.")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := req.GetEndpointId()
	if id == "" {
		id = strconv.FormatInt(100000000+s.nextSeq(), 10)
	}
	name := req.GetParent() + "/endpoints/" + id
	if s.endpoints[name] != nil {
		return nil, status.Errorf(codes.AlreadyExists, "Endpoint %s already exists.", name)
	}
	ep := proto.Clone(req.GetEndpoint()).(*aiplatformpb.Endpoint)
	ep.Name = name
	return s.newOp(name, &aiplatformpb.CreateEndpointOperationMetadata{GenericMetadata: generic()}, func() (proto.Message, error) {
		ep.CreateTime, ep.UpdateTime, ep.Etag = timestamppb.Now(), timestamppb.Now(), "1"
		s.endpoints[name] = ep
		return proto.Clone(ep), nil
	}), nil
}

func (s *endpointServer) endpointCall(ctx context.Context, method, param, name string) (*aiplatformpb.Endpoint, error) {
	if _, err := s.begin(ctx, method, param, name); err != nil {
		return nil, err
	}
	if err := s.checkName(param, name, "endpoints", endpointIDFakeRe, "aiplatform.endpoints.get"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if ep := s.endpoints[name]; ep != nil {
		return ep, nil
	}
	s.mu.Unlock()
	return nil, status.Errorf(codes.NotFound, "The Endpoint does not exist: %s", name)
}

func (s *endpointServer) GetEndpoint(ctx context.Context, req *aiplatformpb.GetEndpointRequest) (*aiplatformpb.Endpoint, error) {
	ep, err := s.endpointCall(ctx, "GetEndpoint", "name", req.GetName())
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return proto.Clone(ep).(*aiplatformpb.Endpoint), nil
}

func (s *endpointServer) ListEndpoints(ctx context.Context, req *aiplatformpb.ListEndpointsRequest) (*aiplatformpb.ListEndpointsResponse, error) {
	if _, err := s.begin(ctx, "ListEndpoints", "parent", req.GetParent()); err != nil {
		return nil, err
	}
	if err := s.checkParent("parent", req.GetParent(), "aiplatform.endpoints.list"); err != nil {
		return nil, err
	}
	off, err := pageOffset(req.GetPageToken(), req.GetFilter())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size <= 0 || size > 100 {
		size = 100
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := sortedKeys(s.endpoints)
	resp := &aiplatformpb.ListEndpointsResponse{}
	for i := off; i < len(names) && i < off+size; i++ {
		resp.Endpoints = append(resp.Endpoints, proto.Clone(s.endpoints[names[i]]).(*aiplatformpb.Endpoint))
	}
	if off+size < len(names) {
		resp.NextPageToken = pageToken(req.GetFilter(), off+size)
	}
	return resp, nil
}

func (s *endpointServer) DeleteEndpoint(ctx context.Context, req *aiplatformpb.DeleteEndpointRequest) (*longrunningpb.Operation, error) {
	ep, err := s.endpointCall(ctx, "DeleteEndpoint", "name", req.GetName())
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if len(ep.GetDeployedModels()) > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "Endpoint %s has deployed models; undeploy them first.", ep.GetName())
	}
	name := ep.GetName()
	return s.newOp(name, &aiplatformpb.DeleteOperationMetadata{GenericMetadata: generic()}, func() (proto.Message, error) {
		delete(s.endpoints, name)
		return &emptypb.Empty{}, nil
	}), nil
}

// checkSplit checks a traffic split against the IDs it may name.
func checkSplit(split map[string]int32, ids map[string]bool) error {
	sum := int32(0)
	for k, v := range split {
		if !ids[k] || v < 0 {
			return invalid("traffic_split", "unknown deployed model ID "+k)
		}
		sum += v
	}
	if len(split) > 0 && sum != 100 {
		return invalid("traffic_split", fmt.Sprintf("percentages must sum to 100, not %d", sum))
	}
	return nil
}

func (s *endpointServer) DeployModel(ctx context.Context, req *aiplatformpb.DeployModelRequest) (*longrunningpb.Operation, error) {
	ep, err := s.endpointCall(ctx, "DeployModel", "endpoint", req.GetEndpoint())
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	dm := req.GetDeployedModel()
	var p problems
	if dm == nil || dm.GetModel() == "" {
		p.add("deployed_model.model", "Required field is not set.")
	} else if s.models[dm.GetModel()] == nil {
		return nil, status.Errorf(codes.NotFound, "The Model does not exist: %s", dm.GetModel())
	}
	r := dm.GetDedicatedResources()
	switch {
	case r == nil:
		p.add("deployed_model.dedicated_resources", "Custom-trained models need dedicated resources.")
	case r.GetMachineSpec().GetMachineType() == "":
		p.add("deployed_model.dedicated_resources.machine_spec.machine_type", "Required field is not set.")
	case r.GetMinReplicaCount() < 1:
		p.add("deployed_model.dedicated_resources.min_replica_count", "Must be at least 1.")
	case r.GetMaxReplicaCount() != 0 && r.GetMaxReplicaCount() < r.GetMinReplicaCount():
		p.add("deployed_model.dedicated_resources.max_replica_count", "Must not be below min_replica_count.")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	ids := map[string]bool{"0": true}
	for _, d := range ep.GetDeployedModels() {
		ids[d.GetId()] = true
	}
	if err := checkSplit(req.GetTrafficSplit(), ids); err != nil {
		return nil, err
	}
	name := ep.GetName()
	split := req.GetTrafficSplit()
	deployed := proto.Clone(dm).(*aiplatformpb.DeployedModel)
	return s.newOp(name, &aiplatformpb.DeployModelOperationMetadata{GenericMetadata: generic()}, func() (proto.Message, error) {
		ep := s.endpoints[name]
		if ep == nil {
			return nil, status.Errorf(codes.NotFound, "The Endpoint does not exist: %s", name)
		}
		deployed.Id, deployed.CreateTime = strconv.FormatInt(9000000000+s.nextSeq(), 10), timestamppb.Now()
		ep.DeployedModels = append(ep.DeployedModels, deployed)
		if len(split) > 0 {
			ep.TrafficSplit = map[string]int32{}
			for k, v := range split {
				if k == "0" {
					k = deployed.Id
				}
				ep.TrafficSplit[k] = v
			}
		}
		return &aiplatformpb.DeployModelResponse{DeployedModel: proto.Clone(deployed).(*aiplatformpb.DeployedModel)}, nil
	}), nil
}

func (s *endpointServer) UndeployModel(ctx context.Context, req *aiplatformpb.UndeployModelRequest) (*longrunningpb.Operation, error) {
	ep, err := s.endpointCall(ctx, "UndeployModel", "endpoint", req.GetEndpoint())
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	id := req.GetDeployedModelId()
	others := map[string]bool{}
	found := false
	for _, d := range ep.GetDeployedModels() {
		if d.GetId() == id {
			found = true
		} else {
			others[d.GetId()] = true
		}
	}
	if !found {
		return nil, status.Errorf(codes.NotFound, "Deployed model %s not found on %s.", id, ep.GetName())
	}
	if err := checkSplit(req.GetTrafficSplit(), others); err != nil {
		return nil, err
	}
	if len(others) > 0 && ep.GetTrafficSplit()[id] > 0 && len(req.GetTrafficSplit()) == 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "Model %s still receives traffic; give a new traffic_split.", id)
	}
	name, split := ep.GetName(), req.GetTrafficSplit()
	return s.newOp(name, &aiplatformpb.UndeployModelOperationMetadata{GenericMetadata: generic()}, func() (proto.Message, error) {
		ep := s.endpoints[name]
		var keep []*aiplatformpb.DeployedModel
		for _, d := range ep.GetDeployedModels() {
			if d.GetId() != id {
				keep = append(keep, d)
			}
		}
		ep.DeployedModels = keep
		delete(ep.TrafficSplit, id)
		if len(split) > 0 {
			ep.TrafficSplit = split
		}
		return &aiplatformpb.UndeployModelResponse{}, nil
	}), nil
}

// deployedIDs lists an endpoint's deployed model IDs, sorted.
func (f *fake) deployedIDs(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, d := range f.endpoints[name].GetDeployedModels() {
		ids = append(ids, d.GetId())
	}
	sort.Strings(ids)
	return ids
}
