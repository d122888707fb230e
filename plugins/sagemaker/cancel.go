package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/neural-dsl/neural-host/sdk"
)

// Cancel asks SageMaker to stop the job. Stopping takes SageMaker a while,
// so the state returned is usually stopping; a job that has ended is left
// as it is.
func (p *Platform) Cancel(ctx context.Context, id string) (sdk.JobStatus, error) {
	st, err := p.Status(ctx, id)
	if err != nil || st.Terminal || st.State == sdk.StateStopping {
		return st, err
	}
	c, err := p.regional(ctx)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	if _, err := c.sm.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: aws.String(id)}); err != nil {
		// The job may have ended between the two calls.
		if again, serr := p.status(ctx, c, id); serr == nil && again.Terminal {
			return again, nil
		}
		return sdk.JobStatus{}, awsError(err, "stopping training job "+id, hintListJobs)
	}
	return p.status(ctx, c, id)
}
