package sdk

import (
	"fmt"
	"math"
	"path"
	"sort"
	"strings"
	"time"
)

// Kind says what a job runs.
type Kind string

const (
	// KindDSL compiles a Neural DSL model with the neural CLI and runs it.
	KindDSL Kind = "dsl"
	// KindPython runs a Python script with the platform's interpreter.
	KindPython Kind = "python"
	// KindCommand runs an argv as given.
	KindCommand Kind = "command"
)

// Backend is the framework a DSL model is compiled for.
type Backend string

const (
	BackendTensorFlow Backend = "tensorflow"
	BackendPyTorch    Backend = "pytorch"
)

// JobSpec is everything a platform needs to run one training job.
type JobSpec struct {
	// Name is a human label; platforms derive their own job names from it.
	Name string
	// Kind selects how Entrypoint or Command is run.
	Kind Kind
	// WorkDir is the absolute path of the directory bundled and shipped with
	// the job; empty ships nothing.
	WorkDir string
	// Entrypoint is the .neural model (KindDSL) or script (KindPython),
	// relative to WorkDir. Unused for KindCommand.
	Entrypoint string
	// Args are extra arguments for a KindPython script.
	Args []string
	// Command is the argv of a KindCommand job.
	Command []string
	// DSL holds the settings of a KindDSL job; ignored otherwise.
	DSL DSLOptions
	// Requirements are pip requirement specifiers installed before the job.
	Requirements []string
	// Env is set in the job's environment.
	Env map[string]string
	// Resources is what the job asks for.
	Resources Resources
	// Labels are attached to the job where the platform supports it.
	Labels map[string]string
	// IdempotencyKey identifies this submission. The host makes it and keeps
	// it stable across retries; a platform given a key it has seen returns the
	// existing job instead of starting a second one.
	IdempotencyKey string
	// Options are platform-specific settings, checked against the plugin's
	// Metadata.JobOptions.
	Options map[string]string
}

// DSLOptions configure a KindDSL job.
type DSLOptions struct {
	// Backend is the framework to compile for; empty means tensorflow.
	Backend Backend
	// Dataset is passed to neural compile --dataset; empty omits the flag.
	Dataset string
	// NeuralVersion pins the neural-dsl package installed on the platform;
	// empty installs the newest.
	NeuralVersion string
}

// Resources is what a job asks for. Zero values mean "the platform's default".
type Resources struct {
	InstanceType string
	GPUType      string
	GPUs         int
	CPUs         float64
	MemoryGB     float64
	DiskGB       int
	// MaxRuntime bounds the job's run time; zero means no bound beyond the
	// platform's own.
	MaxRuntime time.Duration
	Spot       bool
	// Nodes is the number of machines; zero means one.
	Nodes int
}

// maxCount is the largest resources.gpus, disk_gb or nodes: the wire
// carries them as int32, where a larger value would arrive wrapped around
// (4294967298 nodes as 2).
const maxCount = math.MaxInt32

// Validate reports every problem with the spec as *Error values joined
// together, each naming its field. It checks only what holds for every
// platform; plugins check their own options.
func (s *JobSpec) Validate() error {
	var errs []error
	add := func(field, msg, hint string) { errs = append(errs, FieldError(field, msg, hint)) }
	switch s.Kind {
	case KindDSL, KindPython:
		if s.Entrypoint == "" {
			add("entrypoint", "is required for a "+string(s.Kind)+" job", "set entrypoint to the "+map[Kind]string{KindDSL: ".neural model", KindPython: "Python script"}[s.Kind]+" to run, relative to workdir")
		} else if !insideWorkDir(s.Entrypoint) {
			add("entrypoint", fmt.Sprintf("%q must name a file inside workdir, relative to it", s.Entrypoint), "move the file into workdir and name it relative to workdir")
		}
	case KindCommand:
		if len(s.Command) == 0 {
			add("command", "is required for a command job", `set command to an argv such as ["python3", "train.py"]`)
		}
	case "":
		add("kind", "is required", "set kind to one of dsl, python, command")
	default:
		add("kind", fmt.Sprintf("%q is not a job kind", s.Kind), "set kind to one of dsl, python, command")
	}
	if s.Kind == KindDSL {
		switch s.DSL.Backend {
		case "", BackendTensorFlow, BackendPyTorch:
		default:
			add("dsl.backend", fmt.Sprintf("%q is not a backend", s.DSL.Backend), "set dsl.backend to tensorflow or pytorch")
		}
		if s.Entrypoint != "" && !strings.HasSuffix(s.Entrypoint, ".neural") {
			add("entrypoint", "a dsl job runs a .neural file", "point entrypoint at the model's .neural file, or use kind: python for a script")
		}
	}
	if s.WorkDir != "" && !strings.HasPrefix(s.WorkDir, "/") {
		add("workdir", "must be an absolute path by the time it reaches a plugin", "resolve workdir against the spec file's directory")
	}
	// These strings become a program's arguments, where a NUL ends the C
	// string: the program would run with the value cut short.
	const nulMsg, nulHint = " contains a NUL byte, which no program argument can hold", "remove the NUL (\\0) character"
	for _, f := range [][2]string{{"entrypoint", s.Entrypoint}, {"dsl.dataset", s.DSL.Dataset}, {"dsl.neural_version", s.DSL.NeuralVersion}} {
		if strings.ContainsRune(f[1], 0) {
			add(f[0], "the value"+nulMsg, nulHint)
		}
	}
	for _, list := range []struct {
		field string
		vals  []string
	}{{"args", s.Args}, {"command", s.Command}, {"requirements", s.Requirements}} {
		for i, v := range list.vals {
			if strings.ContainsRune(v, 0) {
				add(list.field, fmt.Sprintf("%s[%d]%s", list.field, i, nulMsg), nulHint)
			}
		}
	}
	r := s.Resources
	count := func(field string, v int, what string) {
		if v < 0 || v > maxCount {
			add(field, fmt.Sprintf("must be between 0 and %d, got %d", maxCount, v), fmt.Sprintf("set %s to %s, from 0 to %d", field, what, maxCount))
		}
	}
	count("resources.gpus", r.GPUs, "the number of GPUs per node")
	if r.GPUType != "" && r.GPUs == 0 {
		add("resources.gpus", "is 0 but resources.gpu_type is set", "set resources.gpus to the number of "+r.GPUType+" GPUs, or remove gpu_type")
	}
	amount := func(field string, v float64) {
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			add(field, fmt.Sprintf("must be a finite number, got %v", v), "set "+field+" to a number such as 4, or 0 for the platform default")
		case v < 0:
			add(field, "must not be negative", "set "+field+" to 0 (platform default) or more")
		}
	}
	amount("resources.cpus", r.CPUs)
	amount("resources.memory_gb", r.MemoryGB)
	count("resources.disk_gb", r.DiskGB, "the disk size in GB (0 for the platform default)")
	switch {
	case r.MaxRuntime < 0 || (r.MaxRuntime > 0 && r.MaxRuntime < time.Second):
		add("resources.max_runtime", fmt.Sprintf("must be at least 1s, got %s", r.MaxRuntime), "set resources.max_runtime to a duration such as 2h, or leave it out")
	case r.MaxRuntime%time.Second != 0:
		// The wire carries whole seconds; a fraction would be dropped.
		add("resources.max_runtime", fmt.Sprintf("must be whole seconds, got %s", r.MaxRuntime), "set resources.max_runtime to a duration such as 90m or 5400s")
	}
	count("resources.nodes", r.Nodes, "the number of machines (0 means one)")
	for _, k := range sortedKeys(s.Env) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			add("env", fmt.Sprintf("%q is not a valid variable name", k), "use names without '=' or NUL")
		} else if strings.ContainsRune(s.Env[k], 0) {
			add("env."+k, "the value contains a NUL byte, which no environment variable can hold", "remove the NUL (\\0) character")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return joinErrors(errs)
}

// insideWorkDir reports whether the relative path p, once cleaned, names
// something below the working directory: "sub/../../x" does not.
func insideWorkDir(p string) bool {
	c := path.Clean(p)
	return !path.IsAbs(c) && c != "." && c != ".." && !strings.HasPrefix(c, "../")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// State is a job's state in terms every platform maps onto.
type State string

const (
	StateQueued    State = "queued"
	StateStarting  State = "starting"
	StateRunning   State = "running"
	StateStopping  State = "stopping"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateCancelled State = "cancelled"
	StateUnknown   State = "unknown"
)

// States lists every State in lifecycle order.
var States = []State{StateQueued, StateStarting, StateRunning, StateStopping, StateSucceeded, StateFailed, StateCancelled, StateUnknown}

// Terminal reports whether a job in state s will never change state again.
func (s State) Terminal() bool {
	return s == StateSucceeded || s == StateFailed || s == StateCancelled
}

// JobRef addresses a job as PLATFORM:ID.
type JobRef struct {
	Platform string
	ID       string
}

func (r JobRef) String() string { return r.Platform + ":" + r.ID }

// ParseJobRef parses PLATFORM:ID. The ID may itself contain colons.
func ParseJobRef(s string) (JobRef, error) {
	p, id, ok := strings.Cut(s, ":")
	if !ok || p == "" || id == "" {
		return JobRef{}, FieldError("job", fmt.Sprintf("%q is not a job reference", s), "address a job as PLATFORM:ID, for example local:3f9c2a")
	}
	if err := CheckPlatformName("job", p); err != nil {
		return JobRef{}, err
	}
	return JobRef{Platform: p, ID: id}, nil
}

// JobStatus is a job's state at one moment.
type JobStatus struct {
	// ID is the platform's own identifier of the job.
	ID   string
	Name string
	// State is the unified state; RawState is the platform's own word for it.
	State    State
	RawState string
	// Reason explains the state, such as a failure message; may be empty.
	Reason string
	// Terminal is true when the job will not change state again.
	Terminal bool
	// Zero times are unknown or not yet reached.
	CreatedAt  time.Time
	StartedAt  time.Time
	EndedAt    time.Time
	ConsoleURL string
	Labels     map[string]string
	// Attributes are platform-specific facts, such as a process id or a
	// cluster id; nil when there are none.
	Attributes map[string]string
}

// JobResult is what a job produced.
type JobResult struct {
	Status JobStatus
	// Metrics are the final numbers the job reported; nil when none.
	Metrics map[string]float64
	// Artifacts are URIs of the files the job wrote to its output location.
	Artifacts []string
	// OutputExcerpt is the tail of the job's output.
	OutputExcerpt string
	// Error is the platform's failure message; empty on success.
	Error string
	// Duration is the job's run time; zero when it has not started.
	Duration time.Duration
	// BillableSeconds is the billed time where the platform reports it, and
	// zero where it does not.
	BillableSeconds int64
}

// LogsRequest asks for a job's output from Cursor onwards.
type LogsRequest struct {
	ID string
	// Cursor is an opaque position returned with an earlier LogEntry; empty
	// starts at the beginning.
	Cursor string
	// Follow keeps the stream open until the job is terminal and its output
	// is drained.
	Follow bool
}

// LogEntry is one line of a job's output.
type LogEntry struct {
	// Time is when the line was written; zero when the platform does not say.
	Time time.Time
	// Source names the stream or host the line came from; may be empty.
	Source string
	Line   string
	// Cursor resumes the stream just after this line.
	Cursor string
	// Truncated is set on a line after which the platform dropped output.
	Truncated bool
}

// LogFunc receives log entries in order. Returning an error stops the stream.
type LogFunc func(LogEntry) error

// ListRequest filters a job listing. Zero fields do not filter.
type ListRequest struct {
	States        []State
	Labels        map[string]string
	NamePrefix    string
	CreatedAfter  time.Time
	CreatedBefore time.Time
	// PageSize is the most jobs to return; zero lets the platform choose.
	PageSize  int
	PageToken string
}

// Matches reports whether st passes the filter's state, label, name and time
// conditions. Plugins whose platform cannot filter server-side use it.
func (r *ListRequest) Matches(st JobStatus) bool {
	if len(r.States) > 0 {
		ok := false
		for _, s := range r.States {
			ok = ok || s == st.State
		}
		if !ok {
			return false
		}
	}
	for k, v := range r.Labels {
		if st.Labels[k] != v {
			return false
		}
	}
	if !strings.HasPrefix(st.Name, r.NamePrefix) {
		return false
	}
	if !r.CreatedAfter.IsZero() && st.CreatedAt.Before(r.CreatedAfter) {
		return false
	}
	if !r.CreatedBefore.IsZero() && !st.CreatedAt.Before(r.CreatedBefore) {
		return false
	}
	return true
}

// ListResponse is one page of jobs.
type ListResponse struct {
	Jobs []JobStatus
	// NextPageToken fetches the next page; empty on the last.
	NextPageToken string
}

// Plan is what Submit would do, without doing it.
type Plan struct {
	// Requests are the platform requests Submit would send, in order.
	Requests []PlannedRequest
	// InstanceType is the machine the job would run on, as resolved.
	InstanceType string
	// HourlyPrice is what the whole job costs per hour as planned: every
	// node, GPU and platform charge the plugin knows of. Known is false when
	// any part of it is unknown.
	HourlyPrice Price
	Warnings    []string
}

// PlannedRequest is one rendered platform request.
type PlannedRequest struct {
	// Operation is the API operation, such as "CreateTrainingJob".
	Operation string
	// Method and Target are the HTTP method and URL or RPC name; may be empty.
	Method string
	Target string
	// Body is the request body, rendered as indented JSON.
	Body string
}

// Price is an estimated hourly price in US dollars.
type Price struct {
	Known      bool
	USDPerHour float64
	Source     string
	AsOf       string
}

// DefaultNamespace is the namespace of plugins that declare none: the
// plugins neural-host ships.
const DefaultNamespace = "official"

// Metadata describes a plugin.
type Metadata struct {
	Name string
	// Namespace is who publishes the plugin, following the platform name
	// rule; neural-host installs it as NAMESPACE/NAME, as Terraform does
	// provider addresses, so that two publishers' plugins of one name can
	// both be installed. Empty means DefaultNamespace.
	Namespace   string
	Version     string
	Description string
	// ProtocolVersion and SDKVersion are filled in by the SDK.
	ProtocolVersion int
	SDKVersion      string
	// Capabilities is filled in by the SDK from the interfaces the plugin
	// implements, except LogFollow and Plan, which the plugin declares.
	Capabilities Capabilities
	// Config lists the settings the plugin accepts in Configure.
	Config []ConfigField
	// JobOptions lists the keys the plugin accepts in JobSpec.Options.
	JobOptions []ConfigField
}

// Capabilities says which parts of the contract a plugin serves.
type Capabilities struct {
	Jobs      bool
	LogFollow bool
	Files     bool
	Deploy    bool
	Usage     bool
	Prices    bool
	Plan      bool
	JobStates bool
}

// ConfigField describes one setting of a plugin.
type ConfigField struct {
	Key         string
	Description string
	Required    bool
	// Secret values are never echoed, logged or printed.
	Secret  bool
	Default string
	// EnvVars are read, in order, when the setting is not given otherwise.
	EnvVars []string
}

// Config is the resolved setting values for one plugin process.
type Config map[string]string

// AuthInfo says who the plugin is on its platform.
type AuthInfo struct {
	Identity    string
	Account     string
	Diagnostics []Diagnostic
}

// Diagnostic is the outcome of one auth check.
type Diagnostic struct {
	Check   string
	OK      bool
	Message string
	Hint    string
}
