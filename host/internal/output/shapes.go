package output

import (
	"encoding/json"
	"github.com/neural-dsl/neural-host/host/internal/budget"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// Job is the JSON shape of a job's status.
type Job struct {
	Ref        string            `json:"ref"`
	Platform   string            `json:"platform"`
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	State      sdk.State         `json:"state"`
	RawState   string            `json:"raw_state"`
	Reason     string            `json:"reason"`
	Terminal   bool              `json:"terminal"`
	CreatedAt  string            `json:"created_at"`
	StartedAt  string            `json:"started_at"`
	EndedAt    string            `json:"ended_at"`
	ConsoleURL string            `json:"console_url"`
	Labels     map[string]string `json:"labels"`
	Attributes map[string]string `json:"attributes"`
}

// JobOf converts a status reported by platform.
func JobOf(platform string, s sdk.JobStatus) Job {
	return Job{
		Ref: sdk.JobRef{Platform: platform, ID: s.ID}.String(), Platform: platform, ID: s.ID, Name: s.Name,
		State: s.State, RawState: s.RawState, Reason: s.Reason, Terminal: s.Terminal,
		CreatedAt: Time(s.CreatedAt), StartedAt: Time(s.StartedAt), EndedAt: Time(s.EndedAt),
		ConsoleURL: s.ConsoleURL, Labels: nonNil(s.Labels), Attributes: nonNil(s.Attributes),
	}
}

// Result is the JSON shape of a job's result.
type Result struct {
	Job
	Metrics         map[string]float64 `json:"metrics"`
	Artifacts       []string           `json:"artifacts"`
	OutputExcerpt   string             `json:"output_excerpt"`
	Error           string             `json:"error"`
	DurationSeconds float64            `json:"duration_seconds"`
	BillableSeconds int64              `json:"billable_seconds"`
}

// ResultOf converts a result reported by platform.
func ResultOf(platform string, r sdk.JobResult) Result {
	arts := r.Artifacts
	if arts == nil {
		arts = []string{}
	}
	m := r.Metrics
	if m == nil {
		m = map[string]float64{}
	}
	return Result{Job: JobOf(platform, r.Status), Metrics: m, Artifacts: arts, OutputExcerpt: r.OutputExcerpt,
		Error: r.Error, DurationSeconds: r.Duration.Seconds(), BillableSeconds: r.BillableSeconds}
}

// Plan is the JSON shape of job plan.
type Plan struct {
	Platform     string           `json:"platform"`
	Requests     []PlannedRequest `json:"requests"`
	InstanceType string           `json:"instance_type"`
	HourlyPrice  Price            `json:"hourly_price"`
	MaxCostUSD   *float64         `json:"max_cost_usd"`
	Warnings     []string         `json:"warnings"`

	// job and maxRuntime are for people only.
	job        string
	maxRuntime time.Duration
}

// PlannedRequest is one request in a Plan.
type PlannedRequest struct {
	Operation string `json:"operation"`
	Method    string `json:"method"`
	Target    string `json:"target"`
	Body      string `json:"body"`
}

// Price is an hourly price estimate.
type Price struct {
	Known      bool    `json:"known"`
	USDPerHour float64 `json:"usd_per_hour"`
	Source     string  `json:"source"`
	AsOf       string  `json:"as_of"`
	Estimate   bool    `json:"estimate"`
}

// PlanOf converts a plan made by platform for the job called name.
func PlanOf(platform, name string, p sdk.Plan, maxRuntime time.Duration) Plan {
	maxRuntimeHours := maxRuntime.Hours()
	out := Plan{Platform: platform, job: name, maxRuntime: maxRuntime, InstanceType: p.InstanceType, Warnings: p.Warnings, Requests: []PlannedRequest{},
		HourlyPrice: Price{Known: p.HourlyPrice.Known, USDPerHour: p.HourlyPrice.USDPerHour, Source: p.HourlyPrice.Source, AsOf: p.HourlyPrice.AsOf, Estimate: true}}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	for _, r := range p.Requests {
		out.Requests = append(out.Requests, PlannedRequest(r))
	}
	if p.HourlyPrice.Known && maxRuntimeHours > 0 {
		c := p.HourlyPrice.USDPerHour * maxRuntimeHours
		out.MaxCostUSD = &c
	}
	return out
}

// LogLine is one line of job logs -o json (one object per line).
type LogLine struct {
	Time      string `json:"time"`
	Source    string `json:"source"`
	Line      string `json:"line"`
	Cursor    string `json:"cursor"`
	Truncated bool   `json:"truncated"`
}

// Platform is one row of platforms -o json.
type Platform struct {
	Name            string        `json:"name"`
	Version         string        `json:"version"`
	ProtocolVersion int           `json:"protocol_version"`
	SDKVersion      string        `json:"sdk_version"`
	Description     string        `json:"description"`
	Path            string        `json:"path"`
	Capabilities    Capabilities  `json:"capabilities"`
	Config          []ConfigField `json:"config"`
	Error           string        `json:"error"`
}

// Capabilities says which parts of the contract a platform serves.
type Capabilities struct {
	Jobs      bool `json:"jobs"`
	LogFollow bool `json:"log_follow"`
	Files     bool `json:"files"`
	Deploy    bool `json:"deploy"`
	Usage     bool `json:"usage"`
	Prices    bool `json:"prices"`
	Plan      bool `json:"plan"`
	JobStates bool `json:"job_states"`
}

// ConfigField describes one setting of a platform.
type ConfigField struct {
	Key         string   `json:"key"`
	Description string   `json:"description"`
	Required    bool     `json:"required"`
	Secret      bool     `json:"secret"`
	Default     string   `json:"default"`
	EnvVars     []string `json:"env_vars"`
}

// Auth is one row of auth check -o json.
type Auth struct {
	Platform    string       `json:"platform"`
	Status      string       `json:"status"` // ok, failed, not configured
	Identity    string       `json:"identity"`
	Account     string       `json:"account"`
	Message     string       `json:"message"`
	Hint        string       `json:"hint"`
	Diagnostics []Diagnostic `json:"diagnostics"`
}

// Diagnostic is one auth check outcome.
type Diagnostic struct {
	Check   string `json:"check"`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
	Hint    string `json:"hint"`
}

// File is one remote file.
type File struct {
	URI        string `json:"uri"`
	Size       int64  `json:"size"`
	ModifiedAt string `json:"modified_at"`
	IsDir      bool   `json:"is_dir"`
}

// FileOf converts a file description.
func FileOf(f sdk.FileInfo) File {
	return File{URI: f.URI, Size: f.Size, ModifiedAt: Time(f.ModifiedAt), IsDir: f.IsDir}
}

// Endpoint is the JSON shape of a served model.
type Endpoint struct {
	Platform   string            `json:"platform"`
	Name       string            `json:"name"`
	State      string            `json:"state"`
	Ready      bool              `json:"ready"`
	URL        string            `json:"url"`
	ModelURI   string            `json:"model_uri"`
	Message    string            `json:"message"`
	CreatedAt  string            `json:"created_at"`
	Attributes map[string]string `json:"attributes"`
}

// EndpointOf converts an endpoint on platform.
func EndpointOf(platform string, e sdk.Endpoint) Endpoint {
	return Endpoint{Platform: platform, Name: e.Name, State: e.State, Ready: e.Ready, URL: e.URL, ModelURI: e.ModelURI,
		Message: e.Message, CreatedAt: Time(e.CreatedAt), Attributes: nonNil(e.Attributes)}
}

// Error is the JSON shape of a failed command, written to stderr.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody describes the failure. Problems lists each problem when the
// input had several; Field and Hint then belong to the first.
type ErrorBody struct {
	Kind     string    `json:"kind"`
	Message  string    `json:"message"`
	Field    string    `json:"field"`
	Hint     string    `json:"hint"`
	ExitCode int       `json:"exit_code"`
	Problems []Problem `json:"problems"`
}

// Problem is one thing wrong with the input.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Hint    string `json:"hint"`

	// text is the whole error, for people, when there is no hint.
	text string
}

// ProblemOf makes a Problem; text is the whole error, which people see
// when there is no hint.
func ProblemOf(field, message, hint, text string) Problem {
	return Problem{Field: field, Message: message, Hint: hint, text: text}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Estimate is the JSON shape of cost estimate.
type Estimate struct {
	Platform     string   `json:"platform"`
	InstanceType string   `json:"instance_type"`
	Known        bool     `json:"known"`
	USDPerHour   float64  `json:"usd_per_hour"`
	Hours        float64  `json:"hours"`
	TotalUSD     *float64 `json:"total_usd"`
	Source       string   `json:"source"`
	AsOf         string   `json:"as_of"`
	Estimate     bool     `json:"estimate"`
}

// Offer is one platform's row of cost compare.
type Offer struct {
	Platform     string   `json:"platform"`
	Known        bool     `json:"known"`
	InstanceType string   `json:"instance_type"`
	GPUType      string   `json:"gpu_type"`
	GPUs         int      `json:"gpus"`
	Region       string   `json:"region"`
	USDPerHour   float64  `json:"usd_per_hour"`
	TotalUSD     *float64 `json:"total_usd"`
	Spot         bool     `json:"spot"`
	Detail       string   `json:"detail"`
	Source       string   `json:"source"`
	AsOf         string   `json:"as_of"`
	Estimate     bool     `json:"estimate"`
}

func marshal(v any) ([]byte, error) { return json.Marshal(v) }

// OfferOf converts a platform's quote.
func OfferOf(q budget.Quote) Offer {
	if !q.Known {
		return Offer{Platform: q.Platform, Detail: q.Detail, Estimate: true}
	}
	o := q.Offer
	total := q.TotalUSD
	return Offer{Platform: q.Platform, Known: true, InstanceType: o.InstanceType, GPUType: o.GPUType, GPUs: o.GPUs,
		Region: o.Region, USDPerHour: o.USDPerHour, TotalUSD: &total, Spot: o.Spot, Detail: o.Detail,
		Source: o.Source, AsOf: o.AsOf, Estimate: true}
}
