package output

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/neural-dsl/neural-host/host/internal/batch"
	"github.com/neural-dsl/neural-host/sdk"
)

// The views of the batch command.

// BatchSubmitOf converts a batch submission; redact hides secrets in the
// errors platforms returned.
func BatchSubmitOf(s *batch.Submission, redact func(string) string) BatchSubmit {
	out := BatchSubmit{Batch: s.Batch.ID, File: s.Batch.Path, Jobs: make([]BatchJob, len(s.Jobs)), Counts: map[string]int{},
		DurationSeconds: s.Duration.Seconds()}
	for i, j := range s.Jobs {
		it := j.Item
		bj := BatchJob{Index: it.Index, Name: it.Spec.Name, Platform: it.Platform, IdempotencyKey: it.Key(), Outcome: string(j.Outcome),
			ID: j.Status.ID, Ref: j.Ref(), State: string(j.Status.State), Matrix: nonNil(it.Matrix)}
		if j.Err != nil {
			bj.Error = redact(j.Err.Error())
		}
		out.Jobs[i] = bj
	}
	for o, n := range s.Counts() {
		out.Counts[string(o)] = n
	}
	return out
}

// Human writes one row per job and a summary.
func (b BatchSubmit) Human(p *Printer) error {
	var rows [][]string
	for _, j := range b.Jobs {
		ref := j.Ref
		if ref == "" {
			ref = j.Platform + ":-"
		}
		rows = append(rows, []string{ref, j.Name, j.Outcome, j.State, j.Error})
	}
	p.Table([]string{"JOB", "NAME", "OUTCOME", "STATE", "ERROR"}, rows)
	fmt.Fprintf(p.Out, "\nBatch %s: %d submitted, %d already submitted, %d failed, %d interrupted, %d not attempted (%.1fs).\n",
		b.Batch, b.Counts[string(batch.Submitted)], b.Counts[string(batch.AlreadySubmitted)], b.Counts[string(batch.Failed)],
		b.Counts[string(batch.Interrupted)], b.Counts[string(batch.NotAttempted)], b.DurationSeconds)
	fmt.Fprintf(p.Out, "  status: neural-host batch status %s\n  wait:   neural-host batch wait %s\n", b.Batch, b.Batch)
	return nil
}

// Human writes one row per job and the count of each state.
func (b BatchStatus) Human(p *Printer) error {
	indexedJobTable(p, b.Jobs)
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(b.Counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", b.Counts[k], k))
	}
	fmt.Fprintf(p.Out, "\nBatch %s: %d jobs: %s.\n", b.Batch, len(b.Jobs), strings.Join(parts, ", "))
	return nil
}

// Human writes each job's state, then each failed cancel.
func (b BatchCancel) Human(p *Printer) error {
	for _, j := range b.Jobs {
		fmt.Fprintf(p.Out, "%s: %s\n", Escape(j.Ref), p.State(j.State))
	}
	for _, ref := range slices.Sorted(maps.Keys(b.Errors)) {
		fmt.Fprintf(p.Out, "%s: cancel failed: %s\n", Escape(ref), Escape(b.Errors[ref]))
	}
	return nil
}

// BatchList is batch list: one summary per batch.
type BatchList []BatchSummary

// Human writes one row per batch.
func (bl BatchList) Human(p *Printer) error {
	var rows [][]string
	for _, b := range bl {
		rows = append(rows, []string{b.Batch, fmt.Sprint(b.Jobs), b.CreatedAt})
	}
	p.Table([]string{"BATCH", "JOBS", "CREATED"}, rows)
	return nil
}

// BatchProgress shows a batch submit's progress on Err: a bar per platform
// on a terminal, a line per job otherwise, and nothing for JSON or an empty
// batch. Done is safe for concurrent use; call Stop when sending ends.
type BatchProgress struct {
	shown  Progress
	redact func(string) string
	once   sync.Once
}

// NewBatchProgress starts showing a batch whose pending jobs are perPlatform;
// terminal says whether Err is one.
func (p *Printer) NewBatchProgress(perPlatform map[string]int, terminal bool, redact func(string) string) *BatchProgress {
	total := 0
	for _, n := range perPlatform {
		total += n
	}
	bp := &BatchProgress{redact: redact}
	switch {
	case p.Format == JSON || total == 0 || p.Err == nil:
	case terminal:
		bp.shown = NewBars(p.Err, perPlatform)
	default:
		bp.shown = &Lines{W: p.Err, Total: total}
	}
	return bp
}

// Done shows one job whose call returned.
func (bp *BatchProgress) Done(j batch.Job) {
	if bp.shown == nil {
		return
	}
	it := j.Item
	if j.Err != nil {
		bp.shown.Done(it.Platform, true, Escape(fmt.Sprintf("%s on %s failed: %s", it.Describe(), it.Platform, bp.redact(j.Err.Error()))))
		return
	}
	bp.shown.Done(it.Platform, false, Escape(fmt.Sprintf("%s: %s (%s)", it.Describe(), sdk.JobRef{Platform: it.Platform, ID: j.Status.ID}, j.Status.State)))
}

// Stop draws the final state.
func (bp *BatchProgress) Stop() {
	if bp.shown != nil {
		bp.once.Do(bp.shown.Stop)
	}
}
