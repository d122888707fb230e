package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/host/internal/discovery"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

// pluginDir holds neural-plugin-testplugin, built once in TestMain.
var pluginDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "launcher-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginDir = dir
	code := 1
	root, _ := filepath.Abs("../../..")
	if err := sdktest.Build(root, dir, map[string]string{"./sdk/sdktest/testdata/testplugin": "neural-plugin-testplugin"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func manager(t *testing.T) *Manager {
	t.Helper()
	m := &Manager{Resolver: &discovery.Resolver{SearchDirs: []string{pluginDir}}, LogDir: t.TempDir(), Logger: hclog.NewNullLogger(),
		StartTimeout: 20 * time.Second}
	t.Cleanup(m.Close)
	return m
}

// gone polls until process pid has exited, or the deadline passes.
func gone(pid int) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func TestGetStartsAPluginOnceAndCloseStopsIt(t *testing.T) {
	m := manager(t)
	ctx := context.Background()
	first, err := m.Get(ctx, "testplugin")
	if err != nil {
		t.Fatal(err)
	}
	again, err := m.Get(ctx, "testplugin")
	if err != nil || again != first {
		t.Fatalf("second Get = %p, %v; want the first connection %p", again, err, first)
	}
	if _, err := os.Stat(m.LogPath("testplugin")); err != nil {
		t.Errorf("no plugin log: %v", err)
	}
	pid := first.Pid()
	m.Close()
	if !gone(pid) {
		t.Errorf("plugin %d still runs after Close", pid)
	}
}

func TestGetRefusesWhatIsNotInstalled(t *testing.T) {
	tests := []struct {
		name string
		want func(error) bool
	}{
		{"absent", func(err error) bool { var e *discovery.NotInstalledError; return errors.As(err, &e) }},
		{"../escape", func(err error) bool { return errors.Is(err, sdk.ErrInvalidArgument) }},
	}
	for _, tc := range tests {
		m := manager(t)
		_, err := m.Get(context.Background(), tc.name)
		if !tc.want(err) {
			t.Errorf("%s: Get = %v", tc.name, err)
		}
		if entries, _ := os.ReadDir(m.LogDir); len(entries) != 0 {
			t.Errorf("%s: a log file was made for a plugin that never started", tc.name)
		}
	}
}

func TestExplainNamesACrashedPlugin(t *testing.T) {
	m := manager(t)
	ctx := context.Background()
	conn, err := m.Get(ctx, "testplugin")
	if err != nil {
		t.Fatal(err)
	}
	other := errors.New("a platform error")
	if got := m.Explain(other); got != other {
		t.Errorf("Explain changed an ordinary error: %v", got)
	}
	if m.Explain(nil) != nil {
		t.Error("Explain(nil) is not nil")
	}
	syscall.Kill(conn.Pid(), syscall.SIGKILL)
	gone(conn.Pid())
	_, err = conn.Status(ctx, "1")
	var ce *CrashError
	if !errors.As(m.Explain(err), &ce) || ce.Name != "testplugin" || ce.LogPath != m.LogPath("testplugin") {
		t.Errorf("Explain(%v) = %v, want a CrashError naming the plugin and its log", err, m.Explain(err))
	}
}

func TestMetadataOfAnUninstalledBinaryStartsItUnconfigured(t *testing.T) {
	m := manager(t)
	meta, p, err := m.Metadata(context.Background(), "testplugin")
	if err != nil || meta.Name != "testplugin" || p.Source != discovery.FromSearchPath {
		t.Errorf("Metadata = %+v, %+v, %v", meta, p, err)
	}
	if len(m.conns) != 0 {
		t.Error("Metadata kept the plugin running")
	}
}
