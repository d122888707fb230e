// Command neural-plugin-testplugin is a small in-memory plugin for testing
// the conformance suite and the host. $TESTPLUGIN_MODE makes it break one
// rule of the contract; empty keeps every rule. $TESTPLUGIN_VERSION sets
// the version it reports. Its name comes from its file name, so copies
// named neural-plugin-X are platform X. $TESTPLUGIN_PRICES is a directory
// whose X.csv is platform X's price catalog; $TESTPLUGIN_CALLS is a file
// each Submit is recorded in; $TESTPLUGIN_STARTED is a file created as the
// binary starts. It has the job states capability; mode states-stale makes
// it report wrong states.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/neural-dsl/neural-host/sdk/prices"
	"google.golang.org/grpc"
)

var mode = os.Getenv("TESTPLUGIN_MODE")

type platform struct {
	mu   sync.Mutex
	jobs map[string]*sdk.JobStatus
	keys map[string]string
	n    int
}

func (p *platform) Metadata() sdk.Metadata {
	v := os.Getenv("TESTPLUGIN_VERSION")
	if v == "" {
		v = "1.0.0"
	}
	return sdk.Metadata{Name: name(), Version: v, Description: "An in-memory plugin for tests.",
		Capabilities: sdk.Capabilities{LogFollow: true, Plan: true}}
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

func (p *platform) Configure(context.Context, sdk.Config) error { return nil }
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
		return *p.jobs[id], nil
	}
	p.n++
	id := strconv.Itoa(p.n)
	p.keys[spec.IdempotencyKey] = id
	p.jobs[id] = &sdk.JobStatus{ID: id, Name: spec.Name, State: sdk.StateRunning, RawState: "RUNNING", CreatedAt: time.Now()}
	if mode == "orphan" {
		// A child in the plugin's own process group, left behind on exit.
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			return sdk.JobStatus{}, err
		}
	}
	return *p.jobs[id], nil
}

func (p *platform) Status(_ context.Context, id string) (sdk.JobStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	j, ok := p.jobs[id]
	if !ok {
		if mode == "untyped" {
			return sdk.JobStatus{}, errors.New("no such job")
		}
		return sdk.JobStatus{}, &sdk.Error{Kind: sdk.ErrNotFound, Message: "no job " + strconv.Quote(id)}
	}
	return *j, nil
}

func (p *platform) Result(ctx context.Context, id string) (sdk.JobResult, error) {
	st, err := p.Status(ctx, id)
	return sdk.JobResult{Status: st}, err
}

func (p *platform) Logs(ctx context.Context, req sdk.LogsRequest, fn sdk.LogFunc) error {
	if _, err := p.Status(ctx, req.ID); err != nil {
		return err
	}
	if err := fn(sdk.LogEntry{Line: "started", Cursor: "1"}); err != nil {
		return err
	}
	if !req.Follow {
		return nil
	}
	if mode == "stubborn" {
		time.Sleep(time.Minute) // ignores the context
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (p *platform) Cancel(ctx context.Context, id string) (sdk.JobStatus, error) {
	p.mu.Lock()
	if j, ok := p.jobs[id]; ok {
		j.State, j.RawState, j.Terminal = sdk.StateCancelled, "CANCELLED", true
	}
	p.mu.Unlock()
	return p.Status(ctx, id)
}

func (p *platform) List(context.Context, sdk.ListRequest) (sdk.ListResponse, error) {
	return sdk.ListResponse{}, nil
}

// JobStates lists the wanted jobs in one page; in mode states-stale it
// reports every job queued, whatever its state.
func (p *platform) JobStates(_ context.Context, req sdk.JobStatesRequest) (sdk.JobStatesResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var resp sdk.JobStatesResponse
	for _, id := range req.IDs {
		if j, ok := p.jobs[id]; ok {
			st := *j
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
	p := &platform{jobs: map[string]*sdk.JobStatus{}, keys: map[string]string{}}
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
