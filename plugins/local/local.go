package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/bundle"
	"github.com/neural-dsl/neural-host/sdk/idempotency"
	"github.com/neural-dsl/neural-host/sdk/page"
	"github.com/neural-dsl/neural-host/sdk/prices"
	"github.com/neural-dsl/neural-host/sdk/result"
	"github.com/neural-dsl/neural-host/sdk/runner"
)

// Platform runs jobs as local processes.
type Platform struct {
	mu  sync.Mutex
	cfg settings
}

type settings struct {
	stateDir    string
	artifactDir string
	python      string
	cancelGrace time.Duration
}

var (
	_ sdk.Platform     = (*Platform)(nil)
	_ sdk.FileTransfer = (*Platform)(nil)
	_ sdk.PriceCatalog = (*Platform)(nil)
)

// New returns a Platform with default settings; Configure replaces them.
func New() *Platform {
	p := &Platform{}
	_ = p.Configure(context.Background(), sdk.Config{})
	return p
}

func (p *Platform) Metadata() sdk.Metadata {
	return sdk.Metadata{
		Name:         "local",
		Version:      version(),
		Description:  "Runs jobs as processes on this machine.",
		Capabilities: sdk.Capabilities{LogFollow: true, Plan: true},
		Config: []sdk.ConfigField{
			{Key: "state_dir", Description: "Directory holding one sub-directory per job (default: $XDG_STATE_HOME/neural/local).", EnvVars: []string{"NEURAL_LOCAL_STATE_DIR"}},
			{Key: "artifact_dir", Description: "Root of the local artifact store for relative file paths (default: $XDG_DATA_HOME/neural/local/artifacts).", EnvVars: []string{"NEURAL_LOCAL_ARTIFACT_DIR"}},
			{Key: "python", Description: "Python interpreter for python and dsl jobs.", Default: "python3", EnvVars: []string{"NEURAL_LOCAL_PYTHON"}},
			{Key: "cancel_grace", Description: "Time between SIGTERM and SIGKILL when a job is cancelled.", Default: "10s", EnvVars: []string{"NEURAL_LOCAL_CANCEL_GRACE"}},
		},
	}
}

func xdgDir(env, fallback string, parts ...string) string {
	base := os.Getenv(env)
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, fallback)
	}
	return filepath.Join(append([]string{base}, parts...)...)
}

func (p *Platform) Configure(_ context.Context, cfg sdk.Config) error {
	s := settings{
		stateDir:    cfg["state_dir"],
		artifactDir: cfg["artifact_dir"],
		python:      cfg["python"],
		cancelGrace: 10 * time.Second,
	}
	if s.stateDir == "" {
		s.stateDir = xdgDir("XDG_STATE_HOME", ".local/state", "neural", "local")
	}
	if s.artifactDir == "" {
		s.artifactDir = xdgDir("XDG_DATA_HOME", ".local/share", "neural", "local", "artifacts")
	}
	if s.python == "" {
		s.python = "python3"
	}
	if err := cfg.Duration("cancel_grace", 0, &s.cancelGrace); err != nil {
		return err
	}
	for _, d := range []string{s.stateDir, s.artifactDir} {
		if !filepath.IsAbs(d) {
			return sdk.FieldError("state_dir", fmt.Sprintf("%q is not an absolute path", d), "give an absolute directory")
		}
	}
	p.mu.Lock()
	p.cfg = s
	p.mu.Unlock()
	return nil
}

func (p *Platform) settings() settings {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

func (p *Platform) jobsDir() string { return filepath.Join(p.settings().stateDir, "jobs") }

func (p *Platform) CheckAuth(context.Context) (sdk.AuthInfo, error) {
	host, _ := os.Hostname()
	name := strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	s := p.settings()
	diag := []sdk.Diagnostic{{Check: "state directory", OK: true, Message: s.stateDir}}
	if err := os.MkdirAll(s.stateDir, 0o700); err != nil {
		diag[0] = sdk.Diagnostic{Check: "state directory", Message: err.Error(), Hint: "set NEURAL_LOCAL_STATE_DIR to a writable directory"}
	}
	if py, err := exec.LookPath(s.python); err != nil {
		diag = append(diag, sdk.Diagnostic{Check: "python", Message: s.python + " not found", Hint: "install Python 3 or set NEURAL_LOCAL_PYTHON"})
	} else {
		diag = append(diag, sdk.Diagnostic{Check: "python", OK: true, Message: py})
	}
	return sdk.AuthInfo{Identity: name + "@" + host, Account: host, Diagnostics: diag}, nil
}

// jobID derives the id from the idempotency key, so that a retried submit
// finds the job the first attempt made.
func jobID(key string) string {
	return idempotency.Token("local", key, 8)
}

// check validates what the local platform adds to sdk.JobSpec.Validate.
func (p *Platform) check(spec sdk.JobSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if spec.Resources.Nodes > 1 {
		return sdk.FieldError("resources.nodes", fmt.Sprintf("local runs one node, got %d", spec.Resources.Nodes), "set resources.nodes to 1 or submit to a cloud platform")
	}
	if spec.WorkDir != "" {
		// The entrypoint is left to the bundle, whose message also covers
		// an entrypoint that .neuralignore leaves out.
		if st, err := os.Stat(spec.WorkDir); err != nil || !st.IsDir() {
			return sdk.FieldError("workdir", spec.WorkDir+" is not a directory", "point workdir at the directory holding the job's files")
		}
	}
	if spec.Kind == sdk.KindDSL {
		if _, err := exec.LookPath("neural"); err != nil {
			return sdk.FieldError("kind", "a dsl job needs the neural CLI on PATH and it is not there", "install it with 'pip install neural-dsl' and make sure 'neural' is on PATH")
		}
	}
	if spec.Kind != sdk.KindCommand {
		if _, err := exec.LookPath(p.settings().python); err != nil {
			return sdk.FieldError("kind", fmt.Sprintf("a %s job needs %s, which is not on PATH", spec.Kind, p.settings().python), "install Python 3 or set NEURAL_LOCAL_PYTHON")
		}
	} else if _, err := exec.LookPath(spec.Command[0]); err != nil && !strings.Contains(spec.Command[0], "/") {
		return sdk.FieldError("command", fmt.Sprintf("%q is not on PATH", spec.Command[0]), "give the program's full path or install it")
	}
	return nil
}

// bundleOptions makes the bundle refuse a work dir without the entrypoint,
// and adds the DSL runner to a DSL job's.
func bundleOptions(spec sdk.JobSpec) bundle.Options {
	opts := bundle.Options{Entrypoint: spec.Entrypoint}
	if spec.Kind == sdk.KindDSL {
		opts.Extra = map[string][]byte{runner.FileName: runner.Script(runner.ConfigFor(spec, false))}
	}
	return opts
}

func (p *Platform) Plan(_ context.Context, spec sdk.JobSpec) (sdk.Plan, error) {
	if err := p.check(spec); err != nil {
		return sdk.Plan{}, err
	}
	id := jobID(spec.IdempotencyKey)
	body := map[string]any{
		"argv":        runner.Argv(spec, p.settings().python),
		"job_dir":     filepath.Join(p.jobsDir(), id),
		"env":         spec.Env,
		"max_runtime": spec.Resources.MaxRuntime.String(),
	}
	if spec.WorkDir != "" {
		info, err := bundle.Hash(spec.WorkDir, bundleOptions(spec))
		if err != nil {
			return sdk.Plan{}, err
		}
		body["bundle"] = map[string]any{"source": spec.WorkDir, "sha256": info.SHA256, "files": info.Files, "bytes": info.Bytes}
	}
	rendered, _ := json.MarshalIndent(body, "", "  ")
	plan := sdk.Plan{
		Requests:     []sdk.PlannedRequest{{Operation: "StartProcessGroup", Target: "local", Body: string(rendered)}},
		InstanceType: "local",
	}
	var warn string
	plan.HourlyPrice, warn = localPrice(spec)
	if warn != "" {
		plan.Warnings = append(plan.Warnings, warn)
	}
	if spec.Resources.GPUs > 0 {
		plan.Warnings = append(plan.Warnings, "resources.gpus is not enforced on local: the job sees whatever GPUs this machine has")
	}
	if len(spec.Requirements) > 0 {
		plan.Warnings = append(plan.Warnings, "requirements are not installed on local: install them in the interpreter's environment first")
	}
	if spec.Resources.Spot {
		plan.Warnings = append(plan.Warnings, "resources.spot has no meaning on local and is ignored")
	}
	return plan, nil
}

// machineRow is this machine as a catalog row, dated today because it is
// measured now: it costs nothing, and has the CPUs and memory the system
// reports and no GPUs, since the plugin cannot vouch for any.
func machineRow() sdk.PriceRow {
	return sdk.PriceRow{InstanceType: "local", Region: "local", VCPUs: float64(runtime.NumCPU()), MemoryGB: memoryGB(),
		OnDemandUSD: 0, Source: "local machine (no charge)", AsOf: time.Now().UTC().Format("2006-01-02")}
}

// memoryGB is the machine's memory from /proc/meminfo; zero where there is
// none, so that no memory need is promised on a system it cannot read.
func memoryGB() float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / (1 << 20)
		}
	}
	return 0
}

// localPrice is the plan's price, found by the same prices.Cheapest the
// host's cost compare runs on Prices: $0 when this machine has what the
// job asks for, and unknown, with the reason, when it has not.
func localPrice(spec sdk.JobSpec) (sdk.Price, string) {
	o, ok := prices.Cheapest([]sdk.PriceRow{machineRow()}, prices.NeedOf(spec))
	if !ok {
		return sdk.Price{}, "this machine does not have the GPUs, CPUs or memory the job asks for, so it has no price"
	}
	return sdk.Price{Known: true, USDPerHour: o.USDPerHour, Source: o.Source, AsOf: o.AsOf}, ""
}

func (p *Platform) Prices(_ context.Context, f sdk.PriceFilter) ([]sdk.PriceRow, error) {
	return prices.Filter([]sdk.PriceRow{machineRow()}, f), nil
}

func (p *Platform) Submit(ctx context.Context, spec sdk.JobSpec) (sdk.JobStatus, error) {
	if err := p.check(spec); err != nil {
		return sdk.JobStatus{}, err
	}
	s := p.settings()
	id := jobID(spec.IdempotencyKey)
	jobs := p.jobsDir()
	if err := os.MkdirAll(jobs, 0o700); err != nil {
		return sdk.JobStatus{}, fmt.Errorf("local: %w", err)
	}
	final := filepath.Join(jobs, id)
	if exists(final) {
		return p.startAndStatus(id)
	}
	// Build the job directory aside and rename it into place: a second
	// submit with the same key either sees nothing or the whole directory.
	tmp, err := os.MkdirTemp(jobs, ".new-"+id+"-")
	if err != nil {
		return sdk.JobStatus{}, fmt.Errorf("local: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, d := range []string{workDir, outputDir} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o700); err != nil {
			return sdk.JobStatus{}, fmt.Errorf("local: %w", err)
		}
	}
	if spec.WorkDir != "" {
		if err := copyBundle(spec, filepath.Join(tmp, workDir)); err != nil {
			return sdk.JobStatus{}, err
		}
	}
	name := spec.Name
	if name == "" {
		name = "job-" + id
	}
	rec := jobRecord{ID: id, Name: name, IdempotencyKey: spec.IdempotencyKey, Labels: spec.Labels,
		Argv: runner.Argv(spec, s.python), MaxRuntime: spec.Resources.MaxRuntime, CancelGrace: s.cancelGrace,
		CreatedAt: time.Now().UTC()}
	if err := writeJSON(filepath.Join(tmp, jobFile), rec); err != nil {
		return sdk.JobStatus{}, fmt.Errorf("local: %w", err)
	}
	if err := writeJSON(filepath.Join(tmp, stateFile), stateRecord{Phase: phaseQueued}); err != nil {
		return sdk.JobStatus{}, fmt.Errorf("local: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "env"), envFile(spec), 0o600); err != nil {
		return sdk.JobStatus{}, fmt.Errorf("local: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil && !exists(final) {
		return sdk.JobStatus{}, fmt.Errorf("local: %w", err)
	}
	return p.startAndStatus(id)
}

// copyBundle packs the work dir and unpacks it into dst, so the job runs on
// exactly the bytes a cloud platform would receive. The bundle streams
// through a pipe, so memory stays at a few buffers for any size of tree,
// and Extract leaves the zeros of sparse files as holes.
func copyBundle(spec sdk.JobSpec, dst string) error {
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		_, err := bundle.Write(pw, spec.WorkDir, bundleOptions(spec))
		pw.CloseWithError(err)
		written <- err
	}()
	extractErr := bundle.Extract(pr, dst)
	// Unblock Write if Extract stopped early; it then fails with extractErr.
	pr.CloseWithError(extractErr)
	writeErr := <-written
	switch {
	case writeErr != nil && (extractErr == nil || !errors.Is(writeErr, extractErr)):
		return writeErr // the tree's problem, which Extract only saw as a broken stream
	case extractErr != nil:
		return fmt.Errorf("local: unpacking the bundle: %w", extractErr)
	}
	return nil
}

// envFile records the spec's environment as NUL-separated NAME=VALUE pairs.
func envFile(spec sdk.JobSpec) []byte {
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(k + "=" + spec.Env[k] + "\x00")
	}
	return b.Bytes()
}

// startAndStatus starts the job's supervisor unless one was started
// already, then reports the job's state. A lock file makes concurrent
// submits of one key start one supervisor.
func (p *Platform) startAndStatus(id string) (sdk.JobStatus, error) {
	dir := filepath.Join(p.jobsDir(), id)
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return sdk.JobStatus{}, fmt.Errorf("local: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return sdk.JobStatus{}, fmt.Errorf("local: %w", err)
	}
	if !exists(filepath.Join(dir, supervisorFile)) {
		if err := p.startSupervisor(dir); err != nil {
			return sdk.JobStatus{}, err
		}
	}
	return p.status(id)
}

// runningBinary is Linux's name for the running program's own executable.
const runningBinary = "/proc/self/exe"

func (p *Platform) startSupervisor(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	env, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	var id string
	var rec jobRecord
	if err := readJSON(filepath.Join(dir, jobFile), &rec); err == nil {
		id = rec.ID
	}
	cmd := exec.Command(self, superviseArg, dir)
	// The supervisor runs the very bytes the host verified and started, not
	// whatever the file at this plugin's path holds now: on Linux
	// /proc/self/exe names the running binary's own inode (the forked child
	// still has it as its executable when it calls exec).
	if _, err := os.Stat(runningBinary); err == nil {
		cmd.Path = runningBinary
	}
	cmd.Env = append(jobEnviron(), runner.EnvOutputDir+"="+filepath.Join(dir, outputDir), runner.EnvJobID+"="+id)
	for _, kv := range strings.Split(string(env), "\x00") {
		if kv != "" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	supLog, err := os.OpenFile(filepath.Join(dir, "supervisor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	defer supLog.Close()
	cmd.Stdout, cmd.Stderr = supLog, supLog
	// A session of its own: the supervisor must outlive this plugin and
	// escape the kill of the plugin's process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("local: starting the job supervisor: %w", err)
	}
	go cmd.Wait() // reap it if it ends while this plugin still runs
	return os.WriteFile(filepath.Join(dir, supervisorFile), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
}

// jobEnviron is this process's environment without what go-plugin and the
// host set for the plugin itself.
func jobEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PLUGIN_") || strings.HasPrefix(kv, "NEURAL_PLUGIN_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func (p *Platform) Status(_ context.Context, id string) (sdk.JobStatus, error) { return p.status(id) }

func (p *Platform) jobDir(id string) (string, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		return "", sdk.FieldError("job", fmt.Sprintf("%q is not a local job id", id), "use an id printed by 'neural-host job submit' or 'job list'")
	}
	dir := filepath.Join(p.jobsDir(), id)
	if !exists(filepath.Join(dir, jobFile)) {
		return "", &sdk.Error{Kind: sdk.ErrNotFound, Message: fmt.Sprintf("no local job %q", id), Hint: "list jobs with 'neural-host job list --platform local'"}
	}
	return dir, nil
}

func (p *Platform) status(id string) (sdk.JobStatus, error) {
	dir, err := p.jobDir(id)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	var rec jobRecord
	if err := readJSON(filepath.Join(dir, jobFile), &rec); err != nil {
		return sdk.JobStatus{}, fmt.Errorf("local: job %s: %w", id, err)
	}
	st, err := readState(dir)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	out := sdk.JobStatus{ID: id, Name: rec.Name, RawState: st.Phase, Reason: st.Reason, CreatedAt: rec.CreatedAt,
		StartedAt: st.StartedAt, EndedAt: st.EndedAt, Labels: rec.Labels,
		Attributes: map[string]string{"dir": dir}}
	if st.Pid > 0 {
		out.Attributes["pid"] = strconv.Itoa(st.Pid)
		out.Attributes["pgid"] = strconv.Itoa(st.Pid)
	}
	supPid := readPid(filepath.Join(dir, supervisorFile))
	if supPid > 0 {
		out.Attributes["supervisor_pid"] = strconv.Itoa(supPid)
	}
	cancelling := exists(filepath.Join(dir, cancelFile))
	switch st.Phase {
	case phaseExited:
		out.EndedAt = st.EndedAt
		out.Attributes["exit_code"] = strconv.Itoa(st.ExitCode)
		switch {
		case st.Cancelled:
			out.State, out.RawState = sdk.StateCancelled, "cancelled"
		case st.ExitCode == 0 && st.Reason == "":
			out.State, out.RawState = sdk.StateSucceeded, "exited(0)"
		default:
			out.State = sdk.StateFailed
			out.RawState = fmt.Sprintf("exited(%d)", st.ExitCode)
			if st.Signal != "" {
				out.RawState = "signaled(" + st.Signal + ")"
			}
			if out.Reason == "" {
				out.Reason = fmt.Sprintf("exited with code %d", st.ExitCode)
			}
		}
	case phaseRunning, phaseQueued:
		out.State = sdk.StateRunning
		if st.Phase == phaseQueued {
			out.State = sdk.StateQueued
		}
		if cancelling {
			out.State = sdk.StateStopping
		}
		if supPid > 0 && !alive(supPid) {
			// The supervisor may have finished between the two reads.
			if again, err := readState(dir); err == nil && again.Phase == phaseExited {
				return p.status(id)
			}
			out.State, out.Reason = sdk.StateFailed, "the job's supervisor process ended without recording an outcome"
		}
	default:
		out.State = sdk.StateUnknown
	}
	out.Terminal = out.State.Terminal()
	return out, nil
}

func readState(dir string) (stateRecord, error) {
	var st stateRecord
	if err := readJSON(filepath.Join(dir, stateFile), &st); err != nil {
		return st, fmt.Errorf("local: reading job state: %w", err)
	}
	return st, nil
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func (p *Platform) Result(_ context.Context, id string) (sdk.JobResult, error) {
	st, err := p.status(id)
	if err != nil {
		return sdk.JobResult{}, err
	}
	dir := filepath.Join(p.jobsDir(), id)
	res := result.New(st, 0, time.Now())
	out := filepath.Join(dir, outputDir)
	if b, err := os.ReadFile(filepath.Join(out, runner.MetricsFile)); err == nil {
		result.AddMetrics(&res, b)
	}
	_ = filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !result.AddArtifact(&res, "file://"+path) {
			return fs.SkipAll
		}
		return nil
	})
	res.OutputExcerpt = tail(filepath.Join(dir, logFile))
	return res, nil
}

// tail returns the excerpt of a log file. It reads one byte more than
// the excerpt holds, so that result.Excerpt sees when the first line is cut.
func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-result.ExcerptBytes-1, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	return result.Excerpt(string(buf))
}

func (p *Platform) Cancel(ctx context.Context, id string) (sdk.JobStatus, error) {
	st, err := p.status(id)
	if err != nil || st.Terminal {
		return st, err
	}
	dir := filepath.Join(p.jobsDir(), id)
	if err := os.WriteFile(filepath.Join(dir, cancelFile), nil, 0o600); err != nil {
		return sdk.JobStatus{}, fmt.Errorf("local: %w", err)
	}
	grace := p.settings().cancelGrace
	var rec jobRecord
	if readJSON(filepath.Join(dir, jobFile), &rec) == nil && rec.CancelGrace > 0 {
		grace = rec.CancelGrace
	}
	termAt, killAt, giveUp := time.Time{}, time.Now().Add(grace), time.Now().Add(grace+10*time.Second)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err = p.status(id)
		if err != nil || st.Terminal {
			return st, err
		}
		state, _ := readState(dir)
		if state.Pid > 0 {
			if termAt.IsZero() {
				termAt = time.Now()
				_ = syscall.Kill(-state.Pid, syscall.SIGTERM)
			}
			if time.Now().After(killAt) {
				_ = syscall.Kill(-state.Pid, syscall.SIGKILL)
			}
		}
		if time.Now().After(giveUp) {
			return st, &sdk.Error{Kind: sdk.ErrUnavailable, Message: fmt.Sprintf("job %s did not stop within %s", id, grace+10*time.Second)}
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-tick.C:
		}
	}
}

func (p *Platform) List(_ context.Context, req sdk.ListRequest) (sdk.ListResponse, error) {
	entries, err := os.ReadDir(p.jobsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return sdk.ListResponse{}, nil
	}
	if err != nil {
		return sdk.ListResponse{}, fmt.Errorf("local: %w", err)
	}
	var jobs []sdk.JobStatus
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		st, err := p.status(e.Name())
		if err != nil {
			continue
		}
		if req.Matches(st) {
			jobs = append(jobs, st)
		}
	}
	sort.Slice(jobs, func(i, j int) bool {
		if !jobs[i].CreatedAt.Equal(jobs[j].CreatedAt) {
			return jobs[i].CreatedAt.After(jobs[j].CreatedAt)
		}
		return jobs[i].ID < jobs[j].ID
	})
	start, end, next, err := page.Window(req.PageToken, req.PageSize, 100, len(jobs))
	if err != nil {
		return sdk.ListResponse{}, err
	}
	return sdk.ListResponse{Jobs: jobs[start:end], NextPageToken: next}, nil
}
