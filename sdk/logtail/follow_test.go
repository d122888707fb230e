package logtail

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

// fakeJob is a job whose log grows by one line at each state read until it
// ends, and takes late lines after it ended: a log service that ingests
// with a delay.
type fakeJob struct {
	reads, endAfter int
	late            int      // lines that arrive after the end
	pending         []string // written, not yet read
	got             []string
	finals          []bool
	errs            []error // errors the passes return first, in order
}

func (j *fakeJob) terminal(context.Context) (bool, error) {
	j.reads++
	if j.reads <= j.endAfter {
		j.pending = append(j.pending, "line")
		return false, nil
	}
	if j.late > 0 {
		// The late lines become readable only after the end was seen.
		defer func() { j.pending = append(j.pending, "late"); j.late-- }()
	}
	return true, nil
}

func (j *fakeJob) pass(_ context.Context, final bool) (bool, error) {
	if len(j.errs) > 0 {
		err := j.errs[0]
		j.errs = j.errs[1:]
		return false, err
	}
	j.finals = append(j.finals, final)
	sent := len(j.pending) > 0
	j.got = append(j.got, j.pending...)
	j.pending = nil
	return sent, nil
}

func TestLoop(t *testing.T) {
	transient := errors.New("rate limited")
	fatal := errors.New("denied")
	tests := []struct {
		name     string
		follow   bool
		job      fakeJob
		wantGot  []string
		wantErr  error
		wantLast bool // the final flag of the last pass
	}{
		{name: "one pass without follow", follow: false, job: fakeJob{pending: []string{"a"}, endAfter: 5}, wantGot: []string{"a", "line"}, wantLast: true},
		{name: "follows to the end", follow: true, job: fakeJob{endAfter: 3}, wantGot: []string{"line", "line", "line"}, wantLast: true},
		{name: "drains late lines", follow: true, job: fakeJob{endAfter: 1, late: 2}, wantGot: []string{"line", "late", "late"}, wantLast: true},
		{name: "waits out transient errors", follow: true, job: fakeJob{endAfter: 1, errs: []error{transient, transient}}, wantGot: []string{"line"}, wantLast: true},
		{name: "stops on other errors", follow: true, job: fakeJob{endAfter: 1, errs: []error{fatal}}, wantErr: fatal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := tt.job
			err := Loop{Follow: tt.follow, Interval: time.Millisecond, Settle: time.Millisecond,
				Transient: func(err error) bool { return err == transient },
				Terminal:  j.terminal, Pass: j.pass}.Run(context.Background())
			if err != tt.wantErr {
				t.Fatalf("Run = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(j.got, tt.wantGot) {
				t.Errorf("lines = %q, want %q", j.got, tt.wantGot)
			}
			if last := j.finals[len(j.finals)-1]; last != tt.wantLast {
				t.Errorf("last pass final = %v, want %v", last, tt.wantLast)
			}
		})
	}
}

func TestLoopWithoutFollowReadsTheState(t *testing.T) {
	gone := errors.New("no such job")
	passes := 0
	err := Loop{Terminal: func(context.Context) (bool, error) { return false, gone },
		Pass: func(context.Context, bool) (bool, error) { passes++; return false, nil }}.Run(context.Background())
	if err != gone || passes != 0 {
		t.Errorf("Run = %v after %d passes, want %v after 0", err, passes, gone)
	}
}

func TestLoopCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	passes := 0
	err := Loop{Follow: true, Interval: time.Hour,
		Terminal: func(context.Context) (bool, error) { return false, nil },
		Pass: func(context.Context, bool) (bool, error) {
			passes++
			cancel()
			return false, nil
		}}.Run(ctx)
	if !errors.Is(err, context.Canceled) || passes != 1 {
		t.Errorf("Run = %v after %d passes, want context.Canceled after 1", err, passes)
	}
}
