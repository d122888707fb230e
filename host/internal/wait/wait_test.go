package wait

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

var (
	a = sdk.JobRef{Platform: "p", ID: "a"}
	b = sdk.JobRef{Platform: "p", ID: "b"}
)

func ended(state sdk.State) sdk.JobStatus {
	return sdk.JobStatus{State: state, Terminal: true, Reason: "why"}
}

var running = sdk.JobStatus{State: sdk.StateRunning}

// script answers each job's polls in turn, repeating the last answer.
type script struct {
	mu      sync.Mutex
	answers map[sdk.JobRef][]any
	polls   map[sdk.JobRef]int
}

func (s *script) status(_ context.Context, r sdk.JobRef) (sdk.JobStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.polls == nil {
		s.polls = map[sdk.JobRef]int{}
	}
	as := s.answers[r]
	ans := as[min(s.polls[r], len(as)-1)]
	s.polls[r]++
	if err, ok := ans.(error); ok {
		return sdk.JobStatus{}, err
	}
	return ans.(sdk.JobStatus), nil
}

func TestWait(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		answers map[sdk.JobRef][]any
		timeout time.Duration
		code    int // exit code of the outcome; 0 is success
		err     error
	}{
		{"both succeed", map[sdk.JobRef][]any{a: {running, ended(sdk.StateSucceeded)}, b: {ended(sdk.StateSucceeded)}}, 0, 0, nil},
		{"rate limited, then succeeds", map[sdk.JobRef][]any{a: {sdk.ErrRateLimited, sdk.ErrRateLimited, ended(sdk.StateSucceeded)}, b: {ended(sdk.StateSucceeded)}}, 0, 0, nil},
		{"one cancelled", map[sdk.JobRef][]any{a: {ended(sdk.StateSucceeded)}, b: {ended(sdk.StateCancelled)}}, 0, ExitJobCanceled, nil},
		{"failed beats cancelled", map[sdk.JobRef][]any{a: {ended(sdk.StateCancelled)}, b: {ended(sdk.StateFailed)}}, 0, ExitJobFailed, nil},
		{"unknown counts as failed", map[sdk.JobRef][]any{a: {ended(sdk.StateUnknown)}, b: {ended(sdk.StateSucceeded)}}, 0, ExitJobFailed, nil},
		{"status error", map[sdk.JobRef][]any{a: {boom}, b: {running}}, 0, 0, boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{answers: tc.answers}
			var endedRefs []sdk.JobRef
			w := Waiter{Poll: each(s.status), Interval: time.Millisecond, Timeout: tc.timeout,
				Ended: func(r sdk.JobRef, _ sdk.JobStatus) { endedRefs = append(endedRefs, r) }}
			final, err := w.Wait(context.Background(), []sdk.JobRef{a, b})
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Wait = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || len(final) != 2 || len(endedRefs) != 2 {
				t.Fatalf("Wait = %v, %v; ended %v", final, err, endedRefs)
			}
			out := Outcome([]sdk.JobRef{a, b}, final)
			code := 0
			var je *JobEndError
			if errors.As(out, &je) {
				code = je.ExitCode()
			}
			if code != tc.code || (out == nil) != (tc.code == 0) {
				t.Errorf("Outcome = %v (exit %d), want exit %d", out, code, tc.code)
			}
		})
	}
}

func TestWaitTimesOutNamingTheJobsLeft(t *testing.T) {
	s := &script{answers: map[sdk.JobRef][]any{a: {ended(sdk.StateSucceeded)}, b: {running}}}
	_, err := Waiter{Poll: each(s.status), Interval: time.Millisecond, Timeout: 30 * time.Millisecond}.Wait(context.Background(), []sdk.JobRef{a, b})
	var te *TimeoutError
	if !errors.As(err, &te) || len(te.Refs) != 1 || te.Refs[0] != "p:b" || te.ExitCode() != ExitTimeout {
		t.Errorf("Wait = %v, want a timeout naming p:b", err)
	}
}

func TestFollowRunsWithinTheTimeout(t *testing.T) {
	s := &script{answers: map[sdk.JobRef][]any{a: {running}}}
	w := Waiter{Poll: each(s.status), Timeout: 20 * time.Millisecond, Follow: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	_, err := w.Wait(context.Background(), []sdk.JobRef{a})
	var te *TimeoutError
	if !errors.As(err, &te) || s.polls[a] != 0 {
		t.Errorf("Wait = %v after %d polls, want a timeout before any poll", err, s.polls[a])
	}
}

func TestWaitStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &script{answers: map[sdk.JobRef][]any{a: {running}}}
	w := Waiter{Poll: each(func(ctx context.Context, r sdk.JobRef) (sdk.JobStatus, error) {
		cancel()
		return s.status(ctx, r)
	}), Interval: time.Hour}
	if _, err := w.Wait(ctx, []sdk.JobRef{a}); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
}

// TestADeadlinePassingWhileAPluginStartsIsATimeout: the status call fails
// with the plugin's start error, not the context's, because the deadline
// cut the start short; that is still the wait timing out.
func TestADeadlinePassingWhileAPluginStartsIsATimeout(t *testing.T) {
	w := Waiter{Timeout: 20 * time.Millisecond, Poll: each(func(ctx context.Context, _ sdk.JobRef) (sdk.JobStatus, error) {
		<-ctx.Done()
		return sdk.JobStatus{}, errors.New("plugin did not start in time")
	})}
	_, err := w.Wait(context.Background(), []sdk.JobRef{a})
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Errorf("Wait = %v, want a timeout", err)
	}
}

// TestRoundsAskForAllPendingJobsAtOnce holds Poll to one call per round
// with only the jobs not yet ended, as a platform's listing answers them.
func TestRoundsAskForAllPendingJobsAtOnce(t *testing.T) {
	var rounds [][]sdk.JobRef
	poll := func(_ context.Context, refs []sdk.JobRef) (map[sdk.JobRef]sdk.JobStatus, error) {
		rounds = append(rounds, refs)
		if len(rounds) == 1 {
			return map[sdk.JobRef]sdk.JobStatus{a: ended(sdk.StateSucceeded), b: running}, nil
		}
		if len(rounds) == 2 {
			return nil, sdk.Errorf(sdk.ErrRateLimited, "slow down")
		}
		return map[sdk.JobRef]sdk.JobStatus{b: ended(sdk.StateSucceeded)}, nil
	}
	final, err := Waiter{Poll: poll, Interval: time.Millisecond}.Wait(context.Background(), []sdk.JobRef{a, b})
	if err != nil || len(final) != 2 {
		t.Fatalf("Wait = %v, %v", final, err)
	}
	want := [][]sdk.JobRef{{a, b}, {b}, {b}}
	if len(rounds) != len(want) {
		t.Fatalf("rounds %v, want %v", rounds, want)
	}
	for i := range want {
		if !slices.Equal(rounds[i], want[i]) {
			t.Errorf("round %d asked for %v, want %v", i+1, rounds[i], want[i])
		}
	}
}

// each makes a Poll from a call that asks for one job's state: a job whose
// call is rate limited is asked again next round, and the first other
// failure ends the round.
func each(status func(ctx context.Context, ref sdk.JobRef) (sdk.JobStatus, error)) Poll {
	return func(ctx context.Context, refs []sdk.JobRef) (map[sdk.JobRef]sdk.JobStatus, error) {
		out := map[sdk.JobRef]sdk.JobStatus{}
		var limited error
		for _, r := range refs {
			st, err := status(ctx, r)
			if errors.Is(err, sdk.ErrRateLimited) {
				limited = err
				continue
			}
			if err != nil {
				return out, err
			}
			out[r] = st
		}
		return out, limited
	}
}
