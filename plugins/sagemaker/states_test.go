package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
	"github.com/neural-dsl/neural-host/sdk"
)

// TestJobStates: a sweep's states come from ListTrainingJobs, a page per
// call, as DescribeTrainingJob gives them; failed jobs, whose reason only
// DescribeTrainingJob has, and jobs not asked for are left out.
func TestJobStates(t *testing.T) {
	p, fake := newPlatform(t, fakeaws.Options{})
	ctx := context.Background()
	const n, pageSize = 12, 5
	scripts := []string{"import time\ntime.sleep(600)\n", "import sys\nsys.exit(1)\n", "pass\n", "pass\n"}
	// Jobs of another name, created first: NameContains keeps them off the
	// pages, which would otherwise need more calls than allowed.
	var others []string
	for i := range 10 {
		st, err := p.Submit(ctx, pythonJob(t, fmt.Sprintf("other-%d", i), fmt.Sprintf("other-%d", i), "pass\n"))
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, st.ID)
	}
	var ids []string
	for i := range n {
		st, err := p.Submit(ctx, pythonJob(t, fmt.Sprintf("sweep-%d", i), fmt.Sprintf("sweep-%d", i), scripts[i%len(scripts)]))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
	}
	for i, id := range ids {
		if i%len(scripts) != 0 {
			waitTerminal(t, p, id)
			continue
		}
		eventually(t, 30*time.Second, id+" to run", func() bool {
			st, err := p.Status(ctx, id)
			return err == nil && st.State == sdk.StateRunning
		})
	}
	first, err := p.Status(ctx, others[0])
	if err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls("sagemaker", "ListTrainingJobs")
	req := sdk.JobStatesRequest{IDs: append([]string{"sweep-gone"}, ids...), PageSize: pageSize,
		CreatedAfter: first.CreatedAt.Add(-time.Minute), Labels: map[string]string{"neural-batch": "sweep"}}
	got := map[string]sdk.JobStatus{}
	for {
		resp, err := p.JobStates(ctx, req)
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
	if calls = fake.Calls("sagemaker", "ListTrainingJobs") - calls; calls > (n+pageSize-1)/pageSize+1 {
		t.Errorf("%d ListTrainingJobs calls for %d jobs at %d a page", calls, n, pageSize)
	}
	for _, id := range ids {
		want, err := p.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		st, listed := got[id]
		if listed == (want.State == sdk.StateFailed) {
			t.Errorf("%s (%s): listed = %v", id, want.State, listed)
			continue
		}
		if !listed {
			continue
		}
		if st.ID != want.ID || st.State != want.State || st.RawState != want.RawState || st.Terminal != want.Terminal ||
			!st.CreatedAt.Equal(want.CreatedAt) || !st.EndedAt.Equal(want.EndedAt) || (want.Terminal && st.Reason != want.Reason) {
			t.Errorf("%s:\n listed %+v\n status %+v", id, st, want)
		}
		delete(got, id)
	}
	if len(got) > 0 {
		t.Errorf("jobs not asked for were listed: %v", got)
	}
	// Without a creation time the newest jobs come first.
	newest := ids[n-1]
	resp, err := p.JobStates(ctx, sdk.JobStatesRequest{IDs: []string{newest}, PageSize: 1})
	if err != nil || len(resp.Jobs) != 1 || resp.Jobs[0].ID != newest {
		t.Errorf("the first page of one job: %+v %v; want %s", resp.Jobs, err, newest)
	}
}

func TestNamePrefix(t *testing.T) {
	tests := []struct {
		ids  []string
		want string
	}{
		{nil, ""},
		{[]string{"sweep-3-0a1b2c3d4e5f"}, "sweep-3-0a1b2c3d4e5f"},
		{[]string{"sweep-1-aaaa", "sweep-12-bbbb", "sweep-2-cccc"}, "sweep-"},
		{[]string{"alpha-1", "beta-1"}, ""},
	}
	for _, tt := range tests {
		if got := namePrefix(tt.ids); got != tt.want {
			t.Errorf("namePrefix(%v) = %q, want %q", tt.ids, got, tt.want)
		}
	}
}
