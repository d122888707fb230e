package sdk

import (
	"context"
	"time"
)

// Platform is what every plugin implements: jobs from submission to result.
// Methods must be safe for concurrent use.
type Platform interface {
	Metadata() Metadata
	// Configure receives the resolved settings before any other call but
	// Metadata. It must not reach the platform.
	Configure(ctx context.Context, cfg Config) error
	CheckAuth(ctx context.Context) (AuthInfo, error)
	// Plan renders what Submit would send. It has no side effects.
	Plan(ctx context.Context, spec JobSpec) (Plan, error)
	// Submit starts the job. Given an IdempotencyKey it has seen, it returns
	// the existing job rather than starting another.
	Submit(ctx context.Context, spec JobSpec) (JobStatus, error)
	Status(ctx context.Context, id string) (JobStatus, error)
	Result(ctx context.Context, id string) (JobResult, error)
	// Logs sends the job's output to fn in order.
	Logs(ctx context.Context, req LogsRequest, fn LogFunc) error
	// Cancel asks the platform to stop the job and returns its state after.
	Cancel(ctx context.Context, id string) (JobStatus, error)
	List(ctx context.Context, req ListRequest) (ListResponse, error)
}

// JobStater is implemented by plugins whose platform lists jobs with their
// states, so that the host can refresh many jobs with one platform call per
// page of the listing instead of one Status call per job.
//
// The host calls it with the ids it wants and follows NextPageToken until
// every wanted job has been seen or the listing ends. A wanted job absent
// from every page is asked for with Status, so a plugin may leave out jobs
// its listing does not show (say, one of active jobs only leaves out ended
// ones) or cannot describe as Status would (one whose failure reason only a
// per-job call returns), and must not answer ErrNotFound for ids it did not
// see. It must list a job that is running. A plugin whose platform has no
// list call does not implement it.
type JobStater interface {
	JobStates(ctx context.Context, req JobStatesRequest) (JobStatesResponse, error)
}

// JobStatesRequest asks for the states of the jobs with IDs. Labels and
// CreatedAfter are hints for filtering the platform's listing: a plugin may
// use any of them its platform can filter on and ignore the rest.
type JobStatesRequest struct {
	IDs []string
	// Labels are carried, as submitted, by every wanted job; nil when they
	// share none.
	Labels map[string]string
	// CreatedAfter is no later than the creation of any wanted job; zero
	// when unknown.
	CreatedAfter time.Time
	// PageSize is the most jobs the platform should list in one call; zero
	// lets the plugin choose, normally its platform's largest page.
	PageSize  int
	PageToken string
}

// JobStatesResponse is what one page of the platform's listing says about
// the wanted jobs.
type JobStatesResponse struct {
	// Jobs are wanted jobs found on this page, with the ID, State, RawState
	// and Terminal that Status would report; fields the listing does not
	// carry may be empty.
	Jobs []JobStatus
	// NextPageToken continues the listing; empty on its last page.
	NextPageToken string
}

// FileTransfer is implemented by plugins that move files to and from the
// platform's storage. Implementations stream: memory use must not grow with
// file size.
type FileTransfer interface {
	Upload(ctx context.Context, req TransferRequest, progress ProgressFunc) (FileInfo, error)
	Download(ctx context.Context, req TransferRequest, progress ProgressFunc) (FileInfo, error)
	ListFiles(ctx context.Context, req ListFilesRequest) (ListFilesResponse, error)
}

// TransferRequest names both ends of a copy.
type TransferRequest struct {
	// LocalPath is a file on the machine running the host and the plugin.
	LocalPath string
	// RemoteURI is a location in the platform's storage, such as s3://b/k.
	RemoteURI string
}

// ProgressFunc is told how many bytes have moved; total is -1 when unknown.
type ProgressFunc func(done, total int64)

// FileInfo describes one remote file or directory.
type FileInfo struct {
	URI        string
	Size       int64
	ModifiedAt time.Time
	IsDir      bool
}

// ListFilesRequest lists the files under URI.
type ListFilesRequest struct {
	URI       string
	PageSize  int
	PageToken string
}

// ListFilesResponse is one page of files.
type ListFilesResponse struct {
	Files         []FileInfo
	NextPageToken string
}

// Deployer is implemented by plugins that serve models behind endpoints.
type Deployer interface {
	Deploy(ctx context.Context, spec DeploySpec) (Endpoint, error)
	GetEndpoint(ctx context.Context, name string) (Endpoint, error)
	ListEndpoints(ctx context.Context, pageSize int, pageToken string) ([]Endpoint, string, error)
	// DeleteEndpoint removes the endpoint and everything Deploy created for it.
	DeleteEndpoint(ctx context.Context, name string) error
}

// DeploySpec asks for a model to be served.
type DeploySpec struct {
	Name         string
	ModelURI     string
	InstanceType string
	// MinReplicas and MaxReplicas bound autoscaling; zero means one.
	MinReplicas int
	MaxReplicas int
	ScaleToZero bool
	Env         map[string]string
	Options     map[string]string
	// Wait makes Deploy return only once the endpoint is ready or failed.
	Wait bool
}

// Endpoint is a served model.
type Endpoint struct {
	Name       string
	State      string
	Ready      bool
	URL        string
	ModelURI   string
	Message    string
	CreatedAt  time.Time
	Attributes map[string]string
}

// UsageReporter is implemented by plugins that can report quota and capacity.
type UsageReporter interface {
	Usage(ctx context.Context) ([]Quota, error)
}

// Quota is one limited resource and how much of it is in use.
type Quota struct {
	Resource string
	Region   string
	Used     float64
	Limit    float64
	Unit     string
}

// PriceCatalog is implemented by plugins that ship instance prices.
type PriceCatalog interface {
	Prices(ctx context.Context, filter PriceFilter) ([]PriceRow, error)
}

// PriceFilter narrows a price listing; empty fields match everything.
type PriceFilter struct {
	Region       string
	InstanceType string
	GPUType      string
}

// PriceRow is one dated catalog entry. Prices are estimates in US dollars.
// A row with an empty InstanceType prices one accelerator billed apart from
// its machine. OnDemandUSD zero is a real zero; a plugin that does not know
// a price leaves the row out (package prices reads and compares catalogs).
type PriceRow struct {
	InstanceType string
	GPUType      string
	GPUs         int
	VCPUs        float64
	MemoryGB     float64
	Region       string
	OnDemandUSD  float64
	// SpotUSD is zero when the spot price is unknown.
	SpotUSD float64
	Source  string
	AsOf    string
}
