// Command neural-plugin-fake is a fake platform for the host's tests and
// benchmarks. Jobs live as files under its dir setting, so they outlive the
// plugin process and several processes can share them. Its platform name is
// "fake"; a build with -ldflags "-X main.name=fake2" is a second platform.
//
// Settings: dir (required; $FAKEPLATFORM_DIR), api_key (secret, required;
// $FAKEPLATFORM_API_KEY), client_secret (secret; $FAKEPLATFORM_CLIENT_SECRET)
// and account ($FAKEPLATFORM_ACCOUNT). An api_key starting with "reject"
// fails CheckAuth.
//
// Behaviour, from the environment:
//
//	FAKEPLATFORM_LATENCY=D      every call but Metadata and Configure takes D longer
//	FAKEPLATFORM_BLOCK_AFTER=N  submits after the Nth of this process wait for their context to end and record nothing
//	FAKEPLATFORM_HANG=after     submits record the job, then wait for their context to end without answering
//	FAKEPLATFORM_LOSE_FIRST=N   the first N submits of this process start the job but answer "unavailable"
//	FAKEPLATFORM_ECHO_SECRETS=1 errors and debug logs quote the secret settings, as a careless SDK would
//	FAKEPLATFORM_STORE=memory   jobs live in the plugin process only: the cheapest platform, for benchmarks
//	FAKEPLATFORM_JOB_STATES=off the plugin lacks the job states capability, so the host asks Status per job
//
// Job options: fail=submit refuses the submit; fail=run makes the job end
// failed; duration=D keeps the job running for D (default: it has ended by
// the first status call).
//
// With the job states capability each JobStates call is one page of the
// fake's listing, at most 100 jobs as on SageMaker and Vertex AI, with the
// wanted jobs among them that carry the labels and were created after the
// time asked for.
//
// Every call is appended to DIR/calls.log as "NAME PID METHOD ID", which
// tests read to count calls and plugin processes; jobs are files under
// DIR/NAME/jobs unless FAKEPLATFORM_STORE=memory.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/plugin"
)

type platform struct {
	name string
	log  hclog.Logger

	mu      sync.Mutex
	cfg     sdk.Config
	latency time.Duration
	calls   *os.File
	store   store

	submits atomic.Int64
}

// store keeps jobs.
type store interface {
	// create records j unless a job with its id exists, and returns the
	// job on record.
	create(j job) (job, error)
	read(id string) (job, bool, error)
	ids() ([]string, error)
	cancel(id string) error
	cancelled(id string) bool
}

// job is one job's file.
type job struct {
	ID        string            `json:"id"`
	Key       string            `json:"key"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	Options   map[string]string `json:"options"`
	Env       map[string]string `json:"env"`
	CreatedAt time.Time         `json:"created_at"`
}

func (p *platform) Metadata() sdk.Metadata {
	return sdk.Metadata{Name: p.name, Version: "0.1.0", Description: "A file-backed fake platform for tests.",
		Capabilities: sdk.Capabilities{LogFollow: true, Plan: true},
		Config: []sdk.ConfigField{
			{Key: "dir", Description: "Directory holding the fake platform's jobs.", Required: true, EnvVars: []string{"FAKEPLATFORM_DIR"}},
			{Key: "api_key", Description: "API key.", Required: true, Secret: true, EnvVars: []string{"FAKEPLATFORM_API_KEY"}},
			{Key: "client_secret", Description: "Client secret for the second factor.", Secret: true, EnvVars: []string{"FAKEPLATFORM_CLIENT_SECRET"}},
			{Key: "account", Description: "Account name.", Default: "fake-account", EnvVars: []string{"FAKEPLATFORM_ACCOUNT"}},
		},
		JobOptions: []sdk.ConfigField{
			{Key: "fail", Description: "submit: refuse the submit; run: the job ends failed."},
			{Key: "duration", Description: "How long the job runs, such as 2s."},
		},
	}
}

func (p *platform) Configure(_ context.Context, cfg sdk.Config) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = cfg
	if err := os.MkdirAll(cfg["dir"], 0o700); err != nil {
		return fmt.Errorf("fake: %w", err)
	}
	if p.calls != nil {
		p.calls.Close()
	}
	var err error
	if p.calls, err = os.OpenFile(filepath.Join(cfg["dir"], "calls.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return fmt.Errorf("fake: %w", err)
	}
	if os.Getenv("FAKEPLATFORM_STORE") == "memory" {
		p.store = &memStore{jobs: map[string]job{}, cancels: map[string]bool{}}
	} else {
		fs := &fileStore{dir: filepath.Join(cfg["dir"], p.name, "jobs")}
		if err := os.MkdirAll(fs.dir, 0o700); err != nil {
			return fmt.Errorf("fake: %w", err)
		}
		p.store = fs
	}
	if v := os.Getenv("FAKEPLATFORM_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return sdk.FieldError("FAKEPLATFORM_LATENCY", "is not a duration", "write it as 20ms")
		}
		p.latency = d
	}
	if echo() {
		p.log.Debug("configured", "api_key", cfg["api_key"], "client_secret", cfg["client_secret"])
	}
	return nil
}

func echo() bool { return os.Getenv("FAKEPLATFORM_ECHO_SECRETS") == "1" }

func (p *platform) setting(k string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg[k]
}

// call waits out the configured latency and records the call.
func (p *platform) call(ctx context.Context, method, id string) error {
	p.mu.Lock()
	latency, calls := p.latency, p.calls
	p.mu.Unlock()
	if calls == nil {
		return sdk.Errorf(sdk.ErrUnavailable, "the fake platform is not configured")
	}
	if latency > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(latency):
		}
	}
	// One short write with O_APPEND: lines from several processes do not
	// interleave.
	_, err := fmt.Fprintf(calls, "%s %d %s %s\n", p.name, os.Getpid(), method, id)
	return err
}

func (p *platform) jobs() store {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.store
}

func (p *platform) CheckAuth(ctx context.Context) (sdk.AuthInfo, error) {
	if err := p.call(ctx, "CheckAuth", "-"); err != nil {
		return sdk.AuthInfo{}, err
	}
	key := p.setting("api_key")
	if strings.HasPrefix(key, "reject") {
		msg := "the API key was rejected"
		if echo() {
			msg = fmt.Sprintf("API key %s was rejected (client secret %q)", key, p.setting("client_secret"))
			p.log.Debug("auth failed", "api_key", key)
		}
		return sdk.AuthInfo{}, &sdk.Error{Kind: sdk.ErrUnauthenticated, Message: msg, Hint: "run 'neural-host auth configure " + p.name + "' with a valid key"}
	}
	return sdk.AuthInfo{Identity: "tester@" + p.setting("account"), Account: p.setting("account"),
		Diagnostics: []sdk.Diagnostic{{Check: "api key", OK: true, Message: "accepted"}}}, nil
}

func (p *platform) Plan(ctx context.Context, spec sdk.JobSpec) (sdk.Plan, error) {
	if err := p.call(ctx, "Plan", "-"); err != nil {
		return sdk.Plan{}, err
	}
	body, _ := json.MarshalIndent(map[string]any{"name": spec.Name, "labels": spec.Labels}, "", "  ")
	return sdk.Plan{Requests: []sdk.PlannedRequest{{Operation: "CreateJob", Method: "POST", Target: "/jobs", Body: string(body)}},
		InstanceType: "fake.small", HourlyPrice: sdk.Price{Known: true, USDPerHour: 0.5, Source: "fake", AsOf: "2030-01-01"}}, nil
}

func idFor(key string) string {
	if key == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

func (p *platform) Submit(ctx context.Context, spec sdk.JobSpec) (sdk.JobStatus, error) {
	if err := spec.Validate(); err != nil {
		return sdk.JobStatus{}, err
	}
	n := p.submits.Add(1)
	if after, err := strconv.Atoi(os.Getenv("FAKEPLATFORM_BLOCK_AFTER")); err == nil && n > int64(after) {
		_ = p.call(context.Background(), "SubmitBlocked", idFor(spec.IdempotencyKey))
		<-ctx.Done()
		return sdk.JobStatus{}, ctx.Err()
	}
	id := idFor(spec.IdempotencyKey)
	if err := p.call(ctx, "Submit", id); err != nil {
		return sdk.JobStatus{}, err
	}
	if spec.Options["fail"] == "submit" {
		msg := "quota exceeded for job " + spec.Name
		if echo() {
			msg += " (api key " + p.setting("api_key") + ")"
		}
		return sdk.JobStatus{}, &sdk.Error{Kind: sdk.ErrPermissionDenied, Message: msg, Hint: "remove fail=submit"}
	}
	j, err := p.jobs().create(job{ID: id, Key: spec.IdempotencyKey, Name: spec.Name, Labels: spec.Labels, Options: spec.Options, Env: spec.Env, CreatedAt: time.Now().UTC()})
	if err != nil {
		return sdk.JobStatus{}, err
	}
	if os.Getenv("FAKEPLATFORM_HANG") == "after" {
		// The job exists; the answer never comes.
		_ = p.call(context.Background(), "SubmitHung", id)
		<-ctx.Done()
		return sdk.JobStatus{}, ctx.Err()
	}
	if lose, err := strconv.Atoi(os.Getenv("FAKEPLATFORM_LOSE_FIRST")); err == nil && n <= int64(lose) {
		return sdk.JobStatus{}, sdk.Errorf(sdk.ErrUnavailable, "the connection dropped before the answer arrived")
	}
	st := p.statusOf(j)
	if st.State == sdk.StateRunning || st.State == sdk.StateSucceeded {
		st.State, st.RawState, st.Terminal = sdk.StateQueued, "QUEUED", false
	}
	return st, nil
}

// fileStore keeps a job per file, shared by every process given the dir.
type fileStore struct{ dir string }

// create links a finished file into place: atomic across processes, and
// a second create of the same id finds the first.
func (f *fileStore) create(j job) (job, error) {
	dir := f.dir
	b, _ := json.Marshal(j)
	tmp, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return job{}, fmt.Errorf("fake: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return job{}, fmt.Errorf("fake: %w", err)
	}
	tmp.Close()
	err = os.Link(tmp.Name(), filepath.Join(dir, j.ID+".json"))
	if err == nil {
		return j, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return job{}, fmt.Errorf("fake: %w", err)
	}
	j, _, err = f.read(j.ID)
	return j, err
}

func (f *fileStore) read(id string) (job, bool, error) {
	var j job
	b, err := os.ReadFile(filepath.Join(f.dir, filepath.Base(id)+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return j, false, nil
	}
	if err != nil {
		return j, false, fmt.Errorf("fake: %w", err)
	}
	return j, true, json.Unmarshal(b, &j)
}

func (f *fileStore) ids() ([]string, error) {
	entries, err := os.ReadDir(f.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("fake: %w", err)
	}
	var out []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok && !strings.HasPrefix(id, ".") {
			out = append(out, id)
		}
	}
	return out, nil
}

func (f *fileStore) cancel(id string) error {
	if err := os.WriteFile(filepath.Join(f.dir, id+".cancelled"), nil, 0o600); err != nil {
		return fmt.Errorf("fake: %w", err)
	}
	return nil
}

func (f *fileStore) cancelled(id string) bool { return exists(filepath.Join(f.dir, id+".cancelled")) }

// memStore keeps jobs in this process only.
type memStore struct {
	mu      sync.Mutex
	jobs    map[string]job
	cancels map[string]bool
}

func (m *memStore) create(j job) (job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.jobs[j.ID]; ok {
		return old, nil
	}
	m.jobs[j.ID] = j
	return j, nil
}

func (m *memStore) read(id string) (job, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	return j, ok, nil
}

func (m *memStore) ids() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for id := range m.jobs {
		out = append(out, id)
	}
	return out, nil
}

func (m *memStore) cancel(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cancels[id] = true
	return nil
}

func (m *memStore) cancelled(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cancels[id]
}

func (p *platform) status(id string) (sdk.JobStatus, error) {
	j, ok, err := p.jobs().read(id)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	if !ok {
		return sdk.JobStatus{}, &sdk.Error{Kind: sdk.ErrNotFound, Message: "no " + p.name + " job " + strconv.Quote(id)}
	}
	return p.statusOf(j), nil
}

func (p *platform) statusOf(j job) sdk.JobStatus {
	st := sdk.JobStatus{ID: j.ID, Name: j.Name, CreatedAt: j.CreatedAt, Labels: j.Labels, Attributes: map[string]string{"key": j.Key}}
	d, _ := time.ParseDuration(j.Options["duration"])
	switch {
	case p.jobs().cancelled(j.ID):
		st.State, st.RawState = sdk.StateCancelled, "CANCELLED"
	case time.Since(j.CreatedAt) < d:
		st.State, st.RawState, st.StartedAt = sdk.StateRunning, "RUNNING", j.CreatedAt
	case j.Options["fail"] == "run":
		st.State, st.RawState, st.Reason = sdk.StateFailed, "FAILED", "the fake job failed as asked"
	default:
		st.State, st.RawState = sdk.StateSucceeded, "DONE"
	}
	st.Terminal = st.State.Terminal()
	if st.Terminal {
		st.StartedAt, st.EndedAt = j.CreatedAt, j.CreatedAt.Add(d)
	}
	return st
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (p *platform) Status(ctx context.Context, id string) (sdk.JobStatus, error) {
	if err := p.call(ctx, "Status", id); err != nil {
		return sdk.JobStatus{}, err
	}
	return p.status(id)
}

func (p *platform) Result(ctx context.Context, id string) (sdk.JobResult, error) {
	if err := p.call(ctx, "Result", id); err != nil {
		return sdk.JobResult{}, err
	}
	st, err := p.status(id)
	return sdk.JobResult{Status: st, Metrics: map[string]float64{"accuracy": 0.9}}, err
}

func (p *platform) Logs(ctx context.Context, req sdk.LogsRequest, fn sdk.LogFunc) error {
	if err := p.call(ctx, "Logs", req.ID); err != nil {
		return err
	}
	st, err := p.status(req.ID)
	if err != nil {
		return err
	}
	return fn(sdk.LogEntry{Line: "fake job " + st.ID + " " + string(st.State), Cursor: "1"})
}

func (p *platform) Cancel(ctx context.Context, id string) (sdk.JobStatus, error) {
	if err := p.call(ctx, "Cancel", id); err != nil {
		return sdk.JobStatus{}, err
	}
	st, err := p.status(id)
	if err != nil || st.Terminal {
		return st, err
	}
	if err := p.jobs().cancel(st.ID); err != nil {
		return sdk.JobStatus{}, err
	}
	return p.status(id)
}

func (p *platform) List(ctx context.Context, req sdk.ListRequest) (sdk.ListResponse, error) {
	if err := p.call(ctx, "List", "-"); err != nil {
		return sdk.ListResponse{}, err
	}
	ids, err := p.jobs().ids()
	if err != nil {
		return sdk.ListResponse{}, err
	}
	var jobs []sdk.JobStatus
	for _, id := range ids {
		if st, err := p.status(id); err == nil && req.Matches(st) {
			jobs = append(jobs, st)
		}
	}
	sort.Slice(jobs, func(i, j int) bool {
		if !jobs[i].CreatedAt.Equal(jobs[j].CreatedAt) {
			return jobs[i].CreatedAt.After(jobs[j].CreatedAt)
		}
		return jobs[i].ID < jobs[j].ID
	})
	start, _ := strconv.Atoi(req.PageToken)
	size := req.PageSize
	if size <= 0 {
		size = 100
	}
	start = min(max(start, 0), len(jobs))
	end := min(start+size, len(jobs))
	resp := sdk.ListResponse{Jobs: jobs[start:end]}
	if end < len(jobs) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// statesPageSize is the most jobs one page of the fake's listing holds.
const statesPageSize = 100

// statesPlatform is the fake with the job states capability.
type statesPlatform struct{ *platform }

func (p statesPlatform) JobStates(ctx context.Context, req sdk.JobStatesRequest) (sdk.JobStatesResponse, error) {
	if err := p.call(ctx, "JobStates", "-"); err != nil {
		return sdk.JobStatesResponse{}, err
	}
	// Pages are taken in id order and filtered after, so that a page costs
	// reading its own jobs only: the fake's cost stays in its latency.
	ids, err := p.jobs().ids()
	if err != nil {
		return sdk.JobStatesResponse{}, err
	}
	sort.Strings(ids)
	start := 0
	if req.PageToken != "" {
		if start, err = strconv.Atoi(req.PageToken); err != nil || start < 0 || start > len(ids) {
			return sdk.JobStatesResponse{}, sdk.FieldError("page_token", "is not a token this plugin issued", "start again without a page token")
		}
	}
	size := statesPageSize
	if req.PageSize > 0 {
		size = min(req.PageSize, size)
	}
	end := min(start+size, len(ids))
	wanted := map[string]bool{}
	for _, id := range req.IDs {
		wanted[id] = true
	}
	filter := sdk.ListRequest{Labels: req.Labels, CreatedAfter: req.CreatedAfter}
	var resp sdk.JobStatesResponse
	for _, id := range ids[start:end] {
		if !wanted[id] {
			continue
		}
		if st, err := p.status(id); err == nil && filter.Matches(st) {
			resp.Jobs = append(resp.Jobs, st)
		}
	}
	if end < len(ids) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// name is the platform's name, set at build time for a second platform.
var name = "fake"

func main() {
	level := hclog.LevelFromString(os.Getenv(plugin.EnvLogLevel))
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "neural-plugin-" + name, Level: level, Output: os.Stderr, JSONFormat: true})
	p := &platform{name: name, log: log}
	if os.Getenv("FAKEPLATFORM_JOB_STATES") == "off" {
		plugin.Serve(p)
		return
	}
	plugin.Serve(statesPlatform{p})
}
