package result

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

func TestNew(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := start.Add(time.Hour)
	tests := []struct {
		name         string
		st           sdk.JobStatus
		reported     time.Duration
		wantDuration time.Duration
		wantError    string
	}{
		{"queued", sdk.JobStatus{State: sdk.StateQueued}, 0, 0, ""},
		{"running", sdk.JobStatus{State: sdk.StateRunning, StartedAt: start}, 0, time.Hour, ""},
		{"ended", sdk.JobStatus{State: sdk.StateSucceeded, StartedAt: start, EndedAt: start.Add(90 * time.Second)}, 0, 90 * time.Second, ""},
		{"platform measured", sdk.JobStatus{State: sdk.StateSucceeded, StartedAt: start, EndedAt: start.Add(time.Minute)}, 42 * time.Second, 42 * time.Second, ""},
		{"clock skew", sdk.JobStatus{State: sdk.StateSucceeded, StartedAt: start, EndedAt: start.Add(-time.Second)}, 0, 0, ""},
		{"failed with reason", sdk.JobStatus{State: sdk.StateFailed, Reason: "OOM", RawState: "FAILED"}, 0, 0, "OOM"},
		{"failed without reason", sdk.JobStatus{State: sdk.StateFailed, RawState: "JOB_STATE_FAILED"}, 0, 0, "the job ended in JOB_STATE_FAILED"},
		{"cancelled has no error", sdk.JobStatus{State: sdk.StateCancelled, Reason: "by user"}, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := New(tt.st, tt.reported, now)
			if got.Duration != tt.wantDuration || got.Error != tt.wantError || got.Status.State != tt.st.State {
				t.Errorf("New = {%v %q %s}, want {%v %q %s}", got.Duration, got.Error, got.Status.State, tt.wantDuration, tt.wantError, tt.st.State)
			}
		})
	}
}

func TestAddMetrics(t *testing.T) {
	tests := []struct {
		name        string
		start       sdk.JobResult
		data        string
		wantMetrics map[string]float64
		wantError   string
	}{
		{"flat", sdk.JobResult{}, `{"loss": 0.5}`, map[string]float64{"loss": 0.5}, ""},
		{"merged with platform metrics", sdk.JobResult{Metrics: map[string]float64{"train:loss": 1}}, `{"val": {"acc": 0.9}}`, map[string]float64{"train:loss": 1, "val.acc": 0.9}, ""},
		{"empty object", sdk.JobResult{}, `{}`, nil, ""},
		{"broken file", sdk.JobResult{Error: "OOM"}, `{`, nil, "OOM; metrics.json: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.start
			AddMetrics(&res, []byte(tt.data))
			if !reflect.DeepEqual(res.Metrics, tt.wantMetrics) || res.Error != tt.wantError {
				t.Errorf("AddMetrics = %v %q, want %v %q", res.Metrics, res.Error, tt.wantMetrics, tt.wantError)
			}
		})
	}
}

func TestAddArtifact(t *testing.T) {
	var res sdk.JobResult
	added := 0
	for i := 0; i < MaxArtifacts+5; i++ {
		more := AddArtifact(&res, fmt.Sprintf("gs://b/%d", i))
		added++
		if !more {
			break
		}
	}
	if len(res.Artifacts) != MaxArtifacts || added != MaxArtifacts {
		t.Errorf("artifacts = %d after %d calls, want %d", len(res.Artifacts), added, MaxArtifacts)
	}
	if AddArtifact(&res, "gs://b/extra") || len(res.Artifacts) != MaxArtifacts {
		t.Errorf("AddArtifact past the bound added %d", len(res.Artifacts)-MaxArtifacts)
	}
}

func TestExcerpt(t *testing.T) {
	lines := func(from, to int) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, "line %d\n", i)
		}
		return b.String()
	}
	long := strings.Repeat("x", ExcerptBytes)
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"short", "a\nb\n", "a\nb"},
		{"many lines", lines(1, 30), strings.TrimRight(lines(11, 30), "\n")},
		{"cut line dropped", "head" + long + "\nlast\n", "last"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Excerpt(tt.in); got != tt.want {
				t.Errorf("Excerpt = %q, want %q", got, tt.want)
			}
		})
	}
}
