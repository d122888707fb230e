package plugin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/plugin"
)

// syncLog is the host's view of a plugin's log file.
type syncLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) entries() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.buf.String()))
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// TestPluginLogLevels checks that what plugin code logs reaches the host's
// log with its level, and that a plain stderr line is kept at info.
func TestPluginLogLevels(t *testing.T) {
	log := &syncLog{}
	logger := hclog.New(&hclog.LoggerOptions{Output: log, Level: hclog.Trace, JSONFormat: true})
	conn, err := plugin.Launch(context.Background(), plugin.LaunchConfig{Name: "testplugin", Path: testPlugin, Logger: logger,
		Env: append(os.Environ(), "TESTPLUGIN_LOG=1")})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Configure(context.Background(), sdk.Config{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		message, level, key, value string
	}{
		{"a warning", "warn", "job", "j1"},
		{"a plain stderr line", "info", "stream", "stderr"},
	}
	for _, tt := range tests {
		var got map[string]any
		deadline := time.Now().Add(10 * time.Second)
		for got == nil && time.Now().Before(deadline) {
			for _, e := range log.entries() {
				if e["@message"] == tt.message {
					got = e
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got == nil || got["@level"] != tt.level || got[tt.key] != tt.value {
			t.Errorf("entry for %q = %v, want level %s with %s=%s\nlog:\n%s", tt.message, got, tt.level, tt.key, tt.value, log.buf.String())
		}
	}
}
