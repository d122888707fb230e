package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// The test binary is its own job supervisor, as the plugin binary is.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == superviseArg {
		os.Exit(supervise(os.Args[2]))
	}
	os.Exit(m.Run())
}

// TestJobStates: one call answers for every job, running or ended, as
// Status does, and leaves out ids that are not jobs.
func TestJobStates(t *testing.T) {
	dir := t.TempDir()
	p := New()
	if err := p.Configure(context.Background(), sdk.Config{"state_dir": filepath.Join(dir, "state"),
		"artifact_dir": filepath.Join(dir, "artifacts"), "cancel_grace": "1s"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	commands := [][]string{{"sleep", "600"}, {"true"}, {"sleep", "600"}, {"false"}, {"sleep", "600"}, {"true"}}
	var ids []string
	for i, cmd := range commands {
		st, err := p.Submit(ctx, sdk.JobSpec{Name: "j", Kind: sdk.KindCommand, Command: cmd,
			IdempotencyKey: t.Name() + string(rune('a'+i)), Labels: map[string]string{"neural-batch": "b"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
	}
	ended := func(id string, want bool) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			st, err := p.Status(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if st.Terminal == want && (want || st.State == sdk.StateRunning) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s is still %s", id, st.State)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The jobs must have ended before their directories are removed.
	t.Cleanup(func() {
		for _, id := range ids {
			p.Cancel(ctx, id)
			ended(id, true)
		}
	})
	for i, cmd := range commands {
		ended(ids[i], cmd[0] != "sleep")
	}
	resp, err := p.JobStates(ctx, sdk.JobStatesRequest{IDs: append([]string{"no-such-job", "../escape"}, ids...),
		Labels: map[string]string{"neural-batch": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.NextPageToken != "" {
		t.Errorf("a second page: %q", resp.NextPageToken)
	}
	got := map[string]sdk.JobStatus{}
	for _, st := range resp.Jobs {
		got[st.ID] = st
	}
	want := map[string]sdk.JobStatus{}
	for _, id := range ids {
		if want[id], err = p.Status(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JobStates and Status disagree:\n got %+v\nwant %+v", got, want)
	}
}
