// Package idempotency makes a retried submit find the job its first attempt
// created. It derives the platform-side name or tag a job carries from the
// spec's IdempotencyKey, and runs the find → create → re-find sequence a
// submit needs on a platform without native idempotency tokens.
//
// It does not talk to any platform: the plugin supplies the find and create
// calls, and decides where the token goes (a name suffix, a tag, a label, a
// native idempotency token).
package idempotency

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// Token returns the hex form of the first n bytes of sha256(platform + ":" +
// key), so the same key always gives the same token on one platform and
// different tokens on two. Without a key the token is random, because a
// submit without a key promises nothing about retries.
//
// The platform prefix and the lengths the four first plugins use (local 8,
// sagemaker 6 for names, databricks 12, vertex 16) are part of the names
// jobs carry on the platforms; changing them would make jobs submitted by
// an older plugin unfindable.
func Token(platform, key string, n int) string {
	if n <= 0 || n > sha256.Size {
		panic(fmt.Sprintf("idempotency: token length %d is not between 1 and %d bytes", n, sha256.Size))
	}
	if key == "" {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}
	sum := sha256.Sum256([]byte(platform + ":" + key))
	return hex.EncodeToString(sum[:n])
}

// Steps are the platform calls of one idempotent create.
type Steps[T any] struct {
	// Find looks the job up by its token; found is false when there is none.
	// Nil means the platform deduplicates creates itself.
	Find func(ctx context.Context) (job T, found bool, err error)
	// Create creates the job.
	Create func(ctx context.Context) (T, error)
	// MayExist reports whether a failed Create may have created the job
	// all the same, so that the job is looked for again before the error
	// is returned. Nil means a conflict (an earlier attempt won) or an
	// unavailable platform (the answer was lost in transport).
	MayExist func(error) bool
	// Retry reports whether a failed Create is worth another attempt. Nil
	// means never.
	Retry func(error) bool
	// Attempts bounds the Create calls; zero means one.
	Attempts int
	// Backoff is the wait before the second attempt; it doubles each
	// attempt up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
}

// Create returns the job Find finds, else creates it. After a Create that
// failed in a way that may have created the job it looks again and returns
// what it finds, so neither a lost answer nor a racing second submit makes
// a second job.
func Create[T any](ctx context.Context, s Steps[T]) (T, error) {
	var zero T
	if s.Find != nil {
		if job, found, err := s.Find(ctx); err != nil || found {
			return job, err
		}
	}
	mayExist := s.MayExist
	if mayExist == nil {
		mayExist = func(err error) bool { return errors.Is(err, sdk.ErrConflict) || errors.Is(err, sdk.ErrUnavailable) }
	}
	wait := s.Backoff
	for attempt := 1; ; attempt++ {
		job, err := s.Create(ctx)
		if err == nil {
			return job, nil
		}
		retry := attempt < max(s.Attempts, 1) && s.Retry != nil && s.Retry(err)
		// A retried create may also have created the job the first time.
		if s.Find != nil && (retry || mayExist(err)) {
			if job, found, ferr := s.Find(ctx); ferr != nil || found {
				return job, ferr
			}
		}
		if !retry {
			return zero, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return zero, err
		case <-t.C:
		}
		if wait *= 2; s.MaxBackoff > 0 && wait > s.MaxBackoff {
			wait = s.MaxBackoff
		}
	}
}
