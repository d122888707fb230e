package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/internal/wire"
	"google.golang.org/grpc"
)

// EnvReattach holds JSON mapping plugin names to ReattachInfo; the host
// attaches to those running plugins instead of starting binaries.
const EnvReattach = "NEURAL_REATTACH_PLUGINS"

// ReattachInfo is how to reach a plugin that is already running.
type ReattachInfo struct {
	Protocol        string `json:"protocol"`
	ProtocolVersion int    `json:"protocol_version"`
	Network         string `json:"network"`
	Address         string `json:"address"`
	Pid             int    `json:"pid"`
}

func reattachInfo(rc *goplugin.ReattachConfig) ReattachInfo {
	return ReattachInfo{Protocol: string(rc.Protocol), ProtocolVersion: rc.ProtocolVersion,
		Network: rc.Addr.Network(), Address: rc.Addr.String(), Pid: rc.Pid}
}

// LaunchConfig says how to start or reach one plugin.
type LaunchConfig struct {
	// Name is the plugin's platform name, used in messages.
	Name string
	// Path is the plugin binary. Ignored when Reattach is set.
	Path string
	// Reattach, when non-nil, attaches to a running plugin instead.
	Reattach *ReattachInfo
	// Logger receives the plugin's own log lines; nil discards them.
	Logger hclog.Logger
	// StartTimeout bounds how long the plugin may take to start; zero means
	// 30 seconds.
	StartTimeout time.Duration
	// SHA256 is the binary's expected sha256; nil skips the check. The
	// binary is hashed afresh at every launch and not started on a
	// mismatch; the bytes hashed are the bytes executed.
	SHA256 []byte
	// Env is added to the plugin's environment.
	Env []string
}

// Conn is a running plugin. It implements sdk.Platform and every optional
// interface; calls to a capability the plugin lacks fail with
// sdk.ErrUnsupported.
type Conn struct {
	*wire.Client
	name   string
	conn   *grpc.ClientConn
	client *goplugin.Client
	runner *checkedRunner // nil when attached to a running plugin
	pid    int
	owned  bool
}

// Launch starts the plugin and reads its metadata.
func Launch(ctx context.Context, cfg LaunchConfig) (*Conn, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	cc := &goplugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: pluginSets(nil, nil),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Managed:          true,
		Logger:           cfg.Logger,
		StartTimeout:     cfg.StartTimeout,
		SyncStdout:       &stdioLogger{log: cfg.Logger.Named(filepath.Base(cfg.Path)), stream: "stdout"},
		SyncStderr:       &stdioLogger{log: cfg.Logger.Named(filepath.Base(cfg.Path)), stream: "stderr"},
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize))},
	}
	owned := cfg.Reattach == nil
	var (
		started *checkedRunner
		binary  *pendingBinary
	)
	if owned {
		// mTLS as AutoMTLS does it, on a faster curve (see mtls.go).
		tlsConfig, certEnv, err := hostCertificate()
		if err != nil {
			return nil, err
		}
		if cfg.SHA256 != nil {
			binary = verifyBinary(cfg.Path, cfg.SHA256)
		}
		cc.TLSConfig = tlsConfig
		cc.RunnerFunc = newRunner(cfg.Path, append(append([]string(nil), cfg.Env...), certEnv...), binary, tlsConfig, &started)
	} else {
		addr, err := reattachAddr(cfg.Reattach)
		if err != nil {
			return nil, err
		}
		cc.Reattach = &goplugin.ReattachConfig{Protocol: goplugin.Protocol(cfg.Reattach.Protocol),
			ProtocolVersion: cfg.Reattach.ProtocolVersion, Addr: addr, Pid: cfg.Reattach.Pid, Test: true}
		// go-plugin negotiates no version on reattach: name the set to use.
		cc.Plugins = cc.VersionedPlugins[cfg.Reattach.ProtocolVersion]
	}
	gp := goplugin.NewClient(cc)
	c := &Conn{name: cfg.Name, client: gp, owned: owned}
	rpc, err := gp.Client()
	if err != nil {
		// Kill returns once a started process is reaped, so the binary
		// is no longer in use.
		gp.Kill()
		binary.release()
		return nil, launchError(cfg.Name, cfg.Path, err)
	}
	c.runner = started
	if started != nil && started.cmd.Process != nil {
		c.pid = started.cmd.Process.Pid
	} else if rc := gp.ReattachConfig(); rc != nil {
		c.pid = rc.Pid
	}
	if g, ok := rpc.(*goplugin.GRPCClient); ok {
		c.conn = g.Conn
	}
	raw, err := rpc.Dispense(pluginName)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("plugin: %s: %w", cfg.Name, err)
	}
	c.Client = raw.(*wire.Client)
	if got := c.Client.Metadata().Name; got != cfg.Name && cfg.Name != "" {
		c.Close()
		return nil, fmt.Errorf("plugin: binary for %q says it is plugin %q", cfg.Name, got)
	}
	return c, nil
}

func reattachAddr(r *ReattachInfo) (net.Addr, error) {
	switch r.Network {
	case "unix":
		return net.ResolveUnixAddr("unix", r.Address)
	case "tcp":
		return net.ResolveTCPAddr("tcp", r.Address)
	}
	return nil, fmt.Errorf("plugin: reattach network %q is not unix or tcp", r.Network)
}

var (
	versionMismatchRE = regexp.MustCompile(`(?i)incompatible API version with plugin. Plugin version: (\S+), Client versions: \[?([^\]\n]*)\]?`)
	strayOutputRE     = regexp.MustCompile(`Unrecognized remote plugin message: ([^\n]*)`)
)

func launchError(name, path string, err error) error {
	if name == "" {
		name = filepath.Base(path)
	}
	msg := err.Error()
	switch {
	case errors.Is(err, ErrChecksum):
		return err
	case versionMismatchRE.MatchString(msg):
		m := versionMismatchRE.FindStringSubmatch(msg)
		return &sdk.Error{Kind: sdk.ErrUnsupported, Message: fmt.Sprintf("plugin %s speaks plugin protocol %s; this neural-host speaks %s", name, m[1], strings.TrimSpace(m[2])),
			Hint: "install a version of the plugin built for protocol " + strings.TrimSpace(m[2]) + ", or a neural-host that speaks " + m[1]}
	case strayOutputRE.MatchString(msg):
		m := strayOutputRE.FindStringSubmatch(msg)
		return &sdk.Error{Message: fmt.Sprintf("plugin %s wrote %q to stdout before the plugin handshake", name, m[1]),
			Hint: "a plugin must not print to stdout; log to stderr instead (the plugin's author must fix this)"}
	}
	return fmt.Errorf("plugin: %s failed to start: %w", name, err)
}

// Pid is the plugin's process id; zero if unknown.
func (c *Conn) Pid() int { return c.pid }

// Exited reports whether the plugin process has ended.
func (c *Conn) Exited() bool { return c.client.Exited() }

// Lost reports whether err means the plugin process died or became
// unreachable during the call. It waits briefly for the process to be
// reaped, since a dropped connection is seen before the exit.
func (c *Conn) Lost(err error) bool {
	var te *wire.TransportError
	if !errors.As(err, &te) {
		return c.Exited()
	}
	deadline := time.Now().Add(2 * time.Second)
	for !c.Exited() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// ClientConn is the plugin's gRPC connection, for conformance checks that
// look at the wire directly.
func (c *Conn) ClientConn() *grpc.ClientConn { return c.conn }

// Close stops the plugin and kills its whole process group.
func (c *Conn) Close() { c.Shutdown() }

// ShutdownReport says how a plugin ended.
type ShutdownReport struct {
	// Graceful is true when the plugin exited on its own once asked.
	Graceful bool
	// Leftovers is true when processes of its group outlived it; they are
	// killed.
	Leftovers bool
}

// Shutdown asks the plugin to exit, gives it two seconds, then kills it;
// anything left in its process group is killed as soon as it has exited.
// It never waits on a child of the plugin: one that holds the plugin's
// output is cut off shortly after.
func (c *Conn) Shutdown() ShutdownReport {
	if !c.owned {
		return ShutdownReport{Graceful: true}
	}
	// go-plugin's Kill asks: it closes the connection, which stops the
	// plugin's server, and waits for the exit. Closing the connection
	// here first would make that close fail, and Kill would take a
	// plugin that exited when asked for one that had to be killed.
	c.client.Kill()
	if c.runner == nil {
		return ShutdownReport{Graceful: true}
	}
	return ShutdownReport{Graceful: !c.runner.killed.Load(), Leftovers: c.runner.leftovers.Load()}
}

var _ sdk.Platform = (*Conn)(nil)
