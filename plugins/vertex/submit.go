package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/bundle"
	"github.com/neural-dsl/neural-host/sdk/idempotency"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
)

// createAttempts bounds how often Submit tries CreateCustomJob before
// handing a transient failure back to the host, which retries with the same
// idempotency key.
const createAttempts = 4

// Submit creates a CustomJob. Vertex AI has no idempotency token, so the
// job carries a label derived from spec.IdempotencyKey and Submit looks for
// a job with that label before every create attempt: a retried or
// repeated submit returns the first job instead of starting a second.
func (p *Platform) Submit(ctx context.Context, spec sdk.JobSpec) (sdk.JobStatus, error) {
	s, c, err := p.ready(ctx)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	if err := check(s, spec); err != nil {
		return sdk.JobStatus{}, err
	}
	jobs, err := c.jobClient()
	if err != nil {
		return sdk.JobStatus{}, err
	}
	h := hashKey(spec.IdempotencyKey)
	var req *aiplatformpb.CreateCustomJobRequest
	job, err := idempotency.Create(ctx, idempotency.Steps[*aiplatformpb.CustomJob]{
		Find: func(ctx context.Context) (*aiplatformpb.CustomJob, bool, error) {
			job, err := listByKey(ctx, jobs, s, h)
			return job, job != nil, apiError(err, "ListCustomJobs", "")
		},
		Create: func(ctx context.Context) (*aiplatformpb.CustomJob, error) {
			if req == nil {
				// Uploaded once, on the first attempt that finds no job.
				var sha string
				var err error
				if spec.WorkDir != "" {
					if sha, err = uploadBundle(ctx, s, c, spec); err != nil {
						return nil, err
					}
				}
				if req, _, err = buildJob(s, spec, h, sha); err != nil {
					return nil, err
				}
			}
			job, err := jobs.CreateCustomJob(ctx, req)
			return job, apiError(err, "CreateCustomJob", "")
		},
		Retry:    transient,
		Attempts: createAttempts,
		Backoff:  min(s.pollInterval, time.Second), MaxBackoff: 30 * time.Second,
	})
	if err != nil {
		return sdk.JobStatus{}, err
	}
	return statusOf(s, job), nil
}

// transient reports a create failure worth another attempt: the platform
// did not answer, or asked the caller to slow down.
func transient(err error) bool {
	return errors.Is(err, sdk.ErrUnavailable) || errors.Is(err, sdk.ErrRateLimited)
}

// listByKey returns the oldest job carrying the key's label, or nil.
func listByKey(ctx context.Context, jobs *aiplatform.JobClient, s settings, h string) (*aiplatformpb.CustomJob, error) {
	it := jobs.ListCustomJobs(ctx, &aiplatformpb.ListCustomJobsRequest{Parent: s.parent(), Filter: keyFilter(h)}, readRetry(s))
	var first *aiplatformpb.CustomJob
	for {
		job, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return first, nil
		}
		if err != nil {
			return nil, err
		}
		if first == nil || job.GetCreateTime().AsTime().Before(first.GetCreateTime().AsTime()) {
			first = job
		}
	}
}

// boundedRetryer stops retrying after a number of attempts.
type boundedRetryer struct {
	gax.Retryer
	left int
}

func (r *boundedRetryer) Retry(err error) (time.Duration, bool) {
	if r.left <= 0 {
		return 0, false
	}
	r.left--
	return r.Retryer.Retry(err)
}

// readRetry retries idempotent reads on transient failures.
func readRetry(s settings) gax.CallOption {
	return gax.WithRetry(func() gax.Retryer {
		return &boundedRetryer{left: 3, Retryer: gax.OnCodes([]codes.Code{codes.Unavailable, codes.DeadlineExceeded},
			gax.Backoff{Initial: min(s.pollInterval, 500*time.Millisecond), Max: 10 * time.Second, Multiplier: 2})}
	})
}

// uploadBundle packs the working directory and uploads it under its
// sha256, unless an object of that name is there already. It returns the
// hash.
func uploadBundle(ctx context.Context, s settings, c *conns, spec sdk.JobSpec) (string, error) {
	f, err := os.CreateTemp("", "neural-vertex-bundle-*.tar.gz")
	if err != nil {
		return "", fmt.Errorf("vertex: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	info, err := bundle.Write(f, spec.WorkDir, bundleOptions(spec))
	if err != nil {
		return "", err
	}
	if _, err := f.Seek(0, 0); err != nil {
		return "", fmt.Errorf("vertex: %w", err)
	}
	gcs, err := c.storageClient()
	if err != nil {
		return "", err
	}
	obj := gcs.Bucket(s.stagingBucket).Object(layout(s, "", info.SHA256).bundleObject)
	if _, err := obj.Attrs(ctx); err == nil {
		return info.SHA256, nil
	} else if !errors.Is(err, storage.ErrObjectNotExist) {
		return "", apiError(err, "reading gs://"+s.stagingBucket, "create the staging bucket, or fix the staging_bucket setting")
	}
	_, err = streamUp(ctx, obj.If(storage.Conditions{DoesNotExist: true}), f, "application/gzip", nil, -1)
	if err != nil && !isCode(err, codes.FailedPrecondition) {
		return "", apiError(err, "uploading the job bundle to gs://"+s.stagingBucket, "create the staging bucket, or fix the staging_bucket setting")
	}
	return info.SHA256, nil
}
