package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/bundle"
	"github.com/neural-dsl/neural-host/sdk/idempotency"
)

// bundleHashMeta is the S3 metadata key holding the bundle's sha256, which
// lets a retried submit skip uploading the same bundle again.
const bundleHashMeta = "neural-bundle-sha256"

// Submit uploads the bundle and creates the training job. The job's name
// comes from the idempotency key, so a retry finds the job an earlier
// attempt created, whether that attempt's answer was lost before or after
// SageMaker accepted it.
func (p *Platform) Submit(ctx context.Context, spec sdk.JobSpec) (sdk.JobStatus, error) {
	c, err := p.regional(ctx)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	job, err := p.prepare(spec, c.region)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	// A conflict means an earlier attempt, or a retry inside the SDK whose
	// first answer was lost, created the job; so may an answer lost in
	// transport. Either way the job is looked for again.
	return idempotency.Create(ctx, idempotency.Steps[sdk.JobStatus]{
		Find: func(ctx context.Context) (sdk.JobStatus, bool, error) {
			return p.existing(ctx, c, job.name, spec.IdempotencyKey)
		},
		Create: func(ctx context.Context) (sdk.JobStatus, error) {
			if err := p.uploadBundle(ctx, c, job, spec); err != nil {
				return sdk.JobStatus{}, err
			}
			if _, err := c.sm.CreateTrainingJob(ctx, job.input); err != nil {
				return sdk.JobStatus{}, awsError(err, "creating training job "+job.name, "")
			}
			return p.status(ctx, c, job.name)
		},
	})
}

// existing returns the job called name if there is one. A job of that name
// that was not submitted with key is a conflict, never a match.
func (p *Platform) existing(ctx context.Context, c *clients, name, key string) (sdk.JobStatus, bool, error) {
	out, err := c.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
	if isNotFound(err) {
		return sdk.JobStatus{}, false, nil
	}
	if err != nil {
		return sdk.JobStatus{}, false, awsError(err, "looking for training job "+name, "")
	}
	tags, err := p.tags(ctx, c, aws.ToString(out.TrainingJobArn))
	if err != nil {
		return sdk.JobStatus{}, false, err
	}
	if !submittedWith(tags[tagKeyHash], key) {
		return sdk.JobStatus{}, false, &sdk.Error{Kind: sdk.ErrConflict, Message: "a training job named " + name + " exists and was not submitted with this idempotency key",
			Hint: "give the job another name, or submit with the idempotency key that created it"}
	}
	st := statusOf(out, c.region)
	st.Labels = labelsOf(tags)
	return st, true, nil
}

// uploadBundle packs the work dir into a temporary file, so memory does not
// grow with its size, and uploads it unless the same bytes are there
// already.
func (p *Platform) uploadBundle(ctx context.Context, c *clients, job *trainingJob, spec sdk.JobSpec) error {
	dir, cleanup, err := bundleDir(spec)
	if err != nil {
		return err
	}
	defer cleanup()
	f, err := os.CreateTemp("", "neural-sagemaker-bundle-*.tar.gz")
	if err != nil {
		return fmt.Errorf("sagemaker: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	info, err := bundle.Write(f, dir, bundleOptions(spec))
	if err != nil {
		return err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("sagemaker: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("sagemaker: %w", err)
	}
	if err := p.ensureBucket(ctx, c, job); err != nil {
		return err
	}
	src := job.source
	head, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(src.Bucket), Key: aws.String(src.Key)})
	if err == nil && head.Metadata[bundleHashMeta] == info.SHA256 {
		return nil
	}
	if err != nil && !isNotFound(err) {
		return awsError(err, "checking "+src.String(), "")
	}
	_, err = transfers(c).UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: aws.String(src.Bucket), Key: aws.String(src.Key), Body: f, ContentLength: aws.Int64(size),
		ContentType: aws.String("application/gzip"), Metadata: map[string]string{bundleHashMeta: info.SHA256},
	})
	return awsError(err, "uploading the job bundle to "+src.String(), "check that bucket "+src.Bucket+" exists in "+c.region)
}

// ensureBucket creates SageMaker's default bucket when it is missing, as
// the SageMaker Python SDK does. A configured bucket must exist already.
func (p *Platform) ensureBucket(ctx context.Context, c *clients, job *trainingJob) error {
	b := job.source.Bucket
	_, err := c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)})
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return awsError(err, "checking bucket "+b, "")
	}
	if !job.defaultBucket {
		return &sdk.Error{Kind: sdk.ErrNotFound, Field: "bucket", Message: "bucket " + b + " does not exist", Hint: "create it in " + c.region + ", or unset platforms.sagemaker.bucket to use SageMaker's default bucket"}
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(b)}
	if c.region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(c.region)}
	}
	if _, err := c.s3.CreateBucket(ctx, in); err != nil {
		var owned *s3types.BucketAlreadyOwnedByYou
		if errors.As(err, &owned) {
			return nil
		}
		return awsError(err, "creating SageMaker's default bucket "+b, "")
	}
	return nil
}
