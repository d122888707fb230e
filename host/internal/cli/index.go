package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/neural-dsl/neural-host/host/internal/batch"
	"github.com/neural-dsl/neural-host/host/internal/index"
	"github.com/neural-dsl/neural-host/host/internal/jobstate"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

// jobIndex opens the job index on first use, so that commands which do not
// need it never touch the file.
type jobIndex struct {
	path string
	once sync.Once
	db   *index.DB
	err  error
}

func (j *jobIndex) open(ctx context.Context) (*index.DB, error) {
	j.once.Do(func() { j.db, j.err = index.Open(ctx, j.path) })
	return j.db, j.err
}

func (j *jobIndex) close() {
	if j != nil && j.db != nil {
		j.db.Close()
	}
}

// redact replaces the secret setting values handed to plugins so far.
func (s *session) redact(msg string) string {
	for _, sec := range s.mgr.Secrets() {
		if len(sec) >= 4 {
			msg = strings.ReplaceAll(msg, sec, "***")
		}
	}
	return msg
}

// labelSubmission is the label the host puts on every job it submits: a
// hash of the idempotency key, which reconcile looks jobs up by. A hash,
// because user-given keys may break platforms' label rules.
const labelSubmission = "neural-submission"

func submissionTag(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// submitRecorded submits spec with the index written before the platform
// call and updated after: an interruption in between leaves a Submitting
// row that job reconcile resolves.
func submitRecorded(ctx context.Context, s *session, conn sdk.Platform, platform string, spec sdk.JobSpec, batchID string) (sdk.JobStatus, error) {
	db, err := s.jobs.open(ctx)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	spec, rec := submission(platform, spec, batchID)
	if err := db.Begin(ctx, rec); err != nil {
		return sdk.JobStatus{}, err
	}
	st, err := submitWithRetry(ctx, s, conn, spec)
	err = s.mgr.Explain(err)
	return st, recordOutcome(ctx, s, db, platform, spec.IdempotencyKey, st, err)
}

// submission readies spec for the platform, with its key and the label
// reconcile finds it by, and returns the index row to write first.
func submission(platform string, spec sdk.JobSpec, batchID string) (sdk.JobSpec, index.Record) {
	if spec.IdempotencyKey == "" {
		spec.IdempotencyKey = newIdempotencyKey()
	}
	labels := map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	labels[labelSubmission] = submissionTag(spec.IdempotencyKey)
	spec.Labels = labels
	return spec, index.Record{Platform: platform, Key: spec.IdempotencyKey, Name: spec.Name, Batch: batchID, Labels: labels, Spec: spec}
}

// recordOutcome writes what a submit call returned, even while the command
// is being interrupted, and returns the call's error.
func recordOutcome(ctx context.Context, s *session, db *index.DB, platform, key string, st sdk.JobStatus, err error) error {
	wctx := context.WithoutCancel(ctx)
	if err == nil {
		if ierr := db.Submitted(wctx, platform, key, st); ierr != nil {
			return fmt.Errorf("job %s:%s was submitted but could not be recorded: %w", platform, st.ID, ierr)
		}
		return nil
	}
	if ierr := db.Failed(wctx, platform, key, afterFailure(err), s.redact(err.Error())); ierr != nil {
		s.log.Warn("could not record a failed submission", "error", ierr)
	}
	return err
}

// afterFailure says what a failed submit leaves: a refusal means no job
// exists; anything else (a lost connection, a crash, Ctrl-C) may have
// started one.
func afterFailure(err error) index.Submission {
	for _, kind := range []error{sdk.ErrInvalidArgument, sdk.ErrUnauthenticated, sdk.ErrPermissionDenied,
		sdk.ErrUnsupported, sdk.ErrConflict, sdk.ErrNotFound, sdk.ErrRateLimited} {
		if errors.Is(err, kind) {
			return index.Rejected
		}
	}
	return index.Submitting
}

// extendJobCommand adds the index's subcommand and flags to the job
// command.
func extendJobCommand(job *cli.Command) *cli.Command {
	for _, sub := range job.Subcommands {
		if sub.Name == "list" {
			sub.Usage = "list the jobs this machine submitted, with fresh states; --all asks the platforms for the others too"
			sub.Flags = append(sub.Flags,
				&cli.StringFlag{Name: "batch", Usage: "only jobs of batch `ID`"},
				&cli.BoolFlag{Name: "all", Usage: "also ask each platform for jobs this machine did not submit"},
			)
		}
	}
	job.Subcommands = append(job.Subcommands, reconcileCommand())
	return job
}

// listFilter is what job list selects by.
type listFilter struct {
	index.Filter
	states []sdk.State
	limit  int
}

func parseListFilter(c *cli.Context) (listFilter, error) {
	f := listFilter{Filter: index.Filter{Platforms: c.StringSlice("platform"), Batch: c.String("batch"), NamePrefix: c.String("name-prefix")},
		limit: c.Int("limit")}
	for _, st := range c.StringSlice("state") {
		if !validState(sdk.State(st)) {
			return f, usageError(fmt.Sprintf("--state %q: use one of %v", st, sdk.States))
		}
		f.states = append(f.states, sdk.State(st))
	}
	for _, kv := range c.StringSlice("label") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return f, usageError(fmt.Sprintf("--label %q: write KEY=VALUE", kv))
		}
		if f.Labels == nil {
			f.Labels = map[string]string{}
		}
		f.Labels[k] = v
	}
	if d := c.Duration("since"); d > 0 {
		f.CreatedAfter = time.Now().Add(-d)
	}
	if f.limit < 1 {
		return f, usageError("--limit must be at least 1")
	}
	return f, nil
}

// listIndexed is job list: the index's jobs merged with fresh platform
// states, and with --all the platforms' own listings.
func listIndexed(c *cli.Context) error {
	s := sess(c)
	f, err := parseListFilter(c)
	if err != nil {
		return err
	}
	all, token := c.Bool("all"), c.String("page-token")
	if token != "" && (!all || len(f.Platforms) != 1) {
		return usageError("--page-token continues one platform's listing: give --all and exactly one --platform")
	}
	db, err := s.jobs.open(c.Context)
	if err != nil {
		return err
	}
	f.Submissions = []index.Submission{index.Submitted, index.Submitting, index.Missing}
	recs, err := db.List(c.Context, f.Filter)
	if err != nil {
		return err
	}
	if len(f.states) == 0 {
		recs = limitPerPlatform(recs, f.limit, func(r index.Record) string { return r.Platform })
	}
	out := output.IndexedJobList{Jobs: []output.IndexedJob{}, NextPageTokens: map[string]string{}, Errors: map[string]string{}}
	listErrs := map[string]error{}
	jobs := refreshRecords(c.Context, s, db, recs, out.Errors)
	// A platform that could not be asked leaves its jobs at their recorded
	// states: say so, and fail the command, rather than show stale rows as
	// if they were fresh.
	for p, msg := range out.Errors {
		listErrs[p] = &sdk.Error{Kind: sdk.ErrUnavailable, Message: "could not refresh the states of its jobs: " + msg,
			Hint: "the jobs of " + p + " are shown with their last recorded states; check it with 'neural-host auth check " + p + "'"}
	}
	known := map[string]bool{}
	for _, j := range jobs {
		if len(f.states) == 0 || hasState(f.states, j.State) {
			out.Jobs = append(out.Jobs, j)
		}
		if j.Ref != "" {
			known[j.Ref] = true
		}
	}
	if all {
		platforms := f.Platforms
		if len(platforms) == 0 {
			platforms = installed(s)
		}
		req := sdk.ListRequest{States: f.states, Labels: f.Labels, NamePrefix: f.NamePrefix, CreatedAfter: f.CreatedAfter, PageSize: f.limit, PageToken: token}
		if f.Batch != "" {
			req.Labels = withLabel(req.Labels, batch.LabelBatch, f.Batch)
		}
		for _, p := range platforms {
			conn, err := s.mgr.Get(c.Context, p)
			var resp sdk.ListResponse
			if err == nil {
				resp, err = conn.List(c.Context, req)
			}
			if err != nil {
				err = s.mgr.Explain(err)
				if _, refreshFailed := out.Errors[p]; !refreshFailed {
					out.Errors[p] = s.redact(err.Error())
					listErrs[p] = err
				}
				continue
			}
			for _, st := range resp.Jobs {
				j := output.IndexedJob{Job: output.JobOf(p, st), Submission: string(index.Submitted)}
				if !known[j.Ref] {
					out.Jobs = append(out.Jobs, j)
				}
			}
			if resp.NextPageToken != "" {
				out.NextPageTokens[p] = resp.NextPageToken
			}
		}
	}
	sort.SliceStable(out.Jobs, func(i, j int) bool { return out.Jobs[i].CreatedAt > out.Jobs[j].CreatedAt })
	if len(f.states) > 0 {
		out.Jobs = limitPerPlatform(out.Jobs, f.limit, func(j output.IndexedJob) string { return j.Platform })
	}
	if s.out.Format == output.JSON {
		if err := s.out.JSON(out); err != nil {
			return err
		}
	} else {
		printIndexedJobs(s, out.Jobs)
		for _, p := range output.SortedKeys(out.NextPageTokens) {
			fmt.Fprintf(s.out.Out, "more on %s: --all --platform %s --page-token %s\n", p, p, out.NextPageTokens[p])
		}
	}
	// Each platform's own error, so its kind and hint reach the user.
	var failed []error
	for _, p := range output.SortedKeys(listErrs) {
		failed = append(failed, fmt.Errorf("%s: %w", p, listErrs[p]))
	}
	return errors.Join(failed...)
}

func withLabel(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		out[a] = b
	}
	return out
}

func hasState(states []sdk.State, st sdk.State) bool {
	for _, s := range states {
		if s == st {
			return true
		}
	}
	return false
}

// limitPerPlatform keeps the first n of each platform's items.
func limitPerPlatform[T any](items []T, n int, platform func(T) string) []T {
	count := map[string]int{}
	var out []T
	for _, it := range items {
		p := platform(it)
		if count[p] < n {
			count[p]++
			out = append(out, it)
		}
	}
	return out
}

// refreshConcurrency bounds the status calls in flight while refreshing.
const refreshConcurrency = 16

// refreshRecords turns index rows into jobs, asking the platforms for the
// state of every submitted job not known to have ended (one plugin per
// platform, through its listing where it has one) and recording what they
// say. A platform that cannot be asked is noted in errs and its jobs keep
// their last known state.
func refreshRecords(ctx context.Context, s *session, db *index.DB, recs []index.Record, errs map[string]string) []output.IndexedJob {
	out := make([]output.IndexedJob, len(recs))
	var wanted []jobstate.Job
	for i, r := range recs {
		out[i] = indexedJob(r)
		if r.Submission == index.Submitted && !r.Terminal {
			wanted = append(wanted, stateJob(r))
		}
	}
	if len(wanted) == 0 {
		return out
	}
	res := refreshStates(ctx, s, wanted)
	for p, err := range res.Failed {
		errs[p] = s.redact(s.mgr.Explain(err).Error())
	}
	fresh := map[string][]sdk.JobStatus{}
	for i, r := range recs {
		if r.Submission != index.Submitted || r.Terminal {
			continue
		}
		ref := sdk.JobRef{Platform: r.Platform, ID: r.JobID}
		st, ok := res.Statuses[ref]
		if _, gone := res.NotFound[ref]; gone {
			st, ok = r.Status(), true
			st.State, st.Reason, st.Terminal = sdk.StateUnknown, "the platform no longer knows this job", false
		}
		if !ok {
			continue
		}
		fresh[r.Platform] = append(fresh[r.Platform], st)
		j := output.JobOf(r.Platform, st)
		j.Labels = nonNilLabels(st.Labels, r.Labels)
		if j.CreatedAt == "" {
			j.CreatedAt = output.Time(r.CreatedAt)
		}
		out[i].Job = j
	}
	for p, sts := range fresh {
		if err := db.UpdateAll(context.WithoutCancel(ctx), p, sts); err != nil {
			s.log.Debug("could not record the jobs' states", "platform", p, "error", err)
		}
	}
	return out
}

func nonNilLabels(fresh, recorded map[string]string) map[string]string {
	if len(fresh) > 0 {
		return fresh
	}
	if recorded == nil {
		return map[string]string{}
	}
	return recorded
}

// indexedJob is a row as the index last saw it.
func indexedJob(r index.Record) output.IndexedJob {
	st := r.Status()
	switch r.Submission {
	case index.Submitting:
		st.State, st.Reason = sdk.StateUnknown, "the submission was interrupted; run 'neural-host job reconcile'"
	case index.Missing:
		st.State, st.Reason = sdk.StateUnknown, "not on the platform; 'neural-host job reconcile --resubmit' submits it again"
	case index.Rejected:
		st.State, st.Reason = sdk.StateUnknown, "the platform refused the submission: "+r.Error
	}
	j := output.JobOf(r.Platform, st)
	if r.JobID == "" {
		j.Ref = ""
	}
	if j.CreatedAt == "" {
		j.CreatedAt = output.Time(r.CreatedAt)
	}
	return output.IndexedJob{Job: j, Submission: string(r.Submission), IdempotencyKey: r.Key, Batch: r.Batch, Indexed: true, SubmitError: r.Error}
}

func printIndexedJobs(s *session, jobs []output.IndexedJob) {
	withBatch := false
	for _, j := range jobs {
		withBatch = withBatch || j.Batch != ""
	}
	header := []string{"JOB", "NAME", "STATE", "PLATFORM STATE", "CREATED"}
	if withBatch {
		header = append(header, "BATCH")
	}
	var rows [][]string
	for _, j := range jobs {
		ref, state := j.Ref, string(j.State)
		if j.Submission != string(index.Submitted) {
			ref, state = j.Platform+":-", j.Submission
		}
		row := []string{ref, j.Name, state, j.RawState, j.CreatedAt}
		if withBatch {
			row = append(row, j.Batch)
		}
		rows = append(rows, row)
	}
	s.out.Table(header, rows)
	for _, j := range jobs {
		if j.Submission == string(index.Submitting) {
			fmt.Fprintln(s.out.Out, "some submissions were interrupted: 'neural-host job reconcile' resolves them")
			break
		}
	}
}
