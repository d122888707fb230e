package plugin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
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
	marker := filepath.Join(t.TempDir(), "started")
	_, err := plugin.Launch(context.Background(), plugin.LaunchConfig{Path: testPlugin, SHA256: make([]byte, 32),
		Env: append(os.Environ(), "TESTPLUGIN_STARTED="+marker)})
	if !errors.Is(err, plugin.ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused binary ran: %s exists (%v)", marker, err)
	}
}

func sha256File(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// argv0 is the first argument process pid was started with.
func argv0(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\x00")
	return first
}

func TestLaunchRunsTheVerifiedFile(t *testing.T) {
	for _, tt := range []struct {
		name string
		// script is the file launched; empty launches a copy of the test
		// plugin.
		script string
		// want is the plugin's argv[0] and executable: the path the
		// plugin was launched by, which ps shows and where the plugin
		// finds itself, unless a script execs another binary.
		want string
	}{
		{name: "binary"},
		// The script's interpreter reads it from /proc/self/fd/N too.
		{name: "script", script: "#!/bin/sh\nexec " + testPlugin + ` "$@"` + "\n", want: testPlugin},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "neural-plugin-testplugin")
			if tt.script == "" {
				copyFile(t, testPlugin, path)
				tt.want = path
			} else if err := os.WriteFile(path, []byte(tt.script), 0o755); err != nil {
				t.Fatal(err)
			}
			conn, err := plugin.Launch(context.Background(), plugin.LaunchConfig{Name: "testplugin", Path: path, SHA256: sha256File(t, path), Env: os.Environ()})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(conn.Pid()), "exe"))
			if err != nil {
				t.Fatal(err)
			}
			if got := argv0(t, conn.Pid()); got != tt.want || exe != tt.want {
				t.Errorf("plugin runs as argv[0] %q, executable %q; want %q for both", got, exe, tt.want)
			}
		})
	}
}

// The descriptor the plugin was executed through is not handed on to what
// the plugin starts.
func TestPluginChildrenDoNotInheritItsBinary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "neural-plugin-testplugin")
	copyFile(t, testPlugin, path)
	conn, err := plugin.Launch(context.Background(), plugin.LaunchConfig{Name: "testplugin", Path: path, SHA256: sha256File(t, path),
		Env: append(os.Environ(), "TESTPLUGIN_MODE=orphan")})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// In orphan mode, Submit leaves a sleep in the plugin's process group.
	if _, err := conn.Submit(context.Background(), sdk.JobSpec{Kind: sdk.KindCommand, Command: []string{"x"}, IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	children := groupMembers(conn.Pid())
	if len(children) != 1 {
		t.Fatalf("group %d holds %v besides the plugin, want one sleep", conn.Pid(), children)
	}
	fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(children[0]), "fd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if target, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(children[0]), "fd", fd.Name())); target == path {
			t.Errorf("the plugin's child has the plugin binary open as descriptor %s", fd.Name())
		}
	}
}

// groupMembers returns the live processes of group pgid other than its
// leader.
func groupMembers(pgid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pgid {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

// A file swapped in at the plugin's path between the hash and the exec is
// never run: each launch runs the bytes it hashed, or nothing.
func TestSwapRacingLaunch(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	copyFile(t, testPlugin, good)
	// The impostor runs the same plugin, but says another version.
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("#!/bin/sh\nTESTPLUGIN_VERSION=6.6.6 exec "+testPlugin+` "$@"`+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	goodSum, badSum := sha256File(t, good), sha256File(t, bad)
	path := filepath.Join(dir, "neural-plugin-testplugin")
	copyFile(t, good, path)

	stop := make(chan struct{})
	swapped := make(chan error, 1)
	t.Cleanup(func() {
		close(stop)
		if err := <-swapped; err != nil {
			t.Errorf("swapping: %v", err)
		}
	})
	go func() {
		tmp := filepath.Join(dir, "next")
		for {
			for _, src := range []string{good, bad} {
				select {
				case <-stop:
					swapped <- nil
					return
				default:
				}
				if err := os.Link(src, tmp); err != nil {
					swapped <- err
					return
				}
				if err := os.Rename(tmp, path); err != nil {
					swapped <- err
					return
				}
			}
		}
	}()
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TESTPLUGIN_") {
			env = append(env, kv)
		}
	}
	var ran, refused int
	deadline := time.Now().Add(2 * time.Minute)
	for ran < 3 || refused < 3 || ran+refused < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("after %d launches, %d ran and %d were refused: the swap did not race the launch", ran+refused, ran, refused)
		}
		conn, err := plugin.Launch(context.Background(), plugin.LaunchConfig{Name: "testplugin", Path: path, SHA256: goodSum, Env: env})
		if err != nil {
			var ce *plugin.ChecksumError
			if !errors.As(err, &ce) || !errors.Is(err, plugin.ErrChecksum) || !bytes.Equal(ce.Actual, badSum) {
				t.Fatalf("launch %d: err = %v; want a *ChecksumError with the impostor's sha256 %x", ran+refused, err, badSum)
			}
			refused++
			continue
		}
		v := conn.Metadata().Version
		conn.Close()
		if v != "1.0.0" {
			t.Fatalf("launch %d ran the impostor (version %s) with the good binary's checksum", ran+refused, v)
		}
		ran++
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

// A FIFO in a binary's place is refused, rather than waited on for a writer.
func TestChecksumRefusesAFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "neural-plugin-testplugin")
	if err := syscall.Mkfifo(path, 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	within(t, "Launch", func() {
		_, err = plugin.Launch(context.Background(), plugin.LaunchConfig{Path: path, SHA256: make([]byte, 32)})
	})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("err = %v, want a refusal of a file that is not a regular file", err)
	}
}
