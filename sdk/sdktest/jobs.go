package sdktest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/internal/wire"
)

// The labels the host puts on jobs; the suite sets them as the host does,
// so that List by label is checked on the values a host looks jobs up by.
const (
	LabelSubmission = "neural-submission"
	LabelBatch      = "neural-batch"
)

// ScriptName is the Python script of the jobs the suite submits besides
// LongJob. Run with no argument it prints ScriptLines numbered lines,
// writes ScriptMetrics to $NEURAL_OUTPUT_DIR/metrics.json and succeeds;
// with the argument "fail" it prints the lines and exits 3.
const ScriptName = "neural_conformance.py"

// ScriptLines is how many lines the script prints.
const ScriptLines = 5

// ScriptMetrics are the metrics the succeeding job writes; the values are
// exact in float32, which some platforms store metrics as.
var ScriptMetrics = map[string]float64{"conformance_accuracy": 0.75, "conformance_steps": 3}

const script = `import json, os, sys
for i in range(1, 6):
    print("conformance line %d" % i, flush=True)
if sys.argv[1:] == ["fail"]:
    print("conformance job failing as asked", file=sys.stderr, flush=True)
    sys.exit(3)
out = os.environ.get("NEURAL_OUTPUT_DIR")
if not out:
    print("NEURAL_OUTPUT_DIR is not set", file=sys.stderr, flush=True)
    sys.exit(4)
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "metrics.json"), "w") as f:
    json.dump({"conformance_accuracy": 0.75, "conformance_steps": 3}, f)
`

func scriptLine(i int) string { return fmt.Sprintf("conformance line %d", i) }

// submissionTag is the neural-submission value for key, made as the host
// makes it: a hash, because keys may break platforms' label rules.
func submissionTag(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// scriptJob is a Python job running the suite's script in a fresh workdir.
func scriptJob(dir, name, key, batch string, args ...string) (sdk.JobSpec, error) {
	work := filepath.Join(dir, name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return sdk.JobSpec{}, err
	}
	if err := os.WriteFile(filepath.Join(work, ScriptName), []byte(script), 0o644); err != nil {
		return sdk.JobSpec{}, err
	}
	return sdk.JobSpec{Name: name, Kind: sdk.KindPython, WorkDir: work, Entrypoint: ScriptName, Args: args,
		IdempotencyKey: key, Labels: map[string]string{LabelSubmission: submissionTag(key), LabelBatch: batch}}, nil
}

// suiteJobs are the jobs the suite submits in one run.
type suiteJobs struct {
	long, ok, fail sdk.JobStatus
	specs          map[string]sdk.JobSpec // by job id
	batch          string
}

func (c *checker) jobs(ctx context.Context) {
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	js := &suiteJobs{batch: "conformance-" + run[len(run)-8:], specs: map[string]sdk.JobSpec{}}
	long := c.cfg.LongJob
	long.IdempotencyKey = "neural-conformance-long-" + run
	long.Labels = maps.Clone(long.Labels)
	if long.Labels == nil {
		long.Labels = map[string]string{}
	}
	long.Labels[LabelSubmission] = submissionTag(long.IdempotencyKey)
	long.Labels[LabelBatch] = js.batch
	first, err := c.conn.Submit(ctx, long)
	if !c.add("submit", c.note("Submit(LongJob)", err), "submitted LongJob as job "+first.ID) {
		return
	}
	js.long = first
	js.specs[first.ID] = long
	again, err := c.conn.Submit(ctx, long)
	if c.note("Submit(LongJob) again", err) == nil && again.ID != first.ID {
		err = fmt.Errorf("a second Submit with the same idempotency key started job %q beside %q", again.ID, first.ID)
		// The duplicate must not run on for minutes, nor outlive the plugin.
		_, _ = c.conn.Cancel(ctx, again.ID)
	}
	c.add("idempotent submit", err, "a second Submit with the same key returned job "+first.ID)
	states := c.conn.Metadata().Capabilities.JobStates
	var statesErrs []error
	if states {
		statesErrs = append(statesErrs, c.jobStates(ctx, long, first, true))
	}

	scriptsOK := c.submitScripts(ctx, js)
	c.contextCancellation(ctx, first.ID)
	if scriptsOK {
		c.checkApplicable("list by label", func() (string, error) { return c.listByLabel(ctx, js) })
		ended := c.checkApplicable("result of a succeeded job", func() (string, error) { return c.succeeded(ctx, js) })
		c.checkApplicable("result of a failed job", func() (string, error) { return c.failed(ctx, js) })
		c.checkApplicable("list by state", func() (string, error) { return c.listByState(ctx, js) })
		c.checkApplicable("page tokens", func() (string, error) { return c.pageTokens(ctx, js) })
		if ended {
			c.checkApplicable("logs resume", func() (string, error) { return c.logsResume(ctx, js.ok.ID) })
			c.checkApplicable("cancel a finished job", func() (string, error) { return c.cancelFinished(ctx, js.ok.ID) })
		}
	}

	_, err = c.conn.Cancel(ctx, first.ID)
	var end sdk.JobStatus
	if c.note("Cancel(LongJob)", err) == nil {
		end, err = waitTerminal(ctx, c.conn, first.ID, 2*time.Minute)
		if err == nil && end.State != sdk.StateCancelled {
			err = fmt.Errorf("the cancelled job %s ended %s (%s), want cancelled", first.ID, end.State, end.RawState)
		}
	}
	if c.add("cancel", c.note("Status after Cancel", err), "job "+first.ID+" reached the cancelled state after Cancel") && states {
		// A listing of active jobs may leave an ended one to Status.
		statesErrs = append(statesErrs, c.jobStates(ctx, long, first, false))
	}
	if states {
		c.add("job states", errors.Join(statesErrs...), "JobStates reports running job "+first.ID+" as Status does, the cancelled one too if it lists it, and leaves out an unknown id")
	}
}

// submitScripts submits the succeeding and the failing script jobs.
func (c *checker) submitScripts(ctx context.Context, js *suiteJobs) bool {
	dir, err := os.MkdirTemp("", "neural-conformance-")
	if err == nil {
		c.cleanup = append(c.cleanup, func() { os.RemoveAll(dir) })
		var ok, fail sdk.JobSpec
		if ok, err = scriptJob(dir, "conformance-ok", "neural-conformance-ok-"+js.batch, js.batch); err == nil {
			fail, err = scriptJob(dir, "conformance-fail", "neural-conformance-fail-"+js.batch, js.batch, "fail")
		}
		if err == nil {
			js.ok, err = c.conn.Submit(ctx, ok)
			err = c.note("Submit(succeeding script job)", err)
			js.specs[js.ok.ID] = ok
		}
		if err == nil {
			js.fail, err = c.conn.Submit(ctx, fail)
			err = c.note("Submit(failing script job)", err)
			js.specs[js.fail.ID] = fail
		}
	}
	return c.add("submit script jobs", err, fmt.Sprintf("submitted python job %s (%s, succeeds with metrics) and job %s (%s fail, exits 3)",
		js.ok.ID, ScriptName, js.fail.ID, ScriptName))
}

// contextCancellation checks that a followed log stream ends when its
// context does, on the client and in the plugin.
func (c *checker) contextCancellation(ctx context.Context, id string) {
	grace := c.cfg.CallGrace
	if grace == 0 {
		grace = 10 * time.Second
	}
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	done := make(chan error, 1)
	go func() {
		done <- c.conn.Logs(lctx, sdk.LogsRequest{ID: id, Follow: true}, func(sdk.LogEntry) error { return nil })
	}()
	var err error
	select {
	case err = <-done:
		if err == nil || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			err = fmt.Errorf("following the logs of a running job ended with %v before its context did; LongJob must run for minutes", err)
		} else {
			err = nil
		}
	case <-time.After(time.Second + grace):
		err = fmt.Errorf("a followed Logs call went on %s after its context ended", grace)
	}
	cancel()
	// The client gives up at once; the plugin's handler must stop too,
	// which the SDK notes in the plugin's log.
	if err == nil {
		deadline := time.Now().Add(grace)
		for !c.logs.contains(wire.MsgCancelledReturned) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !c.logs.contains(wire.MsgCancelledReturned) {
			err = fmt.Errorf("the plugin's Logs handler went on for %s after its context ended; watch ctx.Done()", grace)
		}
	}
	c.add("context cancellation", err, "Logs(follow) of job "+id+" ended with its 1s context, in the host and in the plugin")
}

// maxPages bounds a page walk, so that a plugin whose tokens never end
// fails instead of hanging the suite.
const maxPages = 200

// listAll walks every page of req and returns the jobs with the number of
// pages; a page holding more than req.PageSize jobs is an error.
func (c *checker) listAll(ctx context.Context, req sdk.ListRequest) ([]sdk.JobStatus, int, error) {
	var all []sdk.JobStatus
	seenTokens := map[string]bool{}
	for page := 1; page <= maxPages; page++ {
		resp, err := c.conn.List(ctx, req)
		if err = c.note("List", err); err != nil {
			return nil, page, err
		}
		if req.PageSize > 0 && len(resp.Jobs) > req.PageSize {
			return nil, page, fmt.Errorf("page %d holds %d jobs; PageSize asked for at most %d", page, len(resp.Jobs), req.PageSize)
		}
		all = append(all, resp.Jobs...)
		if resp.NextPageToken == "" {
			return all, page, nil
		}
		if seenTokens[resp.NextPageToken] {
			return nil, page, fmt.Errorf("page %d returned the page token %q a second time; the walk would never end", page, resp.NextPageToken)
		}
		seenTokens[resp.NextPageToken] = true
		req.PageToken = resp.NextPageToken
	}
	return nil, maxPages, fmt.Errorf("List returned a next page token after %d pages", maxPages)
}

func ids(jobs []sdk.JobStatus) []string {
	out := make([]string, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

// listFinds polls List(req) until it finds every job of want, as listings
// may lag behind submits, then requires it to hold none of unwanted.
func (c *checker) listFinds(ctx context.Context, what string, req sdk.ListRequest, want, unwanted []string) error {
	var got []string
	deadline := time.Now().Add(c.settle())
	for {
		jobs, _, err := c.listAll(ctx, req)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		got = ids(jobs)
		missing := slices.DeleteFunc(slices.Clone(want), func(id string) bool { return slices.Contains(got, id) })
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s returned jobs %v, without job %v, %s after submitting", what, got, missing, c.settle())
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	for _, id := range unwanted {
		if slices.Contains(got, id) {
			return fmt.Errorf("%s returned job %s, which does not match the filter (it returned %v)", what, id, got)
		}
	}
	return nil
}

func (c *checker) listByLabel(ctx context.Context, js *suiteJobs) (string, error) {
	tag := js.specs[js.long.ID].Labels[LabelSubmission]
	what := fmt.Sprintf("List(labels %s=%s)", LabelSubmission, tag)
	if err := c.listFinds(ctx, what, sdk.ListRequest{Labels: map[string]string{LabelSubmission: tag}},
		[]string{js.long.ID}, []string{js.ok.ID, js.fail.ID}); err != nil {
		return "", fmt.Errorf("%w; a host finds its jobs by the %s label, so List must filter by Labels", err, LabelSubmission)
	}
	return fmt.Sprintf("%s found job %s and not the other jobs of the run", what, js.long.ID), nil
}

func (c *checker) listByState(ctx context.Context, js *suiteJobs) (string, error) {
	batch := map[string]string{LabelBatch: js.batch}
	active := []sdk.State{sdk.StateQueued, sdk.StateStarting, sdk.StateRunning}
	what := fmt.Sprintf("List(states %v, labels %s=%s)", active, LabelBatch, js.batch)
	err := c.listFinds(ctx, what, sdk.ListRequest{States: active, Labels: batch}, []string{js.long.ID}, []string{js.ok.ID, js.fail.ID})
	if err == nil {
		what = fmt.Sprintf("List(states [succeeded], labels %s=%s)", LabelBatch, js.batch)
		err = c.listFinds(ctx, what, sdk.ListRequest{States: []sdk.State{sdk.StateSucceeded}, Labels: batch}, []string{js.ok.ID}, []string{js.long.ID, js.fail.ID})
	}
	if err != nil {
		return "", fmt.Errorf("%w; List must filter by States", err)
	}
	return fmt.Sprintf("List by state found active job %s and succeeded job %s, each without the others", js.long.ID, js.ok.ID), nil
}

func (c *checker) pageTokens(ctx context.Context, js *suiteJobs) (string, error) {
	req := sdk.ListRequest{Labels: map[string]string{LabelBatch: js.batch}, PageSize: 1}
	jobs, pages, err := c.listAll(ctx, req)
	if err != nil {
		return "", fmt.Errorf("List(labels %s=%s, page size 1): %w", LabelBatch, js.batch, err)
	}
	got := ids(jobs)
	want := []string{js.long.ID, js.ok.ID, js.fail.ID}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			return "", fmt.Errorf("walking List(page size 1) by its page tokens returned job %s twice (jobs %v over %d pages)", id, got, pages)
		}
		seen[id] = true
	}
	for _, id := range want {
		if !seen[id] {
			return "", fmt.Errorf("walking List(page size 1) by its page tokens returned jobs %v over %d pages, without job %s", got, pages, id)
		}
	}
	return fmt.Sprintf("List(page size 1) walked %d pages by their tokens and returned each of the run's %d jobs once", pages, len(want)), nil
}

func (c *checker) succeeded(ctx context.Context, js *suiteJobs) (string, error) {
	id := js.ok.ID
	st, err := waitTerminal(ctx, c.conn, id, c.jobTimeout())
	if err = c.note("Status(succeeding job)", err); err != nil {
		return "", err
	}
	res, err := c.conn.Result(ctx, id)
	if err = c.note("Result(succeeding job)", err); err != nil {
		return "", err
	}
	if st.State != sdk.StateSucceeded {
		return "", fmt.Errorf("job %s running %s ended %s (%s: %s; result error %q), want succeeded", id, ScriptName, st.State, st.RawState, st.Reason, res.Error)
	}
	if res.Status.State != sdk.StateSucceeded {
		return "", fmt.Errorf("Result(%s).Status.State is %s, but Status says succeeded", id, res.Status.State)
	}
	for k, want := range ScriptMetrics {
		if got, ok := res.Metrics[k]; !ok || got != want {
			return "", fmt.Errorf("Result(%s).Metrics is %v, want it to hold %v: the job wrote them to $NEURAL_OUTPUT_DIR/metrics.json; read that file into Metrics", id, res.Metrics, ScriptMetrics)
		}
	}
	return fmt.Sprintf("job %s succeeded and Result holds the metrics %v it wrote to metrics.json", id, ScriptMetrics), nil
}

func (c *checker) failed(ctx context.Context, js *suiteJobs) (string, error) {
	id := js.fail.ID
	st, err := waitTerminal(ctx, c.conn, id, c.jobTimeout())
	if err = c.note("Status(failing job)", err); err != nil {
		return "", err
	}
	if st.State != sdk.StateFailed {
		return "", fmt.Errorf("job %s, whose script exits 3, ended %s (%s), want failed", id, st.State, st.RawState)
	}
	res, err := c.conn.Result(ctx, id)
	if err = c.note("Result(failing job)", err); err != nil {
		return "", err
	}
	if res.Error == "" {
		return "", fmt.Errorf("Result(%s) of the failed job has no Error; set it to the platform's failure message", id)
	}
	return fmt.Sprintf("job %s, whose script exits 3, ended failed with the error %q", id, firstLine(res.Error)), nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// readLogs returns the job's log as it stands, from cursor onwards.
func (c *checker) readLogs(ctx context.Context, id, cursor string) ([]sdk.LogEntry, error) {
	var entries []sdk.LogEntry
	err := c.conn.Logs(ctx, sdk.LogsRequest{ID: id, Cursor: cursor}, func(e sdk.LogEntry) error {
		entries = append(entries, e)
		return nil
	})
	return entries, c.note("Logs", err)
}

func lineIndex(entries []sdk.LogEntry, line string) int {
	return slices.IndexFunc(entries, func(e sdk.LogEntry) bool { return strings.Contains(e.Line, line) })
}

func (c *checker) logsResume(ctx context.Context, id string) (string, error) {
	var all []sdk.LogEntry
	deadline := time.Now().Add(c.settle())
	for {
		var err error
		if all, err = c.readLogs(ctx, id, ""); err != nil {
			return "", err
		}
		if lineIndex(all, scriptLine(ScriptLines)) >= 0 {
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("Logs(%s) returned %d lines, without %q that the job printed, %s after it ended", id, len(all), scriptLine(ScriptLines), c.settle())
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return "", err
		}
	}
	for i := 1; i <= ScriptLines; i++ {
		if lineIndex(all, scriptLine(i)) < 0 || (i > 1 && lineIndex(all, scriptLine(i)) < lineIndex(all, scriptLine(i-1))) {
			return "", fmt.Errorf("Logs(%s) does not return %q after %q: lines must come in the order printed", id, scriptLine(i), scriptLine(i-1))
		}
	}
	for _, from := range []int{lineIndex(all, scriptLine(2)), len(all) - 1} {
		if all[from].Cursor == "" {
			return "", fmt.Errorf("Logs(%s) gave line %q no cursor; every entry needs one to resume after it", id, all[from].Line)
		}
		got, err := c.readLogs(ctx, id, all[from].Cursor)
		if err != nil {
			return "", err
		}
		want := all[from+1:]
		for i := range max(len(got), len(want)) {
			switch {
			case i >= len(got):
				return "", fmt.Errorf("Logs(%s) resumed after %q returned %d lines and stopped before %q: a gap", id, all[from].Line, len(got), want[i].Line)
			case i >= len(want):
				return "", fmt.Errorf("Logs(%s) resumed after %q, the last line, returned %q: a resumed stream must not repeat lines", id, all[from].Line, got[i].Line)
			case got[i].Line != want[i].Line:
				return "", fmt.Errorf("Logs(%s) resumed after %q returned %q as line %d, want %q: resume just after the cursor's line, with no repeats and no gaps", id, all[from].Line, got[i].Line, i+1, want[i].Line)
			}
		}
	}
	return fmt.Sprintf("Logs(%s) returned its %d lines in order; resumed from the cursor of %q and of the last line, it went on just after them", id, len(all), scriptLine(2)), nil
}

func (c *checker) cancelFinished(ctx context.Context, id string) (string, error) {
	st, err := c.conn.Cancel(ctx, id)
	if err = c.note("Cancel(succeeded job)", err); err != nil {
		return "", fmt.Errorf("Cancel of job %s, which had succeeded, failed: %w; cancelling a finished job is not an error", id, err)
	}
	if st, err = c.conn.Status(ctx, id); c.note("Status(succeeded job)", err) != nil {
		return "", err
	}
	if st.State != sdk.StateSucceeded {
		return "", fmt.Errorf("job %s was succeeded and is %s after Cancel; a finished job keeps its state", id, st.State)
	}
	return fmt.Sprintf("Cancel of succeeded job %s returned no error and the job stayed succeeded", id), nil
}

// settle is how long a listing or a log may lag behind the platform.
func (c *checker) settle() time.Duration {
	if c.cfg.Settle > 0 {
		return c.cfg.Settle
	}
	return 30 * time.Second
}

func (c *checker) jobTimeout() time.Duration {
	if c.cfg.JobTimeout > 0 {
		return c.cfg.JobTimeout
	}
	return 2 * time.Minute
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
