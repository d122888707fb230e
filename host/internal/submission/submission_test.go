package submission

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/neural-dsl/neural-host/host/internal/index"
	"github.com/neural-dsl/neural-host/sdk"
)

// platform is an in-memory platform: Submit answers with errs in turn and
// then starts a job once per key; List pages through jobs pageSize at a
// time, ignoring label filters unless filters is set.
type platform struct {
	sdk.Platform
	mu       sync.Mutex
	errs     []error
	calls    int
	keys     []string
	jobs     []sdk.JobStatus
	byKey    map[string]int
	pageSize int
	filters  bool
}

func (p *platform) Submit(_ context.Context, spec sdk.JobSpec) (sdk.JobStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.keys = append(p.keys, spec.IdempotencyKey)
	if len(p.errs) > 0 {
		err := p.errs[0]
		p.errs = p.errs[1:]
		if err != nil {
			return sdk.JobStatus{}, err
		}
	}
	if p.byKey == nil {
		p.byKey = map[string]int{}
	}
	if i, ok := p.byKey[spec.IdempotencyKey]; ok {
		return p.jobs[i], nil
	}
	st := sdk.JobStatus{ID: "j" + strconv.Itoa(len(p.jobs)+1), Name: spec.Name, State: sdk.StateQueued, Labels: spec.Labels}
	p.byKey[spec.IdempotencyKey] = len(p.jobs)
	p.jobs = append(p.jobs, st)
	return st, nil
}

func (p *platform) List(_ context.Context, req sdk.ListRequest) (sdk.ListResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start, _ := strconv.Atoi(req.PageToken)
	var page []sdk.JobStatus
	i := start
	for ; i < len(p.jobs) && len(page) < max(p.pageSize, 1); i++ {
		j := p.jobs[i]
		match := true
		for k, v := range req.Labels {
			match = match && j.Labels[k] == v
		}
		if match || !p.filters {
			page = append(page, j)
		}
	}
	resp := sdk.ListResponse{Jobs: page}
	if i < len(p.jobs) {
		resp.NextPageToken = strconv.Itoa(i)
	}
	return resp, nil
}

func openDB(t *testing.T) *index.DB {
	t.Helper()
	db, err := index.Open(context.Background(), filepath.Join(t.TempDir(), index.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func record(t *testing.T, db *index.DB, platform, key string) index.Record {
	t.Helper()
	r, ok, err := db.Get(context.Background(), platform, key)
	if err != nil || !ok {
		t.Fatalf("no row for %s/%s: %v", platform, key, err)
	}
	return r
}

var errCrashed = errors.New("plugin crashed")

func TestSubmit(t *testing.T) {
	transient := &sdk.Error{Kind: sdk.ErrUnavailable, Message: "busy"}
	lost := errors.New("connection lost")
	tests := []struct {
		name       string
		errs       []error
		calls      int
		submission index.Submission
		fails      bool
	}{
		{"first try", nil, 1, index.Submitted, false},
		{"transient then ok, same key", []error{transient, sdk.Errorf(sdk.ErrRateLimited, "slow")}, 3, index.Submitted, false},
		{"transient every time", []error{transient, transient, transient, transient}, 3, index.Submitting, true},
		{"refused", []error{sdk.FieldError("gpus", "too many", "")}, 1, index.Rejected, true},
		{"rate limited to the end is a refusal", []error{sdk.ErrRateLimited, sdk.ErrRateLimited, sdk.ErrRateLimited}, 3, index.Rejected, true},
		{"crash is not retried", []error{lost}, 1, index.Submitting, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			p := &platform{errs: tc.errs}
			s := &Submitter{DB: db, RetryDelay: 1, Redact: func(s string) string { return s },
				Explain: func(err error) error {
					if errors.Is(err, lost) {
						return errCrashed
					}
					return err
				}}
			spec := sdk.JobSpec{Name: "train", IdempotencyKey: "k1", Labels: map[string]string{"team": "a"}}
			st, err := s.Submit(context.Background(), p, "fake", spec, "")
			if (err != nil) != tc.fails || p.calls != tc.calls {
				t.Fatalf("Submit = %v after %d calls; want fails=%v after %d", err, p.calls, tc.fails, tc.calls)
			}
			for _, k := range p.keys {
				if k != "k1" {
					t.Errorf("a call carried key %q, not the spec's", k)
				}
			}
			r := record(t, db, "fake", "k1")
			if r.Submission != tc.submission {
				t.Errorf("row %s, want %s", r.Submission, tc.submission)
			}
			if !tc.fails && (r.JobID != st.ID || r.Labels[LabelSubmission] != Tag("k1") || r.Labels["team"] != "a") {
				t.Errorf("row %+v does not record job %s with its labels", r, st.ID)
			}
			if tc.name == "crash is not retried" && !errors.Is(err, errCrashed) {
				t.Errorf("error %v was not explained", err)
			}
			if spec.Labels[LabelSubmission] != "" {
				t.Error("Submit changed the caller's labels")
			}
		})
	}
}

func TestSubmitRedactsTheRecordedError(t *testing.T) {
	db := openDB(t)
	p := &platform{errs: []error{sdk.Errorf(sdk.ErrUnauthenticated, "token hunter22 refused")}}
	s := &Submitter{DB: db, Redact: func(string) string { return "redacted" }}
	if _, err := s.Submit(context.Background(), p, "fake", sdk.JobSpec{IdempotencyKey: "k"}, ""); err == nil {
		t.Fatal("no error")
	}
	if r := record(t, db, "fake", "k"); r.Error != "redacted" {
		t.Errorf("recorded error %q", r.Error)
	}
}

func TestPrepareGivesAKeyAndATag(t *testing.T) {
	spec, rec := Prepare("fake", sdk.JobSpec{Name: "n"}, "b1")
	if spec.IdempotencyKey == "" || rec.Key != spec.IdempotencyKey || rec.Batch != "b1" || spec.Labels[LabelSubmission] != Tag(rec.Key) {
		t.Errorf("Prepare = %+v, %+v", spec, rec)
	}
	if other, _ := Prepare("fake", sdk.JobSpec{}, ""); other.IdempotencyKey == spec.IdempotencyKey {
		t.Error("two submissions got one key")
	}
}

func TestReconcile(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		started  bool // the platform started the job before the cut
		resubmit bool
		batch    string
		alive    bool
		filters  bool
		want     Outcome
		row      index.Submission
	}{
		{"found alone", true, false, "", false, true, Found, index.Submitted},
		{"found in a batch, platform ignores filters", true, false, "b1", false, false, Found, index.Submitted},
		{"not found", false, false, "", false, true, NotFound, index.Missing},
		{"resubmitted", false, true, "", false, true, Resubmitted, index.Submitted},
		{"owner still running", false, false, "", true, true, InProgress, index.Submitting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			p := &platform{pageSize: 2, filters: tc.filters}
			// Other jobs, so that the lookup must page and match labels.
			for i := range 5 {
				p.Submit(ctx, sdk.JobSpec{IdempotencyKey: "other" + strconv.Itoa(i), Labels: map[string]string{LabelSubmission: "x"}})
			}
			spec, rec := Prepare("fake", sdk.JobSpec{Name: "cut", IdempotencyKey: "cut-key"}, tc.batch)
			if tc.batch != "" {
				spec.Labels[LabelBatch] = tc.batch
				rec.Spec = spec
			}
			if err := db.Begin(ctx, rec); err != nil {
				t.Fatal(err)
			}
			if tc.started {
				p.Submit(ctx, spec)
			}
			recs, _ := Pending(ctx, db, nil, false)
			// The row's owner is this process; as far as Reconcile can
			// tell, a row of another process.
			for i := range recs {
				recs[i].OwnerPID = 1
			}
			r := &Reconciler{Submitter: &Submitter{DB: db},
				Connect: func(context.Context, string) (sdk.Platform, error) { return p, nil },
				Alive:   func(int) bool { return tc.alive }}
			got, err := r.Reconcile(ctx, recs, tc.resubmit)
			if err != nil || len(got) != 1 {
				t.Fatalf("Reconcile = %+v, %v", got, err)
			}
			if got[0].Outcome != tc.want || !got[0].Settled() {
				t.Errorf("outcome %s (%s), want %s", got[0].Outcome, got[0].Message, tc.want)
			}
			if row := record(t, db, "fake", "cut-key"); row.Submission != tc.row {
				t.Errorf("row %s, want %s", row.Submission, tc.row)
			}
			started := 0
			for _, k := range p.keys {
				if k == "cut-key" {
					started++
				}
			}
			if want := map[bool]int{true: 1}[tc.started || tc.resubmit]; started != want {
				t.Errorf("the job was sent %d times, want %d", started, want)
			}
		})
	}
}

func TestReconcileUnresolvedWhenThePlatformCannotBeAsked(t *testing.T) {
	db := openDB(t)
	_, rec := Prepare("fake", sdk.JobSpec{IdempotencyKey: "k"}, "")
	db.Begin(context.Background(), rec)
	r := &Reconciler{Submitter: &Submitter{DB: db, Redact: func(string) string { return "hidden" }},
		Connect: func(context.Context, string) (sdk.Platform, error) { return nil, errors.New("token hunter22 bad") }}
	got, _ := r.Reconcile(context.Background(), []index.Record{rec}, false)
	if got[0].Outcome != Unresolved || got[0].Settled() || got[0].Message != "hidden" {
		t.Errorf("got %+v", got[0])
	}
}
