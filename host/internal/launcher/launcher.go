// Package launcher starts the plugins one command needs, configures them,
// and stops every one of them when the command ends. A plugin is started at
// most once per command. Each plugin's own log goes to a file of its own.
package launcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/host/internal/discovery"
	"github.com/neural-dsl/neural-host/host/internal/settings"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/plugin"
)

// Manager owns the plugin processes of one command.
type Manager struct {
	// Dirs is the plugin search path.
	Dirs []string
	// LogDir receives one NAME.log per plugin.
	LogDir string
	// LogLevel is passed to plugins; empty means info.
	LogLevel string
	// StartTimeout bounds a plugin's start; zero means 30 seconds.
	StartTimeout time.Duration
	// Settings are the config file's per-platform values.
	Settings settings.File
	// Logger is the host's own logger.
	Logger hclog.Logger

	mu      sync.Mutex
	conns   map[string]*entry
	secrets []string
}

type entry struct {
	conn    *plugin.Conn
	logPath string
	logFile *os.File
}

// NotInstalledError says no binary was found for a platform.
type NotInstalledError struct {
	Name string
	Dirs []string
}

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("launcher: platform %q is not installed (looked for %s%s in %v)", e.Name, discovery.Prefix, e.Name, e.Dirs)
}

// CrashError says a plugin died during a call.
type CrashError struct {
	Name    string
	LogPath string
}

func (e *CrashError) Error() string {
	return fmt.Sprintf("plugin %s stopped unexpectedly; its log is at %s", e.Name, e.LogPath)
}

// LogPath is where the plugin called name writes its log.
func (m *Manager) LogPath(name string) string { return filepath.Join(m.LogDir, name+".log") }

// Get returns the running, configured plugin for platform name, starting it
// on first use.
func (m *Manager) Get(ctx context.Context, name string) (*plugin.Conn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.conns[name]; ok {
		return e.conn, nil
	}
	e, err := m.launch(ctx, name)
	if err != nil {
		return nil, err
	}
	meta := e.conn.Metadata()
	cfg, err := settings.Resolve(name, meta.Config, m.Settings.Platforms[name], os.Getenv)
	m.secrets = append(m.secrets, settings.Secrets(meta.Config, cfg)...)
	if err == nil {
		err = e.conn.Configure(ctx, cfg)
	}
	if err != nil {
		e.close()
		return nil, m.explain(e, name, err)
	}
	if m.conns == nil {
		m.conns = map[string]*entry{}
	}
	m.conns[name] = e
	return e.conn, nil
}

// Metadata starts the plugin only to read what it says of itself; it is
// not configured.
func (m *Manager) Metadata(ctx context.Context, name string) (sdk.Metadata, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.conns[name]; ok {
		return e.conn.Metadata(), e.logPath, nil
	}
	e, err := m.launch(ctx, name)
	if err != nil {
		return sdk.Metadata{}, "", err
	}
	defer e.close()
	return e.conn.Metadata(), e.logPath, nil
}

func (m *Manager) launch(ctx context.Context, name string) (*entry, error) {
	cfg := plugin.LaunchConfig{Name: name, StartTimeout: m.StartTimeout}
	if r, ok := reattach(name); ok {
		cfg.Reattach = r
		m.Logger.Warn("attaching to a running plugin for debugging", "plugin", name, "pid", r.Pid)
	} else {
		p, ok := discovery.Lookup(m.Dirs, name)
		if !ok {
			return nil, &NotInstalledError{Name: name, Dirs: m.Dirs}
		}
		cfg.Path = p.Path
	}
	if err := os.MkdirAll(m.LogDir, 0o700); err != nil {
		return nil, fmt.Errorf("launcher: %w", err)
	}
	e := &entry{logPath: m.LogPath(name)}
	f, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("launcher: %w", err)
	}
	e.logFile = f
	level := m.LogLevel
	if level == "" {
		level = "info"
	}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "neural-host", Output: f, Level: hclog.Trace, JSONFormat: true})
	cfg.Env = append(os.Environ(), plugin.EnvLogLevel+"="+level)
	conn, err := plugin.Launch(ctx, cfg)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w; its log is at %s", err, e.logPath)
	}
	e.conn = conn
	m.Logger.Debug("plugin started", "plugin", name, "pid", conn.Pid(), "log", e.logPath)
	return e, nil
}

func reattach(name string) (*plugin.ReattachInfo, bool) {
	raw := os.Getenv(plugin.EnvReattach)
	if raw == "" {
		return nil, false
	}
	var all map[string]plugin.ReattachInfo
	if json.Unmarshal([]byte(raw), &all) != nil {
		return nil, false
	}
	r, ok := all[name]
	return &r, ok
}

func (e *entry) close() {
	if e.conn != nil {
		e.conn.Close()
	}
	if e.logFile != nil {
		e.logFile.Close()
	}
}

// Explain turns an error from a call into a *CrashError when the plugin
// that served it died; other errors pass through.
func (m *Manager) Explain(err error) error {
	if err == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, e := range m.conns {
		if x := m.explain(e, name, err); x != err {
			return x
		}
	}
	return err
}

func (m *Manager) explain(e *entry, name string, err error) error {
	var ce *CrashError
	if errors.As(err, &ce) || e.conn == nil {
		return err
	}
	if e.conn.Lost(err) {
		return &CrashError{Name: name, LogPath: e.logPath}
	}
	return err
}

// Secrets returns the secret setting values handed to plugins so far, so
// that output can be redacted.
func (m *Manager) Secrets() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.secrets...)
}

// Close stops every plugin this manager started.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, e := range m.conns {
		e.close()
		delete(m.conns, name)
	}
}
