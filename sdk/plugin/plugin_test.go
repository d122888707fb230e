package plugin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/plugin"
)

var testPlugin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sdk-plugin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testPlugin = filepath.Join(dir, "neural-plugin-testplugin")
	code := 1
	if out, err := exec.Command("go", "build", "-o", testPlugin, "../sdktest/testdata/testplugin").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the test plugin: %v\n%s", err, out)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestCloseKillsTheProcessGroup(t *testing.T) {
	conn, err := plugin.Launch(context.Background(), plugin.LaunchConfig{Name: "testplugin", Path: testPlugin,
		Env: append(os.Environ(), "TESTPLUGIN_MODE=orphan")})
	if err != nil {
		t.Fatal(err)
	}
	pid := conn.Pid()
	if pid <= 0 {
		t.Fatalf("Pid() = %d", pid)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("plugin %d is not running: %v", pid, err)
	}
	// In orphan mode, Submit leaves a child in the plugin's process group.
	if _, err := conn.Submit(context.Background(), sdk.JobSpec{Kind: sdk.KindCommand, Command: []string{"x"}, IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	r := conn.Shutdown()
	if !r.Graceful || !r.Leftovers {
		t.Errorf("Shutdown() = %+v; want a graceful exit that left the group's sleep behind", r)
	}
	// SIGKILL is delivered asynchronously: give the kernel a moment.
	deadline := time.Now().Add(5 * time.Second)
	for liveMember(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if liveMember(pid) {
		t.Errorf("process group %d still has live members after Shutdown", pid)
	}
}

// liveMember reports whether group pgid has a process that is not a zombie.
func liveMember(pgid int) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			return true
		}
	}
	return false
}

func TestChecksumRefusesBeforeStart(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	_, err := plugin.Launch(context.Background(), plugin.LaunchConfig{Path: testPlugin, SHA256: make([]byte, 32),
		Env: append(os.Environ(), "TESTPLUGIN_CALLS="+marker)})
	if !errors.Is(err, plugin.ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
}

// holdingWrapper writes a script that starts a child holding its stdout and
// stderr, notes its own pid in pidFile, then execs the test plugin.
func holdingWrapper(t *testing.T, pidFile string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "neural-plugin-testplugin")
	script := "#!/bin/sh\nsleep 1000 &\necho $$ > " + pidFile + "\nexec " + testPlugin + ` "$@"` + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-pid, syscall.SIGKILL) })
	return pid
}

// within runs f, failing the test if it has not returned after a minute:
// what it catches is a call that never returns.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s did not return", what)
	}
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

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestShutdownDoesNotWaitForChildHoldingOutput(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	logs := &syncBuffer{}
	conn, err := plugin.Launch(context.Background(), plugin.LaunchConfig{Name: "testplugin", Path: holdingWrapper(t, pidFile), Env: os.Environ(),
		Logger: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace})})
	if err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, pidFile)
	var r plugin.ShutdownReport
	within(t, "Shutdown", func() { r = conn.Shutdown() })
	if want := (plugin.ShutdownReport{Graceful: true, Leftovers: true}); r != want {
		t.Errorf("Shutdown() = %+v, want %+v", r, want)
	}
	awaitGroupGone(t, pid)
	if strings.Contains(logs.String(), "failed to exit gracefully") {
		t.Errorf("a plugin that exited when asked was logged as killed:\n%s", logs)
	}
}

func TestFailedStartKillsTheGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	var err error
	within(t, "Launch", func() {
		// In stdout mode the plugin breaks the handshake.
		_, err = plugin.Launch(context.Background(), plugin.LaunchConfig{Name: "testplugin", Path: holdingWrapper(t, pidFile),
			Env: append(os.Environ(), "TESTPLUGIN_MODE=stdout")})
	})
	if err == nil {
		t.Fatal("Launch succeeded")
	}
	awaitGroupGone(t, readPid(t, pidFile))
}

// awaitGroupGone fails the test unless group pgid soon has no live
// member: SIGKILL is delivered asynchronously.
func awaitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for liveMember(pgid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if liveMember(pgid) {
		t.Errorf("process group %d still has live members", pgid)
	}
}
