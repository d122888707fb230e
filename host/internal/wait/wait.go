// Package wait follows jobs until they end: it polls their states with
// exponential backoff and jitter, backs off further when a platform rate
// limits it, and maps how the jobs ended to the CLI's documented exit codes
// (docs/exit-codes.md).
//
// It does not start plugins or print: its caller passes the status call
// and is told about each job as it ends.
package wait

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// Exit codes of waiting, as docs/exit-codes.md documents them.
const (
	ExitJobFailed   = 4 // a waited-for job ended failed
	ExitJobCanceled = 5 // a waited-for job ended cancelled
	ExitTimeout     = 6 // waiting timed out; the job goes on
)

// MaxInterval bounds the time between two polls of a job.
const MaxInterval = 30 * time.Second

// JobEndError reports a waited-for job that did not succeed.
type JobEndError struct {
	Ref   string
	State sdk.State
	Why   string
}

func (e *JobEndError) Error() string {
	msg := fmt.Sprintf("job %s ended %s", e.Ref, e.State)
	if e.Why != "" {
		msg += ": " + e.Why
	}
	return msg
}

// ExitCode is ExitJobCanceled for a cancelled job, else ExitJobFailed.
func (e *JobEndError) ExitCode() int {
	if e.State == sdk.StateCancelled {
		return ExitJobCanceled
	}
	return ExitJobFailed
}

// Kind names the error in JSON output: job_failed or job_cancelled.
func (e *JobEndError) Kind() string { return "job_" + string(e.State) }

// TimeoutError reports jobs still running when waiting gave up.
type TimeoutError struct{ Refs []string }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timed out waiting for %s; the job keeps running", strings.Join(e.Refs, ", "))
}

// ExitCode is ExitTimeout.
func (e *TimeoutError) ExitCode() int { return ExitTimeout }

// Kind names the error in JSON output.
func (e *TimeoutError) Kind() string { return "timeout" }

// Poll asks for the states of jobs in one round. The map holds the jobs it
// has states for; an error wrapping sdk.ErrRateLimited means some were not
// asked and the round comes back later; any other error ends the wait.
type Poll func(ctx context.Context, refs []sdk.JobRef) (map[sdk.JobRef]sdk.JobStatus, error)

// Waiter polls jobs until each is terminal.
type Waiter struct {
	// Poll asks for the states of the jobs not yet ended, all at once.
	Poll Poll
	// Interval is the first time between polls; it grows by half each
	// round, doubles when a platform rate limits, and stays under
	// MaxInterval. Zero means a second.
	Interval time.Duration
	// Timeout gives up after this long; zero waits until ctx ends.
	Timeout time.Duration
	// Follow, when set, runs first, within the timeout, as streaming a
	// job's logs until it ends does.
	Follow func(ctx context.Context) error
	// Ended is told about each job as it is seen terminal; nil tells
	// nothing.
	Ended func(sdk.JobRef, sdk.JobStatus)
}

// Wait returns the final status of every job, or a *TimeoutError naming
// those that had not ended, or the first failed status call's error.
func (w Waiter) Wait(ctx context.Context, refs []sdk.JobRef) (map[sdk.JobRef]sdk.JobStatus, error) {
	if w.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.Timeout)
		defer cancel()
	}
	final := map[sdk.JobRef]sdk.JobStatus{}
	// The wait's own deadline, whether it passed while a plugin started
	// or during a call, is a timeout (exit 6), whatever error the call
	// it cut short returned.
	timedOut := func(err error) error {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return err
		}
		var left []string
		for _, r := range refs {
			if _, ok := final[r]; !ok {
				left = append(left, r.String())
			}
		}
		return &TimeoutError{Refs: left}
	}
	if w.Follow != nil {
		if err := w.Follow(ctx); err != nil {
			return nil, timedOut(err)
		}
	}
	interval := w.Interval
	if interval <= 0 {
		interval = time.Second
	}
	for {
		next, err := w.poll(ctx, refs, final, interval)
		if err != nil {
			return nil, timedOut(err)
		}
		if len(final) == len(refs) {
			return final, nil
		}
		jitter := time.Duration(rand.Float64() * 0.2 * float64(next))
		select {
		case <-ctx.Done():
			return nil, timedOut(ctx.Err())
		case <-time.After(next + jitter):
		}
		interval = min(next*3/2, MaxInterval)
	}
}

// poll asks once for the jobs not yet ended, records those now terminal,
// and returns the interval to wait before the next round: doubled when
// the platforms rate limited it.
func (w Waiter) poll(ctx context.Context, refs []sdk.JobRef, final map[sdk.JobRef]sdk.JobStatus, interval time.Duration) (time.Duration, error) {
	var pending []sdk.JobRef
	for _, r := range refs {
		if _, done := final[r]; !done {
			pending = append(pending, r)
		}
	}
	states, err := w.Poll(ctx, pending)
	for _, r := range pending {
		if st, ok := states[r]; ok && st.Terminal {
			final[r] = st
			if w.Ended != nil {
				w.Ended(r, st)
			}
		}
	}
	switch {
	case errors.Is(err, sdk.ErrRateLimited):
		return min(interval*2, MaxInterval), nil
	case err != nil:
		return 0, err
	}
	return interval, nil
}

// Outcome is how the jobs ended as an error: nil when all succeeded, a
// failed (or unknown) job first, else a cancelled one.
func Outcome(refs []sdk.JobRef, final map[sdk.JobRef]sdk.JobStatus) error {
	var cancelled *JobEndError
	for _, r := range refs {
		st := final[r]
		switch {
		case st.State == sdk.StateFailed || st.State == sdk.StateUnknown:
			return &JobEndError{Ref: r.String(), State: sdk.StateFailed, Why: st.Reason}
		case st.State == sdk.StateCancelled && cancelled == nil:
			cancelled = &JobEndError{Ref: r.String(), State: sdk.StateCancelled, Why: st.Reason}
		}
	}
	if cancelled != nil {
		return cancelled
	}
	return nil
}
