package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hangLimit is how long a command may take before it counts as hung. It is
// generous on purpose: what it catches is a host that never ends.
const hangLimit = 20 * time.Second

// launch is one start of a wrapped plugin: the plugin's pid, which is also
// its process group, and the pid of the child it left holding its output.
type launch struct{ plugin, child int }

// holdingWrapper makes e run the local plugin through a shell script that
// first starts `sleep 1000 &`, a child that holds the plugin's stdout and
// stderr open for as long as it lives, then execs the real plugin. It
// returns the launches the script has recorded so far.
func holdingWrapper(e *env) func() []launch {
	e.t.Helper()
	dir := filepath.Join(e.root, "wrapper")
	pids := filepath.Join(dir, "pids")
	if err := os.MkdirAll(pids, 0o755); err != nil {
		e.t.Fatal(err)
	}
	script := "#!/bin/sh\nsleep 1000 &\necho $! > " + pids + "/$$\nexec " + filepath.Join(binDir, "neural-plugin-local") + ` "$@"` + "\n"
	wrapper := filepath.Join(dir, "neural-plugin-local")
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		e.t.Fatal(err)
	}
	before := e.extra
	e.extra = append(e.extra, "NEURAL_DEV_OVERRIDES=local="+wrapper)
	t := e.t
	t.Cleanup(func() {
		e.extra = before // the env's own clean-up runs the real plugin
		for _, l := range readLaunches(t, pids) {
			syscall.Kill(-l.plugin, syscall.SIGKILL)
			syscall.Kill(l.child, syscall.SIGKILL)
		}
	})
	return func() []launch { return readLaunches(t, pids) }
}

func readLaunches(t *testing.T, dir string) []launch {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []launch
	for _, d := range entries {
		plugin, err := strconv.Atoi(d.Name())
		if err != nil {
			t.Fatalf("pid file %s", d.Name())
		}
		b, err := os.ReadFile(filepath.Join(dir, d.Name()))
		if err != nil {
			t.Fatal(err)
		}
		child, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			// The script has started but not yet written the file.
			continue
		}
		out = append(out, launch{plugin: plugin, child: child})
	}
	return out
}

// finish waits for a started command and returns its exit code and how
// long it took; a command still running after hangLimit fails the test.
func finish(t *testing.T, cmd *exec.Cmd, since time.Time) (int, time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		took := time.Since(since)
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			return ee.ExitCode(), took
		case err != nil:
			t.Fatal(err)
		}
		return 0, took
	case <-time.After(hangLimit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("neural-host %s still running after %s", strings.Join(cmd.Args[1:], " "), hangLimit)
	}
	return 0, 0
}

// runBounded runs a command to its end; see finish.
func (e *env) runBounded(args ...string) (int, string) {
	e.t.Helper()
	cmd := e.command(args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	code, _ := finish(e.t, cmd, time.Now())
	return code, stderr.String()
}

// assertNothingLeft fails unless every recorded plugin's process group
// and child are gone (a zombie counts as gone).
func assertNothingLeft(t *testing.T, launches []launch) {
	t.Helper()
	if len(launches) == 0 {
		t.Fatal("the wrapper recorded no launch")
	}
	for _, l := range launches {
		eventually(t, 10*time.Second, "plugin "+strconv.Itoa(l.plugin)+" and its child to be gone", func() bool {
			return processGone(l.plugin) && processGone(l.child) && !groupHasLive(l.plugin)
		})
	}
}

// groupHasLive reports whether process group pgid has a member that is
// not a zombie.
func groupHasLive(pgid int) bool {
	if groupGone(pgid) {
		return false
	}
	entries, _ := os.ReadDir("/proc")
	for _, d := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			return true
		}
	}
	return false
}

func (e *env) assertNoUngracefulExit(name string) {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.root, "state", "neural", "logs", name+".log"))
	if err != nil {
		e.t.Fatal(err)
	}
	if strings.Contains(string(b), "failed to exit gracefully") {
		e.t.Errorf("%s.log says a plugin failed to exit gracefully:\n%s", name, b)
	}
}

func TestPluginExitsGracefully(t *testing.T) {
	e := newEnv(t)
	e.ok("job", "list", "--all", "-p", "local")
	e.assertNoUngracefulExit("local")
}

func TestCommandEndsWhileChildHoldsPluginOutput(t *testing.T) {
	e := newEnv(t)
	spec := e.writeSpec("kind: command\ncommand: [sh, -c, 'echo done']\n", map[string]string{})
	launches := holdingWrapper(e)
	for _, args := range [][]string{
		{"job", "submit", spec, "-p", "local", "-o", "json"},
		{"job", "list", "--all", "-p", "local"},
	} {
		if code, stderr := e.runBounded(args...); code != 0 {
			t.Fatalf("neural-host %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
	}
	assertNothingLeft(t, launches())
	e.assertNoUngracefulExit("local")
}

func TestSignalEndsLogsFollow(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
	}{
		{syscall.SIGINT, 130},
		{syscall.SIGTERM, 143},
	} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			e := newEnv(t)
			j := e.submit(e.writeSpec("kind: command\ncommand: [sh, -c, 'echo ready; sleep 300']\n", map[string]string{}))
			launches := holdingWrapper(e)
			cmd := e.command("job", "logs", "-f", j.Ref)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			lines, _ := startLines(t, cmd)
			if got := lines.next(); got != "ready" {
				t.Fatalf("got %q", got)
			}
			sent := time.Now()
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			code, took := finish(t, cmd, sent)
			t.Logf("%s to exit: %s", tt.sig, took)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "keeps running") {
				t.Errorf("stderr does not say the job keeps running:\n%s", stderr.String())
			}
			assertNothingLeft(t, launches())
			e.assertNoUngracefulExit("local")
		})
	}
}

func TestKilledHostLeavesNoPluginChild(t *testing.T) {
	e := newEnv(t)
	j := e.submit(e.writeSpec("kind: command\ncommand: [sh, -c, 'echo ready; sleep 300']\n", map[string]string{}))
	launches := holdingWrapper(e)
	cmd := e.command("job", "logs", "-f", j.Ref)
	lines, _ := startLines(t, cmd)
	if got := lines.next(); got != "ready" {
		t.Fatalf("got %q", got)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// The plugin notices that its host is gone and kills its own group.
	assertNothingLeft(t, launches())
	if st := e.status(j.Ref); st.State != "running" {
		t.Errorf("the job should outlive host and plugin, state %s", st.State)
	}
}

// A plugin that never completes the handshake keeps go-plugin waiting for
// the start timeout whatever the command's context says; a signal must
// end the command anyway, and take the plugin with it.
func TestSignalEndsStuckPluginStart(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
	}{
		{syscall.SIGINT, 130},
		{syscall.SIGTERM, 143},
	} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			e := newEnv(t)
			dir := filepath.Join(e.root, "stuck")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			pidFile := filepath.Join(dir, "pid")
			wrapper := filepath.Join(dir, "neural-plugin-local")
			if err := os.WriteFile(wrapper, []byte("#!/bin/sh\necho $$ > "+pidFile+".tmp\nmv "+pidFile+".tmp "+pidFile+"\nexec sleep 1000\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			e.extra = append(e.extra, "NEURAL_DEV_OVERRIDES=local="+wrapper)
			cmd := e.command("--start-timeout", "5m", "job", "list", "--all", "-p", "local")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var pid int
			eventually(t, 10*time.Second, "the plugin to start", func() bool {
				b, err := os.ReadFile(pidFile)
				if err != nil {
					return false
				}
				pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
				return err == nil
			})
			t.Cleanup(func() { syscall.Kill(-pid, syscall.SIGKILL) })
			sent := time.Now()
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			code, took := finish(t, cmd, sent)
			t.Logf("%s to exit: %s", tt.sig, took)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, stderr.String())
			}
			eventually(t, 10*time.Second, "the stuck plugin's group to be gone", func() bool { return !groupHasLive(pid) })
		})
	}
}
