package output

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/host/internal/batch"
	"github.com/neural-dsl/neural-host/host/internal/budget"
	"github.com/neural-dsl/neural-host/host/internal/jobspec"
	"github.com/neural-dsl/neural-host/host/internal/submission"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/prices"
)

var jobKeys = []string{"ref", "platform", "id", "name", "state", "raw_state", "reason", "terminal", "created_at", "started_at",
	"ended_at", "console_url", "labels", "attributes"}

func plus(base []string, more ...string) []string { return append(slices.Clone(base), more...) }

// TestShapes holds every JSON shape to the fields docs/output.md documents:
// a field renamed, dropped or added without the docs fails here. Shapes
// built from empty inputs must still have no null list or map.
func TestShapes(t *testing.T) {
	b := &batch.Batch{ID: "b", Path: "b.yaml", Items: []*batch.Item{{Index: 1, Platform: "p", Spec: &jobspec.Spec{}}}}
	sub := &batch.Submission{Batch: b, Jobs: []batch.Job{{Item: b.Items[0], Outcome: batch.NotAttempted}}}
	tests := []struct {
		name string
		v    any
		keys []string
	}{
		{"job", JobOf("p", sdk.JobStatus{}), jobKeys},
		{"submitted", Submitted{JobOf("p", sdk.JobStatus{})}, jobKeys},
		{"cancelled", Cancelled{JobOf("p", sdk.JobStatus{})}, jobKeys},
		{"result", ResultOf("p", sdk.JobResult{}), plus(jobKeys, "metrics", "artifacts", "output_excerpt", "error", "duration_seconds", "billable_seconds")},
		{"plan", PlanOf("p", "n", sdk.Plan{}, time.Hour), []string{"platform", "requests", "instance_type", "hourly_price", "max_cost_usd", "warnings"}},
		{"plan price", PlanOf("p", "n", sdk.Plan{}, 0).HourlyPrice, []string{"known", "usd_per_hour", "source", "as_of", "estimate"}},
		{"log line", LogLine{}, []string{"time", "source", "line", "cursor", "truncated"}},
		{"platforms", PlatformsOf([]Platform{{Config: []ConfigField{}}}, nil, false).Rows[0], []string{"name", "version", "protocol_version", "sdk_version", "description", "path", "capabilities", "config", "error"}},
		{"capabilities", Capabilities{}, []string{"jobs", "log_follow", "files", "deploy", "usage", "prices", "plan", "job_states"}},
		{"config field", ConfigField{EnvVars: []string{}}, []string{"key", "description", "required", "secret", "default", "env_vars"}},
		{"auth", Auth{Diagnostics: []Diagnostic{}}, []string{"platform", "status", "identity", "account", "message", "hint", "diagnostics"}},
		{"diagnostic", Diagnostic{}, []string{"check", "ok", "message", "hint"}},
		{"file", FileOf(sdk.FileInfo{}), []string{"uri", "size", "modified_at", "is_dir"}},
		{"file list", FileList{Files: []File{}}, []string{"files", "next_page_token"}},
		{"endpoint", EndpointOf("p", sdk.Endpoint{}), []string{"platform", "name", "state", "ready", "url", "model_uri", "message", "created_at", "attributes"}},
		{"endpoint deleted", EndpointDeleted{}, []string{"platform", "name", "deleted"}},
		{"estimate", Estimate{}, []string{"platform", "instance_type", "known", "usd_per_hour", "hours", "total_usd", "source", "as_of", "estimate"}},
		{"comparison", ComparisonOf(1, nil, ""), []string{"hours", "offers"}},
		{"offer", OfferOf(budget.Quote{Known: true, Offer: prices.Offer{}}), []string{"platform", "known", "instance_type", "gpu_type", "gpus", "region", "usd_per_hour", "total_usd", "spot", "detail", "source", "as_of", "estimate"}},
		{"version", Version{}, []string{"version", "protocol_version", "sdk_version"}},
		{"error", Error{Error: ErrorBody{Problems: []Problem{}}}, []string{"error"}},
		{"error body", ErrorBody{Problems: []Problem{}}, []string{"kind", "message", "field", "hint", "exit_code", "problems"}},
		{"problem", ProblemOf("f", "m", "h", "t"), []string{"field", "message", "hint"}},
		{"indexed job", IndexedJob{Job: JobOf("p", sdk.JobStatus{})}, plus(jobKeys, "submission", "idempotency_key", "batch", "indexed", "submit_error")},
		{"job list", IndexedJobList{Jobs: []IndexedJob{}, NextPageTokens: map[string]string{}, Errors: map[string]string{}}, []string{"jobs", "next_page_tokens", "errors"}},
		{"reconciled", ReconciledOf(submission.Resolution{}), []string{"platform", "idempotency_key", "name", "batch", "outcome", "ref", "state", "message"}},
		{"batch submit", BatchSubmitOf(sub, strings.ToUpper), []string{"batch", "file", "jobs", "counts", "duration_seconds"}},
		{"batch job", BatchSubmitOf(sub, strings.ToUpper).Jobs[0], []string{"index", "name", "platform", "ref", "id", "idempotency_key", "outcome", "state", "error", "matrix"}},
		{"batch status", BatchStatus{Jobs: []IndexedJob{}, Counts: map[string]int{}, Errors: map[string]string{}}, []string{"batch", "jobs", "counts", "errors"}},
		{"batch cancel", BatchCancel{Jobs: []Job{}, Errors: map[string]string{}}, []string{"batch", "jobs", "errors"}},
		{"batch summary", BatchSummary{}, []string{"batch", "jobs", "created_at"}},
		{"credentials saved", CredentialsSaved{Keys: []string{}, OverriddenByEnv: []string{}}, []string{"platform", "path", "keys", "overridden_by_env"}},
		{"credentials removed", CredentialsRemoved{}, []string{"platform", "path", "removed"}},
		{"completion", Completion{}, []string{"shell", "script"}},
		{"plugin installed", PluginInstalled{}, []string{"name", "version", "platform", "sha256", "path", "source", "lock"}},
		{"listed plugin", ListedPlugin{}, []string{"name", "version", "protocol_version", "sha256", "source", "path"}},
		{"plugins removed", PluginsRemoved{Removed: []string{}}, []string{"removed"}},
		{"mirror", MirrorOf("d", []string{}, "SHA256SUMS"), []string{"mirror", "archives"}},
		{"conformance", Conformance{Checks: []Check{}}, []string{"binary", "passed", "checks"}},
		{"check", Check{}, []string{"check", "ok", "detail"}},
		{"scaffold", Scaffold{Files: []string{}}, []string{"name", "dir", "files"}},
		{"init", Init{Plugins: []InitPlugin{}}, []string{"project", "lock", "plugins"}},
		{"init plugin", InitPlugin{}, []string{"plugin", "version", "action"}},
	}
	for _, tc := range tests {
		raw, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatalf("%s: not an object: %s", tc.name, raw)
		}
		got := slices.Sorted(func(yield func(string) bool) {
			for k := range obj {
				if !yield(k) {
					return
				}
			}
		})
		want := slices.Sorted(slices.Values(tc.keys))
		if !slices.Equal(got, want) {
			t.Errorf("%s: fields %v, want %v", tc.name, got, want)
		}
		for k, v := range obj {
			// Only the documented "number or null" fields may be null.
			if string(v) == "null" && k != "max_cost_usd" && k != "total_usd" {
				t.Errorf("%s: %s is null", tc.name, k)
			}
		}
	}
}

// TestArrayShapes holds the views whose JSON is an array to arrays, empty
// rather than null.
func TestArrayShapes(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"jobs", Jobs{}},
		{"waited", Waited{}},
		{"reconciliation", Reconciliation{}},
		{"batch list", BatchList{}},
		{"endpoints", Endpoints{}},
		{"platforms", PlatformsOf(nil, nil, false)},
		{"auth checks", AuthChecks{}},
		{"plugin list", PluginList{}},
	}
	for _, tc := range tests {
		raw, err := json.Marshal(tc.v)
		if err != nil || string(raw) != "[]" {
			t.Errorf("%s: %s, %v; want []", tc.name, raw, err)
		}
	}
}
