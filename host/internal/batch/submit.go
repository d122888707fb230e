package batch

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/host/internal/index"
	"github.com/neural-dsl/neural-host/host/internal/submission"
	"github.com/neural-dsl/neural-host/sdk"
)

// Outcome is what became of one job of a batch submit.
type Outcome string

const (
	Submitted Outcome = "submitted"
	// AlreadySubmitted jobs were submitted by an earlier run of the batch.
	AlreadySubmitted Outcome = "already_submitted"
	// Failed jobs were refused by their platform: no job exists.
	Failed Outcome = "failed"
	// Interrupted jobs' calls were cut off; job reconcile settles them.
	Interrupted Outcome = "interrupted"
	// NotAttempted jobs were not sent: the batch was stopped first.
	NotAttempted Outcome = "not_attempted"
)

// Outcomes lists every outcome, in the order a summary names them.
var Outcomes = []Outcome{Submitted, AlreadySubmitted, Failed, Interrupted, NotAttempted}

// Job is one item of a batch submit and what became of it.
type Job struct {
	Item    *Item
	Outcome Outcome
	// Status is the job's, once it has one on the platform.
	Status sdk.JobStatus
	// Err is why a Failed or Interrupted job has none.
	Err error
}

// Ref is the job's PLATFORM:ID, or "" without a job.
func (j Job) Ref() string {
	if j.Status.ID == "" {
		return ""
	}
	return sdk.JobRef{Platform: j.Item.Platform, ID: j.Status.ID}.String()
}

// Submission is a batch submit: every item of the batch, in order.
type Submission struct {
	Batch *Batch
	Jobs  []Job
	// Duration is the time spent sending, from the first call to the last
	// answer.
	Duration time.Duration
}

// Resume starts a submission of b: the jobs an earlier run recorded as
// submitted are AlreadySubmitted and are not sent again; the others are
// NotAttempted until Send.
func Resume(ctx context.Context, db *index.DB, b *Batch) (*Submission, error) {
	earlier, err := db.List(ctx, index.Filter{Batch: b.ID, Submissions: []index.Submission{index.Submitted}})
	if err != nil {
		return nil, err
	}
	done := map[string]index.Record{}
	for _, r := range earlier {
		done[r.Platform+"\x00"+r.Key] = r
	}
	s := &Submission{Batch: b, Jobs: make([]Job, len(b.Items))}
	for i, it := range b.Items {
		s.Jobs[i] = Job{Item: it, Outcome: NotAttempted}
		if rec, ok := done[it.Platform+"\x00"+it.Key()]; ok {
			s.Jobs[i] = Job{Item: it, Outcome: AlreadySubmitted, Status: rec.Status()}
		}
	}
	return s, nil
}

// Pending is the number of jobs still to send, by platform.
func (s *Submission) Pending() map[string]int {
	out := map[string]int{}
	for _, j := range s.Jobs {
		if j.Outcome == NotAttempted {
			out[j.Item.Platform]++
		}
	}
	return out
}

// Counts maps every outcome to its number of jobs.
func (s *Submission) Counts() map[Outcome]int {
	out := map[Outcome]int{}
	for _, o := range Outcomes {
		out[o] = 0
	}
	for _, j := range s.Jobs {
		out[j.Outcome]++
	}
	return out
}

// recordChunk is how many jobs of a batch one index transaction records.
const recordChunk = 64

// recordedChunk is jobs recorded together; done closes once err is set.
type recordedChunk struct {
	recs []index.Record
	done chan struct{}
	err  error
}

// Sender sends the pending jobs of a Submission.
type Sender struct {
	Submitter *submission.Submitter
	// Conns holds the plugin of every platform the batch uses.
	Conns map[string]sdk.Platform
	// Parallel bounds the submissions in flight at once.
	Parallel int
	// Done is told about each job as its call returns, from several
	// goroutines at once; nil tells nothing.
	Done func(Job)
	Log  hclog.Logger
}

// Send submits every NotAttempted job of s, each recorded in the index
// before it is sent, and sets each one's outcome. Jobs are recorded a chunk
// per transaction ahead of the workers, so the first go out before the last
// are written, and outcomes are recorded in the background, so a worker
// moves on at once; all are written before Send returns. Once ctx ends no
// more are sent; those left are recorded as missing, known not to exist.
// The error is a failure to record a job that was submitted.
func (snd *Sender) Send(ctx context.Context, s *Submission) error {
	var pending []int
	for i, j := range s.Jobs {
		if j.Outcome == NotAttempted {
			pending = append(pending, i)
		}
	}
	specs, chunkOf, recorded := snd.record(ctx, s, pending)
	var recording sync.WaitGroup
	var recordMu sync.Mutex
	var recordErr error
	items := make([]*Item, len(pending))
	for n, i := range pending {
		items[n] = s.Jobs[i].Item
	}
	start := time.Now()
	outs := Run(ctx, items, snd.Parallel, func(ctx context.Context, it *Item) Job {
		spec, ch := specs[it], chunkOf[it]
		<-ch.done
		if ch.err != nil {
			return Job{Item: it, Outcome: Interrupted, Err: ch.err}
		}
		// A job whose turn comes after Ctrl-C is not sent: Run may still
		// hand it over in the moment the context ends.
		if ctx.Err() != nil {
			return Job{Item: it, Outcome: NotAttempted}
		}
		st, err := snd.Submitter.Send(ctx, snd.Conns[it.Platform], spec)
		recording.Go(func() {
			if rerr := snd.Submitter.Record(ctx, it.Platform, spec.IdempotencyKey, st, err); rerr != nil && err == nil {
				recordMu.Lock()
				recordErr = rerr
				recordMu.Unlock()
			}
		})
		return outcome(it, st, err)
	}, func(_ *Item, j Job) {
		if snd.Done != nil {
			snd.Done(j)
		}
	})
	s.Duration = time.Since(start)
	// After Ctrl-C some chunks may still be on their way; the index must
	// not close under them.
	<-recorded
	recording.Wait()
	for n, i := range pending {
		if outs[n] != nil {
			s.Jobs[i] = *outs[n]
		}
	}
	snd.recordUnsent(ctx, s, pending, specs, chunkOf)
	return recordErr
}

func outcome(it *Item, st sdk.JobStatus, err error) Job {
	switch {
	case err == nil:
		return Job{Item: it, Outcome: Submitted, Status: st}
	case submission.AfterFailure(err) == index.Rejected:
		return Job{Item: it, Outcome: Failed, Err: err}
	default:
		return Job{Item: it, Outcome: Interrupted, Err: err}
	}
}

// record writes the pending jobs as submitting, a chunk per transaction,
// in the background; recorded closes when all chunks are written.
func (snd *Sender) record(ctx context.Context, s *Submission, pending []int) (map[*Item]sdk.JobSpec, map[*Item]*recordedChunk, chan struct{}) {
	specs := map[*Item]sdk.JobSpec{}
	chunkOf := map[*Item]*recordedChunk{}
	var chunks []*recordedChunk
	for start := 0; start < len(pending); start += recordChunk {
		ch := &recordedChunk{done: make(chan struct{})}
		for _, i := range pending[start:min(start+recordChunk, len(pending))] {
			it := s.Jobs[i].Item
			spec, rec := submission.Prepare(it.Platform, it.Spec.JobSpec, s.Batch.ID)
			specs[it], chunkOf[it] = spec, ch
			ch.recs = append(ch.recs, rec)
		}
		chunks = append(chunks, ch)
	}
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		began := time.Now()
		for _, ch := range chunks {
			ch.err = snd.Submitter.DB.BeginAll(ctx, ch.recs)
			close(ch.done)
		}
		snd.log().Debug("submissions recorded", "jobs", len(pending), "took", time.Since(began))
	}()
	return specs, chunkOf, recorded
}

// recordUnsent marks the jobs never sent (Ctrl-C came first) as missing.
func (snd *Sender) recordUnsent(ctx context.Context, s *Submission, pending []int, specs map[*Item]sdk.JobSpec, chunkOf map[*Item]*recordedChunk) {
	var unsent sync.WaitGroup
	for _, i := range pending {
		it := s.Jobs[i].Item
		if s.Jobs[i].Outcome != NotAttempted || chunkOf[it].err != nil {
			continue
		}
		unsent.Go(func() {
			if err := snd.Submitter.DB.Failed(context.WithoutCancel(ctx), it.Platform, specs[it].IdempotencyKey, index.Missing, "not sent: the batch was interrupted first"); err != nil {
				snd.log().Debug("could not record an unsent job", "error", err)
			}
		})
	}
	unsent.Wait()
}

func (snd *Sender) log() hclog.Logger {
	if snd.Log == nil {
		return hclog.NewNullLogger()
	}
	return snd.Log
}
