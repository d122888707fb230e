package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// statesJobs is how many running jobs of one platform the index holds for
// BenchmarkJobListStates.
const statesJobs = 1000

// BenchmarkJobListStates is `neural-host job list` over 1000 indexed
// running jobs of the fake platform, whose calls take 20 ms: once through
// the platform's listing (the job states capability, 100 jobs a page) and
// once with the capability off, so that the host asks Status per job, 16
// at a time. It reports, for each, the platform calls one listing made and
// its wall time, and the speed-up. The same listing against calls that take
// no time is the floor: what the command costs besides waiting for the
// platform (starting two processes, reading and writing 1000 index rows,
// printing them); speedup/net is the ratio of the two net of it. All three
// are measured in one loop.
func BenchmarkJobListStates(b *testing.B) {
	env, fakeDir := fakeHome(b)
	// Jobs on file, not in memory: every job list is a new plugin process.
	env = append(env, "FAKEPLATFORM_STORE=file")
	seeds := make([]string, statesJobs)
	for i := range seeds {
		seeds[i] = fmt.Sprintf("%q", fmt.Sprint(i))
	}
	path := filepath.Join(b.TempDir(), "running.yaml")
	body := "platform: fake\nbase: {kind: command, command: [train], options: {duration: 24h}}\nmatrix:\n  env.SEED: [" + strings.Join(seeds, ", ") + "]\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	submitBatch(b, env, fakeDir, path, "running", statesJobs)
	perJobEnv := append(append([]string(nil), env...), "FAKEPLATFORM_JOB_STATES=off")
	floorEnv := append(append([]string(nil), env...), "FAKEPLATFORM_LATENCY=0s")
	var paged, perJob, floor time.Duration
	var pagedCalls, perJobCalls int
	i := 0
	for b.Loop() {
		i++
		d, n := listRunning(b, env, fakeDir)
		paged, pagedCalls = paged+d, max(pagedCalls, n)
		d, n = listRunning(b, perJobEnv, fakeDir)
		perJob, perJobCalls = perJob+d, max(perJobCalls, n)
		d, _ = listRunning(b, floorEnv, fakeDir)
		floor += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(i) }
	b.ReportMetric(float64(pagedCalls), "calls/paged")
	b.ReportMetric(float64(perJobCalls), "calls/per-job")
	b.ReportMetric(ms(paged), "ms/paged")
	b.ReportMetric(ms(perJob), "ms/per-job")
	b.ReportMetric(ms(floor), "ms/floor")
	b.ReportMetric(float64(perJob)/float64(paged), "speedup")
	b.ReportMetric(float64(perJob-floor)/float64(max(paged-floor, time.Millisecond)), "speedup/net")
}

// listRunning runs one job list of the running jobs and returns its wall
// time and the platform calls it made.
func listRunning(b *testing.B, env []string, fakeDir string) (time.Duration, int) {
	calls := filepath.Join(fakeDir, "calls.log")
	os.Remove(calls)
	cmd := exec.Command(filepath.Join(bin, "neural-host"), "job", "list", "-p", "fake", "--limit", fmt.Sprint(statesJobs), "-o", "json")
	cmd.Env = env
	start := time.Now()
	out, err := cmd.Output()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("job list: %v\n%s", err, out)
	}
	var res struct {
		Jobs []struct {
			State string `json:"state"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		b.Fatal(err)
	}
	running := 0
	for _, j := range res.Jobs {
		if j.State == "running" {
			running++
		}
	}
	if running != statesJobs {
		b.Fatalf("job list shows %d running jobs of %d", running, len(res.Jobs))
	}
	log, _ := os.ReadFile(calls)
	return d, strings.Count(string(log), "\n")
}
