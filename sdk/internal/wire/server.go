package wire

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/neural-dsl/neural-host/sdk"
	pb "github.com/neural-dsl/neural-host/sdk/internal/platformpb"
	"google.golang.org/grpc"
)

// Register serves impl on s: the Platform service always, and each optional
// service whose interface impl implements. Logger receives the SDK's own
// notes about the plugin's behaviour; nil discards them.
func Register(s *grpc.Server, impl sdk.Platform, logger hclog.Logger) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	pb.RegisterPlatformServer(s, &platformServer{impl: impl, log: logger})
	if f, ok := impl.(sdk.FileTransfer); ok {
		pb.RegisterFilesServer(s, &filesServer{impl: f})
	}
	if d, ok := impl.(sdk.Deployer); ok {
		pb.RegisterDeployServer(s, &deployServer{impl: d})
	}
	if u, ok := impl.(sdk.UsageReporter); ok {
		pb.RegisterUsageServer(s, &usageServer{impl: u})
	}
	if p, ok := impl.(sdk.PriceCatalog); ok {
		pb.RegisterPricesServer(s, &pricesServer{impl: p})
	}
	if j, ok := impl.(sdk.JobStater); ok {
		pb.RegisterStatesServer(s, &statesServer{impl: j})
	}
}

// Describe returns impl's metadata with the SDK-owned fields filled in.
func Describe(impl sdk.Platform) sdk.Metadata {
	m := impl.Metadata()
	m.ProtocolVersion = sdk.ProtocolVersion
	m.SDKVersion = sdk.Version
	m.Capabilities.Jobs = true
	_, m.Capabilities.Files = impl.(sdk.FileTransfer)
	_, m.Capabilities.Deploy = impl.(sdk.Deployer)
	_, m.Capabilities.Usage = impl.(sdk.UsageReporter)
	_, m.Capabilities.Prices = impl.(sdk.PriceCatalog)
	_, m.Capabilities.JobStates = impl.(sdk.JobStater)
	return m
}

type platformServer struct {
	pb.UnimplementedPlatformServer
	impl sdk.Platform
	log  hclog.Logger
}

// Messages the conformance suite looks for in a plugin's log.
const (
	MsgCancelledReturned = "cancelled call returned"
	MsgCancelIgnored     = "call ignored its cancelled context"
)

// IgnoredCancelAfter is how long a call may run on after its context ends
// before the SDK reports it.
var IgnoredCancelAfter = 10 * time.Second

// watchCancel notes how a long call answers the end of its context: it
// returns the func to call when the call returns.
func (s *platformServer) watchCancel(ctx context.Context, rpc string) func() {
	returned := make(chan struct{})
	go func() {
		select {
		case <-returned:
			return
		case <-ctx.Done():
		}
		cancelled := time.Now()
		select {
		case <-returned:
			s.log.Debug(MsgCancelledReturned, "rpc", rpc, "after", time.Since(cancelled))
		case <-time.After(IgnoredCancelAfter):
			s.log.Warn(MsgCancelIgnored, "rpc", rpc, "after", IgnoredCancelAfter)
		}
	}()
	return func() { close(returned) }
}

func (s *platformServer) GetMetadata(context.Context, *pb.GetMetadataRequest) (*pb.Metadata, error) {
	return toMetadata(Describe(s.impl)), nil
}

func (s *platformServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	return &pb.ConfigureResponse{}, toStatusError(s.impl.Configure(ctx, sdk.Config(req.GetValues())))
}

func (s *platformServer) CheckAuth(ctx context.Context, _ *pb.CheckAuthRequest) (*pb.AuthInfo, error) {
	a, err := s.impl.CheckAuth(ctx)
	if err != nil {
		return nil, toStatusError(err)
	}
	return toAuth(a), nil
}

// Plan and Submit validate the spec before the plugin sees it, so no
// plugin acts on a spec that breaks the rules every platform shares.
func (s *platformServer) Plan(ctx context.Context, req *pb.PlanRequest) (*pb.PlanResponse, error) {
	spec := fromSpec(req.GetSpec())
	if err := spec.Validate(); err != nil {
		return nil, toStatusError(err)
	}
	p, err := s.impl.Plan(ctx, spec)
	if err != nil {
		return nil, toStatusError(err)
	}
	return toPlan(p), nil
}

func (s *platformServer) Submit(ctx context.Context, req *pb.SubmitRequest) (*pb.JobStatus, error) {
	spec := fromSpec(req.GetSpec())
	if err := spec.Validate(); err != nil {
		return nil, toStatusError(err)
	}
	st, err := s.impl.Submit(ctx, spec)
	if err != nil {
		return nil, toStatusError(err)
	}
	return toStatus(st), nil
}

func (s *platformServer) Status(ctx context.Context, req *pb.JobRequest) (*pb.JobStatus, error) {
	st, err := s.impl.Status(ctx, req.GetId())
	if err != nil {
		return nil, toStatusError(err)
	}
	return toStatus(st), nil
}

func (s *platformServer) Result(ctx context.Context, req *pb.JobRequest) (*pb.JobResult, error) {
	r, err := s.impl.Result(ctx, req.GetId())
	if err != nil {
		return nil, toStatusError(err)
	}
	return toResult(r), nil
}

func (s *platformServer) Logs(req *pb.LogsRequest, stream grpc.ServerStreamingServer[pb.LogEntry]) error {
	defer s.watchCancel(stream.Context(), "Logs")()
	err := s.impl.Logs(stream.Context(), sdk.LogsRequest{ID: req.GetId(), Cursor: req.GetCursor(), Follow: req.GetFollow()},
		func(e sdk.LogEntry) error { return stream.Send(toLogEntry(e)) })
	return toStatusError(err)
}

func (s *platformServer) Cancel(ctx context.Context, req *pb.JobRequest) (*pb.JobStatus, error) {
	st, err := s.impl.Cancel(ctx, req.GetId())
	if err != nil {
		return nil, toStatusError(err)
	}
	return toStatus(st), nil
}

func (s *platformServer) List(ctx context.Context, req *pb.ListRequest) (*pb.ListResponse, error) {
	r, err := s.impl.List(ctx, fromListRequest(req))
	if err != nil {
		return nil, toStatusError(err)
	}
	out := &pb.ListResponse{NextPageToken: r.NextPageToken}
	for _, j := range r.Jobs {
		out.Jobs = append(out.Jobs, toStatus(j))
	}
	return out, nil
}

type filesServer struct {
	pb.UnimplementedFilesServer
	impl sdk.FileTransfer
}

func (s *filesServer) transfer(req *pb.TransferRequest, stream grpc.ServerStreamingServer[pb.TransferEvent],
	do func(context.Context, sdk.TransferRequest, sdk.ProgressFunc) (sdk.FileInfo, error)) error {
	var sendErr error
	info, err := do(stream.Context(), sdk.TransferRequest{LocalPath: req.GetLocalPath(), RemoteURI: req.GetRemoteUri()},
		func(done, total int64) {
			if sendErr == nil {
				sendErr = stream.Send(&pb.TransferEvent{BytesDone: done, BytesTotal: total})
			}
		})
	if err != nil {
		return toStatusError(err)
	}
	if sendErr != nil {
		return sendErr
	}
	return stream.Send(&pb.TransferEvent{BytesDone: info.Size, BytesTotal: info.Size, Done: toFileInfo(info)})
}

func (s *filesServer) Upload(req *pb.TransferRequest, stream grpc.ServerStreamingServer[pb.TransferEvent]) error {
	return s.transfer(req, stream, s.impl.Upload)
}

func (s *filesServer) Download(req *pb.TransferRequest, stream grpc.ServerStreamingServer[pb.TransferEvent]) error {
	return s.transfer(req, stream, s.impl.Download)
}

func (s *filesServer) ListFiles(ctx context.Context, req *pb.ListFilesRequest) (*pb.ListFilesResponse, error) {
	r, err := s.impl.ListFiles(ctx, sdk.ListFilesRequest{URI: req.GetUri(), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, toStatusError(err)
	}
	out := &pb.ListFilesResponse{NextPageToken: r.NextPageToken}
	for _, f := range r.Files {
		out.Files = append(out.Files, toFileInfo(f))
	}
	return out, nil
}

type deployServer struct {
	pb.UnimplementedDeployServer
	impl sdk.Deployer
}

func (s *deployServer) Deploy(ctx context.Context, req *pb.DeployRequest) (*pb.Endpoint, error) {
	e, err := s.impl.Deploy(ctx, fromDeploy(req))
	if err != nil {
		return nil, toStatusError(err)
	}
	return toEndpoint(e), nil
}

func (s *deployServer) GetEndpoint(ctx context.Context, req *pb.EndpointRequest) (*pb.Endpoint, error) {
	e, err := s.impl.GetEndpoint(ctx, req.GetName())
	if err != nil {
		return nil, toStatusError(err)
	}
	return toEndpoint(e), nil
}

func (s *deployServer) ListEndpoints(ctx context.Context, req *pb.ListEndpointsRequest) (*pb.ListEndpointsResponse, error) {
	es, next, err := s.impl.ListEndpoints(ctx, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, toStatusError(err)
	}
	out := &pb.ListEndpointsResponse{NextPageToken: next}
	for _, e := range es {
		out.Endpoints = append(out.Endpoints, toEndpoint(e))
	}
	return out, nil
}

func (s *deployServer) DeleteEndpoint(ctx context.Context, req *pb.EndpointRequest) (*pb.DeleteEndpointResponse, error) {
	return &pb.DeleteEndpointResponse{}, toStatusError(s.impl.DeleteEndpoint(ctx, req.GetName()))
}

type usageServer struct {
	pb.UnimplementedUsageServer
	impl sdk.UsageReporter
}

func (s *usageServer) GetUsage(ctx context.Context, _ *pb.GetUsageRequest) (*pb.GetUsageResponse, error) {
	qs, err := s.impl.Usage(ctx)
	if err != nil {
		return nil, toStatusError(err)
	}
	out := &pb.GetUsageResponse{}
	for _, q := range qs {
		out.Quotas = append(out.Quotas, toQuota(q))
	}
	return out, nil
}

type pricesServer struct {
	pb.UnimplementedPricesServer
	impl sdk.PriceCatalog
}

func (s *pricesServer) ListPrices(ctx context.Context, req *pb.ListPricesRequest) (*pb.ListPricesResponse, error) {
	rows, err := s.impl.Prices(ctx, sdk.PriceFilter{Region: req.GetRegion(), InstanceType: req.GetInstanceType(), GPUType: req.GetGpuType()})
	if err != nil {
		return nil, toStatusError(err)
	}
	out := &pb.ListPricesResponse{}
	for _, r := range rows {
		out.Rows = append(out.Rows, toPriceRow(r))
	}
	return out, nil
}

type statesServer struct {
	pb.UnimplementedStatesServer
	impl sdk.JobStater
}

func (s *statesServer) JobStates(ctx context.Context, req *pb.JobStatesRequest) (*pb.JobStatesResponse, error) {
	r, err := s.impl.JobStates(ctx, fromJobStatesRequest(req))
	if err != nil {
		return nil, toStatusError(err)
	}
	out := &pb.JobStatesResponse{NextPageToken: r.NextPageToken}
	for _, j := range r.Jobs {
		out.Jobs = append(out.Jobs, toStatus(j))
	}
	return out, nil
}
