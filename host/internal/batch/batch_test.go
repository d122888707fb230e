package batch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/host/internal/jobspec"
	"github.com/neural-dsl/neural-host/host/internal/submission"
	"github.com/neural-dsl/neural-host/sdk"
)

// write puts files in a fresh directory and returns the path of the first.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "batch.yaml")
}

func TestMatrixExpansion(t *testing.T) {
	path := write(t, map[string]string{
		"batch.yaml": `id: sweep
base: train.yaml
matrix:
  platform: [local, fake]
  dsl.backend: [tensorflow, pytorch]
  env.LR: ["0.1", 0.01]
`,
		"train.yaml": "kind: dsl\nentrypoint: model.neural\nenv: {SEED: \"7\"}\nlabels: {team: vision}\n",
	})
	b, err := Load(context.Background(), path, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != "sweep" || len(b.Items) != 8 {
		t.Fatalf("id %q, %d items", b.ID, len(b.Items))
	}
	first, last := b.Items[0], b.Items[7]
	if first.Platform != "local" || first.Spec.DSL.Backend != "tensorflow" || first.Spec.Env["LR"] != "0.1" || first.Spec.Env["SEED"] != "7" {
		t.Errorf("first item: %s %+v", first.Platform, first.Spec.JobSpec)
	}
	if last.Platform != "fake" || last.Spec.DSL.Backend != "pytorch" || last.Spec.Env["LR"] != "0.01" {
		t.Errorf("last item: %s %+v", last.Platform, last.Spec.JobSpec)
	}
	if first.Spec.Name != "train-local-tensorflow-0.1" {
		t.Errorf("name %q", first.Spec.Name)
	}
	if first.Spec.Labels[submission.LabelBatch] != "sweep" || first.Spec.Labels["team"] != "vision" {
		t.Errorf("labels %v", first.Spec.Labels)
	}
	if first.Spec.WorkDir != filepath.Dir(path) {
		t.Errorf("workdir %q, want the base spec's directory", first.Spec.WorkDir)
	}
	keys := map[string]bool{}
	for _, it := range b.Items {
		keys[it.Key()] = true
	}
	if len(keys) != 8 {
		t.Errorf("%d distinct keys for 8 jobs", len(keys))
	}
	// Loading again gives the same keys: a re-run names the same jobs.
	again, _ := Load(context.Background(), path, "", "")
	for i := range b.Items {
		if again.Items[i].Key() != b.Items[i].Key() {
			t.Fatalf("item %d: key changed between loads", i)
		}
	}
	// Another batch id gives other keys.
	other, _ := Load(context.Background(), path, "sweep2", "")
	if other.Items[0].Key() == b.Items[0].Key() {
		t.Error("two batches share a key")
	}
}

func TestJobsList(t *testing.T) {
	path := write(t, map[string]string{
		"batch.yaml": `platform: local
base: {kind: command, labels: {team: a}}
jobs:
  - {name: one, command: ["true"]}
  - {name: two, command: ["false"], platform: fake, labels: {extra: "1"}}
  - eval.yaml
`,
		"eval.yaml": "kind: python\nentrypoint: eval.py\n",
	})
	b, err := Load(context.Background(), path, "", "other")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Items) != 3 {
		t.Fatalf("%d items", len(b.Items))
	}
	want := []struct{ name, platform string }{{"one", "local"}, {"two", "fake"}, {"eval", "local"}}
	for i, w := range want {
		it := b.Items[i]
		if it.Spec.Name != w.name || it.Platform != w.platform {
			t.Errorf("item %d: %s on %s, want %s on %s", i, it.Spec.Name, it.Platform, w.name, w.platform)
		}
	}
	if l := b.Items[1].Spec.Labels; l["team"] != "a" || l["extra"] != "1" {
		t.Errorf("labels not merged over the base: %v", l)
	}
	if b.Items[2].Spec.Kind != sdk.KindPython || b.Items[2].Spec.Labels["team"] != "a" {
		t.Errorf("spec file job: %+v", b.Items[2].Spec.JobSpec)
	}
	if b.ID != DefaultID(path) || !ValidID(b.ID) || !strings.HasPrefix(b.ID, "batch-") {
		t.Errorf("default id %q", b.ID)
	}
}

func TestBadBatchFiles(t *testing.T) {
	tests := []struct {
		name, batch, field string
	}{
		{"unknown top key", "jobz: []\n", "jobz"},
		{"unknown spec key", "jobs:\n  - {kind: command, command: [x], resource: {gpus: 1}}\n", "jobs[0].resource"},
		{"unknown nested key", "base: {kind: command, command: [x], resources: {gpu: 1}}\nplatform: p\n", "base.resources.gpu"},
		{"bad matrix key", "base: {kind: command, command: [x]}\nplatform: p\nmatrix:\n  learning_rate: [1]\n", "matrix.learning_rate"},
		{"section as matrix key", "base: {kind: command, command: [x]}\nplatform: p\nmatrix:\n  env: [1]\n", "matrix.env"},
		{"empty matrix values", "base: {kind: command, command: [x]}\nplatform: p\nmatrix:\n  env.X: []\n", "matrix.env.X"},
		{"bad value from the matrix", "base: {kind: dsl, entrypoint: m.neural}\nplatform: p\nmatrix:\n  dsl.backend: [jax]\n", "matrix.dsl.backend"},
		{"invalid job", "platform: p\njobs:\n  - {kind: python}\n", "jobs[0].entrypoint"},
		{"no platform", "jobs:\n  - {kind: command, command: [x]}\n", "jobs[0].platform"},
		{"a path as the file's platform", "platform: ../../tmp/evil\njobs:\n  - {kind: command, command: [x]}\n", "platform"},
		{"a path as a job's platform", "jobs:\n  - {kind: command, command: [x], platform: /tmp/evil}\n", "jobs[0].platform"},
		{"a path in the matrix", "base: {kind: command, command: [x]}\nmatrix:\n  platform: [local, ../evil]\n", "matrix.platform"},
		{"duplicate jobs", "platform: p\njobs:\n  - {kind: command, command: [x]}\n  - {kind: command, command: [x]}\n", "jobs[1]"},
		{"no jobs", "platform: p\n", "jobs"},
		{"bad id", "id: Big Sweep\nplatform: p\njobs:\n  - {kind: command, command: [x]}\n", "id"},
		{"missing spec file", "platform: p\njobs:\n  - nope.yaml\n", "jobs[0]"},
		{"too many jobs", "platform: p\nbase: {kind: command, command: [x]}\nmatrix:\n  env.A: [" + strings.Repeat("1,", 200) + "1]\n  env.B: [" + strings.Repeat("1,", 200) + "1]\n", "matrix"},
		// 2^63 jobs wrap to a negative count and 2^64 to 0, both under the limit.
		{"2^63 jobs", "platform: p\nbase: {kind: command, command: [x]}\nmatrix:\n" + binaryMatrix(63), "matrix"},
		{"2^64 jobs", "platform: p\nbase: {kind: command, command: [x]}\nmatrix:\n" + binaryMatrix(64), "matrix"},
		{"second document", "platform: p\njobs:\n  - {kind: command, command: [x]}\n---\njobs: []\n", "batch"},
		{"mapping too big", "platform: p\njobs:\n  - {kind: command, command: [x], env: {" + manyKeys(1001) + "}}\n", "jobs[0].env"},
		{"fraction for a count", "platform: p\njobs:\n  - {kind: command, command: [x], resources: {gpus: 1.5}}\n", "jobs[0].resources.gpus"},
		{"count past int32", "platform: p\njobs:\n  - {kind: command, command: [x], resources: {nodes: 4294967298}}\n", "jobs[0].resources.nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(context.Background(), write(t, map[string]string{"batch.yaml": tt.batch}), "", "")
			if !errors.Is(err, sdk.ErrInvalidArgument) {
				t.Fatalf("err = %v, want invalid argument", err)
			}
			var fields []string
			for _, p := range flatten(err) {
				var se *sdk.Error
				if errors.As(p, &se) {
					fields = append(fields, se.Field)
					if se.Hint == "" {
						t.Errorf("problem %q has no hint", se)
					}
				}
			}
			found := false
			for _, f := range fields {
				found = found || f == tt.field
			}
			if !found {
				t.Errorf("fields %v, want %q\n%v", fields, tt.field, err)
			}
		})
	}
}

// binaryMatrix is a matrix of n keys with two values each: 2^n jobs.
func binaryMatrix(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  env.K%d: [a, b]\n", i)
	}
	return b.String()
}

// manyKeys is n flow-style mapping entries.
func manyKeys(n int) string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("K%d: v", i)
	}
	return strings.Join(keys, ", ")
}

func TestWithinMaxJobs(t *testing.T) {
	twos := func(n int) [][]any {
		out := make([][]any, n)
		for i := range out {
			out[i] = []any{"a", "b"}
		}
		return out
	}
	list := func(n int) []any { return make([]any, n) }
	tests := []struct {
		name    string
		sources int
		values  [][]any
		want    bool
	}{
		{"no matrix", 3, nil, true},
		{"exactly the limit", 1, [][]any{list(100), list(100)}, true},
		{"one combination over", 1, [][]any{list(100), list(101)}, false},
		{"sources count", 2, [][]any{list(5000)}, true},
		{"sources push it over", 2, [][]any{list(5001)}, false},
		{"too many sources alone", MaxJobs + 1, nil, false},
		{"2^63", 1, twos(63), false},
		{"2^64", 1, twos(64), false},
		{"2^65", 1, twos(65), false},
		{"over early, small later", 1, append(twos(20), list(1)), false},
	}
	for _, tt := range tests {
		if got := withinMaxJobs(tt.sources, tt.values); got != tt.want {
			t.Errorf("%s: withinMaxJobs = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSizeLimit(t *testing.T) {
	big := "# " + strings.Repeat("x", jobspec.MaxFileSize) + "\n"
	tests := []struct {
		name  string
		files map[string]string
		field string
	}{
		{"batch file", map[string]string{"batch.yaml": "platform: p\njobs:\n  - {kind: command, command: [x]}\n" + big}, "batch"},
		{"spec file it names", map[string]string{"batch.yaml": "platform: p\njobs:\n  - big.yaml\n", "big.yaml": "kind: command\ncommand: [x]\n" + big}, "jobs[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(context.Background(), write(t, tt.files), "", "")
			var e *sdk.Error
			if !errors.As(err, &e) || !errors.Is(err, sdk.ErrInvalidArgument) || e.Field != tt.field || !strings.Contains(e.Message, "1 MiB") || e.Hint == "" {
				t.Errorf("err = %v, want invalid argument on %s naming the 1 MiB limit", err, tt.field)
			}
		})
	}
}

// TestLoadReturnsWhenCancelled holds a load open and cancels: Load must
// return the context's error without waiting for it.
func TestLoadReturnsWhenCancelled(t *testing.T) {
	path := write(t, map[string]string{"batch.yaml": "platform: p\njobs:\n  - {kind: command, command: [x]}\n"})
	started, release := make(chan struct{}), make(chan struct{})
	load = func(ctx context.Context, path, id, platform string) (*Batch, error) {
		close(started)
		<-release
		return loadFile(ctx, path, id, platform)
	}
	t.Cleanup(func() { close(release); load = loadFile })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Load(ctx, path, "", "")
		done <- err
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load did not return after its context was cancelled")
	}
}

// TestExpansionStopsWhenCancelled checks that a cancelled load builds no
// jobs rather than finishing the matrix in the background.
func TestExpansionStopsWhenCancelled(t *testing.T) {
	path := write(t, map[string]string{"batch.yaml": "platform: p\nbase: {kind: command, command: [x]}\nmatrix:\n  env.A: [1, 2, 3]\n"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if b, err := loadFile(ctx, path, "", ""); !errors.Is(err, context.Canceled) || b != nil {
		t.Errorf("loadFile = %v, %v, want context.Canceled", b, err)
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func TestRunBoundsConcurrency(t *testing.T) {
	items := make([]*Item, 50)
	for i := range items {
		items[i] = &Item{Index: i + 1, Platform: "p"}
	}
	var inFlight, peak atomic.Int32
	var mu sync.Mutex
	var seen []int
	gate := make(chan struct{})
	var started atomic.Int32
	results := Run(context.Background(), items, 4, func(_ context.Context, it *Item) int {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		// The first four wait until all four are in: the bound is reached.
		if started.Add(1) == 4 {
			close(gate)
		}
		<-gate
		inFlight.Add(-1)
		return it.Index * 10
	}, func(it *Item, r int) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
	})
	if peak.Load() != 4 {
		t.Errorf("peak concurrency %d, want 4", peak.Load())
	}
	for i, r := range results {
		if r == nil || *r != (i+1)*10 {
			t.Fatalf("result %d = %v", i, r)
		}
	}
	if len(seen) != 50 {
		t.Errorf("progress told of %d jobs", len(seen))
	}
}

func TestRunStopsStartingWhenCancelled(t *testing.T) {
	items := make([]*Item, 10)
	for i := range items {
		items[i] = &Item{Index: i + 1}
	}
	ctx, cancel := context.WithCancel(context.Background())
	results := Run(ctx, items, 1, func(_ context.Context, it *Item) bool {
		if it.Index == 3 {
			cancel()
		}
		return true
	}, nil)
	ran := 0
	for _, r := range results {
		if r != nil {
			ran++
		}
	}
	// The feeder may hand over one more item before it sees the
	// cancellation, never more.
	if ran < 3 || ran > 4 || results[9] != nil {
		t.Errorf("%d items ran after cancelling at the third", ran)
	}
}

// BenchmarkLoad expands a 1000-job matrix.
func BenchmarkLoad(b *testing.B) {
	seeds := make([]string, 1000)
	for i := range seeds {
		seeds[i] = fmt.Sprintf("%q", fmt.Sprint(i))
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "sweep.yaml")
	os.WriteFile(path, []byte("platform: fake\nbase: {kind: command, command: [train]}\nmatrix:\n  env.SEED: ["+strings.Join(seeds, ", ")+"]\n"), 0o644)
	for b.Loop() {
		if _, err := Load(context.Background(), path, "sweep", ""); err != nil {
			b.Fatal(err)
		}
	}
}

func TestNamedPlatformsLeavesOutMalformedNames(t *testing.T) {
	path := write(t, map[string]string{"batch.yaml": "platform: ../../evil\nbase: {kind: command, command: [x]}\nmatrix:\n  platform: [local, /tmp/evil, vertex]\n"})
	if got := strings.Join(NamedPlatforms(path, "Bad/Name"), ","); got != "local,vertex" {
		t.Errorf("NamedPlatforms = %q, want local,vertex", got)
	}
	_, err := Load(context.Background(), path, "", "../evil")
	var fields []string
	for _, p := range flatten(err) {
		var se *sdk.Error
		if errors.As(p, &se) {
			fields = append(fields, se.Field)
		}
	}
	if got := strings.Join(fields, ","); !strings.Contains(got, "platform,--platform") {
		t.Errorf("Load reports %q, want platform and --platform", got)
	}
}
