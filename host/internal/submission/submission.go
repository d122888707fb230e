// Package submission sends jobs to platforms so that none is lost or sent
// twice: every submission is written to the job index before the platform
// call and updated after it, transient failures are retried with the same
// idempotency key, and Reconcile settles the rows a crash or Ctrl-C left
// between the two writes, by looking the job up through the label that
// carries a hash of its key.
//
// It does not parse flags, start plugins or print: its caller hands it a
// connected sdk.Platform and renders what it returns.
package submission

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/host/internal/index"
	"github.com/neural-dsl/neural-host/sdk"
)

// LabelSubmission is the label the host puts on every job it submits: a
// hash of the idempotency key, which Reconcile looks jobs up by. A hash,
// because user-given keys may break platforms' label rules.
const LabelSubmission = "neural-submission"

// LabelBatch is the label every job of a batch carries, set to the batch id;
// Reconcile lists a batch's jobs by it at once.
const LabelBatch = "neural-batch"

// Tag is the value of LabelSubmission for key.
func Tag(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// NewKey returns a fresh random idempotency key.
func NewKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Submitter submits jobs through the index.
type Submitter struct {
	DB *index.DB
	// Explain turns a call's error into the one to report, such as a
	// crashed plugin's; nil keeps errors as they are.
	Explain func(error) error
	// Redact hides secrets in error text before it is recorded; nil
	// records it as it is.
	Redact func(string) string
	Log    hclog.Logger
	// Attempts bounds the calls per submission; zero means 3.
	Attempts int
	// RetryDelay is the wait before the first retry, doubled after each;
	// zero means a second.
	RetryDelay time.Duration
}

// Prepare readies spec for the platform, with a key and the label Reconcile
// finds it by, and returns the index row to write first. The spec's own
// labels are copied, not changed.
func Prepare(platform string, spec sdk.JobSpec, batchID string) (sdk.JobSpec, index.Record) {
	if spec.IdempotencyKey == "" {
		spec.IdempotencyKey = NewKey()
	}
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelSubmission] = Tag(spec.IdempotencyKey)
	spec.Labels = labels
	return spec, index.Record{Platform: platform, Key: spec.IdempotencyKey, Name: spec.Name, Batch: batchID, Labels: labels, Spec: spec}
}

// Submit sends spec with the index written before the platform call and
// updated after: an interruption in between leaves a Submitting row that
// Reconcile resolves.
func (s *Submitter) Submit(ctx context.Context, conn sdk.Platform, platform string, spec sdk.JobSpec, batchID string) (sdk.JobStatus, error) {
	spec, rec := Prepare(platform, spec, batchID)
	if err := s.DB.Begin(ctx, rec); err != nil {
		return sdk.JobStatus{}, err
	}
	st, err := s.Send(ctx, conn, spec)
	return st, s.Record(ctx, platform, spec.IdempotencyKey, st, err)
}

// Send calls Submit on the platform, retrying transient failures with the
// same idempotency key, so the platform returns the first job instead of
// starting a second. A crashed plugin is not retried. The error is
// explained.
func (s *Submitter) Send(ctx context.Context, conn sdk.Platform, spec sdk.JobSpec) (sdk.JobStatus, error) {
	attempts, delay := s.Attempts, s.RetryDelay
	if attempts < 1 {
		attempts = 3
	}
	if delay <= 0 {
		delay = time.Second
	}
	for attempt := 1; ; attempt++ {
		st, err := conn.Submit(ctx, spec)
		explained := s.explain(err)
		kind, _ := sdk.KindOf(err)
		if err == nil || attempt == attempts || !kind.Transient || explained != err {
			return st, explained
		}
		s.log().Warn("submit failed; retrying with the same idempotency key", "attempt", attempt, "error", s.redact(err.Error()))
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// Record writes what a submit call returned, even while the command is
// being interrupted, and returns the call's error.
func (s *Submitter) Record(ctx context.Context, platform, key string, st sdk.JobStatus, err error) error {
	wctx := context.WithoutCancel(ctx)
	if err == nil {
		if ierr := s.DB.Submitted(wctx, platform, key, st); ierr != nil {
			return fmt.Errorf("job %s:%s was submitted but could not be recorded: %w", platform, st.ID, ierr)
		}
		return nil
	}
	if ierr := s.DB.Failed(wctx, platform, key, AfterFailure(err), s.redact(err.Error())); ierr != nil {
		s.log().Warn("could not record a failed submission", "error", ierr)
	}
	return err
}

// AfterFailure says what a failed submit leaves: a refusal means no job
// exists; anything else (a lost connection, a crash, Ctrl-C) may have
// started one.
func AfterFailure(err error) index.Submission {
	if kind, ok := sdk.KindOf(err); ok && kind.Refusal {
		return index.Rejected
	}
	return index.Submitting
}

func (s *Submitter) explain(err error) error {
	if s.Explain == nil || err == nil {
		return err
	}
	return s.Explain(err)
}

func (s *Submitter) redact(text string) string {
	if s.Redact == nil {
		return text
	}
	return s.Redact(text)
}

func (s *Submitter) log() hclog.Logger {
	if s.Log == nil {
		return hclog.NewNullLogger()
	}
	return s.Log
}

// errorText is err as recorded and shown: explained and redacted.
func (s *Submitter) errorText(err error) string { return s.redact(s.explain(err).Error()) }
