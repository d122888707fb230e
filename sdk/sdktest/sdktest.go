// Package sdktest checks that a built plugin binary honours the plugin
// contract: it starts and shakes hands, describes itself sanely, answers for
// every capability it declares and refuses every one it does not, keeps
// error kinds across the process boundary, accepts 16 MiB messages, never
// starts a job twice for one idempotency key, stops a call when its context
// ends, cancels jobs, reports through its job listing (when it has one) the
// states Status reports, and exits cleanly without leaving processes
// behind.
//
// Plugin authors call Run from a go test in their own module; neural-host
// runs the same checks with `neural-host plugins conformance BINARY`. The
// package checks behaviour, not platform specifics: point the plugin at a
// local fake of its platform with Config.Env.
package sdktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/sdk"
	pb "github.com/neural-dsl/neural-host/sdk/internal/platformpb"
	"github.com/neural-dsl/neural-host/sdk/internal/wire"
	"github.com/neural-dsl/neural-host/sdk/plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Config says how to run the plugin under test.
type Config struct {
	// Binary is the plugin executable.
	Binary string
	// Env is added to the plugin's environment, for example the endpoint of
	// a local fake of the platform and test credentials.
	Env []string
	// Settings are passed to Configure; nil resolves each of the plugin's
	// settings from Env, the process environment and the defaults, as the
	// host does.
	Settings sdk.Config
	// LongJob is a valid job that runs for minutes on the platform under
	// test. It is submitted (twice, with one idempotency key), followed and
	// cancelled.
	LongJob sdk.JobSpec
	// StartTimeout bounds the plugin's start; zero means 30 seconds.
	StartTimeout time.Duration
	// CallGrace is how long a call may go on after its context ends; zero
	// means 10 seconds.
	CallGrace time.Duration
}

// Result is the outcome of one check.
type Result struct {
	Check  string
	OK     bool
	Detail string
}

// LargeMessage is the size of the message the plugin must accept.
const LargeMessage = 16 << 20

type checker struct {
	cfg     Config
	conn    *plugin.Conn
	results []Result
	// logs collects the plugin's log, where the SDK notes how calls end.
	logs *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Contains(b.buf.Bytes(), []byte(s))
}

func (c *checker) add(check string, err error, okDetail string) bool {
	if err != nil {
		c.results = append(c.results, Result{Check: check, Detail: err.Error()})
		return false
	}
	c.results = append(c.results, Result{Check: check, OK: true, Detail: okDetail})
	return true
}

// Check runs every check in order and returns their results. Checks that
// need a running plugin are not run if it does not start.
func Check(ctx context.Context, cfg Config) []Result {
	c := &checker{cfg: cfg, logs: &syncBuffer{}}
	logger := hclog.New(&hclog.LoggerOptions{Output: c.logs, Level: hclog.Trace, JSONFormat: true})
	conn, err := plugin.Launch(ctx, plugin.LaunchConfig{Path: cfg.Binary, StartTimeout: cfg.StartTimeout, Logger: logger,
		Env: append(append(os.Environ(), plugin.EnvLogLevel+"=debug"), cfg.Env...)})
	if !c.add("handshake", err, "the plugin started and completed the go-plugin handshake") {
		return c.results
	}
	c.conn = conn
	pid := conn.Pid()
	defer conn.Close()
	c.add("metadata", c.metadata(), "")
	if !c.add("configure", c.configure(ctx), "") {
		return c.results
	}
	c.add("capabilities", c.capabilities(ctx), "each declared capability answers; each undeclared one is unimplemented")
	c.add("typed errors", c.typedErrors(ctx), "not-found and invalid-argument errors keep their kind and field")
	c.add("16 MiB message", c.largeMessage(ctx), "")
	c.jobs(ctx)
	c.add("clean shutdown", shutdown(conn.Shutdown(), pid), "the plugin exited when asked and left no process behind")
	return c.results
}

// Run runs Check with t's context and reports each check as a subtest.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, r := range Check(ctx, cfg) {
		t.Run(strings.ReplaceAll(r.Check, " ", "_"), func(t *testing.T) {
			if !r.OK {
				t.Error(r.Detail)
			}
		})
	}
}

var (
	versionRE = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$`)
	envRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func (c *checker) metadata() error {
	m := c.conn.Metadata()
	var errs []error
	if !sdk.ValidPlatformName(m.Name) {
		errs = append(errs, fmt.Errorf("name %q is not a platform name: a platform name is %s", m.Name, sdk.PlatformNameRule))
	}
	if base := filepath.Base(c.cfg.Binary); strings.HasPrefix(base, "neural-plugin-") && base != "neural-plugin-"+m.Name {
		errs = append(errs, fmt.Errorf("binary %s reports name %q; the file must be named neural-plugin-%s", base, m.Name, m.Name))
	}
	if !versionRE.MatchString(m.Version) {
		errs = append(errs, fmt.Errorf("version %q is not a semantic version such as 1.2.0", m.Version))
	}
	if m.ProtocolVersion != sdk.ProtocolVersion || m.SDKVersion == "" {
		errs = append(errs, fmt.Errorf("protocol %d / sdk %q: the SDK fills these in; build with plugin.Serve", m.ProtocolVersion, m.SDKVersion))
	}
	if !m.Capabilities.Jobs {
		errs = append(errs, errors.New("capability jobs is not declared"))
	}
	seen := map[string]bool{}
	for _, f := range append(append([]sdk.ConfigField(nil), m.Config...), m.JobOptions...) {
		if f.Key == "" || seen[f.Key] {
			errs = append(errs, fmt.Errorf("setting key %q is empty or repeated", f.Key))
		}
		seen[f.Key] = true
		if f.Description == "" {
			errs = append(errs, fmt.Errorf("setting %q has no description", f.Key))
		}
		if f.Secret && f.Default != "" {
			errs = append(errs, fmt.Errorf("secret setting %q has a default", f.Key))
		}
		for _, e := range f.EnvVars {
			if !envRE.MatchString(e) {
				errs = append(errs, fmt.Errorf("setting %q names the invalid environment variable %q", f.Key, e))
			}
		}
	}
	return errors.Join(errs...)
}

func (c *checker) configure(ctx context.Context) error {
	cfg := c.cfg.Settings
	if cfg == nil {
		env := map[string]string{}
		for _, kv := range append(os.Environ(), c.cfg.Env...) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		cfg = sdk.Config{}
		for _, f := range c.conn.Metadata().Config {
			v := f.Default
			for i := len(f.EnvVars) - 1; i >= 0; i-- {
				if e := env[f.EnvVars[i]]; e != "" {
					v = e
				}
			}
			if v != "" {
				cfg[f.Key] = v
			}
		}
	}
	return c.conn.Configure(ctx, cfg)
}

// answered reports whether err shows the method is served: anything but an
// unimplemented status counts.
func answered(err error) bool { return status.Code(err) != codes.Unimplemented }

func (c *checker) capabilities(ctx context.Context) error {
	caps := c.conn.Metadata().Capabilities
	cc := c.conn.ClientConn()
	calls := []struct {
		name     string
		declared bool
		call     func() error
	}{
		{"files", caps.Files, func() error {
			_, err := pb.NewFilesClient(cc).ListFiles(ctx, &pb.ListFilesRequest{PageSize: 1})
			return err
		}},
		{"deploy", caps.Deploy, func() error {
			_, err := pb.NewDeployClient(cc).ListEndpoints(ctx, &pb.ListEndpointsRequest{PageSize: 1})
			return err
		}},
		{"usage", caps.Usage, func() error {
			_, err := pb.NewUsageClient(cc).GetUsage(ctx, &pb.GetUsageRequest{})
			return err
		}},
		{"prices", caps.Prices, func() error {
			_, err := pb.NewPricesClient(cc).ListPrices(ctx, &pb.ListPricesRequest{})
			return err
		}},
		{"job states", caps.JobStates, func() error {
			_, err := pb.NewStatesClient(cc).JobStates(ctx, &pb.JobStatesRequest{})
			return err
		}},
	}
	var errs []error
	for _, k := range calls {
		err := k.call()
		switch {
		case k.declared && !answered(err):
			errs = append(errs, fmt.Errorf("%s is declared but not served", k.name))
		case !k.declared && answered(err):
			errs = append(errs, fmt.Errorf("%s is served but not declared (got %v)", k.name, err))
		}
	}
	if caps.Plan {
		p, err := c.conn.Plan(ctx, c.cfg.LongJob)
		if err != nil {
			errs = append(errs, fmt.Errorf("plan is declared but Plan(LongJob) failed: %v", err))
		} else if len(p.Requests) == 0 || p.Requests[0].Body == "" {
			errs = append(errs, errors.New("Plan(LongJob) rendered no request"))
		}
	}
	return errors.Join(errs...)
}

func (c *checker) typedErrors(ctx context.Context) error {
	var errs []error
	_, err := c.conn.Status(ctx, "neural-conformance-no-such-job")
	var se *sdk.Error
	if !errors.As(err, &se) || !(errors.Is(err, sdk.ErrNotFound) || errors.Is(err, sdk.ErrInvalidArgument)) {
		errs = append(errs, fmt.Errorf("Status of a missing job returned %v; want an error of kind not found (or invalid argument)", err))
	}
	bad := c.cfg.LongJob
	bad.Resources.GPUs = -1
	bad.IdempotencyKey = "neural-conformance-invalid"
	_, err = c.conn.Submit(ctx, bad)
	if !errors.Is(err, sdk.ErrInvalidArgument) || !errors.As(err, &se) || !strings.Contains(err.Error(), "resources.gpus") {
		errs = append(errs, fmt.Errorf("Submit with resources.gpus=-1 returned %v; want invalid argument naming resources.gpus", err))
	}
	return errors.Join(errs...)
}

func (c *checker) largeMessage(ctx context.Context) error {
	id := strings.Repeat("x", LargeMessage)
	_, err := pb.NewPlatformClient(c.conn.ClientConn()).Status(ctx, &pb.JobRequest{Id: id})
	st, _ := status.FromError(err)
	if err != nil && len(st.Details()) == 0 && (st.Code() == codes.ResourceExhausted || st.Code() == codes.Unavailable || st.Code() == codes.Internal) {
		return fmt.Errorf("a %d MiB request did not reach the plugin: %v (serve with plugin.Serve, which sets the limits)", LargeMessage>>20, err)
	}
	return nil
}

func (c *checker) jobs(ctx context.Context) {
	job := c.cfg.LongJob
	job.IdempotencyKey = fmt.Sprintf("neural-conformance-%d", time.Now().UnixNano())
	// A label, as the host puts on every job, for the job states check to
	// filter by.
	job.Labels = map[string]string{conformanceLabel: fmt.Sprintf("%x", time.Now().UnixNano())}
	for k, v := range c.cfg.LongJob.Labels {
		job.Labels[k] = v
	}
	first, err := c.conn.Submit(ctx, job)
	if !c.add("submit", err, "") {
		return
	}
	again, err := c.conn.Submit(ctx, job)
	if err == nil && again.ID != first.ID {
		err = fmt.Errorf("a second Submit with the same idempotency key started job %q beside %q", again.ID, first.ID)
	}
	c.add("idempotent submit", err, "a repeated key returned job "+first.ID)
	states := c.conn.Metadata().Capabilities.JobStates
	var statesErrs []error
	if states {
		statesErrs = append(statesErrs, c.jobStates(ctx, job, first, true))
	}

	// A followed log stream must end when its context does.
	grace := c.cfg.CallGrace
	if grace == 0 {
		grace = 10 * time.Second
	}
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	done := make(chan error, 1)
	go func() {
		done <- c.conn.Logs(lctx, sdk.LogsRequest{ID: first.ID, Follow: true}, func(sdk.LogEntry) error { return nil })
	}()
	select {
	case err = <-done:
		if err == nil || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			err = fmt.Errorf("following the logs of a running job ended with %v before its context did; LongJob must run for minutes", err)
		} else {
			err = nil
		}
	case <-time.After(time.Second + grace):
		err = fmt.Errorf("a followed Logs call went on %s after its context ended", grace)
	}
	cancel()
	// The client gives up at once; the plugin's handler must stop too,
	// which the SDK notes in the plugin's log.
	if err == nil {
		deadline := time.Now().Add(grace)
		for !c.logs.contains(wire.MsgCancelledReturned) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !c.logs.contains(wire.MsgCancelledReturned) {
			err = fmt.Errorf("the plugin's Logs handler went on for %s after its context ended; watch ctx.Done()", grace)
		}
	}
	c.add("context cancellation", err, "a followed Logs call ended with its context")

	_, err = c.conn.Cancel(ctx, first.ID)
	if err == nil {
		err = waitTerminal(ctx, c.conn, first.ID)
	}
	if c.add("cancel", err, "the job reached the cancelled state") && states {
		// A listing of active jobs may leave an ended one to Status.
		statesErrs = append(statesErrs, c.jobStates(ctx, job, first, false))
	}
	if states {
		c.add("job states", errors.Join(statesErrs...), "JobStates reports the running job as Status does, the cancelled one too if it lists it, and leaves out an unknown id")
	}
}

// conformanceLabel is the label key the job states check filters by.
const conformanceLabel = "neural-conformance"

// jobStates checks that the plugin's listing reports the submitted job
// with the state Status reports, before or after it, and leaves out an id
// it does not know. With mustList false the job may be left out.
func (c *checker) jobStates(ctx context.Context, spec sdk.JobSpec, submitted sdk.JobStatus, mustList bool) error {
	const ghost = "neural-conformance-no-such-job"
	before, err := c.conn.Status(ctx, submitted.ID)
	if err != nil {
		return err
	}
	req := sdk.JobStatesRequest{IDs: []string{submitted.ID, ghost}, Labels: spec.Labels}
	if !before.CreatedAt.IsZero() {
		req.CreatedAfter = before.CreatedAt.Add(-10 * time.Minute)
	}
	var listed []sdk.JobStatus
	for page := 0; ; page++ {
		if page == lookupPages {
			return fmt.Errorf("JobStates did not finish listing within %d pages", lookupPages)
		}
		resp, err := c.conn.JobStates(ctx, req)
		if err != nil {
			return fmt.Errorf("JobStates failed: %w", err)
		}
		listed = append(listed, resp.Jobs...)
		if resp.NextPageToken == "" {
			break
		}
		req.PageToken = resp.NextPageToken
	}
	after, err := c.conn.Status(ctx, submitted.ID)
	if err != nil {
		return err
	}
	var found *sdk.JobStatus
	for i, st := range listed {
		switch st.ID {
		case ghost:
			return fmt.Errorf("JobStates listed %q, an id the platform does not have", ghost)
		case submitted.ID:
			found = &listed[i]
		}
	}
	switch {
	case found == nil && !mustList:
		return nil
	case found == nil:
		return fmt.Errorf("JobStates did not list job %s, which Status reports %s", submitted.ID, after.State)
	case found.State != before.State && found.State != after.State:
		return fmt.Errorf("JobStates says job %s is %s; Status says %s", submitted.ID, found.State, after.State)
	case found.Terminal != found.State.Terminal():
		return fmt.Errorf("JobStates says job %s is %s with terminal=%v", submitted.ID, found.State, found.Terminal)
	case found.RawState != before.RawState && found.RawState != after.RawState:
		return fmt.Errorf("JobStates gives job %s the raw state %q; Status gives %q", submitted.ID, found.RawState, after.RawState)
	}
	return nil
}

// lookupPages bounds how many pages of a listing a check reads.
const lookupPages = 1000

func waitTerminal(ctx context.Context, p sdk.Platform, id string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for delay := 50 * time.Millisecond; ; delay = min(delay*2, 2*time.Second) {
		st, err := p.Status(ctx, id)
		if err != nil {
			return err
		}
		if st.Terminal {
			if st.State != sdk.StateCancelled {
				return fmt.Errorf("the cancelled job ended %s (%s)", st.State, st.RawState)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the job was still %s two minutes after Cancel", st.State)
		}
		time.Sleep(delay)
	}
}

// shutdown judges how the plugin ended.
func shutdown(r plugin.ShutdownReport, pid int) error {
	switch {
	case !r.Graceful:
		return fmt.Errorf("plugin process %d did not exit within 2s of the host closing the connection", pid)
	case r.Leftovers:
		return fmt.Errorf("processes of the plugin's group %d outlived it; a plugin must not leave children behind", pid)
	}
	return nil
}
