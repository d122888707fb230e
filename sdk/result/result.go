// Package result assembles a plugin's sdk.JobResult the same way on every
// platform: the run time from what the platform reports or from the
// status's times, the failure message, the metrics file the runner wrote,
// a bounded artifact list and a bounded output excerpt. It reads nothing
// from any platform; the plugin fetches the bytes and hands them in.
package result

import (
	"strings"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/runner"
)

// Bounds on what a result carries, so that one job with a huge output
// directory or log cannot blow the gRPC message limit.
const (
	// MaxArtifacts is how many artifact URIs a result lists.
	MaxArtifacts = 1000
	// MaxMetricsBytes is how much of the metrics file a plugin reads.
	MaxMetricsBytes = 1 << 20
	// ExcerptLines and ExcerptBytes bound the output excerpt.
	ExcerptLines = 20
	ExcerptBytes = 8 << 10
)

// New starts the result of a job in state st. reported is the run time
// the platform itself measured, zero when it measures none; then the
// status's start and end times give it, with now as the end of a job
// still running. A failed job's Error is the status's reason, or its raw
// state when the platform gave no reason, so a failure never reads empty.
func New(st sdk.JobStatus, reported time.Duration, now time.Time) sdk.JobResult {
	res := sdk.JobResult{Status: st, Duration: reported}
	if reported <= 0 && !st.StartedAt.IsZero() {
		end := st.EndedAt
		if end.IsZero() {
			end = now
		}
		res.Duration = max(end.Sub(st.StartedAt), 0)
	}
	if st.State == sdk.StateFailed {
		res.Error = st.Reason
		if res.Error == "" && st.RawState != "" {
			res.Error = "the job ended in " + st.RawState
		}
	}
	return res
}

// AddError appends msg to res.Error, "; " between messages.
func AddError(res *sdk.JobResult, msg string) {
	if msg == "" {
		return
	}
	if res.Error == "" {
		res.Error = msg
		return
	}
	res.Error += "; " + msg
}

// AddMetrics parses the runner's metrics file into res.Metrics. A file
// that does not parse is noted in res.Error rather than failing the
// result: the job's state and artifacts are still worth reporting.
func AddMetrics(res *sdk.JobResult, data []byte) {
	m, err := runner.ParseMetrics(data)
	if err != nil {
		AddError(res, runner.MetricsFile+": "+err.Error())
		return
	}
	for k, v := range m {
		if res.Metrics == nil {
			res.Metrics = map[string]float64{}
		}
		res.Metrics[k] = v
	}
}

// AddArtifact appends uri to res.Artifacts and reports whether there is
// room for another.
func AddArtifact(res *sdk.JobResult, uri string) bool {
	if len(res.Artifacts) >= MaxArtifacts {
		return false
	}
	res.Artifacts = append(res.Artifacts, uri)
	return len(res.Artifacts) < MaxArtifacts
}

// Excerpt returns the last ExcerptLines lines of s, at most ExcerptBytes.
// A line cut by the byte bound is dropped whole.
func Excerpt(s string) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > ExcerptBytes {
		s = s[len(s)-ExcerptBytes:]
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	lines := strings.Split(s, "\n")
	if len(lines) > ExcerptLines {
		lines = lines[len(lines)-ExcerptLines:]
	}
	return strings.Join(lines, "\n")
}
