// Package wire converts between the sdk Go types and the generated protobuf
// messages, and implements the gRPC server and client on top of them.
package wire

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
	pb "github.com/neural-dsl/neural-host/sdk/internal/platformpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func toTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func fromTime(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

var kinds = map[sdk.Kind]pb.JobKind{
	sdk.KindDSL:     pb.JobKind_JOB_KIND_DSL,
	sdk.KindPython:  pb.JobKind_JOB_KIND_PYTHON,
	sdk.KindCommand: pb.JobKind_JOB_KIND_COMMAND,
}

var states = map[sdk.State]pb.JobState{
	sdk.StateQueued:    pb.JobState_JOB_STATE_QUEUED,
	sdk.StateStarting:  pb.JobState_JOB_STATE_STARTING,
	sdk.StateRunning:   pb.JobState_JOB_STATE_RUNNING,
	sdk.StateStopping:  pb.JobState_JOB_STATE_STOPPING,
	sdk.StateSucceeded: pb.JobState_JOB_STATE_SUCCEEDED,
	sdk.StateFailed:    pb.JobState_JOB_STATE_FAILED,
	sdk.StateCancelled: pb.JobState_JOB_STATE_CANCELLED,
	sdk.StateUnknown:   pb.JobState_JOB_STATE_UNKNOWN,
}

func toState(s sdk.State) pb.JobState {
	if v, ok := states[s]; ok {
		return v
	}
	return pb.JobState_JOB_STATE_UNKNOWN
}

func fromState(s pb.JobState) sdk.State {
	for k, v := range states {
		if v == s {
			return k
		}
	}
	return sdk.StateUnknown
}

func toKind(k sdk.Kind) pb.JobKind { return kinds[k] }

func fromKind(k pb.JobKind) sdk.Kind {
	for sk, v := range kinds {
		if v == k {
			return sk
		}
	}
	return ""
}

// toSpec converts a spec for the wire. A count that does not fit the
// wire's int32 is refused rather than sent wrapped around; Validate
// reports the same, so only a caller that skipped it sees this.
func toSpec(s sdk.JobSpec) (*pb.JobSpec, error) {
	r := s.Resources
	var errs []error
	count := func(field string, v int) int32 {
		if int(int32(v)) != v {
			errs = append(errs, sdk.FieldError(field, fmt.Sprintf("%d does not fit in 32 bits", v), fmt.Sprintf("set %s to at most %d", field, math.MaxInt32)))
		}
		return int32(v)
	}
	out := &pb.JobSpec{
		Name: s.Name, Kind: toKind(s.Kind), WorkDir: s.WorkDir, Entrypoint: s.Entrypoint,
		Args: s.Args, Command: s.Command,
		Dsl:          &pb.DSLOptions{Backend: string(s.DSL.Backend), Dataset: s.DSL.Dataset, NeuralVersion: s.DSL.NeuralVersion},
		Requirements: s.Requirements, Env: s.Env, Labels: s.Labels,
		IdempotencyKey: s.IdempotencyKey, Options: s.Options,
		Resources: &pb.Resources{
			InstanceType: r.InstanceType, GpuType: r.GPUType, Gpus: count("resources.gpus", r.GPUs), Cpus: r.CPUs,
			MemoryGb: r.MemoryGB, DiskGb: count("resources.disk_gb", r.DiskGB), MaxRuntimeSeconds: int64(r.MaxRuntime / time.Second),
			Spot: r.Spot, Nodes: count("resources.nodes", r.Nodes),
		},
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func fromSpec(s *pb.JobSpec) sdk.JobSpec {
	r := s.GetResources()
	return sdk.JobSpec{
		Name: s.GetName(), Kind: fromKind(s.GetKind()), WorkDir: s.GetWorkDir(), Entrypoint: s.GetEntrypoint(),
		Args: s.GetArgs(), Command: s.GetCommand(),
		DSL:          sdk.DSLOptions{Backend: sdk.Backend(s.GetDsl().GetBackend()), Dataset: s.GetDsl().GetDataset(), NeuralVersion: s.GetDsl().GetNeuralVersion()},
		Requirements: s.GetRequirements(), Env: s.GetEnv(), Labels: s.GetLabels(),
		IdempotencyKey: s.GetIdempotencyKey(), Options: s.GetOptions(),
		Resources: sdk.Resources{
			InstanceType: r.GetInstanceType(), GPUType: r.GetGpuType(), GPUs: int(r.GetGpus()), CPUs: r.GetCpus(),
			MemoryGB: r.GetMemoryGb(), DiskGB: int(r.GetDiskGb()), MaxRuntime: time.Duration(r.GetMaxRuntimeSeconds()) * time.Second,
			Spot: r.GetSpot(), Nodes: int(r.GetNodes()),
		},
	}
}

// toStatus sends a plugin's status with Terminal derived from its state, so
// the two can never disagree and plugins need not set it.
func toStatus(s sdk.JobStatus) *pb.JobStatus {
	return &pb.JobStatus{
		Id: s.ID, Name: s.Name, State: toState(s.State), RawState: s.RawState, Reason: s.Reason,
		Terminal: s.State.Terminal(), CreatedAt: toTime(s.CreatedAt), StartedAt: toTime(s.StartedAt), EndedAt: toTime(s.EndedAt),
		ConsoleUrl: s.ConsoleURL, Labels: s.Labels, Attributes: s.Attributes,
	}
}

func fromStatus(s *pb.JobStatus) sdk.JobStatus {
	return sdk.JobStatus{
		ID: s.GetId(), Name: s.GetName(), State: fromState(s.GetState()), RawState: s.GetRawState(), Reason: s.GetReason(),
		Terminal: s.GetTerminal(), CreatedAt: fromTime(s.GetCreatedAt()), StartedAt: fromTime(s.GetStartedAt()), EndedAt: fromTime(s.GetEndedAt()),
		ConsoleURL: s.GetConsoleUrl(), Labels: s.GetLabels(), Attributes: s.GetAttributes(),
	}
}

func toResult(r sdk.JobResult) *pb.JobResult {
	return &pb.JobResult{
		Status: toStatus(r.Status), Metrics: r.Metrics, Artifacts: r.Artifacts, OutputExcerpt: r.OutputExcerpt,
		Error: r.Error, DurationMs: r.Duration.Milliseconds(), BillableSeconds: r.BillableSeconds,
	}
}

func fromResult(r *pb.JobResult) sdk.JobResult {
	return sdk.JobResult{
		Status: fromStatus(r.GetStatus()), Metrics: r.GetMetrics(), Artifacts: r.GetArtifacts(), OutputExcerpt: r.GetOutputExcerpt(),
		Error: r.GetError(), Duration: time.Duration(r.GetDurationMs()) * time.Millisecond, BillableSeconds: r.GetBillableSeconds(),
	}
}

func toLogEntry(e sdk.LogEntry) *pb.LogEntry {
	return &pb.LogEntry{Time: toTime(e.Time), Source: e.Source, Line: e.Line, Cursor: e.Cursor, Truncated: e.Truncated}
}

func fromLogEntry(e *pb.LogEntry) sdk.LogEntry {
	return sdk.LogEntry{Time: fromTime(e.GetTime()), Source: e.GetSource(), Line: e.GetLine(), Cursor: e.GetCursor(), Truncated: e.GetTruncated()}
}

func toListRequest(r sdk.ListRequest) *pb.ListRequest {
	out := &pb.ListRequest{Labels: r.Labels, NamePrefix: r.NamePrefix, CreatedAfter: toTime(r.CreatedAfter),
		CreatedBefore: toTime(r.CreatedBefore), PageSize: int32(r.PageSize), PageToken: r.PageToken}
	for _, s := range r.States {
		out.States = append(out.States, toState(s))
	}
	return out
}

func fromListRequest(r *pb.ListRequest) sdk.ListRequest {
	out := sdk.ListRequest{Labels: r.GetLabels(), NamePrefix: r.GetNamePrefix(), CreatedAfter: fromTime(r.GetCreatedAfter()),
		CreatedBefore: fromTime(r.GetCreatedBefore()), PageSize: int(r.GetPageSize()), PageToken: r.GetPageToken()}
	for _, s := range r.GetStates() {
		out.States = append(out.States, fromState(s))
	}
	return out
}

func toJobStatesRequest(r sdk.JobStatesRequest) *pb.JobStatesRequest {
	return &pb.JobStatesRequest{Ids: r.IDs, Labels: r.Labels, CreatedAfter: toTime(r.CreatedAfter), PageSize: int32(r.PageSize), PageToken: r.PageToken}
}

func fromJobStatesRequest(r *pb.JobStatesRequest) sdk.JobStatesRequest {
	return sdk.JobStatesRequest{IDs: r.GetIds(), Labels: r.GetLabels(), CreatedAfter: fromTime(r.GetCreatedAfter()),
		PageSize: int(r.GetPageSize()), PageToken: r.GetPageToken()}
}

func toConfigFields(fs []sdk.ConfigField) []*pb.ConfigField {
	out := make([]*pb.ConfigField, len(fs))
	for i, f := range fs {
		out[i] = &pb.ConfigField{Key: f.Key, Description: f.Description, Required: f.Required, Secret: f.Secret, Default: f.Default, EnvVars: f.EnvVars}
	}
	return out
}

func fromConfigFields(fs []*pb.ConfigField) []sdk.ConfigField {
	out := make([]sdk.ConfigField, len(fs))
	for i, f := range fs {
		out[i] = sdk.ConfigField{Key: f.GetKey(), Description: f.GetDescription(), Required: f.GetRequired(), Secret: f.GetSecret(), Default: f.GetDefault(), EnvVars: f.GetEnvVars()}
	}
	return out
}

func toMetadata(m sdk.Metadata) *pb.Metadata {
	c := m.Capabilities
	return &pb.Metadata{
		Name: m.Name, Namespace: m.Namespace, Version: m.Version, ProtocolVersion: int32(m.ProtocolVersion), SdkVersion: m.SDKVersion, Description: m.Description,
		Capabilities: &pb.Capabilities{Jobs: c.Jobs, LogFollow: c.LogFollow, Files: c.Files, Deploy: c.Deploy, Usage: c.Usage, Prices: c.Prices, Plan: c.Plan, JobStates: c.JobStates},
		Config:       toConfigFields(m.Config), JobOptions: toConfigFields(m.JobOptions),
	}
}

func fromMetadata(m *pb.Metadata) sdk.Metadata {
	c := m.GetCapabilities()
	return sdk.Metadata{
		Name: m.GetName(), Namespace: m.GetNamespace(), Version: m.GetVersion(), ProtocolVersion: int(m.GetProtocolVersion()), SDKVersion: m.GetSdkVersion(), Description: m.GetDescription(),
		Capabilities: sdk.Capabilities{Jobs: c.GetJobs(), LogFollow: c.GetLogFollow(), Files: c.GetFiles(), Deploy: c.GetDeploy(), Usage: c.GetUsage(), Prices: c.GetPrices(), Plan: c.GetPlan(), JobStates: c.GetJobStates()},
		Config:       fromConfigFields(m.GetConfig()), JobOptions: fromConfigFields(m.GetJobOptions()),
	}
}

func toPlan(p sdk.Plan) *pb.PlanResponse {
	out := &pb.PlanResponse{InstanceType: p.InstanceType, Warnings: p.Warnings,
		HourlyPrice: &pb.Price{Known: p.HourlyPrice.Known, UsdPerHour: p.HourlyPrice.USDPerHour, Source: p.HourlyPrice.Source, AsOf: p.HourlyPrice.AsOf}}
	for _, r := range p.Requests {
		out.Requests = append(out.Requests, &pb.PlannedRequest{Operation: r.Operation, Method: r.Method, Target: r.Target, Body: r.Body})
	}
	return out
}

func fromPlan(p *pb.PlanResponse) sdk.Plan {
	hp := p.GetHourlyPrice()
	out := sdk.Plan{InstanceType: p.GetInstanceType(), Warnings: p.GetWarnings(),
		HourlyPrice: sdk.Price{Known: hp.GetKnown(), USDPerHour: hp.GetUsdPerHour(), Source: hp.GetSource(), AsOf: hp.GetAsOf()}}
	for _, r := range p.GetRequests() {
		out.Requests = append(out.Requests, sdk.PlannedRequest{Operation: r.GetOperation(), Method: r.GetMethod(), Target: r.GetTarget(), Body: r.GetBody()})
	}
	return out
}

func toAuth(a sdk.AuthInfo) *pb.AuthInfo {
	out := &pb.AuthInfo{Identity: a.Identity, Account: a.Account}
	for _, d := range a.Diagnostics {
		out.Diagnostics = append(out.Diagnostics, &pb.Diagnostic{Check: d.Check, Ok: d.OK, Message: d.Message, Hint: d.Hint})
	}
	return out
}

func fromAuth(a *pb.AuthInfo) sdk.AuthInfo {
	out := sdk.AuthInfo{Identity: a.GetIdentity(), Account: a.GetAccount()}
	for _, d := range a.GetDiagnostics() {
		out.Diagnostics = append(out.Diagnostics, sdk.Diagnostic{Check: d.GetCheck(), OK: d.GetOk(), Message: d.GetMessage(), Hint: d.GetHint()})
	}
	return out
}

func toFileInfo(f sdk.FileInfo) *pb.FileInfo {
	return &pb.FileInfo{Uri: f.URI, Size: f.Size, ModifiedAt: toTime(f.ModifiedAt), IsDir: f.IsDir}
}

func fromFileInfo(f *pb.FileInfo) sdk.FileInfo {
	return sdk.FileInfo{URI: f.GetUri(), Size: f.GetSize(), ModifiedAt: fromTime(f.GetModifiedAt()), IsDir: f.GetIsDir()}
}

func toEndpoint(e sdk.Endpoint) *pb.Endpoint {
	return &pb.Endpoint{Name: e.Name, State: e.State, Ready: e.Ready, Url: e.URL, ModelUri: e.ModelURI, Message: e.Message, CreatedAt: toTime(e.CreatedAt), Attributes: e.Attributes}
}

func fromEndpoint(e *pb.Endpoint) sdk.Endpoint {
	return sdk.Endpoint{Name: e.GetName(), State: e.GetState(), Ready: e.GetReady(), URL: e.GetUrl(), ModelURI: e.GetModelUri(), Message: e.GetMessage(), CreatedAt: fromTime(e.GetCreatedAt()), Attributes: e.GetAttributes()}
}

func toDeploy(d sdk.DeploySpec) *pb.DeployRequest {
	return &pb.DeployRequest{Name: d.Name, ModelUri: d.ModelURI, InstanceType: d.InstanceType, MinReplicas: int32(d.MinReplicas), MaxReplicas: int32(d.MaxReplicas), ScaleToZero: d.ScaleToZero, Env: d.Env, Options: d.Options, Wait: d.Wait}
}

func fromDeploy(d *pb.DeployRequest) sdk.DeploySpec {
	return sdk.DeploySpec{Name: d.GetName(), ModelURI: d.GetModelUri(), InstanceType: d.GetInstanceType(), MinReplicas: int(d.GetMinReplicas()), MaxReplicas: int(d.GetMaxReplicas()), ScaleToZero: d.GetScaleToZero(), Env: d.GetEnv(), Options: d.GetOptions(), Wait: d.GetWait()}
}

func toPriceRow(r sdk.PriceRow) *pb.PriceRow {
	return &pb.PriceRow{InstanceType: r.InstanceType, GpuType: r.GPUType, Gpus: int32(r.GPUs), Vcpus: r.VCPUs, MemoryGb: r.MemoryGB, Region: r.Region, OnDemandUsdPerHour: r.OnDemandUSD, SpotUsdPerHour: r.SpotUSD, Source: r.Source, AsOf: r.AsOf}
}

func fromPriceRow(r *pb.PriceRow) sdk.PriceRow {
	return sdk.PriceRow{InstanceType: r.GetInstanceType(), GPUType: r.GetGpuType(), GPUs: int(r.GetGpus()), VCPUs: r.GetVcpus(), MemoryGB: r.GetMemoryGb(), Region: r.GetRegion(), OnDemandUSD: r.GetOnDemandUsdPerHour(), SpotUSD: r.GetSpotUsdPerHour(), Source: r.GetSource(), AsOf: r.GetAsOf()}
}

func toQuota(q sdk.Quota) *pb.Quota {
	return &pb.Quota{Resource: q.Resource, Region: q.Region, Used: q.Used, Limit: q.Limit, Unit: q.Unit}
}

func fromQuota(q *pb.Quota) sdk.Quota {
	return sdk.Quota{Resource: q.GetResource(), Region: q.GetRegion(), Used: q.GetUsed(), Limit: q.GetLimit(), Unit: q.GetUnit()}
}
