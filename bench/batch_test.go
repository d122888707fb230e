package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

// The batch benchmarks submit to the fake platform
// (sdk/sdktest/testdata/fakeplatform), every call of which takes
// batchLatency, with its jobs in memory so that the platform itself costs
// nothing else.
const (
	batchJobs     = 1000
	batchParallel = 32
	batchLatency  = 20 * time.Millisecond
)

// idealBatch is the time batchJobs calls of batchLatency take at
// batchParallel at once, with no cost of their own.
var idealBatch = batchJobs * batchLatency / batchParallel

var (
	fakeOnce sync.Once
	fakeErr  error
)

// fakeHome is a user's environment with the fake platform installed and
// configured, and a fresh directory for its calls log.
func fakeHome(b *testing.B) (env []string, fakeDir string) {
	fakeOnce.Do(func() {
		fakeErr = sdktest.Build("..", bin, map[string]string{"./sdk/sdktest/testdata/fakeplatform": "neural-plugin-fake"}, "-trimpath", "-ldflags=-s -w")
	})
	if fakeErr != nil {
		b.Fatal(fakeErr)
	}
	env = home(b)
	install := exec.Command(filepath.Join(bin, "neural-host"), "plugins", "install", filepath.Join(bin, "neural-plugin-fake"))
	install.Env = env
	runOrFail(b, install)
	fakeDir = b.TempDir()
	return append(env, "FAKEPLATFORM_DIR="+fakeDir, "FAKEPLATFORM_API_KEY=bench", "FAKEPLATFORM_STORE=memory",
		"FAKEPLATFORM_LATENCY="+batchLatency.String()), fakeDir
}

// writeMatrix writes a batch file of n jobs: a base spec and a matrix.
func writeMatrix(b *testing.B, n int) string {
	seeds := make([]string, n)
	for i := range seeds {
		seeds[i] = fmt.Sprintf("%q", fmt.Sprint(i))
	}
	path := filepath.Join(b.TempDir(), "sweep.yaml")
	body := "platform: fake\nbase: {kind: command, command: [train]}\nmatrix:\n  env.SEED: [" + strings.Join(seeds, ", ") + "]\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// submitBatch runs one batch submit under a new batch id, so that every
// job is sent, and returns its submit phase and the plugin processes that
// served its submits.
func submitBatch(b *testing.B, env []string, fakeDir, path, id string, n int) (time.Duration, int) {
	cmd := exec.Command(filepath.Join(bin, "neural-host"), "batch", "submit", path, "--id", id, "--parallel", fmt.Sprint(batchParallel), "-o", "json")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("batch submit: %v\n%s", err, out)
	}
	var res struct {
		Counts          map[string]int `json:"counts"`
		DurationSeconds float64        `json:"duration_seconds"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Counts["submitted"] != n {
		b.Fatalf("batch submit: %v %v", res.Counts, err)
	}
	log, _ := os.ReadFile(filepath.Join(fakeDir, "calls.log"))
	pids := map[string]bool{}
	for _, l := range strings.Split(string(log), "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[2] == "Submit" {
			pids[f[1]] = true
		}
	}
	os.Remove(filepath.Join(fakeDir, "calls.log"))
	return time.Duration(res.DurationSeconds * float64(time.Second)), len(pids)
}

// BenchmarkBatchFloor is a batch of one job: starting the host and the
// plugin, reading the file, the index, one call. Its time is the fixed cost
// under BenchmarkBatchSubmit.
func BenchmarkBatchFloor(b *testing.B) {
	env, fakeDir := fakeHome(b)
	path := writeMatrix(b, 1)
	i := 0
	for b.Loop() {
		i++
		submitBatch(b, env, fakeDir, path, fmt.Sprintf("floor-%d", i), 1)
	}
}

// BenchmarkBatchSubmit is `neural-host batch submit` of 1000 jobs at
// --parallel 32 to a platform whose calls take 20 ms. It reports the ideal
// time (1000 / 32 × 20 ms) over the measured one, for the whole command
// (ideal/measured) and for its submit phase alone (ideal/submit), and the
// most plugin processes one batch used (goal: 1).
func BenchmarkBatchSubmit(b *testing.B) {
	env, fakeDir := fakeHome(b)
	path := writeMatrix(b, batchJobs)
	var submit time.Duration
	plugins, i := 0, 0
	start := time.Now()
	for b.Loop() {
		i++
		d, p := submitBatch(b, env, fakeDir, path, fmt.Sprintf("sweep-%d", i), batchJobs)
		submit += d
		plugins = max(plugins, p)
	}
	total := time.Since(start)
	b.ReportMetric(float64(idealBatch)/(float64(total)/float64(i)), "ideal/measured")
	b.ReportMetric(float64(idealBatch)/(float64(submit)/float64(i)), "ideal/submit")
	b.ReportMetric(float64(plugins), "plugins")
}
