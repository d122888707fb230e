package e2e

import (
	"strings"
	"testing"
	"time"
)

// A job's name, like anything a platform or a job reports, must reach a
// table as text: escape sequences in it are shown, not obeyed.
func TestTablesEscapeTerminalSequences(t *testing.T) {
	e := newEnv(t)
	spec := e.writeSpec("name: \"x\\e]0;pwned\\a\\e[2Jy\"\nkind: command\ncommand: [\"true\"]\n", map[string]string{})
	j := e.submit(spec)
	e.ok("job", "wait", j.Ref)
	for _, args := range [][]string{{"job", "list"}, {"job", "status", j.Ref}, {"job", "result", j.Ref}} {
		out := e.ok(args...)
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("neural-host %s printed raw control characters: %q", strings.Join(args, " "), out)
		}
		if !strings.Contains(out, `x\x1b]0;pwned\a\x1b[2Jy`) {
			t.Errorf("neural-host %s does not show the escaped name:\n%s", strings.Join(args, " "), out)
		}
	}
	var named struct {
		Name string `json:"name"`
	}
	e.json(&named, "job", "status", j.Ref)
	if named.Name != "x\x1b]0;pwned\a\x1b[2Jy" {
		t.Errorf("-o json name = %q, want the name as given", named.Name)
	}
}

// job list shows the jobs of a platform it could not ask with their
// recorded states, and says so: a warning on stderr and a non-zero exit.
func TestJobListReportsPlatformsItCouldNotAsk(t *testing.T) {
	e := newEnv(t)
	gate := e.root + "/gate"
	spec := e.writeSpec("kind: command\ncommand: [sh, -c, 'while [ ! -e \"$GATE\" ]; do sleep 0.05; done']\nenv:\n  GATE: "+gate+"\n", map[string]string{})
	j := e.submit(spec)
	t.Cleanup(func() { _ = e.command("job", "cancel", j.Ref).Run() })
	// local now fails to start, as a broken or removed plugin would.
	e.extra = append(e.extra, "NEURAL_DEV_OVERRIDES=local=/bin/false")
	r := e.run("job", "list")
	if r.code == 0 {
		t.Fatalf("job list exited 0 although local could not be asked\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, j.Ref) {
		t.Errorf("job list left out %s, which the index records:\n%s", j.Ref, r.stdout)
	}
	if !strings.Contains(r.stderr, "local") || !strings.Contains(r.stderr, "recorded states") {
		t.Errorf("stderr does not say local's jobs show recorded states:\n%s", r.stderr)
	}
	e.extra = nil
}

// batch cancel of a batch with running and ended jobs, and job list with a
// platform that cannot be asked, under the race detector (make test builds
// neural-host with it): both once wrote shared results from the launching
// loop and from the goroutines it started without one lock.
func TestBatchCancelOfMixedStatesIsRaceFree(t *testing.T) {
	e := newEnv(t)
	path := e.writeBatch(`id: mixed-states
platform: local
base: {kind: command, command: ["true"]}
jobs:
  - {name: long-a, command: [sleep, "300"]}
  - {name: short-b}
  - {name: long-c, command: [sleep, "300"]}
  - {name: short-d}
`)
	e.ok("batch", "submit", path)
	var st struct {
		Counts map[string]int `json:"counts"`
	}
	eventually(t, 30*time.Second, "the short jobs to end", func() bool {
		e.json(&st, "batch", "status", "mixed-states")
		return st.Counts["succeeded"] == 2
	})
	var res struct {
		Jobs []job `json:"jobs"`
	}
	e.json(&res, "batch", "cancel", "mixed-states")
	states := map[string]int{}
	for _, j := range res.Jobs {
		states[j.State]++
	}
	if len(res.Jobs) != 4 || states["succeeded"] != 2 || states["cancelled"] != 2 {
		t.Errorf("batch cancel reported %v over %d jobs, want 2 succeeded and 2 cancelled", states, len(res.Jobs))
	}
}
