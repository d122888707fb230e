package main

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/neural-dsl/neural-host/sdk"
)

// TestJobStates: a batch's states come from ListCustomJobs, a page per
// call filtered by its neural-batch label and creation time, exactly as
// GetCustomJob gives them; jobs not asked for are left out.
func TestJobStates(t *testing.T) {
	fs := startFakeSet(t)
	fs.f.manual = true
	p := fs.platform(t)
	const n, pageSize = 12, 5
	submit := func(batch string, i int) string {
		key := fmt.Sprintf("%s-%d", batch, i)
		spec := commandSpec(t, key, "true", nil)
		spec.Labels = map[string]string{"neural-batch": batch}
		st, err := p.Submit(testCtx(t), spec)
		if err != nil {
			t.Fatal(err)
		}
		return st.ID
	}
	// Another batch's jobs, created first: the label filter keeps them off
	// the pages, which would otherwise need more calls than allowed.
	for i := range 10 {
		submit("other", i)
	}
	moves := []aiplatformpb.JobState{aiplatformpb.JobState_JOB_STATE_RUNNING, aiplatformpb.JobState_JOB_STATE_SUCCEEDED,
		aiplatformpb.JobState_JOB_STATE_FAILED, aiplatformpb.JobState_JOB_STATE_QUEUED}
	var ids []string
	for i := range n {
		ids = append(ids, submit("sweep", i))
		if m := moves[i%len(moves)]; m != aiplatformpb.JobState_JOB_STATE_QUEUED {
			fs.f.setState(fs.f.jobsWithKey(fmt.Sprintf("sweep-%d", i))[0], m, "moved by the test")
		}
	}
	first, err := p.Status(testCtx(t), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	calls := fs.f.count("ListCustomJobs")
	req := sdk.JobStatesRequest{IDs: append([]string{"999999"}, ids...), PageSize: pageSize,
		Labels: map[string]string{"neural-batch": "sweep", "Not A Label": "x"}, CreatedAfter: first.CreatedAt.Add(-time.Minute)}
	got := map[string]sdk.JobStatus{}
	for {
		resp, err := p.JobStates(testCtx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range resp.Jobs {
			got[st.ID] = st
		}
		if resp.NextPageToken == "" {
			break
		}
		req.PageToken = resp.NextPageToken
	}
	if calls = fs.f.count("ListCustomJobs") - calls; calls > (n+pageSize-1)/pageSize+1 {
		t.Errorf("%d ListCustomJobs calls for %d jobs at %d a page", calls, n, pageSize)
	}
	want := map[string]sdk.JobStatus{}
	for _, id := range ids {
		if want[id], err = p.Status(testCtx(t), id); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JobStates and Status disagree:\n got %+v\nwant %+v", got, want)
	}
}

func TestStatesFilter(t *testing.T) {
	after := time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC)
	tests := []struct {
		req  sdk.JobStatesRequest
		want string
	}{
		{sdk.JobStatesRequest{}, ""},
		{sdk.JobStatesRequest{Labels: map[string]string{"neural-batch": "sweep", "team": "vision"}, CreatedAfter: after},
			`labels.neural-batch="sweep" AND labels.team="vision" AND create_time>="2030-01-02T03:04:05Z"`},
		{sdk.JobStatesRequest{Labels: map[string]string{"neural-batch": "Sweep 1"}}, ""},
	}
	for _, tt := range tests {
		if got := statesFilter(tt.req); got != tt.want {
			t.Errorf("statesFilter(%+v) = %s, want %s", tt.req, got, tt.want)
		}
	}
}
