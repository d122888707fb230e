package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
	"github.com/neural-dsl/neural-host/sdk"
)

const twoHostScript = `import os, time
host = os.environ["SM_CURRENT_HOST"]
for i in range(3):
    print(host, "before", i, flush=True)
    time.sleep(0.01)
while not os.path.exists(os.environ["GATE"]):
    time.sleep(0.01)
for i in range(3):
    print(host, "after", i, flush=True)
`

// TestLogsFollowTwoHosts follows a two-instance job: lines stream while it
// runs, both hosts' streams are read, following ends once the job has
// ended and the streams are drained, and a cursor resumes exactly.
func TestLogsFollowTwoHosts(t *testing.T) {
	p, _ := newPlatform(t, fakeaws.Options{})
	p.mu.Lock()
	p.cfg.logPageSize = 2 // several pages per stream
	p.mu.Unlock()
	ctx := context.Background()
	gate := filepath.Join(t.TempDir(), "gate")
	spec := pythonJob(t, "two-hosts", "k", twoHostScript)
	spec.Resources.Nodes = 2
	spec.Env = map[string]string{"GATE": gate}
	st, err := p.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var followed []sdk.LogEntry
	done := make(chan error, 1)
	go func() {
		done <- p.Logs(ctx, sdk.LogsRequest{ID: st.ID, Follow: true}, func(e sdk.LogEntry) error {
			mu.Lock()
			followed = append(followed, e)
			mu.Unlock()
			return nil
		})
	}()
	eventually(t, 20*time.Second, "both hosts' first lines", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(followed) == 6
	})
	if now, _ := p.Status(ctx, st.ID); now.Terminal {
		t.Fatalf("the job ended before its gate opened: %+v", now)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("following did not end with the job")
	}
	if end, _ := p.Status(ctx, st.ID); end.State != sdk.StateSucceeded {
		t.Fatalf("job %s", end.State)
	}
	perHost := map[string][]string{}
	for _, e := range followed {
		host := strings.Fields(e.Line)[0]
		if !strings.HasPrefix(e.Source, host+"-") {
			t.Errorf("line %q from source %q", e.Line, e.Source)
		}
		perHost[host] = append(perHost[host], strings.Join(strings.Fields(e.Line)[1:], " "))
	}
	want := "before 0,before 1,before 2,after 0,after 1,after 2"
	for _, h := range []string{"algo-1", "algo-2"} {
		if got := strings.Join(perHost[h], ","); got != want {
			t.Errorf("%s: %s", h, got)
		}
	}
	// Read again in one pass: merged in time order, and resumable from any
	// entry's cursor.
	var all []sdk.LogEntry
	if err := p.Logs(ctx, sdk.LogsRequest{ID: st.ID}, func(e sdk.LogEntry) error { all = append(all, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 12 {
		t.Fatalf("%d lines, want 12", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Time.Before(all[i-1].Time) {
			t.Errorf("line %d (%s) is earlier than line %d", i, all[i].Time, i-1)
		}
	}
	for _, k := range []int{0, 4, 11} {
		var rest []string
		if err := p.Logs(ctx, sdk.LogsRequest{ID: st.ID, Cursor: all[k].Cursor}, func(e sdk.LogEntry) error { rest = append(rest, e.Line); return nil }); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, e := range all[k+1:] {
			want = append(want, e.Line)
		}
		if strings.Join(rest, "|") != strings.Join(want, "|") {
			t.Errorf("after entry %d: %q, want %q", k, rest, want)
		}
	}
}

// TestLogsBeforeAnyStream: a job that has not started has no log group or
// stream yet; reading is not an error, and following waits for them.
func TestLogsBeforeAnyStream(t *testing.T) {
	p, _ := newPlatform(t, fakeaws.Options{StartDelay: 400 * time.Millisecond})
	ctx := context.Background()
	st, err := p.Submit(ctx, pythonJob(t, "late", "k", "print('hello')\n"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := p.Logs(ctx, sdk.LogsRequest{ID: st.ID}, func(sdk.LogEntry) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("before start: %d lines, %v", n, err)
	}
	var lines []string
	if err := p.Logs(ctx, sdk.LogsRequest{ID: st.ID, Follow: true}, func(e sdk.LogEntry) error { lines = append(lines, e.Line); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0] != "hello" {
		t.Errorf("followed %q", lines)
	}
}

func TestLogsBadCursor(t *testing.T) {
	p, _ := newPlatform(t, fakeaws.Options{})
	err := p.Logs(context.Background(), sdk.LogsRequest{ID: "some-job", Cursor: "%%%"}, func(sdk.LogEntry) error { return nil })
	if se := wantKind(t, err, sdk.ErrInvalidArgument); se.Field != "cursor" {
		t.Errorf("field %q", se.Field)
	}
}
