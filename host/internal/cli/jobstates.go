package cli

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/neural-dsl/neural-host/host/internal/index"
	"github.com/neural-dsl/neural-host/host/internal/jobstate"
	"github.com/neural-dsl/neural-host/host/internal/wait"
	"github.com/neural-dsl/neural-host/sdk"
)

// refreshStates asks the platforms for the states of jobs: through each
// plugin's listing where it has one, else one Status call per job.
func refreshStates(ctx context.Context, s *session, jobs []jobstate.Job) jobstate.Result {
	connect := func(ctx context.Context, platform string) (sdk.Platform, error) {
		conn, err := s.mgr.Get(ctx, platform)
		if err != nil {
			return nil, err
		}
		return conn, nil
	}
	res := jobstate.Refresher{Connect: connect, Concurrency: refreshConcurrency}.Refresh(ctx, jobs)
	for p, err := range res.ListFailed {
		s.log.Debug("listing job states failed; asked each job instead", "platform", p, "error", s.mgr.Redact(err.Error()))
	}
	return res
}

// stateJob is an index row as a job to refresh, with the hints the index
// has for the platform's listing.
func stateJob(r index.Record) jobstate.Job {
	created := r.JobCreatedAt
	if created.IsZero() {
		created = r.CreatedAt
	}
	return jobstate.Job{Platform: r.Platform, ID: r.JobID, Labels: r.Labels, CreatedAt: created}
}

// stateJobsOf is jobs known by reference only.
func stateJobsOf(refs []sdk.JobRef) []jobstate.Job {
	out := make([]jobstate.Job, len(refs))
	for i, r := range refs {
		out[i] = jobstate.Job{Platform: r.Platform, ID: r.ID}
	}
	return out
}

// statesPoll is a wait.Poll over jobstate: each round asks each pending
// job's platform once, through its listing where it has one. A platform
// that rate limits the round is asked again later; any other failure, or a
// job its platform no longer knows, ends the wait.
func statesPoll(s *session, jobs []jobstate.Job) wait.Poll {
	byRef := make(map[sdk.JobRef]jobstate.Job, len(jobs))
	for _, j := range jobs {
		byRef[j.Ref()] = j
	}
	return func(ctx context.Context, refs []sdk.JobRef) (map[sdk.JobRef]sdk.JobStatus, error) {
		pending := make([]jobstate.Job, 0, len(refs))
		for _, r := range refs {
			pending = append(pending, byRef[r])
		}
		res := refreshStates(ctx, s, pending)
		var limited error
		for _, p := range slices.Sorted(maps.Keys(res.Failed)) {
			if err := res.Failed[p]; !errors.Is(err, sdk.ErrRateLimited) {
				return res.Statuses, err
			}
			limited = res.Failed[p]
		}
		for _, r := range refs {
			if err, gone := res.NotFound[r]; gone {
				return res.Statuses, err
			}
		}
		return res.Statuses, limited
	}
}
