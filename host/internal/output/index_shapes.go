package output

import (
	"github.com/neural-dsl/neural-host/host/internal/submission"
	"github.com/neural-dsl/neural-host/sdk"
)

// The JSON shapes of the job index, batches, credentials and completion
// commands, documented in docs/output.md. Like every shape, fields are only
// ever added.

// The submissions of IndexedJob, as the index names them.
const (
	SubmissionSubmitted  = "submitted"
	SubmissionSubmitting = "submitting"
)

// IndexedJob is a job in job list and batch status: the Job fields, plus
// what the local index knows of its submission.
type IndexedJob struct {
	Job
	// Submission is submitted, submitting (interrupted: see job
	// reconcile), missing (safe to resubmit) or rejected.
	Submission string `json:"submission"`
	// IdempotencyKey is the key the job was submitted with; empty for a
	// job only the platform knows.
	IdempotencyKey string `json:"idempotency_key"`
	// Batch is the job's batch id; empty when it was submitted alone.
	Batch string `json:"batch"`
	// Indexed is false for a job that job list --all found on a platform
	// but this machine did not submit.
	Indexed bool `json:"indexed"`
	// SubmitError is the last submission failure; empty when none.
	SubmitError string `json:"submit_error"`
}

// IndexedJobList is the JSON shape of job list.
type IndexedJobList struct {
	Jobs []IndexedJob `json:"jobs"`
	// NextPageTokens maps a platform to the token of its next page (with
	// --all).
	NextPageTokens map[string]string `json:"next_page_tokens"`
	// Errors maps a platform that could not be asked to why.
	Errors map[string]string `json:"errors"`
}

// Reconciled is one row of job reconcile.
type Reconciled struct {
	Platform       string `json:"platform"`
	IdempotencyKey string `json:"idempotency_key"`
	Name           string `json:"name"`
	Batch          string `json:"batch"`
	// Outcome is found (the platform has the job: now recorded),
	// not_found (safe to resubmit), resubmitted, in_progress (its
	// submitting process still runs), unresolved or failed.
	Outcome string `json:"outcome"`
	// Ref is the job's PLATFORM:ID once known, else "".
	Ref     string `json:"ref"`
	State   string `json:"state"`
	Message string `json:"message"`
}

// BatchJob is one job of batch submit.
type BatchJob struct {
	// Index is the job's 1-based place in the batch file's expansion.
	Index          int    `json:"index"`
	Name           string `json:"name"`
	Platform       string `json:"platform"`
	Ref            string `json:"ref"`
	ID             string `json:"id"`
	IdempotencyKey string `json:"idempotency_key"`
	// Outcome is submitted, already_submitted (by an earlier run),
	// failed, interrupted (the call was cut off: see job reconcile) or
	// not_attempted.
	Outcome string `json:"outcome"`
	State   string `json:"state"`
	Error   string `json:"error"`
	// Matrix holds the matrix values that made the job; empty without a
	// matrix.
	Matrix map[string]string `json:"matrix"`
}

// BatchSubmit is the JSON shape of batch submit.
type BatchSubmit struct {
	Batch string     `json:"batch"`
	File  string     `json:"file"`
	Jobs  []BatchJob `json:"jobs"`
	// Counts maps each outcome to its number of jobs; every outcome is
	// present.
	Counts map[string]int `json:"counts"`
	// DurationSeconds is the time spent submitting, from the first call
	// to the last answer.
	DurationSeconds float64 `json:"duration_seconds"`
}

// BatchStatus is the JSON shape of batch status.
type BatchStatus struct {
	Batch string       `json:"batch"`
	Jobs  []IndexedJob `json:"jobs"`
	// Counts maps each job state (or submission, for jobs without one)
	// to its number of jobs.
	Counts map[string]int `json:"counts"`
	// Errors maps a platform that could not be asked to why.
	Errors map[string]string `json:"errors"`
}

// BatchCancel is the JSON shape of batch cancel.
type BatchCancel struct {
	Batch string `json:"batch"`
	// Jobs are the batch's jobs after the cancel requests.
	Jobs []Job `json:"jobs"`
	// Errors maps a job ref whose cancel failed to why.
	Errors map[string]string `json:"errors"`
}

// BatchSummary is one row of batch list.
type BatchSummary struct {
	Batch     string `json:"batch"`
	Jobs      int    `json:"jobs"`
	CreatedAt string `json:"created_at"`
}

// CredentialsSaved is the JSON shape of auth configure. It names the keys
// stored, never their values.
type CredentialsSaved struct {
	Platform string   `json:"platform"`
	Path     string   `json:"path"`
	Keys     []string `json:"keys"`
	// OverriddenByEnv lists stored keys that an environment variable set
	// now overrides.
	OverriddenByEnv []string `json:"overridden_by_env"`
}

// CredentialsRemoved is the JSON shape of auth logout.
type CredentialsRemoved struct {
	Platform string `json:"platform"`
	Path     string `json:"path"`
	// Removed is false when nothing was stored for the platform.
	Removed bool `json:"removed"`
}

// Completion is the JSON shape of completion SHELL.
type Completion struct {
	Shell  string `json:"shell"`
	Script string `json:"script"`
}

// ReconciledOf converts what reconcile did with one submission.
func ReconciledOf(r submission.Resolution) Reconciled {
	row := Reconciled{Platform: r.Record.Platform, IdempotencyKey: r.Record.Key, Name: r.Record.Name, Batch: r.Record.Batch,
		Outcome: string(r.Outcome), Message: r.Message}
	if r.Status.ID != "" {
		row.Ref, row.State = sdk.JobRef{Platform: r.Record.Platform, ID: r.Status.ID}.String(), string(r.Status.State)
	}
	return row
}
