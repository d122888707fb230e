// Package sdktest checks that a built plugin binary honours the plugin
// contract, by what its answers mean and not only by their shape: it starts
// and shakes hands, describes itself sanely, answers for every capability
// it declares and refuses every one it does not, keeps error kinds across
// the process boundary, accepts 16 MiB messages, never starts a job twice
// for one idempotency key, stops a call when its context ends, finds jobs
// by the host's labels and by state, walks every page, resumes logs after
// a cursor with no repeats and no gaps, reports a succeeded job's metrics
// and a failed job's error, treats cancelling a finished job as no error,
// cancels jobs, reports through its job listing (when it has one) the
// states Status reports, keeps secret settings out of errors, and exits cleanly
// without leaving processes behind. Every check says what it exercised.
//
// Besides LongJob, the suite submits two Python jobs of its own
// (ScriptName): one that prints ScriptLines lines and writes
// ScriptMetrics to $NEURAL_OUTPUT_DIR/metrics.json, and one that fails.
// A check that cannot apply to a platform's test environment is named in
// Config.NotApplicable with the reason, never skipped silently.
//
// Plugin authors call Run from a go test in their own module; neural-host
// runs the same checks with `neural-host plugins conformance BINARY`. The
// package checks behaviour, not platform specifics: point the plugin at a
// local fake of its platform with Config.Env. NewHarness drives a plugin
// in-process for the author's own tests, and WaitTerminal and Eventually
// wait on jobs and platforms in them.
package sdktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/sdk"
	pb "github.com/neural-dsl/neural-host/sdk/internal/platformpb"
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
	// JobTimeout bounds how long the suite's short script jobs may take to
	// end; zero means 2 minutes.
	JobTimeout time.Duration
	// Settle is how long a listing or a job's log may lag behind the
	// platform; zero means 30 seconds.
	Settle time.Duration
	// NotApplicable names checks that cannot apply to the platform under
	// test, each with the reason, which the check reports instead of
	// running. A name that is no check fails the suite.
	NotApplicable map[string]string
}

// Checks are the names of the checks Check runs, in order.
var Checks = []string{"handshake", "metadata", "configure", "capabilities", "typed errors", "16 MiB message",
	"submit", "idempotent submit", "submit script jobs", "context cancellation", "list by label",
	"result of a succeeded job", "result of a failed job", "list by state", "page tokens", "logs resume",
	"cancel a finished job", "cancel", "secrets in errors", "clean shutdown"}

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
	// settings are what Configure was given.
	settings sdk.Config
	// errs are the errors the plugin returned, for the secrets check.
	errs    []callError
	cleanup []func()
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

// callError is an error a call to the plugin returned.
type callError struct {
	call string
	err  error
}

// note records err, which the call to the plugin returned, and returns it.
func (c *checker) note(call string, err error) error {
	if err != nil {
		c.errs = append(c.errs, callError{call, err})
	}
	return err
}

// checkApplicable runs check unless the configuration says it cannot
// apply, and reports whether it passed (or was not applicable).
func (c *checker) checkApplicable(name string, check func() (string, error)) bool {
	if why, ok := c.cfg.NotApplicable[name]; ok {
		c.results = append(c.results, Result{Check: name, OK: true, Detail: "not applicable: " + why})
		return true
	}
	detail, err := check()
	return c.add(name, err, detail)
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
	defer func() {
		for _, f := range c.cleanup {
			f()
		}
	}()
	var unknown []string
	for name := range cfg.NotApplicable {
		if !slices.Contains(Checks, name) {
			unknown = append(unknown, strconv.Quote(name))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return []Result{{Check: "config", Detail: fmt.Sprintf("NotApplicable names %s, which is no check; the checks are %q", strings.Join(unknown, ", "), Checks)}}
	}
	logger := hclog.New(&hclog.LoggerOptions{Output: c.logs, Level: hclog.Trace, JSONFormat: true})
	conn, err := plugin.Launch(ctx, plugin.LaunchConfig{Path: cfg.Binary, StartTimeout: cfg.StartTimeout, Logger: logger,
		Env: append(append(os.Environ(), plugin.EnvLogLevel+"=debug"), cfg.Env...)})
	if !c.add("handshake", err, "the plugin started and completed the go-plugin handshake") {
		return c.results
	}
	c.conn = conn
	pid := conn.Pid()
	defer conn.Close()
	m := conn.Metadata()
	c.add("metadata", c.metadata(), fmt.Sprintf("platform %s version %s declares %d settings and %d job options, each well formed", m.Name, m.Version, len(m.Config), len(m.JobOptions)))
	if !c.add("configure", c.note("Configure", c.configure(ctx)), fmt.Sprintf("Configure accepted %d resolved settings", len(c.settings))) {
		return c.results
	}
	c.add("capabilities", c.capabilities(ctx), "each declared capability answers; each undeclared one is unimplemented")
	c.add("typed errors", c.typedErrors(ctx), "Status of a missing job is not found; Submit with resources.gpus=-1 is invalid argument naming the field")
	c.add("16 MiB message", c.largeMessage(ctx), fmt.Sprintf("a %d MiB Status request reached the plugin", LargeMessage>>20))
	c.jobs(ctx)
	c.checkApplicable("secrets in errors", func() (string, error) { return c.secrets(ctx) })
	c.add("clean shutdown", shutdown(conn.Shutdown(), pid), "the plugin exited when asked and left no process behind")
	return c.results
}

// Run runs Check and reports each check as a subtest that logs what it
// exercised or fails with what went wrong.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, r := range Check(ctx, cfg) {
		t.Run(strings.ReplaceAll(r.Check, " ", "_"), func(t *testing.T) {
			if !r.OK {
				t.Error(r.Detail)
				return
			}
			t.Log(r.Detail)
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
	c.settings = cfg
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
		if c.note("Plan(LongJob)", err) != nil {
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
	c.note("Status(missing job)", err)
	var se *sdk.Error
	if !errors.As(err, &se) || !(errors.Is(err, sdk.ErrNotFound) || errors.Is(err, sdk.ErrInvalidArgument)) {
		errs = append(errs, fmt.Errorf("Status of a missing job returned %v; want an error of kind not found (or invalid argument)", err))
	}
	bad := c.cfg.LongJob
	bad.Resources.GPUs = -1
	bad.IdempotencyKey = "neural-conformance-invalid"
	_, err = c.conn.Submit(ctx, bad)
	c.note("Submit(resources.gpus=-1)", err)
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
