package sdktest

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/internal/wire"
	"github.com/neural-dsl/neural-host/sdk/plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// Harness drives a plugin implementation in the test's own process through
// the very gRPC services and conversions a host uses, without building a
// binary: errors keep only what crosses the wire, as they would for a
// host. It embeds the host's client, so it is an sdk.Platform and every
// optional interface; calls to a capability the implementation lacks fail
// with sdk.ErrUnsupported. It does not check the handshake, the process's
// exit or its children; Check does, on a built binary.
type Harness struct {
	*wire.Client
	logs *syncBuffer
}

// NewHarness serves impl in-process for the length of t and connects to it.
// Configure is not called: the test calls it with the settings it wants.
func NewHarness(t testing.TB, impl sdk.Platform) *Harness {
	t.Helper()
	logs := &syncBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace, JSONFormat: true})
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(plugin.MaxMessageSize), grpc.MaxSendMsgSize(plugin.MaxMessageSize))
	wire.Register(srv, impl, logger)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///sdktest-harness",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(plugin.MaxMessageSize), grpc.MaxCallSendMsgSize(plugin.MaxMessageSize)))
	if err != nil {
		srv.Stop()
		t.Fatalf("sdktest: connecting to the in-process plugin: %v", err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
	})
	client, err := wire.NewClient(context.Background(), conn)
	if err != nil {
		t.Fatalf("sdktest: reading the plugin's metadata: %v", err)
	}
	return &Harness{Client: client, logs: logs}
}

// SDKLog is what the SDK's server side logged about the calls so far, as
// JSON lines: how calls ended and what the plugin did wrong.
func (h *Harness) SDKLog() string {
	h.logs.mu.Lock()
	defer h.logs.mu.Unlock()
	return h.logs.buf.String()
}

// Eventually polls cond until it holds and fails t when timeout passes
// first. It is for waiting on another process or a platform; a test waits
// on its own goroutines with channels.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for delay := 10 * time.Millisecond; !cond(); delay = min(delay*2, 500*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(delay)
	}
}

// StatusReader is what WaitTerminal needs of a plugin: an sdk.Platform, a
// Harness or a plugin's own type.
type StatusReader interface {
	Status(ctx context.Context, id string) (sdk.JobStatus, error)
}

// WaitTerminal polls the job's status until it is terminal and returns it;
// it fails t on a Status error or when timeout passes first.
func WaitTerminal(t testing.TB, p StatusReader, id string, timeout time.Duration) sdk.JobStatus {
	t.Helper()
	st, err := waitTerminal(context.Background(), p, id, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func waitTerminal(ctx context.Context, p StatusReader, id string, timeout time.Duration) (sdk.JobStatus, error) {
	deadline := time.Now().Add(timeout)
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, time.Second) {
		st, err := p.Status(ctx, id)
		if err != nil {
			return st, fmt.Errorf("Status(%s): %w", id, err)
		}
		if st.Terminal {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("job %s was still %s (%s) after %s", id, st.State, st.RawState, timeout)
		}
		if err := sleep(ctx, delay); err != nil {
			return st, err
		}
	}
}
