// Package jobstate fetches fresh states for many jobs on several platforms.
//
// For each platform it asks the plugin's listing for all of the platform's
// jobs at once where the plugin offers one (sdk.JobStater), a page per
// platform call, and asks Status for each job the listing did not show, a
// bounded number of calls at once. A plugin without the capability is asked
// per job, as before it existed.
//
// The package neither records states nor decides what they mean: callers
// write them to the job index, print them or wait on them.
package jobstate

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// DefaultConcurrency bounds the Status calls in flight across all
// platforms when Refresher.Concurrency is zero.
const DefaultConcurrency = 16

// clockSlack is taken off the earliest creation time handed to a plugin as
// a filter: it absorbs skew between this machine's clock and the
// platform's, and the rounding of platforms that filter by the second.
const clockSlack = 10 * time.Minute

// Job is one job whose state is wanted.
type Job struct {
	Platform string
	ID       string
	// Labels are the labels the job was submitted with; the labels all of a
	// platform's jobs share are handed to its listing as a filter.
	Labels map[string]string
	// CreatedAt is no later than the job's creation on its platform; zero
	// when unknown.
	CreatedAt time.Time
}

// Ref is the job's PLATFORM:ID.
func (j Job) Ref() sdk.JobRef { return sdk.JobRef{Platform: j.Platform, ID: j.ID} }

// Connect returns the running plugin of a platform.
type Connect func(ctx context.Context, platform string) (sdk.Platform, error)

// Refresher fetches job states through Connect.
type Refresher struct {
	Connect Connect
	// Concurrency bounds the Status calls in flight; zero means
	// DefaultConcurrency. Listing calls are one at a time per platform.
	Concurrency int
}

// Result is what the platforms said.
type Result struct {
	// Statuses holds a fresh status for each job that got one.
	Statuses map[sdk.JobRef]sdk.JobStatus
	// NotFound holds the jobs whose platform says it does not know them,
	// with the platform's answer.
	NotFound map[sdk.JobRef]error
	// Failed holds, for each platform that left jobs without a status, the
	// first error it gave.
	Failed map[string]error
	// ListFailed holds, for each platform whose listing failed and whose
	// jobs were asked for one by one instead, the listing's error.
	ListFailed map[string]error
}

// Refresh returns the current state of every job in jobs.
func (r Refresher) Refresh(ctx context.Context, jobs []Job) Result {
	res := Result{Statuses: map[sdk.JobRef]sdk.JobStatus{}, NotFound: map[sdk.JobRef]error{},
		Failed: map[string]error{}, ListFailed: map[string]error{}}
	n := r.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	run := &refresh{Result: res, sem: make(chan struct{}, n)}
	byPlatform := map[string][]Job{}
	var order []string
	seen := map[sdk.JobRef]bool{}
	for _, j := range jobs {
		if seen[j.Ref()] {
			continue
		}
		seen[j.Ref()] = true
		if _, ok := byPlatform[j.Platform]; !ok {
			order = append(order, j.Platform)
		}
		byPlatform[j.Platform] = append(byPlatform[j.Platform], j)
	}
	var wg sync.WaitGroup
	for _, p := range order {
		wg.Add(1)
		go func(p string, jobs []Job) {
			defer wg.Done()
			run.platform(ctx, r.Connect, p, jobs)
		}(p, byPlatform[p])
	}
	wg.Wait()
	return run.Result
}

// refresh is one Refresh call's shared state.
type refresh struct {
	Result
	mu  sync.Mutex
	sem chan struct{}
}

func (r *refresh) fail(platform string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.Failed[platform]; !ok {
		r.Failed[platform] = err
	}
}

func (r *refresh) found(platform string, st sdk.JobStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Statuses[sdk.JobRef{Platform: platform, ID: st.ID}] = st
}

func (r *refresh) platform(ctx context.Context, connect Connect, platform string, jobs []Job) {
	conn, err := connect(ctx, platform)
	if err != nil {
		r.fail(platform, err)
		return
	}
	rest := jobs
	// A single job costs one Status call; a listing could cost more.
	if js, ok := conn.(sdk.JobStater); ok && len(jobs) > 1 {
		var err error
		rest, err = r.list(ctx, js, platform, jobs)
		switch {
		case err == nil, errors.Is(err, sdk.ErrUnsupported):
		case errors.Is(err, sdk.ErrRateLimited), ctx.Err() != nil:
			// Asking each job would only add to the load, or cannot be
			// done at all.
			r.fail(platform, err)
			return
		default:
			// Status may still work where the listing does not, such as
			// for credentials allowed to describe jobs but not to list
			// them.
			r.mu.Lock()
			r.ListFailed[platform] = err
			r.mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for _, j := range rest {
		wg.Add(1)
		r.sem <- struct{}{}
		go func(j Job) {
			defer func() { <-r.sem; wg.Done() }()
			st, err := conn.Status(ctx, j.ID)
			switch {
			case errors.Is(err, sdk.ErrNotFound):
				r.mu.Lock()
				r.NotFound[j.Ref()] = err
				r.mu.Unlock()
			case err != nil:
				r.fail(platform, err)
			default:
				st.ID = j.ID
				r.found(platform, st)
			}
		}(j)
	}
	wg.Wait()
}

// list reads the plugin's listing until it has shown every job, it ends,
// or reading on would cost more calls than asking for the jobs not yet
// seen one by one. It returns those jobs. On an error the jobs not yet
// seen are returned with it.
func (r *refresh) list(ctx context.Context, js sdk.JobStater, platform string, jobs []Job) ([]Job, error) {
	want := make(map[string]Job, len(jobs))
	req := sdk.JobStatesRequest{IDs: make([]string, 0, len(jobs)), Labels: sharedLabels(jobs), CreatedAfter: earliest(jobs)}
	for _, j := range jobs {
		want[j.ID] = j
		req.IDs = append(req.IDs, j.ID)
	}
	var err error
	for pages := 1; ; pages++ {
		var resp sdk.JobStatesResponse
		resp, err = js.JobStates(ctx, req)
		if err != nil {
			break
		}
		for _, st := range resp.Jobs {
			if _, ok := want[st.ID]; ok {
				delete(want, st.ID)
				r.found(platform, st)
			}
		}
		if len(want) == 0 || resp.NextPageToken == "" || pages >= len(want) {
			break
		}
		req.PageToken = resp.NextPageToken
	}
	// In the caller's order, so Status calls go out as they would have.
	var rest []Job
	for _, j := range jobs {
		if _, ok := want[j.ID]; ok {
			rest = append(rest, j)
		}
	}
	return rest, err
}

// sharedLabels is the labels every job carries with the same value; nil
// when there are none.
func sharedLabels(jobs []Job) map[string]string {
	var out map[string]string
	for i, j := range jobs {
		if i == 0 {
			out = make(map[string]string, len(j.Labels))
			for k, v := range j.Labels {
				out[k] = v
			}
			continue
		}
		for k, v := range out {
			if w, ok := j.Labels[k]; !ok || w != v {
				delete(out, k)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// earliest is a time no later than any job's creation; zero when one of
// them is unknown.
func earliest(jobs []Job) time.Time {
	var min time.Time
	for _, j := range jobs {
		if j.CreatedAt.IsZero() {
			return time.Time{}
		}
		if min.IsZero() || j.CreatedAt.Before(min) {
			min = j.CreatedAt
		}
	}
	return min.Add(-clockSlack)
}
