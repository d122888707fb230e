package main

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/neural-dsl/neural-host/sdk"
)

func (p *Platform) Status(ctx context.Context, id string) (sdk.JobStatus, error) {
	if err := checkJobID(id); err != nil {
		return sdk.JobStatus{}, err
	}
	c, err := p.regional(ctx)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	return p.status(ctx, c, id)
}

func (p *Platform) describe(ctx context.Context, c *clients, id string) (*sagemaker.DescribeTrainingJobOutput, error) {
	out, err := c.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(id)})
	if err != nil {
		return nil, awsError(err, "describing training job "+id, hintListJobs)
	}
	return out, nil
}

func (p *Platform) status(ctx context.Context, c *clients, id string) (sdk.JobStatus, error) {
	out, err := p.describe(ctx, c, id)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	st := statusOf(out, c.region)
	// Labels are a convenience: a caller allowed to describe jobs but not
	// to list tags still gets the job's state.
	if tags, err := p.tags(ctx, c, aws.ToString(out.TrainingJobArn)); err == nil {
		st.Labels = labelsOf(tags)
	}
	return st, nil
}

// statusOf converts a DescribeTrainingJob answer.
func statusOf(out *sagemaker.DescribeTrainingJobOutput, region string) sdk.JobStatus {
	name := aws.ToString(out.TrainingJobName)
	st := sdk.JobStatus{
		ID: name, Name: name,
		State:     stateOf(out.TrainingJobStatus, out.SecondaryStatus),
		RawState:  rawState(out.TrainingJobStatus, out.SecondaryStatus),
		Reason:    aws.ToString(out.FailureReason),
		CreatedAt: aws.ToTime(out.CreationTime), StartedAt: aws.ToTime(out.TrainingStartTime), EndedAt: aws.ToTime(out.TrainingEndTime),
		ConsoleURL: consoleURL(region, name),
		Attributes: map[string]string{"arn": aws.ToString(out.TrainingJobArn), "region": region,
			"log_group": logGroup, "secondary_status": string(out.SecondaryStatus)},
	}
	if st.Reason == "" {
		st.Reason = stoppedReason(out.SecondaryStatus)
	}
	if st.Reason == "" && len(out.SecondaryStatusTransitions) > 0 && !st.State.Terminal() {
		st.Reason = aws.ToString(out.SecondaryStatusTransitions[len(out.SecondaryStatusTransitions)-1].StatusMessage)
	}
	st.Terminal = st.State.Terminal()
	if rc := out.ResourceConfig; rc != nil {
		st.Attributes["instance_type"] = string(rc.InstanceType)
		st.Attributes["instance_count"] = strconv.Itoa(int(aws.ToInt32(rc.InstanceCount)))
	}
	if aws.ToBool(out.EnableManagedSpotTraining) {
		st.Attributes["spot"] = "true"
	}
	if out.ModelArtifacts != nil && aws.ToString(out.ModelArtifacts.S3ModelArtifacts) != "" {
		st.Attributes["model_artifacts"] = aws.ToString(out.ModelArtifacts.S3ModelArtifacts)
	}
	train, bill := aws.ToInt32(out.TrainingTimeInSeconds), aws.ToInt32(out.BillableTimeInSeconds)
	if train > 0 {
		st.Attributes["training_seconds"] = strconv.Itoa(int(train))
		st.Attributes["billable_seconds"] = strconv.Itoa(int(bill))
		if bill < train {
			st.Attributes["spot_savings_percent"] = strconv.FormatFloat(100*(1-float64(bill)/float64(train)), 'f', 1, 64)
		}
	}
	return st
}

func consoleURL(region, name string) string {
	host := "console.aws.amazon.com"
	if strings.HasPrefix(region, "cn-") {
		host = "console.amazonaws.cn"
	}
	return "https://" + host + "/sagemaker/home?region=" + region + "#/jobs/" + url.PathEscape(name)
}

// tags returns a resource's tags.
func (p *Platform) tags(ctx context.Context, c *clients, arn string) (map[string]string, error) {
	out := map[string]string{}
	pages := sagemaker.NewListTagsPaginator(c.sm, &sagemaker.ListTagsInput{ResourceArn: aws.String(arn)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, awsError(err, "listing the tags of "+arn, "")
		}
		for _, t := range page.Tags {
			out[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return out, nil
}

// labelsOf is the user's labels among a job's tags.
func labelsOf(tags map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range tags {
		if !strings.HasPrefix(k, "neural:") && !strings.HasPrefix(k, "aws:") {
			out[k] = v
		}
	}
	return out
}
