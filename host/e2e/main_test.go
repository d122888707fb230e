package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

// binDir holds neural-host and neural-plugin-local, built once in TestMain.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "neural-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	if err := sdktest.Build(root, dir, map[string]string{"./host/cmd/neural-host": "neural-host"}, hostBuildFlags...); err != nil {
		return err
	}
	return sdktest.Build(root, dir, map[string]string{"./plugins/local": "neural-plugin-local",
		"./sdk/sdktest/testdata/testplugin": "testplugin/neural-plugin-testplugin"})
}

// hostBuildFlags build neural-host for these tests; with the race detector
// on (make test), neural-host is built with it too, so a data race in a
// command the tests run fails them (a racy neural-host exits 66).
var hostBuildFlags []string

// env is one user's machine: its own XDG dirs, so tests do not share jobs.
type env struct {
	t     *testing.T
	root  string
	extra []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	root := t.TempDir()
	e := &env{t: t, root: root}
	t.Cleanup(e.cancelAll)
	e.ok("plugins", "install", filepath.Join(binDir, "neural-plugin-local"))
	return e
}

func (e *env) environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "NEURAL_") {
			out = append(out, kv)
		}
	}
	return append(append(out,
		"XDG_STATE_HOME="+filepath.Join(e.root, "state"),
		"XDG_DATA_HOME="+filepath.Join(e.root, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(e.root, "config"),
		"NEURAL_LOCAL_CANCEL_GRACE=2s",
	), e.extra...)
}

func (e *env) jobsDir() string { return filepath.Join(e.root, "state", "neural", "local", "jobs") }

func (e *env) command(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, "neural-host"), args...)
	cmd.Env = e.environ()
	cmd.Dir = e.root
	return cmd
}

type run struct {
	stdout, stderr string
	code           int
}

func (e *env) run(args ...string) run {
	e.t.Helper()
	cmd := e.command(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := run{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("neural-host %v: %v", args, err)
	}
	return r
}

// ok runs a command that must succeed.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("neural-host %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func (e *env) json(v any, args ...string) {
	e.t.Helper()
	out := e.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("neural-host %v: output is not JSON: %v\n%s", args, err, out)
	}
}

// writeSpec writes a job spec and any files into a fresh directory.
func (e *env) writeSpec(spec string, files map[string]string) string {
	e.t.Helper()
	dir, err := os.MkdirTemp(e.root, "job-")
	if err != nil {
		e.t.Fatal(err)
	}
	files["neural-job.yaml"] = spec
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	return filepath.Join(dir, "neural-job.yaml")
}

type job struct {
	Ref        string            `json:"ref"`
	ID         string            `json:"id"`
	State      string            `json:"state"`
	Terminal   bool              `json:"terminal"`
	Reason     string            `json:"reason"`
	Attributes map[string]string `json:"attributes"`
}

func (e *env) submit(spec string, extra ...string) job {
	e.t.Helper()
	var j job
	e.json(&j, append([]string{"job", "submit", spec, "--platform", "local"}, extra...)...)
	if j.Ref == "" || j.ID == "" {
		e.t.Fatalf("submit returned no job: %+v", j)
	}
	return j
}

func (e *env) status(ref string) job {
	e.t.Helper()
	var j job
	e.json(&j, "job", "status", ref)
	return j
}

// cancelAll stops any job a failed test left running.
func (e *env) cancelAll() {
	entries, _ := os.ReadDir(e.jobsDir())
	for _, d := range entries {
		if !strings.HasPrefix(d.Name(), ".") {
			_ = e.command("job", "cancel", "local:"+d.Name()).Run()
		}
	}
}

// lineReader reads a running command's stdout line by line.
type lineReader struct {
	t  *testing.T
	sc *bufio.Scanner
}

func startLines(t *testing.T, cmd *exec.Cmd) (*lineReader, io.Closer) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return &lineReader{t: t, sc: bufio.NewScanner(stdout)}, stdout
}

func (l *lineReader) next() string {
	l.t.Helper()
	if !l.sc.Scan() {
		l.t.Fatalf("output ended early: %v", l.sc.Err())
	}
	return l.sc.Text()
}

// groupGone reports whether process group pgid has no process left.
func groupGone(pgid int) bool {
	return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

// children returns the pids whose parent is pid.
func children(pid int) []int {
	if runtime.GOOS != "linux" {
		return nil
	}
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, d := range entries {
		n, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// eventually polls cond, failing the test after timeout. Only for waiting
// on another process's state, never as a substitute for synchronisation the
// test itself controls.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
