package index

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// A test binary run with indexWriterEnv set is a writer process for
// TestProcessesWriteAtOnce instead of a test run.
const indexWriterEnv = "INDEX_TEST_WRITER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(indexWriterEnv); spec != "" {
		os.Exit(writer(spec))
	}
	os.Exit(m.Run())
}

// writer is one process: it writes n rows named after itself, each with a
// Begin and a Submitted, as a submit does.
func writer(spec string) int {
	var path, who string
	var n int
	if _, err := fmt.Sscanf(spec, "%s %s %d", &path, &who, &n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	d, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer d.Close()
	for i := 0; i < n; i++ {
		key := who + "-" + strconv.Itoa(i)
		if err := d.Begin(ctx, Record{Platform: "p", Key: key, Name: key}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := d.Submitted(ctx, "p", key, sdk.JobStatus{ID: key, State: sdk.StateQueued}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func open(t *testing.T) *DB {
	t.Helper()
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "state", FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestSubmissionLifecycle(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	spec := sdk.JobSpec{Name: "a", Kind: sdk.KindCommand, Command: []string{"true"}, IdempotencyKey: "k1"}
	if err := d.Begin(ctx, Record{Platform: "local", Key: "k1", Name: "a", Batch: "b1", Labels: map[string]string{"team": "x"}, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	r, ok, err := d.Get(ctx, "local", "k1")
	if err != nil || !ok || r.Submission != Submitting || r.OwnerPID != os.Getpid() || r.Ref() != "" || r.Spec.Command[0] != "true" {
		t.Fatalf("after Begin: %+v %v %v", r, ok, err)
	}
	created := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := d.Submitted(ctx, "local", "k1", sdk.JobStatus{ID: "j1", State: sdk.StateQueued, RawState: "Q", CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	// A second attempt with the same key (a retry) must not forget the job.
	if err := d.Begin(ctx, Record{Platform: "local", Key: "k1", Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Failed(ctx, "local", "k1", Submitting, "timeout"); err != nil {
		t.Fatal(err)
	}
	r, _, _ = d.Get(ctx, "local", "k1")
	if r.Submission != Submitted || r.Ref() != "local:j1" || r.State != sdk.StateQueued || !r.JobCreatedAt.Equal(created) || r.OwnerPID != 0 {
		t.Fatalf("after Submitted and a failed retry: %+v", r)
	}
	if err := d.Update(ctx, "local", sdk.JobStatus{ID: "j1", State: sdk.StateSucceeded, Terminal: true}); err != nil {
		t.Fatal(err)
	}
	r, _, _ = d.Get(ctx, "local", "k1")
	if r.State != sdk.StateSucceeded || !r.Terminal || !r.JobCreatedAt.Equal(created) {
		t.Fatalf("after Update: %+v", r)
	}
	if err := d.Begin(ctx, Record{Platform: "local", Key: "k2", Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Failed(ctx, "local", "k2", Rejected, "quota"); err != nil {
		t.Fatal(err)
	}
	r, _, _ = d.Get(ctx, "local", "k2")
	if r.Submission != Rejected || r.Error != "quota" {
		t.Fatalf("rejected row: %+v", r)
	}
	if _, ok, _ := d.Get(ctx, "local", "nope"); ok {
		t.Error("Get found a row that was never written")
	}
}

// TestUpdateAll: one call stores many jobs' states, of its platform only.
func TestUpdateAll(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	var fresh []sdk.JobStatus
	for _, p := range []string{"p", "q"} {
		for i := 0; i < 300; i++ {
			key := strconv.Itoa(i)
			if err := d.Begin(ctx, Record{Platform: p, Key: key}); err != nil {
				t.Fatal(err)
			}
			if err := d.Submitted(ctx, p, key, sdk.JobStatus{ID: "j" + key, State: sdk.StateQueued}); err != nil {
				t.Fatal(err)
			}
			if p == "p" {
				fresh = append(fresh, sdk.JobStatus{ID: "j" + key, State: sdk.StateRunning, RawState: "R" + key})
			}
		}
	}
	if err := d.UpdateAll(ctx, "p", fresh); err != nil {
		t.Fatal(err)
	}
	rs, err := d.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range rs {
		got[r.Platform+" "+string(r.State)]++
		if r.State == sdk.StateRunning && r.RawState != "R"+r.Key {
			t.Errorf("%s:%s has raw state %q", r.Platform, r.JobID, r.RawState)
		}
	}
	if want := map[string]int{"p running": 300, "q queued": 300}; !reflect.DeepEqual(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
}

// TestListReadsSpecsOnlyWhenAsked proves that a listing leaves the stored
// specs alone unless asked for them, and that asked for, it returns each
// row's own.
func TestListReadsSpecsOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	specs := map[string]sdk.JobSpec{
		"k1": {Name: "a", Kind: sdk.KindCommand, Command: []string{"train", "1"}, IdempotencyKey: "k1"},
		"k2": {Name: "b", Kind: sdk.KindCommand, Command: []string{"train", "2"}, IdempotencyKey: "k2", Env: map[string]string{"SEED": "2"}},
	}
	for key, spec := range specs {
		if err := d.Begin(ctx, Record{Platform: "local", Key: key, Name: spec.Name, Labels: map[string]string{"team": "x"}, Spec: spec}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		withSpec bool
	}{
		{"without specs", false},
		{"with specs", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := d.List(ctx, Filter{Platforms: []string{"local"}, WithSpec: tt.withSpec})
			if err != nil || len(rs) != len(specs) {
				t.Fatalf("List: %d rows, %v", len(rs), err)
			}
			for _, r := range rs {
				want := sdk.JobSpec{}
				if tt.withSpec {
					want = specs[r.Key]
				}
				if !reflect.DeepEqual(r.Spec, want) {
					t.Errorf("row %s: Spec = %+v, want %+v", r.Key, r.Spec, want)
				}
				if r.Labels["team"] != "x" || r.Name != specs[r.Key].Name {
					t.Errorf("row %s: labels %v, name %q; the rest of the row must be read either way", r.Key, r.Labels, r.Name)
				}
			}
		})
	}
}

func TestListFilters(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []Record{
		{Platform: "local", Key: "1", Name: "train-a", Batch: "b1", Labels: map[string]string{"team": "x"}},
		{Platform: "local", Key: "2", Name: "train-b", Batch: "b1", Labels: map[string]string{"team": "y"}},
		{Platform: "fake", Key: "3", Name: "eval", Labels: map[string]string{"team": "x", "a.b": "c"}},
	}
	for i, r := range rows {
		d.now = func() time.Time { return base.Add(time.Duration(i) * time.Hour) }
		if err := d.Begin(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	d.Failed(ctx, "fake", "3", Missing, "")
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all, newest first", Filter{}, []string{"3", "2", "1"}},
		{"platform", Filter{Platforms: []string{"local"}}, []string{"2", "1"}},
		{"batch", Filter{Batch: "b1"}, []string{"2", "1"}},
		{"label", Filter{Labels: map[string]string{"team": "x"}}, []string{"3", "1"}},
		{"dotted label key", Filter{Labels: map[string]string{"a.b": "c"}}, []string{"3"}},
		{"label absent", Filter{Labels: map[string]string{"team": ""}}, nil},
		{"name prefix", Filter{NamePrefix: "train-"}, []string{"2", "1"}},
		{"created after", Filter{CreatedAfter: base.Add(30 * time.Minute)}, []string{"3", "2"}},
		{"created before", Filter{CreatedBefore: base.Add(30 * time.Minute)}, []string{"1"}},
		{"submission", Filter{Submissions: []Submission{Missing}}, []string{"3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, r := range got {
				keys = append(keys, r.Key)
			}
			if fmt.Sprint(keys) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", keys, tt.want)
			}
		})
	}
	bs, err := d.Batches(ctx)
	if err != nil || len(bs) != 1 || bs[0].ID != "b1" || bs[0].Jobs != 2 {
		t.Errorf("Batches = %+v, %v", bs, err)
	}
}

func TestFilesArePrivate(t *testing.T) {
	d := open(t)
	if err := d.Begin(context.Background(), Record{Platform: "p", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		st, err := os.Stat(d.Path() + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(d.Path()+suffix), st.Mode().Perm())
		}
	}
	st, _ := os.Stat(filepath.Dir(d.Path()))
	if st.Mode().Perm() != 0o700 {
		t.Errorf("state dir has mode %v, want 0700", st.Mode().Perm())
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	version := func() int {
		var v int
		if err := d.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := version(); v != SchemaVersion {
		t.Fatalf("new index at version %d, want %d", v, SchemaVersion)
	}
	d.Begin(ctx, Record{Platform: "p", Key: "old"})
	d.Close()

	// A later build adds a migration: opening applies it and keeps the rows.
	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(append([]string(nil), saved...), `ALTER TABLE jobs ADD COLUMN note TEXT NOT NULL DEFAULT 'n'`)
	if d, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	var note string
	if err := d.db.QueryRow("SELECT note FROM jobs WHERE key = 'old'").Scan(&note); err != nil || note != "n" || version() != len(migrations) {
		t.Fatalf("after upgrade: note %q, version %d, %v", note, version(), err)
	}
	d.Close()

	// An index written by that later build is refused by this one.
	migrations = saved
	_, err = Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer than this neural-host") {
		t.Fatalf("opening a newer index: %v", err)
	}
}

func TestProcessesWriteAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	const procs, rows = 4, 150
	var wg sync.WaitGroup
	errs := make([]error, procs)
	out := make([][]byte, procs)
	for i := 0; i < procs; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s w%d %d", indexWriterEnv, path, i, rows))
			out[i], errs[i] = cmd.CombinedOutput()
		}(i)
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("writer %d: %v\n%s", i, errs[i], out[i])
		}
	}
	d, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	all, err := d.List(context.Background(), Filter{Submissions: []Submission{Submitted}})
	if err != nil || len(all) != procs*rows {
		t.Fatalf("%d submitted rows, want %d (%v)", len(all), procs*rows, err)
	}
}

func TestConcurrentWritersShareCommits(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			key := strconv.Itoa(i)
			errs <- d.Begin(ctx, Record{Platform: "p", Key: key})
			errs <- d.Submitted(ctx, "p", key, sdk.JobStatus{ID: "j" + key, State: sdk.StateQueued})
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rs, err := d.List(ctx, Filter{Submissions: []Submission{Submitted}})
	if err != nil || len(rs) != 100 {
		t.Fatalf("%d submitted rows, want 100 (%v)", len(rs), err)
	}
	// Many rows in one call land together.
	var many []Record
	for i := 0; i < 500; i++ {
		many = append(many, Record{Platform: "q", Key: strconv.Itoa(i), Batch: "big"})
	}
	if err := d.BeginAll(ctx, many); err != nil {
		t.Fatal(err)
	}
	if rs, _ := d.List(ctx, Filter{Batch: "big"}); len(rs) != 500 {
		t.Errorf("%d rows of 500", len(rs))
	}
	// A write whose context has ended is not made.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := d.Begin(cancelled, Record{Platform: "p", Key: "late"}); err == nil {
		t.Error("Begin with an ended context succeeded")
	}
	if _, ok, _ := d.Get(ctx, "p", "late"); ok {
		t.Error("a cancelled write was made")
	}
}
