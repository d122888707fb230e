package wire

import (
	"context"
	"errors"
	"math"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
	pb "github.com/neural-dsl/neural-host/sdk/internal/platformpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// fake records what reached the server side and answers from fields.
type fake struct {
	gotSpec sdk.JobSpec
	err     error
	logs    []sdk.LogEntry
}

func (f *fake) Metadata() sdk.Metadata {
	return sdk.Metadata{Name: "fake", Namespace: "acme", Version: "9.9.9", Capabilities: sdk.Capabilities{LogFollow: true},
		Config: []sdk.ConfigField{{Key: "token", Secret: true, Required: true, EnvVars: []string{"FAKE_TOKEN"}}}}
}
func (f *fake) Configure(context.Context, sdk.Config) error { return f.err }
func (f *fake) CheckAuth(context.Context) (sdk.AuthInfo, error) {
	return sdk.AuthInfo{Identity: "me"}, f.err
}
func (f *fake) Plan(context.Context, sdk.JobSpec) (sdk.Plan, error)   { return sdk.Plan{}, f.err }
func (f *fake) Result(context.Context, string) (sdk.JobResult, error) { return sdk.JobResult{}, f.err }
func (f *fake) Cancel(context.Context, string) (sdk.JobStatus, error) { return sdk.JobStatus{}, f.err }
func (f *fake) List(context.Context, sdk.ListRequest) (sdk.ListResponse, error) {
	return sdk.ListResponse{}, f.err
}
func (f *fake) Submit(_ context.Context, s sdk.JobSpec) (sdk.JobStatus, error) {
	f.gotSpec = s
	return sdk.JobStatus{ID: "j1", State: sdk.StateQueued, CreatedAt: time.Unix(100, 0).UTC()}, f.err
}
func (f *fake) Status(context.Context, string) (sdk.JobStatus, error) {
	return sdk.JobStatus{ID: "j1", State: sdk.StateCancelled, Terminal: true}, f.err
}
func (f *fake) Logs(_ context.Context, _ sdk.LogsRequest, fn sdk.LogFunc) error {
	for _, e := range f.logs {
		if err := fn(e); err != nil {
			return err
		}
	}
	return f.err
}

// connect serves impl over an in-memory listener and dials it.
func connect(t *testing.T, impl sdk.Platform) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	Register(srv, impl, nil)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///buf", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func dial(t *testing.T, impl sdk.Platform) *Client {
	t.Helper()
	c, err := NewClient(context.Background(), connect(t, impl))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSpecRoundTrip(t *testing.T) {
	f := &fake{}
	c := dial(t, f)
	spec := sdk.JobSpec{
		Name: "n", Kind: sdk.KindDSL, WorkDir: "/w", Entrypoint: "m.neural", Args: []string{"a"}, Command: []string{"c"},
		DSL:          sdk.DSLOptions{Backend: sdk.BackendPyTorch, Dataset: "MNIST", NeuralVersion: "0.3.0"},
		Requirements: []string{"numpy==2.0"}, Env: map[string]string{"A": "1"}, Labels: map[string]string{"l": "v"},
		IdempotencyKey: "key", Options: map[string]string{"o": "p"},
		Resources: sdk.Resources{InstanceType: "ml.g5.xlarge", GPUType: "A10G", GPUs: 1, CPUs: 4, MemoryGB: 16, DiskGB: 50,
			MaxRuntime: 2 * time.Hour, Spot: true, Nodes: 2},
	}
	st, err := c.Submit(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.gotSpec, spec) {
		t.Errorf("spec changed on the wire:\n got %+v\nwant %+v", f.gotSpec, spec)
	}
	if st.ID != "j1" || st.State != sdk.StateQueued || !st.CreatedAt.Equal(time.Unix(100, 0)) {
		t.Errorf("status = %+v", st)
	}
	m := c.Metadata()
	if m.Name != "fake" || m.Namespace != "acme" || m.ProtocolVersion != sdk.ProtocolVersion || m.SDKVersion != sdk.Version || !m.Capabilities.Jobs ||
		!m.Capabilities.LogFollow || m.Capabilities.Files || len(m.Config) != 1 || !m.Config[0].Secret {
		t.Errorf("metadata = %+v", m)
	}
}

// TestCountsPastInt32AreNotSent checks that a count the wire's int32
// cannot hold is refused by the client, not sent wrapped around.
func TestCountsPastInt32AreNotSent(t *testing.T) {
	tests := []struct {
		name  string
		res   sdk.Resources
		field string // empty: sent as given
	}{
		{"gpus", sdk.Resources{GPUs: 1<<32 + 1}, "resources.gpus"},
		{"disk_gb", sdk.Resources{DiskGB: math.MaxInt32 + 1}, "resources.disk_gb"},
		{"nodes", sdk.Resources{Nodes: 4294967298}, "resources.nodes"},
		{"largest", sdk.Resources{GPUs: math.MaxInt32, DiskGB: math.MaxInt32, Nodes: math.MaxInt32}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			c := dial(t, f)
			spec := sdk.JobSpec{Name: "n", Kind: sdk.KindCommand, Command: []string{"x"}, Resources: tt.res}
			_, err := c.Submit(context.Background(), spec)
			if tt.field == "" {
				if err != nil || f.gotSpec.Resources != tt.res {
					t.Fatalf("err %v, the plugin got %+v, want %+v", err, f.gotSpec.Resources, tt.res)
				}
				return
			}
			var e *sdk.Error
			if !errors.As(err, &e) || e.Field != tt.field || !errors.Is(err, sdk.ErrInvalidArgument) {
				t.Errorf("err = %v, want invalid argument on %s", err, tt.field)
			}
			if f.gotSpec.Name != "" {
				t.Errorf("the plugin got the spec: %+v", f.gotSpec.Resources)
			}
			if _, err := c.Plan(context.Background(), spec); !errors.Is(err, sdk.ErrInvalidArgument) {
				t.Errorf("Plan: err = %v, want invalid argument", err)
			}
		})
	}
}

func TestErrorsKeepTheirKind(t *testing.T) {
	for _, k := range sdk.ErrorKinds {
		kind := k.Err
		c := dial(t, &fake{err: &sdk.Error{Kind: kind, Field: "resources.gpus", Message: "bad", Hint: "fix it"}})
		_, err := c.Status(context.Background(), "x")
		var e *sdk.Error
		if !errors.Is(err, kind) || !errors.As(err, &e) || e.Field != "resources.gpus" || e.Hint != "fix it" || e.Message != "bad" {
			t.Errorf("%v: got %#v", kind, err)
		}
		var te *TransportError
		if errors.As(err, &te) {
			t.Errorf("%v: a plugin's own error was taken for a transport failure", kind)
		}
	}
	c := dial(t, &fake{err: errors.New("plain")})
	if _, err := c.Status(context.Background(), "x"); err == nil || err.Error() != "plain" {
		t.Errorf("plain error = %v", err)
	}
}

// TestEveryKindHasOneWireEncoding guards the table the wire derives from
// sdk.ErrorKinds: a kind added to the SDK without a proto enum value or a
// status code would travel as unclassified.
func TestEveryKindHasOneWireEncoding(t *testing.T) {
	pbSeen, codeSeen := map[pb.ErrorKind]string{}, map[codes.Code]string{}
	for _, k := range errorKinds {
		name := k.kind.Error()
		if k.pb == pb.ErrorKind_ERROR_KIND_UNSPECIFIED || k.code == codes.OK {
			t.Errorf("%s: wire kind %v, code %v", name, k.pb, k.code)
		}
		if other, dup := pbSeen[k.pb]; dup {
			t.Errorf("%s and %s share wire kind %v", name, other, k.pb)
		}
		if other, dup := codeSeen[k.code]; dup {
			t.Errorf("%s and %s share code %v", name, other, k.code)
		}
		pbSeen[k.pb], codeSeen[k.code] = name, name
	}
	if got, want := len(errorKinds), len(pb.ErrorKind_name)-1; got != want {
		t.Errorf("%d kinds, the proto has %d", got, want)
	}
}

func TestUnsupportedCapabilities(t *testing.T) {
	c := dial(t, &fake{})
	if _, err := c.Upload(context.Background(), sdk.TransferRequest{}, nil); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("Upload = %v", err)
	}
	if _, err := c.Deploy(context.Background(), sdk.DeploySpec{}); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("Deploy = %v", err)
	}
	if _, err := c.Prices(context.Background(), sdk.PriceFilter{}); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("Prices = %v", err)
	}
	if _, err := c.JobStates(context.Background(), sdk.JobStatesRequest{IDs: []string{"j1"}}); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("JobStates = %v", err)
	}
}

// stater is a fake with the job states capability.
type stater struct {
	fake
	gotReq sdk.JobStatesRequest
	resp   sdk.JobStatesResponse
}

func (s *stater) JobStates(_ context.Context, req sdk.JobStatesRequest) (sdk.JobStatesResponse, error) {
	s.gotReq = req
	return s.resp, s.err
}

func TestJobStatesRoundTrip(t *testing.T) {
	created := time.Unix(100, 0).UTC()
	want := sdk.JobStatesResponse{NextPageToken: "p2", Jobs: []sdk.JobStatus{
		{ID: "j1", State: sdk.StateRunning, RawState: "RUNNING", CreatedAt: created, Labels: map[string]string{"neural-batch": "b"}},
		{ID: "j2", State: sdk.StateSucceeded, RawState: "DONE", Terminal: true, CreatedAt: created, EndedAt: created.Add(time.Minute)},
	}}
	s := &stater{resp: want}
	c := dial(t, s)
	if !c.Metadata().Capabilities.JobStates {
		t.Fatal("a plugin implementing sdk.JobStater does not declare job states")
	}
	req := sdk.JobStatesRequest{IDs: []string{"j1", "j2", "j3"}, Labels: map[string]string{"neural-batch": "b"},
		CreatedAfter: created.Add(-time.Hour), PageSize: 50, PageToken: "p1"}
	got, err := c.JobStates(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.gotReq, req) {
		t.Errorf("request changed on the wire:\n got %+v\nwant %+v", s.gotReq, req)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("response changed on the wire:\n got %+v\nwant %+v", got, want)
	}
	s.err = &sdk.Error{Kind: sdk.ErrRateLimited, Message: "slow down"}
	if _, err := c.JobStates(context.Background(), req); !errors.Is(err, sdk.ErrRateLimited) {
		t.Errorf("error kind lost: %v", err)
	}
}

func TestLogsStreamInOrder(t *testing.T) {
	want := []sdk.LogEntry{{Line: "a", Cursor: "1"}, {Line: "b", Cursor: "2", Truncated: true}}
	c := dial(t, &fake{logs: want, err: &sdk.Error{Kind: sdk.ErrNotFound, Message: "gone"}})
	var got []sdk.LogEntry
	err := c.Logs(context.Background(), sdk.LogsRequest{ID: "j", Follow: true}, func(e sdk.LogEntry) error {
		got = append(got, e)
		return nil
	})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
	if !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("stream error after entries = %v", err)
	}
}

func TestHugeErrorMessageIsClipped(t *testing.T) {
	c := dial(t, &fake{err: &sdk.Error{Kind: sdk.ErrNotFound, Message: "no job " + strings.Repeat("x", 1<<20)}})
	_, err := c.Status(context.Background(), "x")
	if !errors.Is(err, sdk.ErrNotFound) || len(err.Error()) > maxErrorText+16 {
		t.Errorf("got %d bytes: %.80v", len(err.Error()), err)
	}
}

// dialRaw connects a bare generated client, as a host that skips the SDK's
// own checks would.
func dialRaw(t *testing.T, impl sdk.Platform) pb.PlatformClient {
	t.Helper()
	return pb.NewPlatformClient(connect(t, impl))
}

// The SDK validates a spec before Plan or Submit reach the plugin, whoever
// sent it.
func TestInvalidSpecNeverReachesThePlugin(t *testing.T) {
	f := &fake{}
	c := dialRaw(t, f)
	spec := &pb.JobSpec{Name: "n", Kind: pb.JobKind_JOB_KIND_PYTHON, Entrypoint: "../outside.py", WorkDir: "/w"}
	_, err := c.Submit(context.Background(), &pb.SubmitRequest{Spec: spec})
	var e *sdk.Error
	if status.Code(err) != codes.InvalidArgument || !errors.As(fromStatusError(err), &e) || e.Field != "entrypoint" {
		t.Errorf("Submit: err = %v, want invalid argument on entrypoint", err)
	}
	if _, err := c.Plan(context.Background(), &pb.PlanRequest{Spec: spec}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Plan: err = %v, want invalid argument", err)
	}
	if f.gotSpec.Name != "" {
		t.Errorf("the plugin got the invalid spec %+v", f.gotSpec)
	}
}

// terminalLiar reports a job that has ended without saying it is terminal.
type terminalLiar struct{ fake }

func (terminalLiar) Status(context.Context, string) (sdk.JobStatus, error) {
	return sdk.JobStatus{ID: "j1", State: sdk.StateSucceeded, Terminal: false}, nil
}

func TestTerminalFollowsTheState(t *testing.T) {
	c := dial(t, &terminalLiar{})
	st, err := c.Status(context.Background(), "j1")
	if err != nil || !st.Terminal {
		t.Errorf("Status = %+v, %v; want a succeeded job to be terminal", st, err)
	}
}
