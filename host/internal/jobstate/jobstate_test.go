package jobstate

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// platform is an in-memory platform that counts the calls it gets. Its
// listing filters by label and creation time and pages by pageSize.
type platform struct {
	sdk.Platform // the methods Refresh must not call panic

	mu       sync.Mutex
	jobs     []sdk.JobStatus // in listing order
	pageSize int
	listErr  error
	// statusDelay holds each Status call, so that calls overlap.
	statusDelay time.Duration

	statusCalls, listCalls int
	inFlight, maxInFlight  int
	requests               []sdk.JobStatesRequest
}

func (p *platform) Status(ctx context.Context, id string) (sdk.JobStatus, error) {
	p.mu.Lock()
	p.statusCalls++
	p.inFlight++
	p.maxInFlight = max(p.maxInFlight, p.inFlight)
	p.mu.Unlock()
	defer func() { p.mu.Lock(); p.inFlight--; p.mu.Unlock() }()
	if p.statusDelay > 0 {
		select {
		case <-time.After(p.statusDelay):
		case <-ctx.Done():
			return sdk.JobStatus{}, ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, j := range p.jobs {
		if j.ID == id {
			return j, nil
		}
	}
	return sdk.JobStatus{}, &sdk.Error{Kind: sdk.ErrNotFound, Message: "no job " + id}
}

// stater is platform with the job states capability.
type stater struct{ *platform }

func (s stater) JobStates(_ context.Context, req sdk.JobStatesRequest) (sdk.JobStatesResponse, error) {
	p := s.platform
	p.mu.Lock()
	defer p.mu.Unlock()
	p.listCalls++
	p.requests = append(p.requests, req)
	if p.listErr != nil {
		return sdk.JobStatesResponse{}, p.listErr
	}
	var listed []sdk.JobStatus
	for _, j := range p.jobs {
		match := !j.CreatedAt.Before(req.CreatedAfter)
		for k, v := range req.Labels {
			match = match && j.Labels[k] == v
		}
		if match {
			listed = append(listed, j)
		}
	}
	start, _ := strconv.Atoi(req.PageToken)
	end := min(start+p.pageSize, len(listed))
	wanted := map[string]bool{}
	for _, id := range req.IDs {
		wanted[id] = true
	}
	var resp sdk.JobStatesResponse
	for _, j := range listed[start:end] {
		if wanted[j.ID] {
			resp.Jobs = append(resp.Jobs, j)
		}
	}
	if end < len(listed) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

var epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// makeJobs returns n running jobs of batch b, job i created i minutes after
// epoch.
func makeJobs(prefix, b string, n int) []sdk.JobStatus {
	out := make([]sdk.JobStatus, n)
	for i := range out {
		out[i] = sdk.JobStatus{ID: fmt.Sprintf("%s%d", prefix, i), State: sdk.StateRunning, RawState: "RUNNING",
			CreatedAt: epoch.Add(time.Duration(i) * time.Minute), Labels: map[string]string{"neural-batch": b}}
	}
	return out
}

// wanted turns statuses into the jobs to ask for.
func wanted(platform string, sts []sdk.JobStatus) []Job {
	out := make([]Job, len(sts))
	for i, st := range sts {
		out[i] = Job{Platform: platform, ID: st.ID, Labels: st.Labels, CreatedAt: st.CreatedAt}
	}
	return out
}

func TestRefresh(t *testing.T) {
	unavailable := &sdk.Error{Kind: sdk.ErrUnavailable, Message: "down"}
	tests := []struct {
		name string
		// jobs are on the platform; ask are asked for, by index into jobs,
		// or nil for all of them; ghosts are asked for and not on it.
		jobs     []sdk.JobStatus
		ask      []int
		ghosts   int
		states   bool
		pageSize int
		listErr  error
		// wantList and wantStatus are the calls the platform must get.
		wantList, wantStatus int
		wantFailed           error
		wantListFailed       bool
	}{
		{name: "per job without the capability", jobs: makeJobs("j", "b", 35), wantStatus: 35},
		{name: "pages with the capability", jobs: makeJobs("j", "b", 35), states: true, pageSize: 10, wantList: 4},
		{name: "exact pages", jobs: makeJobs("j", "b", 30), states: true, pageSize: 10, wantList: 3},
		{name: "one job asks Status", jobs: makeJobs("j", "b", 5), ask: []int{3}, states: true, pageSize: 10, wantStatus: 1},
		{name: "stops once every job is seen", jobs: makeJobs("j", "b", 100), ask: []int{0, 1, 2}, states: true, pageSize: 10, wantList: 1},
		{name: "jobs the listing lacks are asked one by one", jobs: makeJobs("j", "b", 20), ghosts: 3, states: true, pageSize: 10,
			wantList: 2, wantStatus: 3},
		{name: "stops when reading on costs more than asking", jobs: makeJobs("j", "b", 200), ask: []int{5, 199}, states: true, pageSize: 10,
			wantList: 1, wantStatus: 1},
		{name: "unsupported listing falls back", jobs: makeJobs("j", "b", 12), states: true, pageSize: 10,
			listErr: &sdk.Error{Kind: sdk.ErrUnsupported, Message: "no"}, wantList: 1, wantStatus: 12},
		{name: "a refused listing falls back", jobs: makeJobs("j", "b", 12), states: true, pageSize: 10,
			listErr: &sdk.Error{Kind: sdk.ErrPermissionDenied, Message: "may not list"}, wantList: 1, wantStatus: 12, wantListFailed: true},
		{name: "a failed listing falls back", jobs: makeJobs("j", "b", 12), states: true, pageSize: 10,
			listErr: unavailable, wantList: 1, wantStatus: 12, wantListFailed: true},
		{name: "a rate-limited listing stops", jobs: makeJobs("j", "b", 12), states: true, pageSize: 10,
			listErr: &sdk.Error{Kind: sdk.ErrRateLimited, Message: "slow down"}, wantList: 1, wantFailed: sdk.ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &platform{jobs: tt.jobs, pageSize: tt.pageSize, listErr: tt.listErr}
			var conn sdk.Platform = p
			if tt.states {
				conn = stater{p}
			}
			ask := tt.jobs
			if tt.ask != nil {
				ask = nil
				for _, i := range tt.ask {
					ask = append(ask, tt.jobs[i])
				}
			}
			jobs := wanted("fake", ask)
			for i := range tt.ghosts {
				jobs = append(jobs, Job{Platform: "fake", ID: fmt.Sprintf("ghost%d", i), CreatedAt: epoch})
			}
			res := Refresher{Connect: func(context.Context, string) (sdk.Platform, error) { return conn, nil }}.Refresh(context.Background(), jobs)
			if p.listCalls != tt.wantList || p.statusCalls != tt.wantStatus {
				t.Errorf("calls: %d list, %d status; want %d list, %d status", p.listCalls, p.statusCalls, tt.wantList, tt.wantStatus)
			}
			if tt.wantFailed != nil {
				if !errors.Is(res.Failed["fake"], tt.wantFailed) {
					t.Errorf("Failed = %v, want %v", res.Failed, tt.wantFailed)
				}
				return
			}
			if len(res.Failed) > 0 {
				t.Errorf("Failed = %v", res.Failed)
			}
			if _, got := res.ListFailed["fake"]; got != tt.wantListFailed {
				t.Errorf("ListFailed = %v, want it set: %v", res.ListFailed, tt.wantListFailed)
			}
			want := map[sdk.JobRef]sdk.JobStatus{}
			for _, st := range ask {
				want[sdk.JobRef{Platform: "fake", ID: st.ID}] = st
			}
			if !reflect.DeepEqual(res.Statuses, want) {
				t.Errorf("got %d statuses, want %d:\n got %v\nwant %v", len(res.Statuses), len(want), res.Statuses, want)
			}
			var notFound []string
			for ref, err := range res.NotFound {
				if !errors.Is(err, sdk.ErrNotFound) {
					t.Errorf("%s: %v", ref, err)
				}
				notFound = append(notFound, ref.ID)
			}
			sort.Strings(notFound)
			var wantNotFound []string
			for i := range tt.ghosts {
				wantNotFound = append(wantNotFound, fmt.Sprintf("ghost%d", i))
			}
			if !reflect.DeepEqual(notFound, wantNotFound) {
				t.Errorf("not found %v, want %v", notFound, wantNotFound)
			}
		})
	}
}

// TestFilterHints: the listing is asked for the labels every job shares
// and from a time before the first was created.
func TestFilterHints(t *testing.T) {
	tests := []struct {
		name        string
		jobs        []Job
		wantLabels  map[string]string
		wantCreated time.Time
	}{
		{"one batch", []Job{
			{ID: "a", Labels: map[string]string{"neural-batch": "b1", "neural-submission": "1", "team": "vision"}, CreatedAt: epoch.Add(time.Hour)},
			{ID: "b", Labels: map[string]string{"neural-batch": "b1", "neural-submission": "2", "team": "vision"}, CreatedAt: epoch},
		}, map[string]string{"neural-batch": "b1", "team": "vision"}, epoch.Add(-clockSlack)},
		{"no shared label", []Job{
			{ID: "a", Labels: map[string]string{"neural-batch": "b1"}, CreatedAt: epoch},
			{ID: "b", Labels: map[string]string{"neural-batch": "b2"}, CreatedAt: epoch},
		}, nil, epoch.Add(-clockSlack)},
		{"a creation time unknown", []Job{
			{ID: "a", CreatedAt: epoch},
			{ID: "b"},
		}, nil, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &platform{pageSize: 10}
			for i := range tt.jobs {
				tt.jobs[i].Platform = "fake"
			}
			Refresher{Connect: func(context.Context, string) (sdk.Platform, error) { return stater{p}, nil }}.Refresh(context.Background(), tt.jobs)
			if len(p.requests) != 1 {
				t.Fatalf("%d listing calls, want 1", len(p.requests))
			}
			got := p.requests[0]
			if !reflect.DeepEqual(got.Labels, tt.wantLabels) || !got.CreatedAfter.Equal(tt.wantCreated) || !reflect.DeepEqual(got.IDs, []string{"a", "b"}) {
				t.Errorf("request %+v, want labels %v, created after %v", got, tt.wantLabels, tt.wantCreated)
			}
		})
	}
}

// TestPlatformsApart: each platform is asked its own way, and one that
// cannot be reached leaves the others' states intact.
func TestPlatformsApart(t *testing.T) {
	listed := &platform{jobs: makeJobs("l", "b", 25), pageSize: 10}
	perJob := &platform{jobs: makeJobs("p", "b", 7)}
	conns := map[string]sdk.Platform{"listed": stater{listed}, "perjob": perJob}
	down := errors.New("plugin down failed to start")
	connect := func(_ context.Context, name string) (sdk.Platform, error) {
		if c, ok := conns[name]; ok {
			return c, nil
		}
		return nil, down
	}
	jobs := append(append(wanted("listed", listed.jobs), wanted("perjob", perJob.jobs)...), Job{Platform: "down", ID: "x"})
	res := Refresher{Connect: connect}.Refresh(context.Background(), jobs)
	if listed.listCalls != 3 || listed.statusCalls != 0 || perJob.statusCalls != 7 {
		t.Errorf("calls: listed %d list + %d status, per job %d status", listed.listCalls, listed.statusCalls, perJob.statusCalls)
	}
	if len(res.Statuses) != 32 {
		t.Errorf("%d statuses, want 32", len(res.Statuses))
	}
	if !reflect.DeepEqual(res.Failed, map[string]error{"down": down}) {
		t.Errorf("Failed = %v", res.Failed)
	}
}

// TestStatusCallsAreBounded: per-job calls overlap, up to Concurrency.
func TestStatusCallsAreBounded(t *testing.T) {
	p := &platform{jobs: makeJobs("j", "b", 40), statusDelay: 20 * time.Millisecond}
	res := Refresher{Connect: func(context.Context, string) (sdk.Platform, error) { return p, nil }, Concurrency: 4}.
		Refresh(context.Background(), wanted("fake", p.jobs))
	if len(res.Statuses) != 40 || p.maxInFlight > 4 || p.maxInFlight < 2 {
		t.Errorf("%d statuses, at most %d calls at once; want 40 and 2 to 4", len(res.Statuses), p.maxInFlight)
	}
}
