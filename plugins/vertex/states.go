package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/neural-dsl/neural-host/sdk"
	"google.golang.org/api/iterator"
)

var _ sdk.JobStater = (*Platform)(nil)

// statesPageSize is the largest page ListCustomJobs returns.
const statesPageSize = 100

// JobStates reads one page of ListCustomJobs per call, filtered on Vertex
// AI's side by the labels the wanted jobs share (a batch's neural-batch)
// and their creation time. The listing returns whole jobs, so each status
// is the one Status would give.
func (p *Platform) JobStates(ctx context.Context, req sdk.JobStatesRequest) (sdk.JobStatesResponse, error) {
	s, c, err := p.ready(ctx)
	if err != nil {
		return sdk.JobStatesResponse{}, err
	}
	jobs, err := c.jobClient()
	if err != nil {
		return sdk.JobStatesResponse{}, err
	}
	size := statesPageSize
	if req.PageSize > 0 {
		size = min(req.PageSize, size)
	}
	it := jobs.ListCustomJobs(ctx, &aiplatformpb.ListCustomJobsRequest{Parent: s.parent(), Filter: statesFilter(req),
		PageSize: int32(size), PageToken: req.PageToken}, readRetry(s))
	// The first Next fetches one page, which Response then holds whole.
	if _, err := it.Next(); errors.Is(err, iterator.Done) {
		return sdk.JobStatesResponse{}, nil
	} else if err != nil {
		return sdk.JobStatesResponse{}, apiError(err, "ListCustomJobs", "")
	}
	page, _ := it.Response.(*aiplatformpb.ListCustomJobsResponse)
	wanted := make(map[string]bool, len(req.IDs))
	for _, id := range req.IDs {
		wanted[id] = true
	}
	resp := sdk.JobStatesResponse{NextPageToken: page.GetNextPageToken()}
	for _, job := range page.GetCustomJobs() {
		if st := statusOf(s, job); wanted[st.ID] {
			resp.Jobs = append(resp.Jobs, st)
		}
	}
	return resp, nil
}

// statesFilter renders the hints ListCustomJobs can filter on. A label no
// Vertex AI job can carry is left out rather than refused: it is a hint.
func statesFilter(req sdk.JobStatesRequest) string {
	var parts []string
	for _, k := range sortedKeys(req.Labels) {
		if v := req.Labels[k]; labelKeyRe.MatchString(k) && labelValueRe.MatchString(v) {
			parts = append(parts, `labels.`+k+`="`+v+`"`)
		}
	}
	if !req.CreatedAfter.IsZero() {
		parts = append(parts, `create_time>="`+req.CreatedAfter.UTC().Format(time.RFC3339)+`"`)
	}
	return strings.Join(parts, " AND ")
}
