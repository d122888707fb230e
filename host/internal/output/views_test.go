package output

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/host/internal/batch"
	"github.com/neural-dsl/neural-host/host/internal/jobspec"
	"github.com/neural-dsl/neural-host/sdk"
)

// TestShowChoosesTheFormatOnce renders one view per format: JSON is the
// shape alone, people get the Human text, and notes go to Err for people
// only.
func TestShowChoosesTheFormatOnce(t *testing.T) {
	job := JobOf("local", sdk.JobStatus{ID: "7", State: sdk.StateRunning})
	tests := []struct {
		format      Format
		v           View
		out, notErr string
		err         string
	}{
		{JSON, Submitted{job}, `"ref": "local:7"`, "", ""},
		{Table, Submitted{job}, "Submitted local:7 (running)\n  follow:  neural-host job logs -f local:7", "", "note\n"},
		{JSON, Cancelled{job}, `"state": "running"`, "", ""},
		{Table, Cancelled{job}, "local:7: running\n", "", "note\n"},
		{Table, Reconciliation{}, "Nothing to reconcile", "", "note\n"},
		{JSON, Reconciliation{}, "[]", "", ""},
		{Table, PluginsRemoved{}, "nothing to remove\n", "", "note\n"},
	}
	for _, tc := range tests {
		var out, errw bytes.Buffer
		p := &Printer{Format: tc.format, Out: &out, Err: &errw}
		if err := p.Show(tc.v); err != nil {
			t.Fatal(err)
		}
		p.Notef("note\n")
		if !strings.Contains(out.String(), tc.out) {
			t.Errorf("%s %T: output %q lacks %q", tc.format, tc.v, out.String(), tc.out)
		}
		if errw.String() != tc.err {
			t.Errorf("%s %T: stderr %q, want %q", tc.format, tc.v, errw.String(), tc.err)
		}
	}
}

func TestStreamingViews(t *testing.T) {
	for _, tc := range []struct {
		format   Format
		out, err string
	}{
		{Table, "p:1: failed (oom)\nline one\n", "warning: the platform truncated the output here\n"},
		{JSON, `{"time":"","source":"","line":"line one","cursor":"c1","truncated":true}` + "\n", ""},
	} {
		var out, errw bytes.Buffer
		p := &Printer{Format: tc.format, Out: &out, Err: &errw}
		p.JobEnded(sdk.JobRef{Platform: "p", ID: "1"}, sdk.JobStatus{State: sdk.StateFailed, Reason: "oom"})
		if err := p.LogEntry(sdk.LogEntry{Line: "line one", Cursor: "c1", Truncated: true}); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.out || errw.String() != tc.err {
			t.Errorf("%s: out %q err %q; want %q, %q", tc.format, out.String(), errw.String(), tc.out, tc.err)
		}
	}
}

func TestErrorHuman(t *testing.T) {
	e := Error{Error: ErrorBody{Problems: []Problem{
		ProblemOf("resources.gpus", "too many", "use 8 or fewer", "ignored"),
		ProblemOf("", "boom\x1b[2J", "", "whole error boom\x1b[2J"),
	}}}
	var b bytes.Buffer
	(&Printer{Format: Table, Out: &b}).Show(e)
	want := "error: resources.gpus: too many\n  hint: use 8 or fewer\nerror: whole error boom\\x1b[2J\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestBatchProgress(t *testing.T) {
	it := &batch.Item{Index: 1, Platform: "p", Spec: &jobspec.Spec{JobSpec: sdk.JobSpec{Name: "n"}}}
	tests := []struct {
		format   Format
		terminal bool
		pending  map[string]int
		want     string
	}{
		{JSON, false, map[string]int{"p": 2}, ""},
		{Table, false, map[string]int{}, ""},
		{Table, false, map[string]int{"p": 2}, "[1/2] job 1 (n): p:9 (queued)\n[2/2] job 1 (n) on p failed: [hidden]\n"},
	}
	for _, tc := range tests {
		var errw bytes.Buffer
		p := &Printer{Format: tc.format, Out: &bytes.Buffer{}, Err: &errw}
		bp := p.NewBatchProgress(tc.pending, tc.terminal, func(string) string { return "[hidden]" })
		bp.Done(batch.Job{Item: it, Status: sdk.JobStatus{ID: "9", State: sdk.StateQueued}})
		bp.Done(batch.Job{Item: it, Err: errors.New("token s3cret")})
		bp.Stop()
		if errw.String() != tc.want {
			t.Errorf("%s pending %v: %q, want %q", tc.format, tc.pending, errw.String(), tc.want)
		}
	}
}
