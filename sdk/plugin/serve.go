package plugin

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/internal/wire"
	"github.com/neural-dsl/neural-host/sdk/pluginlog"
	"google.golang.org/grpc"
)

// Environment variables a plugin reads at start-up.
const (
	// EnvLogLevel sets the plugin's log level (trace, debug, info, warn, error).
	EnvLogLevel = pluginlog.EnvLevel
	// EnvDebug, when set, makes Serve run the plugin standalone and print
	// the NEURAL_REATTACH_PLUGINS value that lets a host attach to it.
	EnvDebug = "NEURAL_PLUGIN_DEBUG"
)

// Serve runs impl as a plugin until the host disconnects. It never returns
// normally. Plugin logs go to stderr as JSON, which the host files per plugin;
// plugin code logs with pluginlog.Logger, and plain lines it writes to
// os.Stderr or os.Stdout reach the same file at info level.
//
// Run by hand as `neural-plugin-NAME --version`, it prints its version and
// exits.
func Serve(impl sdk.Platform) {
	meta := wire.Describe(impl)
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println(meta.Version)
		os.Exit(0)
	}
	logger := pluginlog.Logger()
	cfg := &goplugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: pluginSets(impl, logger),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize))
			return grpc.NewServer(opts...)
		},
		Logger: logger,
	}
	if os.Getenv(EnvDebug) != "" {
		serveDebug(cfg, meta.Name)
		return
	}
	tlsConfig, certLine, ok, err := pluginTLS()
	if err != nil {
		logger.Error("plugin: mTLS set-up failed", "error", err)
		os.Exit(1)
	}
	if ok {
		cfg.TLSProvider = func() (*tls.Config, error) { return tlsConfig, nil }
		// Before go-plugin's handshake line, which the host reads next.
		os.Stdout.WriteString(certLine)
	}
	keepExecutableFromChildren()
	go watchParent()
	goplugin.Serve(cfg)
	os.Exit(0)
}

// watchParent ends the plugin when the host dies without shutting it down,
// as after SIGKILL: the plugin is then re-parented and must not live on,
// nor must anything it started.
func watchParent() {
	parent := os.Getppid()
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			orphaned()
		}
	}
}

// orphaned ends a plugin whose host is gone, with its process group when
// the host made it the leader of one: the group holds everything the
// plugin started and did not move elsewhere. Nothing is logged: the host
// was the log's reader, and a write to a pipe no one reads would end the
// plugin by SIGPIPE before it kills its group.
func orphaned() {
	if syscall.Getpgrp() == os.Getpid() {
		_ = syscall.Kill(0, syscall.SIGKILL)
	}
	os.Exit(3)
}

// serveDebug runs the plugin standalone for a debugger and prints how a host
// can attach to it.
func serveDebug(cfg *goplugin.ServeConfig, name string) {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ch := make(chan *goplugin.ReattachConfig, 1)
	closed := make(chan struct{})
	cfg.Test = &goplugin.ServeTestConfig{Context: ctx, ReattachConfigCh: ch, CloseCh: closed}
	go goplugin.Serve(cfg)
	select {
	case rc := <-ch:
		b, _ := json.Marshal(map[string]ReattachInfo{name: reattachInfo(rc)})
		fmt.Printf("Plugin %s is running for debugging. Attach a host with:\n\n\texport %s='%s'\n\nStop it with Ctrl-C.\n", name, EnvReattach, b)
	case <-closed:
		return
	}
	<-closed
}
