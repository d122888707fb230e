package main

import (
	"context"
	"net/http"
	"strconv"

	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/neural-dsl/neural-host/sdk"
)

var _ sdk.JobStater = (*Platform)(nil)

// statesPageSize is the largest page runs/list returns.
const statesPageSize = 25

// runsListPath is the endpoint the SDK's ListRuns calls.
const runsListPath = "/api/2.2/jobs/runs/list"

// JobStates reads one page of runs/list per call: the submitted runs still
// active that started after the wanted jobs' creation time, newest first,
// with their tasks. Runs cannot be filtered by label. A run that has ended
// is not listed, so the host asks runs/get for it once; after that the
// index knows it ended and does not ask again. The SDK's ListRuns would
// read every page in one go, so the page is fetched through the API client.
func (p *Platform) JobStates(ctx context.Context, req sdk.JobStatesRequest) (sdk.JobStatesResponse, error) {
	ws, err := p.client()
	if err != nil {
		return sdk.JobStatesResponse{}, err
	}
	lr := jobs.ListRunsRequest{RunType: jobs.RunTypeSubmitRun, ActiveOnly: true, ExpandTasks: true, Limit: statesPageSize, PageToken: req.PageToken}
	if req.PageSize > 0 {
		lr.Limit = min(req.PageSize, statesPageSize)
	}
	if !req.CreatedAfter.IsZero() {
		lr.StartTimeFrom = req.CreatedAfter.UnixMilli()
	}
	var out jobs.ListRunsResponse
	if err := ws.api.Do(ctx, http.MethodGet, runsListPath, map[string]string{"Accept": "application/json"}, nil, lr, &out); err != nil {
		return sdk.JobStatesResponse{}, p.settings().wrap(err, "listing runs")
	}
	wanted := make(map[string]bool, len(req.IDs))
	for _, id := range req.IDs {
		wanted[id] = true
	}
	resp := sdk.JobStatesResponse{NextPageToken: out.NextPageToken}
	for i := range out.Runs {
		if wanted[strconv.FormatInt(out.Runs[i].RunId, 10)] {
			resp.Jobs = append(resp.Jobs, jobStatus(&out.Runs[i]))
		}
	}
	return resp, nil
}
