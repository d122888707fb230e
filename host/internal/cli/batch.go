package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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

func batchCommand() *cli.Command {
	return &cli.Command{
		Name:  "batch",
		Usage: "submit and follow many jobs at once: a list of specs, or a base spec and a parameter matrix",
		Subcommands: []*cli.Command{
			{Name: "submit", Usage: "submit every job of a batch file that is not submitted yet", ArgsUsage: "FILE",
				Description: "See docs/batch.md for the file. Each platform's plugin is started once and shared by all its jobs.\n" +
					"Running the same file again submits only the jobs an earlier run did not: each job's idempotency key\n" +
					"comes from the batch id and its spec.",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "parallel", Aliases: []string{"j"}, Value: 8, Usage: "at most `N` submissions in flight at once"},
					&cli.StringFlag{Name: "platform", Aliases: []string{"p"}, Usage: "platform of jobs for which neither the spec nor the batch file names one", Action: checkPlatformFlag},
					&cli.StringFlag{Name: "id", Usage: "batch `ID` (overrides the file's id:)"},
					&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
				}, Action: batchSubmit},
			{Name: "status", Usage: "show the state of every job of a batch", ArgsUsage: "BATCH", Action: batchStatus},
			{Name: "wait", Usage: "wait until every job of a batch ends; exit 0 only if all succeeded", ArgsUsage: "BATCH", Flags: []cli.Flag{
				&cli.DurationFlag{Name: "timeout", Usage: "give up after `DURATION` (exit 6); 0 waits forever"},
				&cli.DurationFlag{Name: "poll-interval", Value: time.Second, Usage: "first interval between status checks; it grows to 30s"},
			}, Action: batchWait},
			{Name: "cancel", Usage: "stop every job of a batch that has not ended", ArgsUsage: "BATCH", Action: batchCancel},
			{Name: "list", Usage: "list the batches in the local job index", Action: batchList},
		},
	}
}

// maxParallel bounds --parallel: beyond it a plugin's connection, not the
// host, is the limit.
const maxParallel = 256

func batchSubmit(c *cli.Context) error {
	s := sess(c)
	if c.NArg() != 1 {
		return usageError("give exactly one batch FILE; see docs/batch.md")
	}
	parallel := c.Int("parallel")
	if parallel < 1 || parallel > maxParallel {
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "--parallel", Message: fmt.Sprintf("must be between 1 and %d, got %d", maxParallel, parallel),
			Hint: "pass --parallel 8, or as many submissions as the platforms allow at once"}
	}
	if id := c.String("id"); id != "" && !batch.ValidID(id) {
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "--id", Message: fmt.Sprintf("%q cannot name a batch", id),
			Hint: "use lowercase letters, digits, '-' and '_', at most 63, starting with a letter or digit"}
	}
	b, conns, err := loadBatch(c, s)
	if err != nil {
		return err
	}
	sub, err := s.submitter(c.Context)
	if err != nil {
		return err
	}
	run, err := batch.Resume(c.Context, sub.DB, b)
	if err != nil {
		return err
	}
	if err := askBatch(c, s, run); err != nil {
		return err
	}
	progress := s.out.NewBatchProgress(run.Pending(), isTerminal(s.errw), s.mgr.Redact)
	sender := &batch.Sender{Submitter: sub, Conns: conns, Parallel: parallel, Done: progress.Done, Log: s.log}
	err = sender.Send(c.Context, run)
	progress.Stop()
	s.log.Debug("batch sent", "jobs", len(b.Items), "took", run.Duration)
	if err != nil {
		return err
	}
	res := output.BatchSubmitOf(run, s.mgr.Redact)
	if err := s.out.Show(res); err != nil {
		return err
	}
	if c.Context.Err() != nil {
		return c.Context.Err()
	}
	if bad := res.Counts[string(batch.Failed)] + res.Counts[string(batch.Interrupted)]; bad > 0 {
		return &sdk.Error{Kind: sdk.ErrUnavailable, Message: fmt.Sprintf("%d of %d jobs of batch %s were not submitted", bad, len(res.Jobs), b.ID),
			Hint: "fix what failed and run the same command again: only the jobs not yet submitted are sent"}
	}
	return nil
}

// loadBatch expands the batch file and starts each platform's plugin once
// for all its jobs; a missing setting or an unknown option stops the batch
// before anything is sent.
func loadBatch(c *cli.Context, s *session) (*batch.Batch, map[string]sdk.Platform, error) {
	began := time.Now()
	// Plugins the file names start while its jobs expand; a start that
	// fails here is retried, and reported, below.
	var warm sync.WaitGroup
	warm.Go(func() {
		for _, p := range batch.NamedPlatforms(c.Args().First(), c.String("platform")) {
			_, _ = s.mgr.Get(c.Context, p)
		}
	})
	b, err := batch.Load(c.Context, c.Args().First(), c.String("id"), c.String("platform"))
	warm.Wait()
	if err != nil {
		return nil, nil, err
	}
	s.log.Debug("batch read", "batch", b.ID, "jobs", len(b.Items), "took", time.Since(began))
	conns := map[string]sdk.Platform{}
	var problems []error
	for _, p := range b.Platforms() {
		conn, err := s.mgr.Get(c.Context, p)
		if err != nil {
			return nil, nil, err
		}
		conns[p] = conn
		for _, it := range b.Items {
			if it.Platform == p {
				for _, e := range flatten(it.Spec.CheckOptions(p, conn.Metadata())) {
					if e != nil {
						problems = append(problems, describeItem(it, e))
					}
				}
			}
		}
	}
	s.log.Debug("plugins ready", "platforms", len(conns), "took", time.Since(began))
	return b, conns, errors.Join(problems...)
}

// askBatch asks before sending what is pending, by platform.
func askBatch(c *cli.Context, s *session, run *batch.Submission) error {
	pending := run.Pending()
	if len(pending) == 0 {
		return nil
	}
	var parts []string
	total := 0
	for _, p := range slices.Sorted(maps.Keys(pending)) {
		parts = append(parts, fmt.Sprintf("%d to %s", pending[p], p))
		total += pending[p]
	}
	return s.ask(c, nil, fmt.Sprintf("Batch %s: submit %s (%d already submitted)?", run.Batch.ID, strings.Join(parts, ", "), len(run.Jobs)-total))
}

// describeItem puts the batch job an error is about into its message.
func describeItem(it *batch.Item, err error) error {
	var se *sdk.Error
	if errors.As(err, &se) {
		c := *se
		c.Message = it.Describe() + ": " + se.Message
		return &c
	}
	return fmt.Errorf("%s: %w", it.Describe(), err)
}

// batchRecords returns the index's rows of the BATCH argument, or an
// error saying there is no such batch.
func batchRecords(c *cli.Context) (*index.DB, string, []index.Record, error) {
	s := sess(c)
	if c.NArg() != 1 {
		return nil, "", nil, usageError("give exactly one BATCH id; 'neural-host batch list' shows them")
	}
	id := c.Args().First()
	db, err := s.jobs.open(c.Context)
	if err != nil {
		return nil, id, nil, err
	}
	recs, err := db.List(c.Context, index.Filter{Batch: id})
	if err != nil {
		return db, id, nil, err
	}
	if len(recs) == 0 {
		return db, id, nil, &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "batch", Message: fmt.Sprintf("no batch %q in the job index", id),
			Hint: "'neural-host batch list' shows the batches submitted from this machine"}
	}
	slices.SortStableFunc(recs, func(a, b index.Record) int { return cmp.Compare(a.Name, b.Name) })
	return db, id, recs, nil
}

func batchStatus(c *cli.Context) error {
	s := sess(c)
	db, id, recs, err := batchRecords(c)
	if err != nil {
		return err
	}
	res := output.BatchStatus{Batch: id, Counts: map[string]int{}, Errors: map[string]string{}}
	res.Jobs = refreshRecords(c.Context, s, db, recs, res.Errors)
	for _, j := range res.Jobs {
		if j.Submission == string(index.Submitted) {
			res.Counts[string(j.State)]++
		} else {
			res.Counts[j.Submission]++
		}
	}
	if err := s.out.Show(res); err != nil {
		return err
	}
	var failed []error
	for _, p := range slices.Sorted(maps.Keys(res.Errors)) {
		failed = append(failed, &sdk.Error{Kind: sdk.ErrUnavailable, Message: p + ": " + res.Errors[p]})
	}
	return errors.Join(failed...)
}

func batchWait(c *cli.Context) error {
	_, id, recs, err := batchRecords(c)
	if err != nil {
		return err
	}
	w, err := waiterFlags(c)
	if err != nil {
		return err
	}
	var jobs []jobstate.Job
	var unsubmitted []string
	for _, r := range recs {
		if r.Submission == index.Submitted {
			jobs = append(jobs, stateJob(r))
		} else {
			unsubmitted = append(unsubmitted, r.Name+" ("+string(r.Submission)+")")
		}
	}
	notAll := &sdk.Error{Kind: sdk.ErrUnavailable, Message: fmt.Sprintf("%d jobs of batch %s were never submitted: %s", len(unsubmitted), id, strings.Join(unsubmitted, ", ")),
		Hint: "run 'neural-host job reconcile', or 'neural-host batch submit FILE' again to submit them"}
	if len(jobs) == 0 {
		return notAll
	}
	if err := waitFor(c.Context, sess(c), jobs, w, false); err != nil {
		return err
	}
	if len(unsubmitted) > 0 {
		return notAll
	}
	return nil
}

// cancelConcurrency bounds the cancel calls in flight.
const cancelConcurrency = refreshConcurrency

func batchCancel(c *cli.Context) error {
	s := sess(c)
	db, id, recs, err := batchRecords(c)
	if err != nil {
		return err
	}
	res := output.BatchCancel{Batch: id, Jobs: []output.Job{}, Errors: map[string]string{}}
	var mu sync.Mutex
	done := func(ref string, job *output.Job, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			res.Errors[ref] = s.errorText(err)
		} else {
			res.Jobs = append(res.Jobs, *job)
		}
	}
	cancelRecords(c.Context, s, db, recs, done)
	slices.SortFunc(res.Jobs, func(a, b output.Job) int { return cmp.Compare(a.Ref, b.Ref) })
	if err := s.out.Show(res); err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		return &sdk.Error{Kind: sdk.ErrUnavailable, Message: fmt.Sprintf("%d jobs of batch %s could not be cancelled", len(res.Errors), id),
			Hint: "run 'neural-host batch cancel " + id + "' again"}
	}
	return nil
}

// cancelRecords cancels every submitted row not known to have ended,
// several at once, and tells done about each submitted row.
func cancelRecords(ctx context.Context, s *session, db *index.DB, recs []index.Record, done func(string, *output.Job, error)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, cancelConcurrency)
	for _, r := range recs {
		if r.Submission != index.Submitted {
			continue
		}
		if r.Terminal {
			j := output.JobOf(r.Platform, r.Status())
			done(r.Ref(), &j, nil)
			continue
		}
		conn, err := s.mgr.Get(ctx, r.Platform)
		if err != nil {
			done(r.Ref(), nil, err)
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			st, err := conn.Cancel(ctx, r.JobID)
			if err != nil {
				done(r.Ref(), nil, err)
				return
			}
			if err := db.Update(context.WithoutCancel(ctx), r.Platform, st); err != nil {
				s.log.Debug("could not record a job's state", "job", r.Ref(), "error", err)
			}
			j := output.JobOf(r.Platform, st)
			done(r.Ref(), &j, nil)
		})
	}
	wg.Wait()
}

func batchList(c *cli.Context) error {
	s := sess(c)
	db, err := s.jobs.open(c.Context)
	if err != nil {
		return err
	}
	bs, err := db.Batches(c.Context)
	if err != nil {
		return err
	}
	rows := output.BatchList{}
	for _, b := range bs {
		rows = append(rows, output.BatchSummary{Batch: b.ID, Jobs: b.Jobs, CreatedAt: output.Time(b.CreatedAt)})
	}
	return s.out.Show(rows)
}
