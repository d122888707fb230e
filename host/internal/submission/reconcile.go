package submission

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/neural-dsl/neural-host/host/internal/index"
	"github.com/neural-dsl/neural-host/sdk"
)

// Outcome is what Reconcile did with one row.
type Outcome string

const (
	// Found: the platform has the job; it is now recorded.
	Found Outcome = "found"
	// NotFound: no job was started; resubmitting is safe.
	NotFound Outcome = "not_found"
	// Resubmitted: sent again with the same key.
	Resubmitted Outcome = "resubmitted"
	// InProgress: the process that wrote the row is still submitting it.
	InProgress Outcome = "in_progress"
	// Unresolved: the platform could not be asked, or the answer not
	// recorded.
	Unresolved Outcome = "unresolved"
	// Failed: the resubmission failed.
	Failed Outcome = "failed"
)

// Pending lists the rows Reconcile settles, with the stored specs a
// resubmission sends: interrupted submissions (of the given platforms, or
// all when none are given), and with resubmit the missing ones too.
func Pending(ctx context.Context, db *index.DB, platforms []string, resubmit bool) ([]index.Record, error) {
	subs := []index.Submission{index.Submitting}
	if resubmit {
		subs = append(subs, index.Missing)
	}
	return db.List(ctx, index.Filter{Platforms: platforms, Submissions: subs, WithSpec: true})
}

// Resolution is one row's outcome.
type Resolution struct {
	Record  index.Record
	Outcome Outcome
	// Status is the job's, for Found and Resubmitted.
	Status sdk.JobStatus
	// Message says what happened, redacted.
	Message string
}

// Settled is false for outcomes that leave the row to a later run.
func (r Resolution) Settled() bool { return r.Outcome != Unresolved && r.Outcome != Failed }

// lookupPages bounds how many pages of a platform's listing a lookup reads.
const lookupPages = 200

// Reconciler resolves interrupted submissions.
type Reconciler struct {
	*Submitter
	// Connect returns platform's plugin.
	Connect func(ctx context.Context, platform string) (sdk.Platform, error)
	// Alive reports whether a process exists; nil asks the kernel.
	Alive func(pid int) bool
}

// Reconcile resolves each row: looked up on its platform, a job found is
// recorded; one not found is marked Missing, or with resubmit sent again
// with its key. It stops, returning ctx's error, once ctx ends.
func (r *Reconciler) Reconcile(ctx context.Context, recs []index.Record, resubmit bool) ([]Resolution, error) {
	f := &finder{batches: map[string]map[string]sdk.JobStatus{}}
	out := make([]Resolution, 0, len(recs))
	for _, rec := range recs {
		out = append(out, r.one(ctx, f, rec, resubmit))
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}

func (r *Reconciler) one(ctx context.Context, f *finder, rec index.Record, resubmit bool) Resolution {
	res := Resolution{Record: rec}
	if rec.Submission == index.Submitting && rec.OwnerPID != 0 && rec.OwnerPID != os.Getpid() && r.alive(rec.OwnerPID) {
		res.Outcome, res.Message = InProgress, fmt.Sprintf("process %d is still submitting it", rec.OwnerPID)
		return res
	}
	fail := func(outcome Outcome, err error) Resolution {
		res.Outcome, res.Message = outcome, r.errorText(err)
		return res
	}
	conn, err := r.Connect(ctx, rec.Platform)
	if err != nil {
		return fail(Unresolved, err)
	}
	st, found, err := f.find(ctx, conn, rec)
	if err != nil {
		return fail(Unresolved, err)
	}
	wctx := context.WithoutCancel(ctx)
	switch {
	case found:
		if err := r.DB.Submitted(wctx, rec.Platform, rec.Key, st); err != nil {
			return fail(Unresolved, err)
		}
		res.Outcome, res.Status, res.Message = Found, st, "the platform has the job; it is now recorded"
	case !resubmit:
		if err := r.DB.Failed(wctx, rec.Platform, rec.Key, index.Missing, rec.Error); err != nil {
			return fail(Unresolved, err)
		}
		res.Outcome, res.Message = NotFound, "no job was started: safe to resubmit with 'neural-host job reconcile --resubmit'"
	default:
		st, err := r.Submit(ctx, conn, rec.Platform, rec.Spec, rec.Batch)
		if err != nil {
			return fail(Failed, err)
		}
		res.Outcome, res.Status, res.Message = Resubmitted, st, "submitted again with the same idempotency key"
	}
	return res
}

func (r *Reconciler) alive(pid int) bool {
	if r.Alive != nil {
		return r.Alive(pid)
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// finder looks submissions up on their platforms through the labels every
// submission carries: a job alone by its submission label, the jobs of a
// batch all at once by their batch label.
type finder struct {
	// batches holds each listed batch's jobs by submission tag, keyed by
	// platform and batch id.
	batches map[string]map[string]sdk.JobStatus
}

func (f *finder) find(ctx context.Context, conn sdk.Platform, r index.Record) (sdk.JobStatus, bool, error) {
	tag := Tag(r.Key)
	if r.Batch == "" {
		jobs, err := listLabelled(ctx, conn, LabelSubmission, tag)
		st, ok := jobs[tag]
		return st, ok, err
	}
	k := r.Platform + "\x00" + r.Batch
	jobs, ok := f.batches[k]
	if !ok {
		var err error
		if jobs, err = listLabelled(ctx, conn, LabelBatch, r.Batch); err != nil {
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
	for range lookupPages {
		resp, err := conn.List(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, st := range resp.Jobs {
			if tag := st.Labels[LabelSubmission]; tag != "" && st.Labels[key] == value {
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
