package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sweepBatch writes a batch of 2×seeds jobs on the fake platform, half of
// them running for durations[0] and half for durations[1].
func sweepBatch(e *env, id string, seeds int, durations [2]string) string {
	vals := make([]string, seeds)
	for i := range vals {
		vals[i] = fmt.Sprintf("%q", fmt.Sprint(i))
	}
	return e.writeBatch(fmt.Sprintf("id: %s\nplatform: fake\nbase: {kind: command, command: [train]}\nmatrix:\n  env.SEED: [%s]\n  options.duration: [%q, %q]\n",
		id, strings.Join(vals, ", "), durations[0], durations[1]))
}

// platformCalls counts the fake's JobStates and Status calls since the
// last count.
func (e *env) platformCalls() (pages, statuses int) {
	e.t.Helper()
	calls := e.calls()
	pages, _ = count(calls, "fake", "JobStates")
	statuses, _ = count(calls, "fake", "Status")
	if err := os.Remove(filepath.Join(e.fakeDir(), "calls.log")); err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	return pages, statuses
}

// TestJobListReadsStatesByPage: job list refreshes 250 jobs with a few
// pages of the platform's listing, sees the jobs that ended since the
// index last looked, and says what Status per job says.
func TestJobListReadsStatesByPage(t *testing.T) {
	e := newFakeEnv(t)
	e.ok("batch", "submit", sweepBatch(e, "sweep", 125, [2]string{"1h", "1ms"}))
	e.platformCalls()
	states := func() map[string]string {
		var l jobList
		e.json(&l, "job", "list", "--limit", "1000")
		out := map[string]string{}
		for _, j := range l.Jobs {
			out[j.Ref] = j.State
		}
		return out
	}
	paged := states()
	pages, statuses := e.platformCalls()
	// 250 jobs at 100 a page.
	if pages > 4 || pages == 0 || statuses != 0 {
		t.Errorf("listing: %d JobStates and %d Status calls; want at most 4 and none", pages, statuses)
	}
	counts := map[string]int{}
	for _, st := range paged {
		counts[st]++
	}
	if want := map[string]int{"running": 125, "succeeded": 125}; !reflect.DeepEqual(counts, want) {
		t.Errorf("states %v, want %v", counts, want)
	}
	e.extra = append(e.extra, "FAKEPLATFORM_JOB_STATES=off")
	perJob := states()
	pages, statuses = e.platformCalls()
	// The index now knows the succeeded jobs ended: only the running ones
	// are asked for.
	if pages != 0 || statuses != 125 {
		t.Errorf("without the capability: %d JobStates and %d Status calls; want none and 125", pages, statuses)
	}
	if !reflect.DeepEqual(paged, perJob) {
		t.Errorf("the listing and Status disagree:\n listing %v\n  status %v", paged, perJob)
	}
}

// TestBatchWaitReadsStatesByPage: batch wait polls through the listing,
// not one Status call per job.
func TestBatchWaitReadsStatesByPage(t *testing.T) {
	e := newFakeEnv(t)
	e.ok("batch", "submit", sweepBatch(e, "short", 60, [2]string{"300ms", "600ms"}))
	e.platformCalls()
	e.ok("batch", "wait", "short", "--poll-interval", "50ms")
	pages, statuses := e.platformCalls()
	if pages == 0 || statuses != 0 {
		t.Errorf("batch wait made %d JobStates and %d Status calls; want some and none", pages, statuses)
	}
}
