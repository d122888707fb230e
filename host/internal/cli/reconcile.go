package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/neural-dsl/neural-host/host/internal/batch"
	"github.com/neural-dsl/neural-host/host/internal/index"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

func reconcileCommand() *cli.Command {
	return &cli.Command{
		Name:  "reconcile",
		Usage: "resolve submissions that a crash or Ctrl-C cut off, through their idempotency keys",
		Description: "Each interrupted submission is looked up on its platform by the label that carries a hash of its\n" +
			"idempotency key. Found: the job is recorded. Not found: no job was started, so it is safe to submit it\n" +
			"again; --resubmit does so, with the same key, so a platform that did start it returns that job.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "platform", Aliases: []string{"p"}, Usage: "only submissions to `PLATFORM` (repeatable)", Action: checkPlatformList("--platform")},
			&cli.BoolFlag{Name: "resubmit", Usage: "submit again, with the same idempotency key, what the platforms do not have"},
		},
		Action: jobReconcile,
	}
}

// lookupPages bounds how many pages of a platform's listing a lookup reads.
const lookupPages = 200

func jobReconcile(c *cli.Context) error {
	s := sess(c)
	if c.NArg() > 0 {
		return usageError("job reconcile takes no arguments; narrow it with --platform")
	}
	db, err := s.jobs.open(c.Context)
	if err != nil {
		return err
	}
	subs := []index.Submission{index.Submitting}
	if c.Bool("resubmit") {
		subs = append(subs, index.Missing)
	}
	recs, err := db.List(c.Context, index.Filter{Platforms: c.StringSlice("platform"), Submissions: subs, WithSpec: true})
	if err != nil {
		return err
	}
	rows := []output.Reconciled{}
	var failed int
	f := &finder{batches: map[string]map[string]sdk.JobStatus{}}
	for _, r := range recs {
		row := output.Reconciled{Platform: r.Platform, IdempotencyKey: r.Key, Name: r.Name, Batch: r.Batch}
		reconcileOne(c.Context, s, db, f, r, c.Bool("resubmit"), &row)
		if row.Outcome == "unresolved" || row.Outcome == "failed" {
			failed++
		}
		rows = append(rows, row)
		if c.Context.Err() != nil {
			return c.Context.Err()
		}
	}
	if s.out.Format == output.JSON {
		if err := s.out.JSON(rows); err != nil {
			return err
		}
	} else if len(rows) == 0 {
		fmt.Fprintln(s.out.Out, "Nothing to reconcile: every submission in the index has an outcome.")
	} else {
		var table [][]string
		for _, r := range rows {
			table = append(table, []string{r.Platform, r.Name, r.Outcome, r.Ref, r.Message})
		}
		s.out.Table([]string{"PLATFORM", "NAME", "OUTCOME", "JOB", "DETAIL"}, table)
	}
	if failed > 0 {
		return &sdk.Error{Kind: sdk.ErrUnavailable, Message: fmt.Sprintf("%d of %d submissions could not be resolved; run 'neural-host job reconcile' again", failed, len(rows))}
	}
	return nil
}

func reconcileOne(ctx context.Context, s *session, db *index.DB, f *finder, r index.Record, resubmit bool, row *output.Reconciled) {
	if r.Submission == index.Submitting && r.OwnerPID != 0 && r.OwnerPID != os.Getpid() && alive(r.OwnerPID) {
		row.Outcome, row.Message = "in_progress", fmt.Sprintf("process %d is still submitting it", r.OwnerPID)
		return
	}
	fail := func(outcome string, err error) {
		row.Outcome, row.Message = outcome, s.redact(s.mgr.Explain(err).Error())
	}
	conn, err := s.mgr.Get(ctx, r.Platform)
	if err != nil {
		fail("unresolved", err)
		return
	}
	st, found, err := f.find(ctx, conn, r)
	if err != nil {
		fail("unresolved", err)
		return
	}
	if found {
		if err := db.Submitted(context.WithoutCancel(ctx), r.Platform, r.Key, st); err != nil {
			fail("unresolved", err)
			return
		}
		row.Outcome, row.Ref, row.State = "found", sdk.JobRef{Platform: r.Platform, ID: st.ID}.String(), string(st.State)
		row.Message = "the platform has the job; it is now recorded"
		return
	}
	if !resubmit {
		if err := db.Failed(context.WithoutCancel(ctx), r.Platform, r.Key, index.Missing, r.Error); err != nil {
			fail("unresolved", err)
			return
		}
		row.Outcome, row.Message = "not_found", "no job was started: safe to resubmit with 'neural-host job reconcile --resubmit'"
		return
	}
	st, err = submitRecorded(ctx, s, conn, r.Platform, r.Spec, r.Batch)
	if err != nil {
		fail("failed", err)
		return
	}
	row.Outcome, row.Ref, row.State = "resubmitted", sdk.JobRef{Platform: r.Platform, ID: st.ID}.String(), string(st.State)
	row.Message = "submitted again with the same idempotency key"
}

// finder looks submissions up on their platforms through the labels every
// submission carries: a job alone by its neural-submission label, the jobs
// of a batch all at once by their neural-batch label.
type finder struct {
	// batches holds each listed batch's jobs by submission tag, keyed by
	// platform and batch id.
	batches map[string]map[string]sdk.JobStatus
}

func (f *finder) find(ctx context.Context, conn sdk.Platform, r index.Record) (sdk.JobStatus, bool, error) {
	tag := submissionTag(r.Key)
	if r.Batch == "" {
		jobs, err := listLabelled(ctx, conn, labelSubmission, tag)
		st, ok := jobs[tag]
		return st, ok, err
	}
	k := r.Platform + "\x00" + r.Batch
	jobs, ok := f.batches[k]
	if !ok {
		var err error
		if jobs, err = listLabelled(ctx, conn, batch.LabelBatch, r.Batch); err != nil {
			return sdk.JobStatus{}, false, err
		}
		f.batches[k] = jobs
	}
	st, found := jobs[tag]
	return st, found, nil
}

// listLabelled lists the platform's jobs labelled key=value by their
// submission tag. A platform that ignores label filters is still answered
// correctly: each job's labels are checked here too.
func listLabelled(ctx context.Context, conn sdk.Platform, key, value string) (map[string]sdk.JobStatus, error) {
	out := map[string]sdk.JobStatus{}
	req := sdk.ListRequest{Labels: map[string]string{key: value}, PageSize: 100}
	for page := 0; page < lookupPages; page++ {
		resp, err := conn.List(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, st := range resp.Jobs {
			if tag := st.Labels[labelSubmission]; tag != "" && st.Labels[key] == value {
				out[tag] = st
			}
		}
		if resp.NextPageToken == "" {
			return out, nil
		}
		req.PageToken = resp.NextPageToken
	}
	return nil, &sdk.Error{Kind: sdk.ErrUnavailable,
		Message: fmt.Sprintf("the platform's listing did not end within %d pages", lookupPages),
		Hint:    "resubmitting with --resubmit is still safe: the same idempotency key returns an existing job"}
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
