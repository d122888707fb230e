// Package launcher starts the plugins one command needs, configures them,
// and stops every one of them when the command ends. A plugin is started at
// most once per command. Each plugin's own log goes to a file of its own.
package launcher

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/host/internal/discovery"
	"github.com/neural-dsl/neural-host/host/internal/redact"
	"github.com/neural-dsl/neural-host/host/internal/settings"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/plugin"
)

// Manager owns the plugin processes of one command.
type Manager struct {
	// Resolver picks each platform's binary and its expected checksum.
	Resolver *discovery.Resolver
	// LogDir receives one NAME.log per plugin.
	LogDir string
	// LogLevel is passed to plugins; empty means info.
	LogLevel string
	// StartTimeout bounds a plugin's start; zero means 30 seconds.
	StartTimeout time.Duration
	// Settings are the config file's per-platform values.
	Settings settings.File
	// Credentials are the credentials file's per-platform values, which
	// the platform's environment variables override and which override
	// Settings; nil when there are none.
	Credentials map[string]map[string]string
	// Logger is the host's own logger.
	Logger hclog.Logger

	mu     sync.Mutex
	conns  map[string]*entry
	warned map[string]bool
	// secrets are the secret setting values handed to plugins so far,
	// hidden in their log files and in what the host prints.
	secrets redact.Secrets
}

type entry struct {
	conn    *plugin.Conn
	logPath string
	logFile *os.File
}

// ChecksumError says a binary is not the one that was installed or locked.
type ChecksumError struct {
	Name, Path string
	Expected   string
	// Actual is the sha256 of the binary refused; empty when it was
	// refused for changing while it was being verified.
	Actual string
	Source discovery.Source
}

func (e *ChecksumError) Error() string {
	if e.Actual == "" {
		return fmt.Sprintf("refusing to run plugin %s: %s changed while it was being verified against the sha256 %s expects (%s)", e.Name, e.Path, e.Source, e.Expected)
	}
	return fmt.Sprintf("refusing to run plugin %s: %s has sha256 %s, but %s expects %s", e.Name, e.Path, e.Actual, e.Source, e.Expected)
}

// Hint says how to recover.
func (e *ChecksumError) Hint() string {
	return "the binary changed after it was installed; reinstall it from a trusted file with 'neural-host plugins install PATH' (which records the new checksum)"
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
	cfg, err := settings.Resolve(name, meta.Config, os.Getenv, m.Credentials[name], m.Settings.Platforms[name])
	m.secrets.Add(settings.Secrets(meta.Config, cfg)...)
	if err == nil {
		err = e.conn.Configure(ctx, cfg)
	}
	if err != nil {
		// Explained before closing: a closed plugin has exited, and
		// every error would look like a crash.
		err = m.explain(e, name, err)
		e.close()
		return nil, err
	}
	if m.conns == nil {
		m.conns = map[string]*entry{}
	}
	m.conns[name] = e
	return e.conn, nil
}

// Metadata returns what the plugin says of itself: from its install
// manifest when it has one, else by starting it (unconfigured).
func (m *Manager) Metadata(ctx context.Context, name string) (sdk.Metadata, discovery.Plugin, error) {
	p, err := m.Resolver.Resolve(name)
	if err != nil {
		return sdk.Metadata{}, p, err
	}
	if p.Installed != nil {
		return p.Installed.Metadata, p, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.conns[name]; ok {
		return e.conn.Metadata(), p, nil
	}
	e, err := m.launch(ctx, name)
	if err != nil {
		return sdk.Metadata{}, p, err
	}
	defer e.close()
	return e.conn.Metadata(), p, nil
}

func (m *Manager) launch(ctx context.Context, name string) (*entry, error) {
	cfg := plugin.LaunchConfig{Name: name, StartTimeout: m.StartTimeout}
	var resolved discovery.Plugin
	if r, ok := reattach(name); ok {
		cfg.Reattach = r
		m.Logger.Warn("attaching to a running plugin for debugging", "plugin", name, "pid", r.Pid)
	} else {
		p, err := m.Resolver.Resolve(name)
		if err != nil {
			return nil, err
		}
		if p.Warning != "" && !m.warned[name] {
			m.Logger.Warn(p.Warning)
			if m.warned == nil {
				m.warned = map[string]bool{}
			}
			m.warned[name] = true
		}
		cfg.Path = p.Path
		if p.SHA256 != "" {
			sum, err := hex.DecodeString(p.SHA256)
			if err != nil {
				return nil, fmt.Errorf("launcher: %s: bad expected checksum %q", name, p.SHA256)
			}
			cfg.SHA256 = sum
		}
		resolved = p
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
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "neural-host", Output: m.secrets.Writer(f), Level: hclog.Trace, JSONFormat: true})
	cfg.Env = append(os.Environ(), plugin.EnvLogLevel+"="+level)
	conn, err := plugin.Launch(ctx, cfg)
	if err != nil {
		f.Close()
		var ce *plugin.ChecksumError
		if errors.As(err, &ce) {
			// The sum of the bytes refused: hashing the path again could
			// read another file.
			return nil, &ChecksumError{Name: name, Path: resolved.Path, Expected: resolved.SHA256, Actual: hex.EncodeToString(ce.Actual), Source: resolved.Source}
		}
		var se *sdk.Error
		if errors.As(err, &se) {
			return nil, err
		}
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

// Redact hides in text every secret setting value handed to a plugin so
// far: a plugin's message may quote a credential it was given.
func (m *Manager) Redact(text string) string { return m.secrets.String(text) }

// Close stops every plugin this manager started.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, e := range m.conns {
		e.close()
		delete(m.conns, name)
	}
}
