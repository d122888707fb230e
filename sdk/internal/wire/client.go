package wire

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/neural-dsl/neural-host/sdk"
	pb "github.com/neural-dsl/neural-host/sdk/internal/platformpb"
	"google.golang.org/grpc"
)

// Client is the host's view of a plugin: every sdk interface, backed by
// gRPC. Calls to a capability the plugin lacks fail with sdk.ErrUnsupported.
type Client struct {
	platform pb.PlatformClient
	files    pb.FilesClient
	deploy   pb.DeployClient
	usage    pb.UsageClient
	prices   pb.PricesClient
	states   pb.StatesClient
	meta     sdk.Metadata
}

// Compile-time guards: the client must satisfy every contract it stands in for.
var (
	_ sdk.Platform      = (*Client)(nil)
	_ sdk.FileTransfer  = (*Client)(nil)
	_ sdk.Deployer      = (*Client)(nil)
	_ sdk.UsageReporter = (*Client)(nil)
	_ sdk.PriceCatalog  = (*Client)(nil)
	_ sdk.JobStater     = (*Client)(nil)
)

// NewClient reads the plugin's metadata over conn and returns a Client.
func NewClient(ctx context.Context, conn grpc.ClientConnInterface) (*Client, error) {
	c := &Client{
		platform: pb.NewPlatformClient(conn), files: pb.NewFilesClient(conn), deploy: pb.NewDeployClient(conn),
		usage: pb.NewUsageClient(conn), prices: pb.NewPricesClient(conn), states: pb.NewStatesClient(conn),
	}
	m, err := c.platform.GetMetadata(ctx, &pb.GetMetadataRequest{})
	if err != nil {
		return nil, fromStatusError(err)
	}
	c.meta = fromMetadata(m)
	return c, nil
}

func (c *Client) Metadata() sdk.Metadata { return c.meta }

func (c *Client) unsupported(what string) error {
	return &sdk.Error{Kind: sdk.ErrUnsupported, Message: fmt.Sprintf("platform %s does not support %s", c.meta.Name, what)}
}

func (c *Client) Configure(ctx context.Context, cfg sdk.Config) error {
	_, err := c.platform.Configure(ctx, &pb.ConfigureRequest{Values: cfg})
	return fromStatusError(err)
}

func (c *Client) CheckAuth(ctx context.Context) (sdk.AuthInfo, error) {
	a, err := c.platform.CheckAuth(ctx, &pb.CheckAuthRequest{})
	if err != nil {
		return sdk.AuthInfo{}, fromStatusError(err)
	}
	return fromAuth(a), nil
}

func (c *Client) Plan(ctx context.Context, spec sdk.JobSpec) (sdk.Plan, error) {
	ps, err := toSpec(spec)
	if err != nil {
		return sdk.Plan{}, err
	}
	p, err := c.platform.Plan(ctx, &pb.PlanRequest{Spec: ps})
	if err != nil {
		return sdk.Plan{}, fromStatusError(err)
	}
	return fromPlan(p), nil
}

func (c *Client) Submit(ctx context.Context, spec sdk.JobSpec) (sdk.JobStatus, error) {
	ps, err := toSpec(spec)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	st, err := c.platform.Submit(ctx, &pb.SubmitRequest{Spec: ps})
	if err != nil {
		return sdk.JobStatus{}, fromStatusError(err)
	}
	return fromStatus(st), nil
}

func (c *Client) Status(ctx context.Context, id string) (sdk.JobStatus, error) {
	st, err := c.platform.Status(ctx, &pb.JobRequest{Id: id})
	if err != nil {
		return sdk.JobStatus{}, fromStatusError(err)
	}
	return fromStatus(st), nil
}

func (c *Client) Result(ctx context.Context, id string) (sdk.JobResult, error) {
	r, err := c.platform.Result(ctx, &pb.JobRequest{Id: id})
	if err != nil {
		return sdk.JobResult{}, fromStatusError(err)
	}
	return fromResult(r), nil
}

func (c *Client) Logs(ctx context.Context, req sdk.LogsRequest, fn sdk.LogFunc) error {
	if req.Follow && !c.meta.Capabilities.LogFollow {
		return c.unsupported("following logs")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.platform.Logs(ctx, &pb.LogsRequest{Id: req.ID, Cursor: req.Cursor, Follow: req.Follow})
	if err != nil {
		return fromStatusError(err)
	}
	for {
		e, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fromStatusError(err)
		}
		if err := fn(fromLogEntry(e)); err != nil {
			return err
		}
	}
}

func (c *Client) Cancel(ctx context.Context, id string) (sdk.JobStatus, error) {
	st, err := c.platform.Cancel(ctx, &pb.JobRequest{Id: id})
	if err != nil {
		return sdk.JobStatus{}, fromStatusError(err)
	}
	return fromStatus(st), nil
}

func (c *Client) List(ctx context.Context, req sdk.ListRequest) (sdk.ListResponse, error) {
	r, err := c.platform.List(ctx, toListRequest(req))
	if err != nil {
		return sdk.ListResponse{}, fromStatusError(err)
	}
	out := sdk.ListResponse{NextPageToken: r.GetNextPageToken()}
	for _, j := range r.GetJobs() {
		out.Jobs = append(out.Jobs, fromStatus(j))
	}
	return out, nil
}

type transferStream interface {
	Recv() (*pb.TransferEvent, error)
}

func (c *Client) transfer(stream transferStream, err error, progress sdk.ProgressFunc) (sdk.FileInfo, error) {
	if err != nil {
		return sdk.FileInfo{}, fromStatusError(err)
	}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return sdk.FileInfo{}, errors.New("wire: transfer ended without a result")
		}
		if err != nil {
			return sdk.FileInfo{}, fromStatusError(err)
		}
		if progress != nil {
			progress(ev.GetBytesDone(), ev.GetBytesTotal())
		}
		if ev.GetDone() != nil {
			return fromFileInfo(ev.GetDone()), nil
		}
	}
}

func (c *Client) Upload(ctx context.Context, req sdk.TransferRequest, progress sdk.ProgressFunc) (sdk.FileInfo, error) {
	if !c.meta.Capabilities.Files {
		return sdk.FileInfo{}, c.unsupported("files")
	}
	s, err := c.files.Upload(ctx, &pb.TransferRequest{LocalPath: req.LocalPath, RemoteUri: req.RemoteURI})
	return c.transfer(s, err, progress)
}

func (c *Client) Download(ctx context.Context, req sdk.TransferRequest, progress sdk.ProgressFunc) (sdk.FileInfo, error) {
	if !c.meta.Capabilities.Files {
		return sdk.FileInfo{}, c.unsupported("files")
	}
	s, err := c.files.Download(ctx, &pb.TransferRequest{LocalPath: req.LocalPath, RemoteUri: req.RemoteURI})
	return c.transfer(s, err, progress)
}

func (c *Client) ListFiles(ctx context.Context, req sdk.ListFilesRequest) (sdk.ListFilesResponse, error) {
	if !c.meta.Capabilities.Files {
		return sdk.ListFilesResponse{}, c.unsupported("files")
	}
	r, err := c.files.ListFiles(ctx, &pb.ListFilesRequest{Uri: req.URI, PageSize: int32(req.PageSize), PageToken: req.PageToken})
	if err != nil {
		return sdk.ListFilesResponse{}, fromStatusError(err)
	}
	out := sdk.ListFilesResponse{NextPageToken: r.GetNextPageToken()}
	for _, f := range r.GetFiles() {
		out.Files = append(out.Files, fromFileInfo(f))
	}
	return out, nil
}

func (c *Client) Deploy(ctx context.Context, spec sdk.DeploySpec) (sdk.Endpoint, error) {
	if !c.meta.Capabilities.Deploy {
		return sdk.Endpoint{}, c.unsupported("deploying endpoints")
	}
	e, err := c.deploy.Deploy(ctx, toDeploy(spec))
	if err != nil {
		return sdk.Endpoint{}, fromStatusError(err)
	}
	return fromEndpoint(e), nil
}

func (c *Client) GetEndpoint(ctx context.Context, name string) (sdk.Endpoint, error) {
	if !c.meta.Capabilities.Deploy {
		return sdk.Endpoint{}, c.unsupported("deploying endpoints")
	}
	e, err := c.deploy.GetEndpoint(ctx, &pb.EndpointRequest{Name: name})
	if err != nil {
		return sdk.Endpoint{}, fromStatusError(err)
	}
	return fromEndpoint(e), nil
}

func (c *Client) ListEndpoints(ctx context.Context, pageSize int, pageToken string) ([]sdk.Endpoint, string, error) {
	if !c.meta.Capabilities.Deploy {
		return nil, "", c.unsupported("deploying endpoints")
	}
	r, err := c.deploy.ListEndpoints(ctx, &pb.ListEndpointsRequest{PageSize: int32(pageSize), PageToken: pageToken})
	if err != nil {
		return nil, "", fromStatusError(err)
	}
	var out []sdk.Endpoint
	for _, e := range r.GetEndpoints() {
		out = append(out, fromEndpoint(e))
	}
	return out, r.GetNextPageToken(), nil
}

func (c *Client) DeleteEndpoint(ctx context.Context, name string) error {
	if !c.meta.Capabilities.Deploy {
		return c.unsupported("deploying endpoints")
	}
	_, err := c.deploy.DeleteEndpoint(ctx, &pb.EndpointRequest{Name: name})
	return fromStatusError(err)
}

func (c *Client) Usage(ctx context.Context) ([]sdk.Quota, error) {
	if !c.meta.Capabilities.Usage {
		return nil, c.unsupported("usage reports")
	}
	r, err := c.usage.GetUsage(ctx, &pb.GetUsageRequest{})
	if err != nil {
		return nil, fromStatusError(err)
	}
	var out []sdk.Quota
	for _, q := range r.GetQuotas() {
		out = append(out, fromQuota(q))
	}
	return out, nil
}

func (c *Client) Prices(ctx context.Context, f sdk.PriceFilter) ([]sdk.PriceRow, error) {
	if !c.meta.Capabilities.Prices {
		return nil, c.unsupported("a price catalog")
	}
	r, err := c.prices.ListPrices(ctx, &pb.ListPricesRequest{Region: f.Region, InstanceType: f.InstanceType, GpuType: f.GPUType})
	if err != nil {
		return nil, fromStatusError(err)
	}
	var out []sdk.PriceRow
	for _, row := range r.GetRows() {
		out = append(out, fromPriceRow(row))
	}
	return out, nil
}

func (c *Client) JobStates(ctx context.Context, req sdk.JobStatesRequest) (sdk.JobStatesResponse, error) {
	if !c.meta.Capabilities.JobStates {
		return sdk.JobStatesResponse{}, c.unsupported("listing job states")
	}
	r, err := c.states.JobStates(ctx, toJobStatesRequest(req))
	if err != nil {
		return sdk.JobStatesResponse{}, fromStatusError(err)
	}
	out := sdk.JobStatesResponse{NextPageToken: r.GetNextPageToken()}
	for _, j := range r.GetJobs() {
		out.Jobs = append(out.Jobs, fromStatus(j))
	}
	return out, nil
}
