package index

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

// benchRows is the size of the index the benchmarks read and write: the
// thousand running jobs of bench/states_test.go.
const benchRows = 1000

// benchIndex opens an index holding benchRows submitted jobs of one batch,
// each with a spec and labels as batch submit records them.
func benchIndex(b *testing.B) (*DB, []sdk.JobStatus) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(b.TempDir(), FileName))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	recs := make([]Record, benchRows)
	sts := make([]sdk.JobStatus, benchRows)
	for i := range recs {
		key := fmt.Sprintf("batch-sweep-%04d-0123456789abcdef", i)
		labels := map[string]string{"neural.batch": "sweep", "neural.batch-index": fmt.Sprint(i)}
		recs[i] = Record{Platform: "fake", Key: key, Name: fmt.Sprintf("sweep-%d", i), Batch: "sweep", Labels: labels,
			Spec: sdk.JobSpec{Name: fmt.Sprintf("sweep-%d", i), Kind: sdk.KindCommand, Command: []string{"train", "--epochs", "10"},
				Env: map[string]string{"SEED": fmt.Sprint(i)}, Labels: labels, IdempotencyKey: key,
				Options: map[string]string{"duration": "24h"}}}
		sts[i] = sdk.JobStatus{ID: fmt.Sprintf("job-%04d", i), State: sdk.StateRunning, RawState: "RUNNING"}
	}
	if err := d.BeginAll(ctx, recs); err != nil {
		b.Fatal(err)
	}
	for i, r := range recs {
		if err := d.Submitted(ctx, r.Platform, r.Key, sts[i]); err != nil {
			b.Fatal(err)
		}
	}
	return d, sts
}

// BenchmarkList is what job list reads: every row of a platform.
func BenchmarkList(b *testing.B) {
	d, _ := benchIndex(b)
	f := Filter{Platforms: []string{"fake"}, Submissions: []Submission{Submitted, Submitting, Missing}}
	for b.Loop() {
		rs, err := d.List(context.Background(), f)
		if err != nil || len(rs) != benchRows {
			b.Fatalf("List: %d rows, %v", len(rs), err)
		}
	}
}

// BenchmarkUpdateAll is what job list writes: a fresh state for every row.
func BenchmarkUpdateAll(b *testing.B) {
	d, sts := benchIndex(b)
	for b.Loop() {
		if err := d.UpdateAll(context.Background(), "fake", sts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen is opening an existing index, which every command that
// touches it does once.
func BenchmarkOpen(b *testing.B) {
	d, _ := benchIndex(b)
	for b.Loop() {
		o, err := Open(context.Background(), d.Path())
		if err != nil {
			b.Fatal(err)
		}
		o.Close()
	}
}
