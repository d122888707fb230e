package main

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// TestJobStates: the active runs' states come from runs/list, a page per
// call, as runs/get gives them; ended runs, which active_only keeps off the
// pages, and runs not asked for are left out.
func TestJobStates(t *testing.T) {
	f := newFake(t)
	p := newPlatform(t, f, nil)
	ctx := context.Background()
	const n, pageSize = 12, 5
	submit := func(key, script string) string {
		spec := pySpec(t, script)
		spec.IdempotencyKey = key
		st, err := p.Submit(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		return st.ID
	}
	// Ended runs of another sweep, started first: active_only keeps them
	// off the pages, which would otherwise need more calls than allowed.
	var others []string
	for i := range 6 {
		others = append(others, submit(fmt.Sprintf("other-%d", i), "print(1)\n"))
	}
	var ids []string
	running := map[string]bool{}
	for i := range n {
		script := "import time\ntime.sleep(600)\n"
		if i%3 == 0 {
			script = "print(1)\n"
		}
		id := submit(fmt.Sprintf("sweep-%d", i), script)
		ids = append(ids, id)
		running[id] = i%3 != 0
	}
	for _, id := range append(others, ids...) {
		if !running[id] {
			waitTerminal(t, p, id)
			continue
		}
		eventually(t, 30*time.Second, "run "+id+" to start", func() bool {
			st, err := p.Status(ctx, id)
			return err == nil && st.State == sdk.StateRunning
		})
	}
	first, err := p.Status(ctx, others[0])
	if err != nil {
		t.Fatal(err)
	}
	calls := len(f.Requests("GET", runsListPath))
	req := sdk.JobStatesRequest{IDs: append([]string{"999999"}, ids...), PageSize: pageSize, CreatedAfter: first.CreatedAt.Add(-time.Minute)}
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
	if calls = len(f.Requests("GET", runsListPath)) - calls; calls > (n+pageSize-1)/pageSize+1 {
		t.Errorf("%d runs/list calls for %d jobs at %d a page", calls, n, pageSize)
	}
	want := map[string]sdk.JobStatus{}
	for _, id := range ids {
		if running[id] {
			if want[id], err = p.Status(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JobStates and Status disagree:\n got %+v\nwant %+v", got, want)
	}
}
