// Command neural-plugin-testplugin is a small plugin for testing the
// conformance suite and the host: it runs each job as a child process in
// the job's workdir and keeps jobs in memory. $TESTPLUGIN_MODE makes it
// break one rule of the contract; empty keeps every rule. Its one setting,
// token (secret, $TESTPLUGIN_TOKEN), is not checked. With $TESTPLUGIN_LOG
// set, Configure writes a plain line to stderr and logs a warning. $TESTPLUGIN_VERSION sets
// the version it reports. Its name comes from its file name, so copies
// named neural-plugin-X are platform X. $TESTPLUGIN_PRICES is a directory
// whose X.csv is platform X's price catalog; $TESTPLUGIN_CALLS is a file
// each Submit is recorded in; $TESTPLUGIN_STARTED is a file created as the
// binary starts. It has the job states capability; mode states-stale makes
// it report wrong states.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/plugin"
	"github.com/neural-dsl/neural-host/sdk/pluginlog"
	"github.com/neural-dsl/neural-host/sdk/prices"
	"github.com/neural-dsl/neural-host/sdk/runner"
	"google.golang.org/grpc"
)

var mode = os.Getenv("TESTPLUGIN_MODE")

// job is one submission and the process that runs it.
type job struct {
	status sdk.JobStatus
	lines  []string
	output string // the job's NEURAL_OUTPUT_DIR
	errMsg string
	cmd    *exec.Cmd
	done   chan struct{}
}

type platform struct {
	mu    sync.Mutex
	jobs  map[string]*job
	keys  map[string]string
	n     int
	token string
}

func (p *platform) Metadata() sdk.Metadata {
	v := os.Getenv("TESTPLUGIN_VERSION")
	if v == "" {
		v = "1.0.0"
	}
	return sdk.Metadata{Name: name(), Version: v, Description: "An in-memory plugin for tests.",
		Capabilities: sdk.Capabilities{LogFollow: true, Plan: true},
		Config:       []sdk.ConfigField{{Key: "token", Description: "An API token; any value is accepted.", Secret: true, EnvVars: []string{"TESTPLUGIN_TOKEN"}}}}
}

func name() string {
	n, ok := strings.CutPrefix(filepath.Base(os.Args[0]), "neural-plugin-")
	if !ok {
		return "testplugin"
	}
	return n
}

func (p *platform) Prices(_ context.Context, f sdk.PriceFilter) ([]sdk.PriceRow, error) {
	dir := os.Getenv("TESTPLUGIN_PRICES")
	if dir == "" {
		return nil, nil
	}
	file, err := os.Open(filepath.Join(dir, name()+".csv"))
	if err != nil {
		return nil, err
	}
	defer file.Close()
	rows, err := prices.Parse(file)
	return prices.Filter(rows, f), err
}

func (p *platform) Configure(_ context.Context, cfg sdk.Config) error {
	if os.Getenv("TESTPLUGIN_LOG") != "" {
		// What plugin code writes: a plain line and a logger's entry.
		fmt.Fprintln(os.Stderr, "a plain stderr line")
		pluginlog.Logger().Warn("a warning", "job", "j1")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.token = cfg["token"]
	return nil
}

func (p *platform) CheckAuth(context.Context) (sdk.AuthInfo, error) {
	return sdk.AuthInfo{Identity: "tester"}, nil
}

func (p *platform) Plan(ctx context.Context, spec sdk.JobSpec) (sdk.Plan, error) {
	if err := spec.Validate(); err != nil {
		return sdk.Plan{}, err
	}
	body, _ := json.MarshalIndent(map[string]any{"name": spec.Name, "instance_type": spec.Resources.InstanceType}, "", "  ")
	plan := sdk.Plan{Requests: []sdk.PlannedRequest{{Operation: "CreateJob", Body: string(body)}}, InstanceType: spec.Resources.InstanceType}
	rows, err := p.Prices(ctx, sdk.PriceFilter{InstanceType: spec.Resources.InstanceType})
	if err == nil && len(rows) > 0 && spec.Resources.InstanceType != "" {
		nodes := float64(max(spec.Resources.Nodes, 1))
		plan.HourlyPrice = sdk.Price{Known: true, USDPerHour: rows[0].OnDemandUSD * nodes, Source: rows[0].Source, AsOf: rows[0].AsOf}
	}
	return plan, nil
}

func (p *platform) Submit(_ context.Context, spec sdk.JobSpec) (sdk.JobStatus, error) {
	if err := spec.Validate(); err != nil {
		return sdk.JobStatus{}, err
	}
	if calls := os.Getenv("TESTPLUGIN_CALLS"); calls != "" {
		f, err := os.OpenFile(calls, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return sdk.JobStatus{}, err
		}
		fmt.Fprintln(f, "Submit", spec.Name)
		f.Close()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if id, ok := p.keys[spec.IdempotencyKey]; ok && mode != "duplicate" {
		return p.jobs[id].status, nil
	}
	p.n++
	id := strconv.Itoa(p.n)
	out, err := os.MkdirTemp("", "testplugin-output-")
	if err != nil {
		return sdk.JobStatus{}, err
	}
	argv := spec.Command
	if spec.Kind != sdk.KindCommand {
		argv = append([]string{"python3", spec.Entrypoint}, spec.Args...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = spec.WorkDir
	cmd.Env = append(os.Environ(), "NEURAL_OUTPUT_DIR="+out)
	for k, v := range spec.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	j := &job{status: sdk.JobStatus{ID: id, Name: spec.Name, State: sdk.StateRunning, RawState: "RUNNING", CreatedAt: time.Now(),
		Labels: spec.Labels}, output: out, cmd: cmd, done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return sdk.JobStatus{}, err
	}
	cmd.Stderr = cmd.Stdout
	p.keys[spec.IdempotencyKey] = id
	p.jobs[id] = j
	if err := cmd.Start(); err != nil {
		// As on a platform, a job whose program cannot start fails.
		stdout.Close()
		j.status.State, j.status.RawState, j.status.Terminal, j.errMsg = sdk.StateFailed, "FAILED", true, err.Error()
		close(j.done)
	} else {
		go p.run(j, stdout)
	}
	if mode == "orphan" {
		// A child in the plugin's own process group, left behind on exit.
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			return sdk.JobStatus{}, err
		}
	}
	return j.status, nil
}

// run collects a job's output and records how it ended.
func (p *platform) run(j *job, stdout io.Reader) {
	defer close(j.done)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		p.mu.Lock()
		j.lines = append(j.lines, sc.Text())
		p.mu.Unlock()
	}
	err := j.cmd.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	j.status.Terminal, j.status.EndedAt = true, time.Now()
	switch {
	case j.status.State == sdk.StateStopping:
		j.status.State, j.status.RawState = sdk.StateCancelled, "CANCELLED"
	case err != nil:
		j.status.State, j.status.RawState, j.errMsg = sdk.StateFailed, "FAILED", err.Error()
	default:
		j.status.State, j.status.RawState = sdk.StateSucceeded, "SUCCEEDED"
	}
}

func (p *platform) Status(_ context.Context, id string) (sdk.JobStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	j, ok := p.jobs[id]
	if !ok {
		switch mode {
		case "untyped":
			return sdk.JobStatus{}, errors.New("no such job")
		case "secret-in-error":
			return sdk.JobStatus{}, &sdk.Error{Kind: sdk.ErrNotFound, Message: fmt.Sprintf("no job %q visible to token %s", id, p.token)}
		}
		return sdk.JobStatus{}, &sdk.Error{Kind: sdk.ErrNotFound, Message: "no job " + strconv.Quote(id)}
	}
	return j.status, nil
}

func (p *platform) Result(ctx context.Context, id string) (sdk.JobResult, error) {
	st, err := p.Status(ctx, id)
	if err != nil {
		return sdk.JobResult{}, err
	}
	p.mu.Lock()
	j := p.jobs[id]
	res := sdk.JobResult{Status: st, Error: j.errMsg}
	p.mu.Unlock()
	if b, err := os.ReadFile(filepath.Join(j.output, runner.MetricsFile)); err == nil && mode != "result-without-metrics" {
		if res.Metrics, err = runner.ParseMetrics(b); err != nil {
			res.Error = err.Error()
		}
	}
	return res, nil
}

func (p *platform) Logs(ctx context.Context, req sdk.LogsRequest, fn sdk.LogFunc) error {
	if _, err := p.Status(ctx, req.ID); err != nil {
		return err
	}
	next := 0
	if req.Cursor != "" && mode != "logs-ignore-cursor" {
		n, err := strconv.Atoi(req.Cursor)
		if err != nil || n < 0 {
			return sdk.FieldError("cursor", "is not a cursor this plugin issued", "resume from a cursor of an earlier line, or from the start")
		}
		next = n
	}
	p.mu.Lock()
	j := p.jobs[req.ID]
	p.mu.Unlock()
	for {
		p.mu.Lock()
		lines, terminal := j.lines, j.status.Terminal
		p.mu.Unlock()
		for ; next < len(lines); next++ {
			if err := fn(sdk.LogEntry{Line: lines[next], Cursor: strconv.Itoa(next + 1)}); err != nil {
				return err
			}
		}
		if !req.Follow || terminal {
			return nil
		}
		if mode == "stubborn" {
			time.Sleep(time.Minute) // ignores the context
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-j.done:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *platform) Cancel(ctx context.Context, id string) (sdk.JobStatus, error) {
	p.mu.Lock()
	j, ok := p.jobs[id]
	if ok && !j.status.Terminal {
		j.status.State, j.status.RawState = sdk.StateStopping, "STOPPING"
		_ = j.cmd.Process.Kill()
	}
	p.mu.Unlock()
	if ok {
		<-j.done
	}
	return p.Status(ctx, id)
}

func (p *platform) List(_ context.Context, req sdk.ListRequest) (sdk.ListResponse, error) {
	if mode == "list-ignores-labels" {
		req.Labels = nil
	}
	p.mu.Lock()
	var jobs []sdk.JobStatus
	for n := 1; n <= p.n; n++ {
		if j, ok := p.jobs[strconv.Itoa(n)]; ok && req.Matches(j.status) {
			jobs = append(jobs, j.status)
		}
	}
	p.mu.Unlock()
	start := 0
	if req.PageToken != "" {
		var err error
		if start, err = strconv.Atoi(req.PageToken); err != nil || start < 0 || start > len(jobs) {
			return sdk.ListResponse{}, sdk.FieldError("page_token", "is not a token this plugin issued", "start again without a page token")
		}
	}
	size := req.PageSize
	if size <= 0 {
		size = 100
	}
	end := min(start+size, len(jobs))
	resp := sdk.ListResponse{Jobs: jobs[start:end]}
	if end < len(jobs) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// JobStates lists the wanted jobs in one page; in mode states-stale it
// reports every job queued, whatever its state.
func (p *platform) JobStates(_ context.Context, req sdk.JobStatesRequest) (sdk.JobStatesResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var resp sdk.JobStatesResponse
	for _, id := range req.IDs {
		if j, ok := p.jobs[id]; ok {
			st := j.status
			if mode == "states-stale" {
				st.State, st.RawState, st.Terminal = sdk.StateQueued, "QUEUED", false
			}
			resp.Jobs = append(resp.Jobs, st)
		}
	}
	return resp, nil
}

// withFiles declares files but does not serve them.
type withFiles struct{ *platform }

func (withFiles) Upload(context.Context, sdk.TransferRequest, sdk.ProgressFunc) (sdk.FileInfo, error) {
	return sdk.FileInfo{}, sdk.Errorf(sdk.ErrUnsupported, "no files")
}
func (withFiles) Download(context.Context, sdk.TransferRequest, sdk.ProgressFunc) (sdk.FileInfo, error) {
	return sdk.FileInfo{}, sdk.Errorf(sdk.ErrUnsupported, "no files")
}
func (withFiles) ListFiles(context.Context, sdk.ListFilesRequest) (sdk.ListFilesResponse, error) {
	return sdk.ListFilesResponse{}, sdk.Errorf(sdk.ErrUnsupported, "no files")
}

// protocol2 serves a plugin protocol no host speaks.
type protocol2 struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (protocol2) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error { return nil }
func (protocol2) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, nil
}

func main() {
	if started := os.Getenv("TESTPLUGIN_STARTED"); started != "" {
		if err := os.WriteFile(started, nil, 0o600); err != nil {
			os.Exit(1)
		}
	}
	p := &platform{jobs: map[string]*job{}, keys: map[string]string{}}
	switch mode {
	case "stdout":
		fmt.Println("hello from a chatty plugin")
	case "protocol2":
		hs := plugin.Handshake
		hs.ProtocolVersion = 2
		goplugin.Serve(&goplugin.ServeConfig{HandshakeConfig: hs, VersionedPlugins: map[int]goplugin.PluginSet{2: {"platform": protocol2{}}},
			GRPCServer: goplugin.DefaultGRPCServer})
		return
	case "files-unserved":
		plugin.Serve(withFiles{p})
		return
	}
	plugin.Serve(p)
}
