package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processGone reports whether pid has exited (a zombie counts as exited).
func processGone(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] == "Z"
}

func TestPluginDiesWithKilledHost(t *testing.T) {
	e := newEnv(t)
	j := e.submit(e.writeSpec("kind: command\ncommand: [sh, -c, 'echo ready; sleep 300']\n", map[string]string{}))
	cmd := e.command("job", "logs", "-f", j.Ref)
	lines, _ := startLines(t, cmd)
	if got := lines.next(); got != "ready" {
		t.Fatalf("got %q", got)
	}
	kids := children(cmd.Process.Pid)
	if len(kids) != 1 {
		t.Fatalf("host children %v", kids)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// The plugin notices its host is gone and exits on its own.
	eventually(t, 10*time.Second, "the orphaned plugin to exit", func() bool { return processGone(kids[0]) })
	if st := e.status(j.Ref); st.State != "running" {
		t.Errorf("the job should outlive host and plugin, state %s", st.State)
	}
}

func TestReattachToDebugPlugin(t *testing.T) {
	e := newEnv(t)
	plugin := exec.Command(filepath.Join(binDir, "neural-plugin-local"))
	plugin.Env = append(e.environ(), "NEURAL_PLUGIN_DEBUG=1")
	lines, _ := startLines(t, plugin)
	t.Cleanup(func() { plugin.Process.Signal(syscall.SIGTERM); plugin.Wait() })
	var reattach string
	for reattach == "" {
		l := lines.next()
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "export NEURAL_REATTACH_PLUGINS='"); ok {
			reattach = strings.TrimSuffix(v, "'")
		}
	}
	e.extra = append(e.extra, "NEURAL_REATTACH_PLUGINS="+reattach)
	for i := 0; i < 2; i++ { // the plugin serves one host after another
		r := e.run("auth", "check", "local")
		if r.code != 0 || !strings.Contains(r.stderr, "attaching to a running plugin") {
			t.Fatalf("run %d: exit %d\n%s%s", i, r.code, r.stdout, r.stderr)
		}
	}
	if processGone(plugin.Process.Pid) {
		t.Error("the host stopped a plugin it only attached to")
	}
}

// The local plugin starts each job's supervisor from its own running
// binary, not from the file at its path: a binary swapped in after the
// plugin was verified and started never runs.
func TestSupervisorRunsTheStartedBinary(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.root, "neural-plugin-local")
	copyFile(t, filepath.Join(binDir, "neural-plugin-local"), path)
	plugin := exec.Command(path)
	plugin.Env = append(e.environ(), "NEURAL_PLUGIN_DEBUG=1")
	lines, _ := startLines(t, plugin)
	t.Cleanup(func() { plugin.Process.Signal(syscall.SIGTERM); plugin.Wait() })
	var reattach string
	for reattach == "" {
		if v, ok := strings.CutPrefix(strings.TrimSpace(lines.next()), "export NEURAL_REATTACH_PLUGINS='"); ok {
			reattach = strings.TrimSuffix(v, "'")
		}
	}
	marker := filepath.Join(e.root, "impostor-ran")
	impostor := path + ".new"
	if err := os.WriteFile(impostor, []byte("#!/bin/sh\ntouch "+marker+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(impostor, path); err != nil {
		t.Fatal(err)
	}
	e.extra = append(e.extra, "NEURAL_REATTACH_PLUGINS="+reattach)
	j := e.submit(e.writeSpec("kind: command\ncommand: [\"true\"]\n", map[string]string{}))
	if r := e.run("job", "wait", j.Ref, "--timeout", "60s", "--poll-interval", "20ms"); r.code != 0 {
		t.Errorf("job wait: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the binary swapped in at the plugin's path ran as a job supervisor")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
