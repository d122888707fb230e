package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/neural-dsl/neural-host/host/internal/budget"
	"github.com/neural-dsl/neural-host/host/internal/index"
	"github.com/neural-dsl/neural-host/host/internal/jobspec"
	"github.com/neural-dsl/neural-host/host/internal/jobstate"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/host/internal/submission"
	"github.com/neural-dsl/neural-host/host/internal/wait"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

func jobCommand() *cli.Command {
	return &cli.Command{
		Name:  "job",
		Usage: "plan, submit and follow training jobs",
		Subcommands: []*cli.Command{
			{Name: "plan", Usage: "show what submit would send, and its price, without sending it", ArgsUsage: "SPEC", Flags: specFlags(), Action: jobPlan},
			{Name: "submit", Usage: "submit a job", ArgsUsage: "SPEC (a neural-job.yaml, a .py script or a .neural model)",
				Flags: append(specFlags(),
					&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
					&cli.Float64Flag{Name: "max-cost", Usage: "refuse the job, sending nothing, if its cost bound (price × max runtime) may exceed `USD`"},
					&cli.BoolFlag{Name: "wait", Usage: "wait for the job to end; the exit code says how it ended"},
					&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "stream the job's output until it ends (implies --wait)"},
				), Action: jobSubmit},
			{Name: "status", Usage: "show jobs' states", ArgsUsage: "PLATFORM:ID...", Action: jobStatus},
			{Name: "schema", Usage: "print the JSON Schema of job spec files, for editors", Action: func(c *cli.Context) error {
				_, err := sess(c).out.Out.Write(jobspec.Schema)
				return err
			}},
			{Name: "result", Usage: "show a job's metrics, artifacts and outcome", ArgsUsage: "PLATFORM:ID", Action: jobResult},
			{Name: "logs", Usage: "print a job's output", ArgsUsage: "PLATFORM:ID", Flags: []cli.Flag{
				&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing until the job ends"},
				&cli.StringFlag{Name: "cursor", Usage: "resume after `CURSOR` (from -o json output)"},
			}, Action: jobLogs},
			{Name: "cancel", Usage: "stop a job", ArgsUsage: "PLATFORM:ID", Action: jobCancel},
			{Name: "list", Usage: "list the jobs this machine submitted, with fresh states; --all asks the platforms for the others too", Flags: []cli.Flag{
				&cli.StringSliceFlag{Name: "platform", Aliases: []string{"p"}, Usage: "platforms to ask (default: every installed one)", Action: checkPlatformList("--platform")},
				&cli.StringSliceFlag{Name: "state", Usage: "only jobs in `STATE` (repeatable)"},
				&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "only jobs with `KEY=VALUE` (repeatable)"},
				&cli.StringFlag{Name: "name-prefix", Usage: "only jobs whose name starts with `PREFIX`"},
				&cli.DurationFlag{Name: "since", Usage: "only jobs created within `DURATION`"},
				&cli.IntFlag{Name: "limit", Value: 50, Usage: "at most `N` jobs per platform"},
				&cli.StringFlag{Name: "page-token", Usage: "continue a listing of one platform"},
				&cli.StringFlag{Name: "batch", Usage: "only jobs of batch `ID`"},
				&cli.BoolFlag{Name: "all", Usage: "also ask each platform for jobs this machine did not submit"},
			}, Action: jobList},
			{Name: "wait", Usage: "wait until jobs end; exit 0 only if all succeeded", ArgsUsage: "PLATFORM:ID...", Flags: []cli.Flag{
				&cli.DurationFlag{Name: "timeout", Usage: "give up after `DURATION` (exit 6); 0 waits forever"},
				&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "stream the output of a single job while waiting"},
				&cli.DurationFlag{Name: "poll-interval", Value: time.Second, Usage: "first interval between status checks; it grows to 30s"},
			}, Action: jobWait},
			{Name: "reconcile", Usage: "resolve submissions that a crash or Ctrl-C cut off, through their idempotency keys",
				Description: "Each interrupted submission is looked up on its platform by the label that carries a hash of its\n" +
					"idempotency key. Found: the job is recorded. Not found: no job was started, so it is safe to submit it\n" +
					"again; --resubmit does so, with the same key, so a platform that did start it returns that job.",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "platform", Aliases: []string{"p"}, Usage: "only submissions to `PLATFORM` (repeatable)", Action: checkPlatformList("--platform")},
					&cli.BoolFlag{Name: "resubmit", Usage: "submit again, with the same idempotency key, what the platforms do not have"},
				}, Action: jobReconcile},
		},
	}
}

// planned is a job spec with the plugin that planned it and its plan.
type planned struct {
	conn     sdk.Platform
	spec     *jobspec.Spec
	platform string
	plan     sdk.Plan
}

func (p planned) view() output.Plan {
	return output.PlanOf(p.platform, p.spec.Name, p.plan, p.spec.Resources.MaxRuntime)
}

// planJob loads SPEC, has its platform's plugin plan it, lays the user's
// prices over the plan's and, given --max-cost, holds it to that budget.
func planJob(c *cli.Context) (planned, error) {
	s := sess(c)
	if c.IsSet("max-cost") {
		if err := budget.CheckMaxCost(c.Float64("max-cost")); err != nil {
			return planned{}, err
		}
	}
	spec, platform, err := loadSpec(c, true)
	if err != nil {
		return planned{}, err
	}
	conn, err := s.mgr.Get(c.Context, platform)
	if err != nil {
		return planned{}, err
	}
	if err := spec.CheckOptions(platform, conn.Metadata()); err != nil {
		return planned{}, err
	}
	if spec.IdempotencyKey == "" {
		spec.IdempotencyKey = submission.NewKey()
	}
	p, err := conn.Plan(c.Context, spec.JobSpec)
	if err != nil {
		return planned{}, spec.Describe(err)
	}
	if err := s.prices.Apply(platform, &p); err != nil {
		return planned{}, err
	}
	if c.IsSet("max-cost") {
		if err := s.prices.Check(spec.JobSpec, p, c.Float64("max-cost")); err != nil {
			return planned{}, err
		}
	}
	return planned{conn: conn, spec: spec, platform: platform, plan: p}, nil
}

func jobPlan(c *cli.Context) error {
	p, err := planJob(c)
	if err != nil {
		return err
	}
	return sess(c).out.Show(p.view())
}

func jobSubmit(c *cli.Context) error {
	s := sess(c)
	p, err := planJob(c)
	if err != nil {
		return err
	}
	if err := s.ask(c, p.view(), "Submit this job?"); err != nil {
		return err
	}
	sub, err := s.submitter(c.Context)
	if err != nil {
		return err
	}
	st, err := sub.Submit(c.Context, p.conn, p.platform, p.spec.JobSpec, "")
	if err != nil {
		return err
	}
	ref := sdk.JobRef{Platform: p.platform, ID: st.ID}
	if !c.Bool("wait") && !c.Bool("follow") {
		return s.out.Show(output.Submitted{Job: output.JobOf(p.platform, st)})
	}
	s.out.Notef("Submitted %s\n", output.Escape(ref.String()))
	return waitFor(c.Context, s, stateJobsOf([]sdk.JobRef{ref}), wait.Waiter{Interval: time.Second}, c.Bool("follow"))
}

// refs parses the PLATFORM:ID arguments; there must be at least one.
func refs(c *cli.Context) ([]sdk.JobRef, error) {
	if c.NArg() < 1 {
		return nil, usageError("give a job as PLATFORM:ID, for example local:3f9c2a")
	}
	var out []sdk.JobRef
	for _, a := range c.Args().Slice() {
		r, err := sdk.ParseJobRef(a)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// oneRef is the single PLATFORM:ID argument and its platform's plugin.
func oneRef(c *cli.Context) (sdk.Platform, sdk.JobRef, error) {
	rs, err := refs(c)
	if err != nil {
		return nil, sdk.JobRef{}, err
	}
	if len(rs) != 1 {
		return nil, sdk.JobRef{}, usageError("give exactly one job")
	}
	conn, err := sess(c).mgr.Get(c.Context, rs[0].Platform)
	return conn, rs[0], err
}

// status asks ref's platform for its state.
func (s *session) status(ctx context.Context, ref sdk.JobRef) (sdk.JobStatus, error) {
	conn, err := s.mgr.Get(ctx, ref.Platform)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	return conn.Status(ctx, ref.ID)
}

func jobStatus(c *cli.Context) error {
	s := sess(c)
	rs, err := refs(c)
	if err != nil {
		return err
	}
	var jobs output.Jobs
	for _, r := range rs {
		st, err := s.status(c.Context, r)
		if err != nil {
			return err
		}
		jobs = append(jobs, output.JobOf(r.Platform, st))
	}
	if len(jobs) == 1 {
		return s.out.Show(jobs[0])
	}
	return s.out.Show(jobs)
}

func jobResult(c *cli.Context) error {
	conn, ref, err := oneRef(c)
	if err != nil {
		return err
	}
	r, err := conn.Result(c.Context, ref.ID)
	if err != nil {
		return err
	}
	return sess(c).out.Show(output.ResultOf(ref.Platform, r))
}

func jobLogs(c *cli.Context) error {
	conn, ref, err := oneRef(c)
	if err != nil {
		return err
	}
	return streamLogs(c.Context, sess(c), conn, ref, c.String("cursor"), c.Bool("follow"))
}

func streamLogs(ctx context.Context, s *session, conn sdk.Platform, ref sdk.JobRef, cursor string, follow bool) error {
	return conn.Logs(ctx, sdk.LogsRequest{ID: ref.ID, Cursor: cursor, Follow: follow}, s.out.LogEntry)
}

func jobCancel(c *cli.Context) error {
	conn, ref, err := oneRef(c)
	if err != nil {
		return err
	}
	st, err := conn.Cancel(c.Context, ref.ID)
	if err != nil {
		return err
	}
	return sess(c).out.Show(output.Cancelled{Job: output.JobOf(ref.Platform, st)})
}

func jobWait(c *cli.Context) error {
	s := sess(c)
	rs, err := refs(c)
	if err != nil {
		return err
	}
	if c.Bool("follow") && len(rs) != 1 {
		return usageError("--follow streams one job's output: give exactly one job")
	}
	w, err := waiterFlags(c)
	if err != nil {
		return err
	}
	return waitFor(c.Context, s, stateJobsOf(rs), w, c.Bool("follow"))
}

// waiterFlags reads --timeout and --poll-interval.
func waiterFlags(c *cli.Context) (wait.Waiter, error) {
	if c.Duration("poll-interval") <= 0 {
		return wait.Waiter{}, usageError("--poll-interval must be positive")
	}
	return wait.Waiter{Timeout: c.Duration("timeout"), Interval: c.Duration("poll-interval")}, nil
}

// waitFor waits for every job to end, telling people as each does, and
// returns how they ended as the documented exit code's error.
func waitFor(ctx context.Context, s *session, jobs []jobstate.Job, w wait.Waiter, follow bool) error {
	rs := make([]sdk.JobRef, len(jobs))
	for i, j := range jobs {
		rs[i] = j.Ref()
	}
	w.Poll, w.Ended = statesPoll(s, jobs), s.out.JobEnded
	if follow {
		w.Follow = func(ctx context.Context) error {
			conn, err := s.mgr.Get(ctx, rs[0].Platform)
			if err != nil {
				return err
			}
			return streamLogs(ctx, s, conn, rs[0], "", true)
		}
	}
	final, err := w.Wait(ctx, rs)
	if err != nil {
		return err
	}
	waited := output.Waited{}
	for _, r := range rs {
		waited = append(waited, output.JobOf(r.Platform, final[r]))
	}
	if err := s.out.Show(waited); err != nil {
		return err
	}
	return wait.Outcome(rs, final)
}

// listFilter is what job list selects by.
type listFilter struct {
	index.Filter
	states []sdk.State
	limit  int
	all    bool
	token  string
}

func parseListFilter(c *cli.Context) (listFilter, error) {
	f := listFilter{Filter: index.Filter{Platforms: c.StringSlice("platform"), Batch: c.String("batch"), NamePrefix: c.String("name-prefix"),
		Submissions: []index.Submission{index.Submitted, index.Submitting, index.Missing}},
		limit: c.Int("limit"), all: c.Bool("all"), token: c.String("page-token")}
	for _, st := range c.StringSlice("state") {
		if !slices.Contains(sdk.States, sdk.State(st)) {
			return f, usageError(fmt.Sprintf("--state %q: use one of %v", st, sdk.States))
		}
		f.states = append(f.states, sdk.State(st))
	}
	if err := parseKV(c.StringSlice("label"), "--label", &f.Labels); err != nil {
		return f, err
	}
	if d := c.Duration("since"); d > 0 {
		f.CreatedAfter = time.Now().Add(-d)
	}
	if f.limit < 1 {
		return f, usageError("--limit must be at least 1")
	}
	if f.token != "" && (!f.all || len(f.Platforms) != 1) {
		return f, usageError("--page-token continues one platform's listing: give --all and exactly one --platform")
	}
	return f, nil
}

// jobList is the index's jobs with fresh platform states, and with --all
// the platforms' own listings. A platform that could not be asked fails
// the command, with its own error, rather than show stale rows as fresh.
func jobList(c *cli.Context) error {
	s := sess(c)
	f, err := parseListFilter(c)
	if err != nil {
		return err
	}
	l, err := listIndexed(c.Context, s, f)
	if err != nil {
		return err
	}
	if f.all {
		listPlatforms(c.Context, s, f, l)
	}
	out, listErrs := l.out, l.errs
	slices.SortStableFunc(out.Jobs, func(a, b output.IndexedJob) int { return cmp.Compare(b.CreatedAt, a.CreatedAt) })
	if len(f.states) > 0 {
		out.Jobs = limitPerPlatform(out.Jobs, f.limit, func(j output.IndexedJob) string { return j.Platform })
	}
	if err := s.out.Show(out); err != nil {
		return err
	}
	var failed []error
	for _, p := range slices.Sorted(maps.Keys(listErrs)) {
		failed = append(failed, fmt.Errorf("%s: %w", p, listErrs[p]))
	}
	return errors.Join(failed...)
}

// listing is job list under way: the rows so far, the refs the index
// knows, and each platform's error.
type listing struct {
	out   output.IndexedJobList
	known map[string]bool
	errs  map[string]error
}

// listIndexed is the index's rows that f selects, refreshed.
func listIndexed(ctx context.Context, s *session, f listFilter) (*listing, error) {
	l := &listing{out: output.IndexedJobList{Jobs: []output.IndexedJob{}, NextPageTokens: map[string]string{}, Errors: map[string]string{}},
		known: map[string]bool{}, errs: map[string]error{}}
	db, err := s.jobs.open(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := db.List(ctx, f.Filter)
	if err != nil {
		return nil, err
	}
	if len(f.states) == 0 {
		recs = limitPerPlatform(recs, f.limit, func(r index.Record) string { return r.Platform })
	}
	for _, j := range refreshRecords(ctx, s, db, recs, l.out.Errors) {
		if len(f.states) == 0 || slices.Contains(f.states, j.State) {
			l.out.Jobs = append(l.out.Jobs, j)
		}
		if j.Ref != "" {
			l.known[j.Ref] = true
		}
	}
	for p, msg := range l.out.Errors {
		l.errs[p] = &sdk.Error{Kind: sdk.ErrUnavailable, Message: "could not refresh the states of its jobs: " + msg,
			Hint: "the jobs of " + p + " are shown with their last recorded states; check it with 'neural-host auth check " + p + "'"}
	}
	return l, nil
}

// listPlatforms adds the jobs the platforms list that the index does not
// know (--all).
func listPlatforms(ctx context.Context, s *session, f listFilter, l *listing) {
	out := &l.out
	platforms := f.Platforms
	if len(platforms) == 0 {
		platforms = installed(s)
	}
	req := sdk.ListRequest{States: f.states, Labels: f.Labels, NamePrefix: f.NamePrefix, CreatedAfter: f.CreatedAfter, PageSize: f.limit, PageToken: f.token}
	if f.Batch != "" {
		req.Labels = maps.Clone(req.Labels)
		if req.Labels == nil {
			req.Labels = map[string]string{}
		}
		req.Labels[submission.LabelBatch] = f.Batch
	}
	for _, p := range platforms {
		conn, err := s.mgr.Get(ctx, p)
		var resp sdk.ListResponse
		if err == nil {
			resp, err = conn.List(ctx, req)
		}
		if err != nil {
			if _, refreshFailed := out.Errors[p]; !refreshFailed {
				out.Errors[p], l.errs[p] = s.errorText(err), s.mgr.Explain(err)
			}
			continue
		}
		for _, st := range resp.Jobs {
			if j := (output.IndexedJob{Job: output.JobOf(p, st), Submission: string(index.Submitted)}); !l.known[j.Ref] {
				out.Jobs = append(out.Jobs, j)
			}
		}
		if resp.NextPageToken != "" {
			out.NextPageTokens[p] = resp.NextPageToken
		}
	}
}

// limitPerPlatform keeps the first n of each platform's items.
func limitPerPlatform[T any](items []T, n int, platform func(T) string) []T {
	count := map[string]int{}
	var out []T
	for _, it := range items {
		if p := platform(it); count[p] < n {
			count[p]++
			out = append(out, it)
		}
	}
	return out
}

func jobReconcile(c *cli.Context) error {
	s := sess(c)
	if c.NArg() > 0 {
		return usageError("job reconcile takes no arguments; narrow it with --platform")
	}
	sub, err := s.submitter(c.Context)
	if err != nil {
		return err
	}
	recs, err := submission.Pending(c.Context, sub.DB, c.StringSlice("platform"), c.Bool("resubmit"))
	if err != nil {
		return err
	}
	r := &submission.Reconciler{Submitter: sub, Connect: func(ctx context.Context, p string) (sdk.Platform, error) { return s.mgr.Get(ctx, p) }}
	resolved, err := r.Reconcile(c.Context, recs, c.Bool("resubmit"))
	if err != nil {
		return err
	}
	rows := output.Reconciliation{}
	failed := 0
	for _, res := range resolved {
		rows = append(rows, output.ReconciledOf(res))
		if !res.Settled() {
			failed++
		}
	}
	if err := s.out.Show(rows); err != nil {
		return err
	}
	if failed > 0 {
		return &sdk.Error{Kind: sdk.ErrUnavailable, Message: fmt.Sprintf("%d of %d submissions could not be resolved; run 'neural-host job reconcile' again", failed, len(rows))}
	}
	return nil
}
