package cli

// The job index, opened on first use, and the refresh of its rows' states
// that job list and batch status share.

import (
	"context"
	"sync"

	"github.com/neural-dsl/neural-host/host/internal/index"
	"github.com/neural-dsl/neural-host/host/internal/jobstate"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
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
		errs[p] = s.errorText(err)
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
