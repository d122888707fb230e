// Command neural-plugin-testplugin is a small in-memory plugin for testing
// the conformance suite and the host. $TESTPLUGIN_MODE makes it break one
// rule of the contract; empty keeps every rule. $TESTPLUGIN_VERSION sets
// the version it reports.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/plugin"
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
	return sdk.Metadata{Name: "testplugin", Version: v, Description: "An in-memory plugin for tests.",
		Capabilities: sdk.Capabilities{LogFollow: true}}
}

func (p *platform) Configure(context.Context, sdk.Config) error { return nil }
func (p *platform) CheckAuth(context.Context) (sdk.AuthInfo, error) {
	return sdk.AuthInfo{Identity: "tester"}, nil
}
func (p *platform) Plan(context.Context, sdk.JobSpec) (sdk.Plan, error) {
	return sdk.Plan{}, sdk.Errorf(sdk.ErrUnsupported, "no plan")
}

func (p *platform) Submit(_ context.Context, spec sdk.JobSpec) (sdk.JobStatus, error) {
	if err := spec.Validate(); err != nil {
		return sdk.JobStatus{}, err
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
