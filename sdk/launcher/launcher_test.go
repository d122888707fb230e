package launcher

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk/bundle"
)

// job is the test job: it reports what it saw into its output directory,
// writes metrics.json and exits with $JOB_EXIT.
const job = `import json, os, sys
out = os.environ["NEURAL_OUTPUT_DIR"]
report = {"job_id": os.environ.get("NEURAL_JOB_ID", "unset"), "extra": os.environ.get("EXTRA", "unset"),
          "bundled": os.path.exists("data.txt"), "argv": sys.argv[1:]}
with open(os.path.join(out, "metrics.json"), "w") as f:
    json.dump({"loss": 0.5}, f)
with open(os.path.join(out, "report.json"), "w") as f:
    json.dump(report, f)
print("to stderr", file=sys.stderr)
sys.exit(int(os.environ.get("JOB_EXIT", "0")))
`

// pipStub stands in for pip on PYTHONPATH, where `python -m pip` finds it
// first: it records its arguments and exits with $PIP_EXIT.
const pipStub = `import json, os, sys
with open(os.environ["PIP_LOG"], "w") as f:
    json.dump(sys.argv[1:], f)
sys.exit(int(os.environ.get("PIP_EXIT", "0")))
`

type report struct {
	JobID   string   `json:"job_id"`
	Extra   string   `json:"extra"`
	Bundled bool     `json:"bundled"`
	Argv    []string `json:"argv"`
}

// fixture is one test's directory: a bundle, a pip stub and room for
// outputs.
type fixture struct {
	dir, bundle, python string
	env                 []string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is required for this test")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	stub := filepath.Join(dir, "stub", "pip")
	for _, d := range []string{src, stub, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(src, "job.py"):          job,
		filepath.Join(src, "data.txt"):        "data",
		filepath.Join(stub, "__init__.py"):    "",
		filepath.Join(stub, "__main__.py"):    pipStub,
		filepath.Join(dir, "inplace", "x.py"): "",
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(dir, "bundle.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Write(f, src, bundle.Options{Entrypoint: "job.py"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + filepath.Join(dir, "tmp"),
		"PYTHONPATH=" + filepath.Join(dir, "stub"), "PIP_LOG=" + filepath.Join(dir, "pip.log")}
	return fixture{dir: dir, bundle: f.Name(), python: python, env: env}
}

// command runs the launcher with c the way a plugin would: the script
// with Args, Inline, or Embedded written to a file in dir.
func (f fixture) command(t *testing.T, how string, c Config, dir string) *exec.Cmd {
	t.Helper()
	var cmd *exec.Cmd
	switch how {
	case "args":
		file := filepath.Join(f.dir, "launcher.py")
		if err := os.WriteFile(file, Script(), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(f.python, append([]string{file}, c.Args()...)...)
	case "inline":
		command, args := c.Inline(f.python)
		cmd = exec.Command(command[0], append(command[1:], args...)...)
	case "embedded":
		file := filepath.Join(dir, "_launcher.py")
		if err := os.WriteFile(file, c.Embedded(), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(f.python, "_launcher.py")
	default:
		t.Fatalf("no way %q", how)
	}
	cmd.Dir = dir
	cmd.Env = f.env
	return cmd
}

func readReport(t *testing.T, dir string) report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatalf("the job left no report: %v", err)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestLauncherRunsJobs(t *testing.T) {
	tests := []struct {
		name string
		how  string
		// config builds the Config from the fixture's directory.
		config func(f fixture) Config
		env    []string
		// cwd is the launcher's working directory below the fixture.
		cwd string

		wantCode   int
		wantStderr string
		// reportIn is where report.json must end up, below the fixture.
		reportIn   string
		wantReport report
		// metricsIn, below the fixture, must hold metrics.json.
		metricsIn string
		wantPip   []string
		// scratchIn, below the fixture, must hold the job's work directory.
		scratchIn string
	}{
		{
			name: "bundle unpacked, env set, requirements installed, outputs copied",
			how:  "args",
			config: func(f fixture) Config {
				return Config{Argv: []string{"@python", "job.py", "--lr", "0.1"}, Python: "@python",
					Bundle: Value{Default: f.bundle}, CopyOutputsTo: Value{Default: filepath.Join(f.dir, "collected")},
					JobID: Value{Default: "run-7"}, Env: map[string]string{"EXTRA": "x"}, Requirements: []string{"numpy==2.1.0", "-r", "requirements.txt"}}
			},
			reportIn:   "collected",
			wantReport: report{JobID: "run-7", Extra: "x", Bundled: true, Argv: []string{"--lr", "0.1"}},
			metricsIn:  "collected",
			wantPip:    []string{"install", "--quiet", "--disable-pip-version-check", "numpy==2.1.0", "-r", "requirements.txt"},
		},
		{
			name: "exit code propagated and outputs still copied",
			how:  "args",
			config: func(f fixture) Config {
				return Config{Argv: []string{"python3", "job.py"}, Bundle: Value{Default: f.bundle},
					CopyOutputsTo: Value{Default: filepath.Join(f.dir, "collected")}}
			},
			env:        []string{"JOB_EXIT=3"},
			wantCode:   3,
			wantStderr: "neural launcher: the job exited with code 3",
			reportIn:   "collected",
			wantReport: report{JobID: "unset", Extra: "unset", Bundled: true, Argv: []string{}},
			metricsIn:  "collected",
		},
		{
			name: "script mode: in place, output dir and job id from the platform's variables, metrics copied",
			how:  "embedded",
			cwd:  "inplace",
			config: func(f fixture) Config {
				return Config{Argv: []string{"@python", filepath.Join(f.dir, "src", "job.py"), "it'''s"}, Python: "@python", InPlace: true,
					OutputDir:     Value{Env: "MODEL_DIR", Default: "/nonexistent/model"},
					CopyMetricsTo: Value{Env: "DATA_DIR", Default: "/nonexistent/data"},
					JobID:         Value{Env: "JOB_NAME"}}
			},
			env: []string{"JOB_NAME=train-1", "MODEL_DIR=model", "DATA_DIR=data"},
			// Relative to the in-place directory.
			reportIn:   "inplace/model",
			wantReport: report{JobID: "train-1", Extra: "unset", Argv: []string{"it'''s"}},
			metricsIn:  "inplace/data",
		},
		{
			name: "inline: bundle and output dir from variables",
			how:  "inline",
			config: func(f fixture) Config {
				return Config{Argv: []string{"python3", "job.py"}, Bundle: Value{Env: "BUNDLE"},
					OutputDir: Value{Env: "OUT"}, JobID: Value{Env: "CLOUD_ID"}}
			},
			env:        []string{"BUNDLE=bundle.tar.gz", "OUT=gcs/out", "CLOUD_ID=42"},
			reportIn:   "gcs/out",
			wantReport: report{JobID: "42", Extra: "unset", Bundled: true, Argv: []string{}},
			metricsIn:  "gcs/out",
		},
		{
			name: "mounted locations under a root; unsubstituted job id left out",
			how:  "args",
			config: func(f fixture) Config {
				mustRename(t, f.bundle, filepath.Join(f.dir, "root", "dbfs", "b", "bundle.tar.gz"))
				mustRename(t, filepath.Join(f.dir, "tmp"), filepath.Join(f.dir, "scratch"))
				return Config{Argv: []string{"@python", "job.py"}, Python: "@python",
					Bundle: Value{Default: "dbfs:/b/bundle.tar.gz"}, CopyOutputsTo: Value{Default: "/Volumes/main/out"},
					Mounts:       []Mount{{"dbfs:/Volumes/", "/Volumes/"}, {"dbfs:/", "/dbfs/"}, {"/Volumes/", "/Volumes/"}},
					MountRootEnv: "FUSE_ROOT", JobID: Value{Default: "{{job.run_id}}"}, ScratchDirs: []string{"/nonexistent", "scratch"}}
			},
			env:        []string{"FUSE_ROOT=root"},
			reportIn:   "root/Volumes/main/out",
			wantReport: report{JobID: "unset", Extra: "unset", Bundled: true, Argv: []string{}},
			metricsIn:  "root/Volumes/main/out",
			scratchIn:  "scratch",
		},
		{
			name: "a location no mount maps is refused",
			how:  "args",
			config: func(f fixture) Config {
				return Config{Argv: []string{"python3", "job.py"}, Bundle: Value{Default: "s3://b/bundle.tar.gz"},
					Mounts: []Mount{{"dbfs:/", "/dbfs/"}}}
			},
			wantCode:   1,
			wantStderr: "neural launcher: unsupported location s3://b/bundle.tar.gz",
		},
		{
			name: "failed requirements stop the job",
			how:  "args",
			config: func(f fixture) Config {
				return Config{Argv: []string{"python3", "job.py"}, Bundle: Value{Default: f.bundle},
					CopyOutputsTo: Value{Default: filepath.Join(f.dir, "collected")}, Requirements: []string{"nothing"}}
			},
			env:        []string{"PIP_EXIT=5"},
			wantCode:   5,
			wantStderr: "neural launcher: installing requirements failed with exit code 5",
			wantPip:    []string{"install", "--quiet", "--disable-pip-version-check", "nothing"},
		},
		{
			name: "a command that does not exist",
			how:  "args",
			config: func(f fixture) Config {
				return Config{Argv: []string{"no-such-command-neural"}}
			},
			wantCode:   127,
			wantStderr: "neural launcher: cannot run no-such-command-neural",
		},
		{
			name: "a job ended by a signal",
			how:  "args",
			config: func(f fixture) Config {
				return Config{Argv: []string{"sh", "-c", "kill -TERM $$"}}
			},
			wantCode:   128 + int(syscall.SIGTERM),
			wantStderr: "neural launcher: the job exited with code 143",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			cmd := f.command(t, tt.how, tt.config(f), filepath.Join(f.dir, tt.cwd))
			cmd.Env = append(cmd.Env, tt.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if got := exitCode(err); got != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", got, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr.String())
			}
			if tt.reportIn != "" {
				got := readReport(t, filepath.Join(f.dir, tt.reportIn))
				if !reflect.DeepEqual(got, tt.wantReport) {
					t.Errorf("the job saw %+v, want %+v", got, tt.wantReport)
				}
			}
			if tt.metricsIn != "" {
				if b, err := os.ReadFile(filepath.Join(f.dir, tt.metricsIn, "metrics.json")); err != nil || string(b) != `{"loss": 0.5}` {
					t.Errorf("metrics.json in %s: %q, %v", tt.metricsIn, b, err)
				}
			}
			if tt.scratchIn != "" {
				if m, _ := filepath.Glob(filepath.Join(f.dir, tt.scratchIn, "neural-job-*", "job.py")); len(m) != 1 {
					t.Errorf("work directories with the bundle in %s: %q", tt.scratchIn, m)
				}
			}
			var pip []string
			if b, err := os.ReadFile(filepath.Join(f.dir, "pip.log")); err == nil {
				_ = json.Unmarshal(b, &pip)
			}
			if !reflect.DeepEqual(pip, tt.wantPip) {
				t.Errorf("pip ran with %q, want %q", pip, tt.wantPip)
			}
		})
	}
}

// TestSIGTERMReachesTheJob stops the launcher alone, as a platform stops a
// container's first process, and expects the job to hear it, save its
// metrics and have its exit code passed on.
func TestSIGTERMReachesTheJob(t *testing.T) {
	tests := []struct {
		name     string
		handler  bool
		wantCode int
	}{
		{"the job saves and exits", true, 7},
		{"the job dies of the signal", false, 128 + int(syscall.SIGTERM)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ready := filepath.Join(f.dir, "ready")
			script := `import json, os, signal, sys, time
def stop(signum, frame):
    with open(os.path.join(os.environ["NEURAL_OUTPUT_DIR"], "metrics.json"), "w") as f:
        json.dump({"stopped": 1}, f)
    sys.exit(7)
if os.environ.get("HANDLE") == "1":
    signal.signal(signal.SIGTERM, stop)
open(os.environ["READY"], "w").close()
time.sleep(60)
`
			if err := os.WriteFile(filepath.Join(f.dir, "wait.py"), []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			c := Config{Argv: []string{"@python", filepath.Join(f.dir, "wait.py")}, Python: "@python",
				CopyMetricsTo: Value{Default: filepath.Join(f.dir, "data")}, MergeStderr: true}
			cmd := f.command(t, "args", c, f.dir)
			handle := "0"
			if tt.handler {
				handle = "1"
			}
			cmd.Env = append(cmd.Env, "READY="+ready, "HANDLE="+handle)
			// A group of its own, so the signal reaches the launcher only.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
			deadline := time.Now().Add(20 * time.Second)
			for {
				if _, err := os.Stat(ready); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the job did not start")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if got := exitCode(cmd.Wait()); got != tt.wantCode {
				t.Errorf("exit code %d, want %d", got, tt.wantCode)
			}
			_, err := os.Stat(filepath.Join(f.dir, "data", "metrics.json"))
			if got := err == nil; got != tt.handler {
				t.Errorf("metrics.json collected: %v, want %v", got, tt.handler)
			}
		})
	}
}

func TestMergeStderr(t *testing.T) {
	tests := []struct {
		merge      bool
		wantStdout string
	}{
		{false, ""},
		{true, "to stderr\n"},
	}
	for _, tt := range tests {
		f := newFixture(t)
		c := Config{Argv: []string{"sh", "-c", "echo to stderr >&2"}, MergeStderr: tt.merge}
		cmd := f.command(t, "args", c, f.dir)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != tt.wantStdout {
			t.Errorf("merge %v: stdout %q, want %q", tt.merge, out, tt.wantStdout)
		}
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want []string
	}{
		{"nothing but the command", Config{Argv: []string{"true"}}, []string{"--", "true"}},
		{"values, variables, lists and switches", Config{Argv: []string{"@python", "x.py"}, Python: "@python",
			Bundle: Value{Env: "B", Default: "b.tgz"}, InPlace: true, ScratchDirs: []string{"/s"},
			Mounts: []Mount{{"dbfs:/", "/dbfs/"}}, MountRootEnv: "R", OutputDir: Value{Env: "O"},
			CopyOutputsTo: Value{Default: "dbfs:/out"}, CopyMetricsTo: Value{Default: "/m"}, JobID: Value{Default: "{{job.run_id}}"},
			Env: map[string]string{"B": "2", "A": "1"}, Requirements: []string{"-r", "req.txt"}, MergeStderr: true, Announce: true},
			[]string{"--python", "@python", "--bundle", "b.tgz", "--bundle-env", "B", "--in-place", "--scratch", "/s",
				"--mount", "dbfs:/=/dbfs/", "--mount-root-env", "R", "--output-dir-env", "O", "--output", "dbfs:/out",
				"--metrics-to", "/m", "--job-id", "{{job.run_id}}", "--env", `{"A":"1","B":"2"}`,
				"--requirement", "-r", "--requirement", "req.txt", "--merge-stderr", "--announce", "--", "@python", "x.py"}},
	}
	for _, tt := range tests {
		if got := tt.c.Args(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Args() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestScriptIsStable(t *testing.T) {
	c := Config{Argv: []string{"true"}}
	if !bytes.Contains(Script(), []byte(embeddedArgs)) {
		t.Fatal("the script lacks the line Embedded replaces")
	}
	if bytes.Equal(c.Embedded(), Script()) {
		t.Error("Embedded left the script as it was")
	}
	command, args := c.Inline("python3")
	if got, want := string(command[2]), string(Script()); got != want || !reflect.DeepEqual(args, c.Argv) {
		t.Errorf("Inline gave %q and args %q", command[:2], args)
	}
	if len(Hash()) != 16 {
		t.Errorf("Hash() = %q", Hash())
	}
}
