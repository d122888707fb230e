package main

import (
	"context"

	"github.com/neural-dsl/neural-host/sdk"
)

var _ sdk.JobStater = (*Platform)(nil)

// JobStates answers in one page: each wanted job's directory is read as
// Status reads it, which is all a listing of the jobs directory would do.
// Ids with no job directory, and jobs whose files cannot be read, are left
// out for Status to explain.
func (p *Platform) JobStates(_ context.Context, req sdk.JobStatesRequest) (sdk.JobStatesResponse, error) {
	var resp sdk.JobStatesResponse
	for _, id := range req.IDs {
		if st, err := p.status(id); err == nil {
			resp.Jobs = append(resp.Jobs, st)
		}
	}
	return resp, nil
}
