package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
