package cli

import (
	"bufio"
	"context"
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

type submitOutcome struct {
	st  sdk.JobStatus
	err error
}

// recordChunk is how many jobs of a batch one index transaction records.
const recordChunk = 64

// recordedChunk is jobs recorded together; done closes once err is set.
type recordedChunk struct {
	recs []index.Record
	done chan struct{}
	err  error
}

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
	began := time.Now()
	// Plugins the file names start while its jobs expand; a start that
	// fails here is retried, and reported, below.
	warm := make(chan struct{})
	go func() {
		defer close(warm)
		for _, p := range batch.NamedPlatforms(c.Args().First(), c.String("platform")) {
			_, _ = s.mgr.Get(c.Context, p)
		}
	}()
	b, err := batch.Load(c.Context, c.Args().First(), c.String("id"), c.String("platform"))
	<-warm
	if err != nil {
		return err
	}
	s.log.Debug("batch read", "batch", b.ID, "jobs", len(b.Items), "took", time.Since(began))
	// Each platform's plugin starts once here and serves all its jobs; a
	// missing setting or an unknown option stops the batch before anything
	// is sent.
	conns := map[string]sdk.Platform{}
	var problems []error
	for _, p := range b.Platforms() {
		conn, err := s.mgr.Get(c.Context, p)
		if err != nil {
			return err
		}
		conns[p] = conn
		for _, it := range b.Items {
			if it.Platform != p {
				continue
			}
			if err := checkOptions(p, conn.Metadata(), it.Spec); err != nil {
				for _, e := range flatten(err) {
					problems = append(problems, describeItem(it, e))
				}
			}
		}
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	s.log.Debug("plugins ready", "platforms", len(conns), "took", time.Since(began))
	db, err := s.jobs.open(c.Context)
	if err != nil {
		return err
	}
	res := output.BatchSubmit{Batch: b.ID, File: b.Path, Jobs: make([]output.BatchJob, len(b.Items)),
		Counts: map[string]int{"submitted": 0, "already_submitted": 0, "failed": 0, "interrupted": 0, "not_attempted": 0}}
	// What an earlier run of this batch submitted is not sent again.
	earlier, err := db.List(c.Context, index.Filter{Batch: b.ID, Submissions: []index.Submission{index.Submitted}})
	if err != nil {
		return err
	}
	done := map[string]index.Record{}
	for _, r := range earlier {
		done[r.Platform+"\x00"+r.Key] = r
	}
	var pending []*batch.Item
	perPlatform := map[string]int{}
	pos := map[*batch.Item]int{}
	for i, it := range b.Items {
		pos[it] = i
		j := output.BatchJob{Index: it.Index, Name: it.Spec.Name, Platform: it.Platform, IdempotencyKey: it.Key(), Outcome: "not_attempted", Matrix: it.Matrix}
		if rec, ok := done[it.Platform+"\x00"+it.Key()]; ok {
			j.Outcome, j.ID, j.Ref, j.State = "already_submitted", rec.JobID, rec.Ref(), string(rec.State)
		} else {
			pending = append(pending, it)
			perPlatform[it.Platform]++
		}
		res.Jobs[i] = j
	}
	if len(pending) > 0 && s.interactive && !c.Bool("yes") && s.out.Format == output.Table {
		var parts []string
		for _, p := range output.SortedKeys(perPlatform) {
			parts = append(parts, fmt.Sprintf("%d to %s", perPlatform[p], p))
		}
		fmt.Fprintf(s.errw, "Batch %s: submit %s (%d already submitted)? [y/N] ", b.ID, strings.Join(parts, ", "), len(b.Items)-len(pending))
		answer, _ := bufio.NewReader(s.in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return usageError("not submitted")
		}
	}
	// Jobs are recorded as submitting a chunk per transaction, ahead of
	// the workers: each job is in the index before it is sent, without a
	// wait per job, and the first jobs go out before the last are written.
	specOf := map[*batch.Item]sdk.JobSpec{}
	chunkOf := map[*batch.Item]*recordedChunk{}
	var chunks []*recordedChunk
	for i := 0; i < len(pending); i += recordChunk {
		ch := &recordedChunk{done: make(chan struct{})}
		for _, it := range pending[i:min(i+recordChunk, len(pending))] {
			spec, rec := submission(it.Platform, it.Spec.JobSpec, b.ID)
			specOf[it], chunkOf[it] = spec, ch
			ch.recs = append(ch.recs, rec)
		}
		chunks = append(chunks, ch)
	}
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		for _, ch := range chunks {
			ch.err = db.BeginAll(c.Context, ch.recs)
			close(ch.done)
		}
		s.log.Debug("submissions recorded", "jobs", len(pending), "took", time.Since(began))
	}()
	// Outcomes are written in the background, so a worker moves on to
	// its next job at once; all are written before the command ends.
	var recording sync.WaitGroup
	var recordErr error
	var recordMu sync.Mutex
	progress := batchProgress(s, perPlatform, len(pending))
	start := time.Now()
	outs := batch.Run(c.Context, pending, parallel, func(ctx context.Context, it *batch.Item) submitOutcome {
		spec, ch := specOf[it], chunkOf[it]
		<-ch.done
		if ch.err != nil {
			return submitOutcome{err: ch.err}
		}
		st, err := submitWithRetry(ctx, s, conns[it.Platform], spec)
		err = s.mgr.Explain(err)
		recording.Add(1)
		go func() {
			defer recording.Done()
			if rerr := recordOutcome(ctx, s, db, it.Platform, spec.IdempotencyKey, st, err); rerr != nil && err == nil {
				recordMu.Lock()
				recordErr = rerr
				recordMu.Unlock()
			}
		}()
		return submitOutcome{st, err}
	}, func(it *batch.Item, o submitOutcome) {
		if progress == nil {
			return
		}
		if o.err != nil {
			progress.Done(it.Platform, true, fmt.Sprintf("%s on %s failed: %s", it.Describe(), it.Platform, s.redact(o.err.Error())))
			return
		}
		progress.Done(it.Platform, false, fmt.Sprintf("%s: %s (%s)", it.Describe(), sdk.JobRef{Platform: it.Platform, ID: o.st.ID}, o.st.State))
	})
	res.DurationSeconds = time.Since(start).Seconds()
	s.log.Debug("batch sent", "jobs", len(pending), "took", time.Since(start))
	// After Ctrl-C some chunks may still be on their way; the index must
	// not close under them.
	<-recorded
	recording.Wait()
	if progress != nil {
		progress.Stop()
	}
	if recordErr != nil {
		return recordErr
	}
	// Jobs never sent (Ctrl-C came first) are known not to exist.
	var unsent sync.WaitGroup
	for i, it := range pending {
		if outs[i] != nil || chunkOf[it].err != nil {
			continue
		}
		unsent.Add(1)
		go func(it *batch.Item) {
			defer unsent.Done()
			if err := db.Failed(context.WithoutCancel(c.Context), it.Platform, specOf[it].IdempotencyKey, index.Missing, "not sent: the batch was interrupted first"); err != nil {
				s.log.Debug("could not record an unsent job", "error", err)
			}
		}(it)
	}
	unsent.Wait()
	for i, it := range pending {
		j := &res.Jobs[pos[it]]
		o := outs[i]
		switch {
		case o == nil:
		case o.err == nil:
			j.Outcome, j.ID, j.Ref, j.State = "submitted", o.st.ID, sdk.JobRef{Platform: it.Platform, ID: o.st.ID}.String(), string(o.st.State)
		case afterFailure(o.err) == index.Rejected:
			j.Outcome, j.Error = "failed", s.redact(o.err.Error())
		default:
			j.Outcome, j.Error = "interrupted", s.redact(o.err.Error())
		}
	}
	for _, j := range res.Jobs {
		res.Counts[j.Outcome]++
	}
	if s.out.Format == output.JSON {
		if err := s.out.JSON(res); err != nil {
			return err
		}
	} else {
		printBatchSubmit(s, res)
	}
	if c.Context.Err() != nil {
		return c.Context.Err()
	}
	if bad := res.Counts["failed"] + res.Counts["interrupted"]; bad > 0 {
		return &sdk.Error{Kind: sdk.ErrUnavailable, Message: fmt.Sprintf("%d of %d jobs of batch %s were not submitted", bad, len(res.Jobs), b.ID),
			Hint: "fix what failed and run the same command again: only the jobs not yet submitted are sent"}
	}
	return nil
}

// batchProgress is a bar per platform on a terminal, a line per job
// otherwise, and nothing for -o json.
func batchProgress(s *session, perPlatform map[string]int, total int) batch.Progress {
	if s.out.Format == output.JSON || total == 0 {
		return nil
	}
	if isTerminal(s.errw) {
		return batch.NewBars(s.errw, perPlatform)
	}
	return &batch.Lines{W: s.errw, Total: total}
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

func printBatchSubmit(s *session, res output.BatchSubmit) {
	var rows [][]string
	for _, j := range res.Jobs {
		ref := j.Ref
		if ref == "" {
			ref = j.Platform + ":-"
		}
		rows = append(rows, []string{ref, j.Name, j.Outcome, j.State, j.Error})
	}
	s.out.Table([]string{"JOB", "NAME", "OUTCOME", "STATE", "ERROR"}, rows)
	fmt.Fprintf(s.out.Out, "\nBatch %s: %d submitted, %d already submitted, %d failed, %d interrupted, %d not attempted (%.1fs).\n",
		res.Batch, res.Counts["submitted"], res.Counts["already_submitted"], res.Counts["failed"], res.Counts["interrupted"],
		res.Counts["not_attempted"], res.DurationSeconds)
	fmt.Fprintf(s.out.Out, "  status: neural-host batch status %s\n  wait:   neural-host batch wait %s\n", res.Batch, res.Batch)
}

// batchRecords returns the index's rows of batch id, or an error saying
// there is no such batch.
func batchRecords(c *cli.Context) (*session, *index.DB, string, []index.Record, error) {
	s := sess(c)
	if c.NArg() != 1 {
		return s, nil, "", nil, usageError("give exactly one BATCH id; 'neural-host batch list' shows them")
	}
	id := c.Args().First()
	db, err := s.jobs.open(c.Context)
	if err != nil {
		return s, nil, id, nil, err
	}
	recs, err := db.List(c.Context, index.Filter{Batch: id})
	if err != nil {
		return s, db, id, nil, err
	}
	if len(recs) == 0 {
		return s, db, id, nil, &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "batch", Message: fmt.Sprintf("no batch %q in the job index", id),
			Hint: "'neural-host batch list' shows the batches submitted from this machine"}
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
	return s, db, id, recs, nil
}

func batchStatus(c *cli.Context) error {
	s, db, id, recs, err := batchRecords(c)
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
	if s.out.Format == output.JSON {
		if err := s.out.JSON(res); err != nil {
			return err
		}
	} else {
		printIndexedJobs(s, res.Jobs)
		var parts []string
		for _, k := range output.SortedKeys(res.Counts) {
			parts = append(parts, fmt.Sprintf("%d %s", res.Counts[k], k))
		}
		fmt.Fprintf(s.out.Out, "\nBatch %s: %d jobs: %s.\n", id, len(res.Jobs), strings.Join(parts, ", "))
	}
	var failed []error
	for _, p := range output.SortedKeys(res.Errors) {
		failed = append(failed, &sdk.Error{Kind: sdk.ErrUnavailable, Message: p + ": " + res.Errors[p]})
	}
	return errors.Join(failed...)
}

func batchWait(c *cli.Context) error {
	s, _, id, recs, err := batchRecords(c)
	if err != nil {
		return err
	}
	if c.Duration("poll-interval") <= 0 {
		return usageError("--poll-interval must be positive")
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
	if err := waitFor(c.Context, s, jobs, c.Duration("timeout"), c.Duration("poll-interval"), false); err != nil {
		return err
	}
	if len(unsubmitted) > 0 {
		return notAll
	}
	return nil
}

func batchCancel(c *cli.Context) error {
	s, db, id, recs, err := batchRecords(c)
	if err != nil {
		return err
	}
	res := output.BatchCancel{Batch: id, Jobs: []output.Job{}, Errors: map[string]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, refreshConcurrency)
	for _, r := range recs {
		if r.Submission != index.Submitted {
			continue
		}
		if r.Terminal {
			mu.Lock()
			res.Jobs = append(res.Jobs, output.JobOf(r.Platform, r.Status()))
			mu.Unlock()
			continue
		}
		conn, err := s.mgr.Get(c.Context, r.Platform)
		if err != nil {
			mu.Lock()
			res.Errors[r.Ref()] = s.redact(s.mgr.Explain(err).Error())
			mu.Unlock()
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(r index.Record) {
			defer func() { <-sem; wg.Done() }()
			st, err := conn.Cancel(c.Context, r.JobID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors[r.Ref()] = s.redact(s.mgr.Explain(err).Error())
				return
			}
			if err := db.Update(context.WithoutCancel(c.Context), r.Platform, st); err != nil {
				s.log.Debug("could not record a job's state", "job", r.Ref(), "error", err)
			}
			res.Jobs = append(res.Jobs, output.JobOf(r.Platform, st))
		}(r)
	}
	wg.Wait()
	sort.Slice(res.Jobs, func(i, j int) bool { return res.Jobs[i].Ref < res.Jobs[j].Ref })
	if s.out.Format == output.JSON {
		if err := s.out.JSON(res); err != nil {
			return err
		}
	} else {
		for _, j := range res.Jobs {
			fmt.Fprintf(s.out.Out, "%s: %s\n", output.Escape(j.Ref), s.out.State(sdk.State(j.State)))
		}
		for _, ref := range output.SortedKeys(res.Errors) {
			fmt.Fprintf(s.out.Out, "%s: cancel failed: %s\n", output.Escape(ref), output.Escape(res.Errors[ref]))
		}
	}
	if len(res.Errors) > 0 {
		return &sdk.Error{Kind: sdk.ErrUnavailable, Message: fmt.Sprintf("%d jobs of batch %s could not be cancelled", len(res.Errors), id),
			Hint: "run 'neural-host batch cancel " + id + "' again"}
	}
	return nil
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
	rows := []output.BatchSummary{}
	for _, b := range bs {
		rows = append(rows, output.BatchSummary{Batch: b.ID, Jobs: b.Jobs, CreatedAt: output.Time(b.CreatedAt)})
	}
	if s.out.Format == output.JSON {
		return s.out.JSON(rows)
	}
	var table [][]string
	for _, r := range rows {
		table = append(table, []string{r.Batch, fmt.Sprint(r.Jobs), r.CreatedAt})
	}
	s.out.Table([]string{"BATCH", "JOBS", "CREATED"}, table)
	return nil
}
