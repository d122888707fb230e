package cli

import (
	"context"

	"github.com/neural-dsl/neural-host/host/internal/index"
	"github.com/neural-dsl/neural-host/host/internal/jobstate"
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
		s.log.Debug("listing job states failed; asked each job instead", "platform", p, "error", s.redact(err.Error()))
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
