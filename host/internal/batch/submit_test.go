package batch

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/neural-dsl/neural-host/host/internal/index"
	"github.com/neural-dsl/neural-host/host/internal/jobspec"
	"github.com/neural-dsl/neural-host/host/internal/submission"
	"github.com/neural-dsl/neural-host/sdk"
)

// fakePlatform refuses jobs named "bad", blocks jobs named "block" until
// its context ends, and starts the others.
type fakePlatform struct {
	sdk.Platform
	mu    sync.Mutex
	sent  []string
	block chan struct{}
}

func (p *fakePlatform) Submit(ctx context.Context, spec sdk.JobSpec) (sdk.JobStatus, error) {
	p.mu.Lock()
	p.sent = append(p.sent, spec.Name)
	n := len(p.sent)
	p.mu.Unlock()
	switch spec.Name {
	case "bad":
		return sdk.JobStatus{}, sdk.FieldError("resources.gpus", "too many", "")
	case "block":
		close(p.block)
		<-ctx.Done()
		return sdk.JobStatus{}, ctx.Err()
	}
	return sdk.JobStatus{ID: strconv.Itoa(n), Name: spec.Name, State: sdk.StateQueued}, nil
}

func testBatch(names ...string) *Batch {
	b := &Batch{ID: "b1"}
	for i, n := range names {
		spec := &jobspec.Spec{JobSpec: sdk.JobSpec{Name: n, Kind: sdk.KindCommand, Command: []string{"true"}}}
		spec.IdempotencyKey = KeyFor(b.ID, "fake", spec.JobSpec)
		b.Items = append(b.Items, &Item{Index: i + 1, Platform: "fake", Spec: spec})
	}
	return b
}

func outcomes(s *Submission) []string {
	var out []string
	for _, j := range s.Jobs {
		out = append(out, j.Item.Spec.Name+"="+string(j.Outcome))
	}
	return out
}

func TestSendAndResume(t *testing.T) {
	ctx := context.Background()
	db, err := index.Open(ctx, filepath.Join(t.TempDir(), index.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := &fakePlatform{}
	sender := &Sender{Submitter: &submission.Submitter{DB: db}, Conns: map[string]sdk.Platform{"fake": p}, Parallel: 2}
	var doneMu sync.Mutex
	done := 0
	sender.Done = func(Job) { doneMu.Lock(); done++; doneMu.Unlock() }
	tests := []struct {
		name  string
		batch *Batch
		want  []string
		sent  int
	}{
		{"first run", testBatch("a", "bad", "c"), []string{"a=submitted", "bad=failed", "c=submitted"}, 3},
		{"same batch again sends only what failed", testBatch("a", "bad", "c"), []string{"a=already_submitted", "bad=failed", "c=already_submitted"}, 1},
		{"a new job in the batch", testBatch("a", "c", "d"), []string{"a=already_submitted", "c=already_submitted", "d=submitted"}, 1},
	}
	for _, tc := range tests {
		p.sent, done = nil, 0
		s, err := Resume(ctx, db, tc.batch)
		if err != nil {
			t.Fatal(err)
		}
		if err := sender.Send(ctx, s); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := outcomes(s); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: outcomes %v, want %v", tc.name, got, tc.want)
		}
		if len(p.sent) != tc.sent || done != tc.sent {
			t.Errorf("%s: %d sent, %d reported; want %d", tc.name, len(p.sent), done, tc.sent)
		}
		if c := s.Counts(); len(c) != len(Outcomes) {
			t.Errorf("%s: counts %v lack an outcome", tc.name, c)
		}
	}
	recs, _ := db.List(ctx, index.Filter{Batch: "b1", Submissions: []index.Submission{index.Submitted}})
	if len(recs) != 3 {
		t.Errorf("%d submitted rows, want 3 (a, c, d)", len(recs))
	}
	for _, r := range recs {
		if r.Labels[submission.LabelSubmission] != submission.Tag(r.Key) {
			t.Errorf("row %s lacks its submission label", r.Name)
		}
	}
}

func TestSendStopsOnCancelAndRecordsWhatItNeverSent(t *testing.T) {
	db, err := index.Open(context.Background(), filepath.Join(t.TempDir(), index.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	p := &fakePlatform{block: make(chan struct{})}
	go func() { <-p.block; cancel() }()
	s, _ := Resume(ctx, db, testBatch("block", "x", "y"))
	sender := &Sender{Submitter: &submission.Submitter{DB: db}, Conns: map[string]sdk.Platform{"fake": p}, Parallel: 1}
	if err := sender.Send(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(outcomes(s)), "[block=interrupted x=not_attempted y=not_attempted]"; got != want {
		t.Errorf("outcomes %s, want %s", got, want)
	}
	for _, tc := range []struct {
		name string
		want index.Submission
	}{{"block", index.Submitting}, {"x", index.Missing}, {"y", index.Missing}} {
		var key string
		for _, j := range s.Jobs {
			if j.Item.Spec.Name == tc.name {
				key = j.Item.Key()
			}
		}
		r, ok, _ := db.Get(context.Background(), "fake", key)
		if !ok || r.Submission != tc.want {
			t.Errorf("%s: row %q, want %q", tc.name, r.Submission, tc.want)
		}
	}
}
