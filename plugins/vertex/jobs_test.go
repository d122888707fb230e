package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/sdktest"
	"google.golang.org/grpc/codes"
)

func TestJobLifecycle(t *testing.T) {
	fs := startFakeSet(t)
	p := fs.platform(t)
	ctx := testCtx(t)
	script := `echo hello; cat data.txt; mkdir -p "$NEURAL_OUTPUT_DIR/model"
echo '{"loss": 0.25, "acc": {"val": 0.9}, "note": "x"}' > "$NEURAL_OUTPUT_DIR/metrics.json"
echo w > "$NEURAL_OUTPUT_DIR/model/w.txt"; echo "job $NEURAL_JOB_ID" >&2`
	spec := commandSpec(t, "life-1", script, map[string]string{"data.txt": "from the bundle\n"})
	spec.Labels = map[string]string{"team": "vision"}
	st, err := p.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if st.ID == "" || st.Name != "test-job" || st.Labels["team"] != "vision" || st.Labels[keyLabel] != "" || st.ConsoleURL == "" {
		t.Fatalf("submit status %+v", st)
	}
	end := waitTerminal(t, p, st.ID)
	if end.State != sdk.StateSucceeded || end.RawState != "JOB_STATE_SUCCEEDED" || end.StartedAt.IsZero() || end.EndedAt.IsZero() {
		t.Fatalf("final status %+v", end)
	}
	res, err := p.Result(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Metrics["loss"] != 0.25 || res.Metrics["acc.val"] != 0.9 || len(res.Metrics) != 2 {
		t.Errorf("metrics %v", res.Metrics)
	}
	out := "gs://" + testBucket + "/runs/neural/jobs/" + hashKey("life-1") + "/"
	if !slices.Contains(res.Artifacts, out+"metrics.json") || !slices.Contains(res.Artifacts, out+"model/w.txt") {
		t.Errorf("artifacts %v", res.Artifacts)
	}
	if res.Duration <= 0 || res.Error != "" || !strings.Contains(res.OutputExcerpt, "from the bundle") {
		t.Errorf("duration %v, error %q, excerpt %q", res.Duration, res.Error, res.OutputExcerpt)
	}
	logs := collectLogs(t, p, sdk.LogsRequest{ID: st.ID})
	if got := lines(logs); got != "hello|from the bundle|job "+st.ID {
		t.Fatalf("logs %q", got)
	}
	if logs[0].Source != "workerpool0-0" || logs[0].Time.IsZero() || logs[0].Cursor == "" {
		t.Errorf("entry %+v", logs[0])
	}
	if got := lines(collectLogs(t, p, sdk.LogsRequest{ID: st.ID, Cursor: logs[0].Cursor})); got != "from the bundle|job "+st.ID {
		t.Errorf("from cursor: %q", got)
	}
}

// jobsWithKey lists the fake's jobs carrying key's label.
func (f *fake) jobsWithKey(key string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for name, j := range f.jobs {
		if j.job.GetLabels()[keyLabel] == hashKey(key) {
			out = append(out, name)
		}
	}
	return out
}

func TestSubmitIsIdempotent(t *testing.T) {
	fs := startFakeSet(t)
	fs.f.manual = true
	p := fs.platform(t)
	tests := []struct {
		name   string
		faults []fault
	}{
		{"no faults", nil},
		{"unavailable before create", []fault{{code: codes.Unavailable}}},
		{"unavailable after create", []fault{{code: codes.Unavailable, commit: true}}},
		{"resource exhausted after create twice", []fault{{code: codes.ResourceExhausted, commit: true}, {code: codes.ResourceExhausted, commit: true}}},
		{"deadline after create", []fault{{code: codes.DeadlineExceeded, commit: true}}},
		{"lookup unavailable", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("idem-%d", i)
			fs.f.inject("CreateCustomJob", tt.faults...)
			if tt.name == "lookup unavailable" {
				fs.f.inject("ListCustomJobs", fault{code: codes.Unavailable})
			}
			a, err := p.Submit(testCtx(t), commandSpec(t, key, "true", nil))
			if err != nil {
				t.Fatal(err)
			}
			b, err := p.Submit(testCtx(t), commandSpec(t, key, "true", nil))
			if err != nil {
				t.Fatal(err)
			}
			if a.ID != b.ID || a.ID == "" {
				t.Errorf("same key gave jobs %q and %q", a.ID, b.ID)
			}
			if n := len(fs.f.jobsWithKey(key)); n != 1 {
				t.Errorf("%d jobs with the key, want 1", n)
			}
		})
	}
	t.Run("a new key makes a new job", func(t *testing.T) {
		a, _ := p.Submit(testCtx(t), commandSpec(t, "other-a", "true", nil))
		b, _ := p.Submit(testCtx(t), commandSpec(t, "other-b", "true", nil))
		if a.ID == b.ID || a.ID == "" {
			t.Errorf("different keys gave %q and %q", a.ID, b.ID)
		}
	})
	t.Run("persistent failure creates nothing and says so", func(t *testing.T) {
		f := fault{code: codes.Unavailable}
		fs.f.inject("CreateCustomJob", f, f, f, f)
		_, err := p.Submit(testCtx(t), commandSpec(t, "down", "true", nil))
		wantKind(t, err, sdk.ErrUnavailable, "")
		if n := len(fs.f.jobsWithKey("down")); n != 0 {
			t.Fatalf("%d jobs after failing", n)
		}
		// The host retries with the same key once the service is back.
		if _, err := p.Submit(testCtx(t), commandSpec(t, "down", "true", nil)); err != nil {
			t.Fatal(err)
		}
		if n := len(fs.f.jobsWithKey("down")); n != 1 {
			t.Errorf("%d jobs after the retry, want 1", n)
		}
	})
	t.Run("quota exhaustion is rate limiting", func(t *testing.T) {
		f := fault{code: codes.ResourceExhausted}
		fs.f.inject("CreateCustomJob", f, f, f, f)
		_, err := p.Submit(testCtx(t), commandSpec(t, "quota", "true", nil))
		if se := wantKind(t, err, sdk.ErrRateLimited, ""); !strings.Contains(se.Hint, "quota") {
			t.Errorf("hint %q", se.Hint)
		}
	})
}

func TestStateTableCoversTheEnum(t *testing.T) {
	var all []aiplatformpb.JobState
	for n := range aiplatformpb.JobState_name {
		all = append(all, aiplatformpb.JobState(n))
	}
	sdktest.CheckStateTable(t, jobStates, all)
}

func TestStatusMapsEveryState(t *testing.T) {
	fs := startFakeSet(t)
	fs.f.manual = true
	p := fs.platform(t)
	st, err := p.Submit(testCtx(t), commandSpec(t, "states", "true", nil))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != sdk.StateQueued || st.RawState != "JOB_STATE_QUEUED" || st.Terminal {
		t.Fatalf("new job %+v", st)
	}
	name := st.Attributes["resource"]
	want := map[aiplatformpb.JobState]sdk.State{
		aiplatformpb.JobState_JOB_STATE_QUEUED:              sdk.StateQueued,
		aiplatformpb.JobState_JOB_STATE_PENDING:             sdk.StateStarting,
		aiplatformpb.JobState_JOB_STATE_RUNNING:             sdk.StateRunning,
		aiplatformpb.JobState_JOB_STATE_UPDATING:            sdk.StateRunning,
		aiplatformpb.JobState_JOB_STATE_PAUSED:              sdk.StateQueued,
		aiplatformpb.JobState_JOB_STATE_CANCELLING:          sdk.StateStopping,
		aiplatformpb.JobState_JOB_STATE_SUCCEEDED:           sdk.StateSucceeded,
		aiplatformpb.JobState_JOB_STATE_FAILED:              sdk.StateFailed,
		aiplatformpb.JobState_JOB_STATE_EXPIRED:             sdk.StateFailed,
		aiplatformpb.JobState_JOB_STATE_PARTIALLY_SUCCEEDED: sdk.StateFailed,
		aiplatformpb.JobState_JOB_STATE_CANCELLED:           sdk.StateCancelled,
		aiplatformpb.JobState_JOB_STATE_UNSPECIFIED:         sdk.StateUnknown,
		aiplatformpb.JobState(42):                           sdk.StateUnknown,
	}
	if len(want) != len(aiplatformpb.JobState_name)+1 {
		t.Fatalf("the table misses some of the %d API states", len(aiplatformpb.JobState_name))
	}
	for _, raw := range sortedStates(want) {
		state := want[raw]
		t.Run(raw.String(), func(t *testing.T) {
			msg := ""
			if state == sdk.StateFailed {
				msg = "boom " + raw.String()
			}
			fs.f.setState(name, raw, msg)
			got, err := p.Status(testCtx(t), st.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != state || got.RawState != raw.String() || got.Terminal != state.Terminal() || got.Reason != msg && raw != aiplatformpb.JobState_JOB_STATE_PAUSED {
				t.Errorf("got %+v, want %s", got, state)
			}
			if state == sdk.StateFailed {
				res, err := p.Result(testCtx(t), st.ID)
				if err != nil || res.Error != msg {
					t.Errorf("result error %q, %v", res.Error, err)
				}
			}
		})
	}
}

func sortedStates(m map[aiplatformpb.JobState]sdk.State) []aiplatformpb.JobState {
	var out []aiplatformpb.JobState
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestCancelStopsTheJob(t *testing.T) {
	fs := startFakeSet(t)
	p := fs.platform(t)
	st, err := p.Submit(testCtx(t), commandSpec(t, "cancel", "echo ready; sleep 300", nil))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the job to run", func() bool {
		s, _ := p.Status(testCtx(t), st.ID)
		return s.State == sdk.StateRunning && len(collectLogs(t, p, sdk.LogsRequest{ID: st.ID})) == 1
	})
	after, err := p.Cancel(testCtx(t), st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.State != sdk.StateCancelled || !after.Terminal || after.RawState != "JOB_STATE_CANCELLED" {
		t.Fatalf("after cancel %+v", after)
	}
	calls := fs.f.count("CancelCustomJob")
	if calls != 1 {
		t.Errorf("CancelCustomJob called %d times", calls)
	}
	again, err := p.Cancel(testCtx(t), st.ID)
	if err != nil || again.State != sdk.StateCancelled || fs.f.count("CancelCustomJob") != calls {
		t.Errorf("cancelling a cancelled job: %+v %v, %d calls", again, err, fs.f.count("CancelCustomJob")-calls)
	}
}

func TestLogsFollow(t *testing.T) {
	fs := startFakeSet(t)
	p := fs.platform(t)
	gate := filepath.Join(t.TempDir(), "gate")
	spec := commandSpec(t, "follow", `echo first; while [ ! -e "$GATE" ]; do sleep 0.02; done; echo second; echo third >&2`, nil)
	spec.Env = map[string]string{"GATE": gate}
	st, err := p.Submit(testCtx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	// Log reads are rate limited; a follower rides it out.
	fs.f.inject("ListLogEntries", fault{code: codes.ResourceExhausted}, fault{code: codes.ResourceExhausted})
	got := make(chan sdk.LogEntry, 10)
	done := make(chan error, 1)
	go func() {
		done <- p.Logs(testCtx(t), sdk.LogsRequest{ID: st.ID, Follow: true}, func(e sdk.LogEntry) error { got <- e; return nil })
	}()
	next := func() sdk.LogEntry {
		select {
		case e := <-got:
			return e
		case err := <-done:
			t.Fatalf("follow ended early: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("no log line")
		}
		return sdk.LogEntry{}
	}
	first := next()
	if first.Line != "first" {
		t.Fatalf("first line %q", first.Line)
	}
	if s, _ := p.Status(testCtx(t), st.ID); s.Terminal {
		t.Fatalf("job ended before the gate opened: %+v", s)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if l := next().Line; l != "second" {
		t.Fatalf("second line %q", l)
	}
	if l := next().Line; l != "third" {
		t.Fatalf("third line %q", l)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("follow did not end with the job")
	}
	if n := fs.f.count("ListLogEntries"); n < 3 {
		t.Errorf("%d log reads; the injected failures were not met", n)
	}
	if rest := lines(collectLogs(t, p, sdk.LogsRequest{ID: st.ID, Cursor: first.Cursor})); rest != "second|third" {
		t.Errorf("from cursor: %q", rest)
	}
}

func TestLogsErrors(t *testing.T) {
	fs := startFakeSet(t)
	fs.f.manual = true
	p := fs.platform(t)
	st, err := p.Submit(testCtx(t), commandSpec(t, "logs-err", "true", nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		req    sdk.LogsRequest
		inject codes.Code
		kind   error
		field  string
	}{
		{"bad cursor", sdk.LogsRequest{ID: st.ID, Cursor: "yesterday"}, codes.OK, sdk.ErrInvalidArgument, "cursor"},
		{"bad id", sdk.LogsRequest{ID: "job-1"}, codes.OK, sdk.ErrInvalidArgument, "job"},
		{"unknown job", sdk.LogsRequest{ID: "123"}, codes.OK, sdk.ErrNotFound, ""},
		{"no permission", sdk.LogsRequest{ID: st.ID}, codes.PermissionDenied, sdk.ErrPermissionDenied, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.inject != codes.OK {
				fs.f.inject("ListLogEntries", fault{code: tt.inject})
			}
			err := p.Logs(testCtx(t), tt.req, func(sdk.LogEntry) error { return nil })
			wantKind(t, err, tt.kind, tt.field)
		})
	}
}

func TestList(t *testing.T) {
	fs := startFakeSet(t)
	fs.f.manual = true
	p := fs.platform(t)
	ids := map[string]string{}
	for _, j := range []struct{ key, team string }{{"l1", "a"}, {"l2", "a"}, {"l3", "b"}} {
		spec := commandSpec(t, j.key, "true", nil)
		spec.Name, spec.Labels = "list-"+j.key, map[string]string{"team": j.team}
		st, err := p.Submit(testCtx(t), spec)
		if err != nil {
			t.Fatal(err)
		}
		ids[j.key] = st.ID
	}
	fs.f.setState(fs.f.jobsWithKey("l2")[0], aiplatformpb.JobState_JOB_STATE_SUCCEEDED, "")
	tests := []struct {
		name string
		req  sdk.ListRequest
		want []string
	}{
		{"all", sdk.ListRequest{}, []string{"l1", "l2", "l3"}},
		{"label", sdk.ListRequest{Labels: map[string]string{"team": "a"}}, []string{"l1", "l2"}},
		{"state", sdk.ListRequest{States: []sdk.State{sdk.StateSucceeded}}, []string{"l2"}},
		{"two states", sdk.ListRequest{States: []sdk.State{sdk.StateSucceeded, sdk.StateQueued}, Labels: map[string]string{"team": "b"}}, []string{"l3"}},
		{"name prefix", sdk.ListRequest{NamePrefix: "list-l3"}, []string{"l3"}},
		{"created after", sdk.ListRequest{CreatedAfter: time.Now().Add(time.Hour)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.List(testCtx(t), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range resp.Jobs {
				for k, id := range ids {
					if id == j.ID {
						got = append(got, k)
					}
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		seen := map[string]bool{}
		token := ""
		for page := 0; page < 3; page++ {
			resp, err := p.List(testCtx(t), sdk.ListRequest{PageSize: 1, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Jobs) != 1 || seen[resp.Jobs[0].ID] {
				t.Fatalf("page %d: %+v", page, resp.Jobs)
			}
			seen[resp.Jobs[0].ID] = true
			if token = resp.NextPageToken; (token == "") != (page == 2) {
				t.Fatalf("page %d: next token %q", page, token)
			}
		}
	})
	t.Run("bad label", func(t *testing.T) {
		_, err := p.List(testCtx(t), sdk.ListRequest{Labels: map[string]string{"Team": "a"}})
		wantKind(t, err, sdk.ErrInvalidArgument, "label")
	})
}
