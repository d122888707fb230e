package sdktest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// countdown is a platform whose one job ends after a number of Status calls.
type countdown struct{ calls atomic.Int32 }

func (*countdown) Metadata() sdk.Metadata {
	return sdk.Metadata{Name: "countdown", Version: "1.0.0", Capabilities: sdk.Capabilities{Jobs: true}}
}
func (*countdown) Configure(context.Context, sdk.Config) error         { return nil }
func (*countdown) CheckAuth(context.Context) (sdk.AuthInfo, error)     { return sdk.AuthInfo{}, nil }
func (*countdown) Plan(context.Context, sdk.JobSpec) (sdk.Plan, error) { return sdk.Plan{}, nil }
func (*countdown) Submit(context.Context, sdk.JobSpec) (sdk.JobStatus, error) {
	return sdk.JobStatus{ID: "j1", State: sdk.StateQueued}, nil
}
func (c *countdown) Status(_ context.Context, id string) (sdk.JobStatus, error) {
	if id != "j1" {
		return sdk.JobStatus{}, sdk.FieldError("id", "no job "+id, "list jobs to find one")
	}
	if c.calls.Add(1) < 3 {
		return sdk.JobStatus{ID: id, State: sdk.StateRunning}, nil
	}
	return sdk.JobStatus{ID: id, State: sdk.StateSucceeded, Terminal: true}, nil
}
func (*countdown) Result(context.Context, string) (sdk.JobResult, error) { return sdk.JobResult{}, nil }
func (*countdown) Logs(context.Context, sdk.LogsRequest, sdk.LogFunc) error {
	return nil
}
func (*countdown) Cancel(context.Context, string) (sdk.JobStatus, error) {
	return sdk.JobStatus{}, nil
}
func (*countdown) List(context.Context, sdk.ListRequest) (sdk.ListResponse, error) {
	return sdk.ListResponse{}, nil
}

func TestHarness(t *testing.T) {
	impl := &countdown{}
	h := NewHarness(t, impl)
	if m := h.Metadata(); m.Name != "countdown" || m.SDKVersion != sdk.Version {
		t.Errorf("metadata over the wire: %+v", m)
	}
	// An error crosses the wire as the host sees it: kind and field kept.
	_, err := h.Status(context.Background(), "nope")
	var se *sdk.Error
	if !errors.Is(err, sdk.ErrInvalidArgument) || !errors.As(err, &se) || se.Field != "id" {
		t.Errorf("Status(nope) = %v, want invalid argument naming id", err)
	}
	// Files are not implemented: the harness refuses them as a host would.
	if _, err := h.ListFiles(context.Background(), sdk.ListFilesRequest{}); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("ListFiles = %v, want unsupported", err)
	}
	if st := WaitTerminal(t, h, "j1", 10*time.Second); st.State != sdk.StateSucceeded || impl.calls.Load() != 3 {
		t.Errorf("WaitTerminal = %+v after %d Status calls, want succeeded after 3", st, impl.calls.Load())
	}
}
