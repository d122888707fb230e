package main

import (
	"context"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/neural-dsl/neural-host/sdk"
)

var nameContainsPattern = regexp.MustCompile(`^[a-zA-Z0-9\-]+$`)

// List filters on SageMaker's side by status, name and creation time where
// it can, then applies the rest of req to each page. A page can therefore
// hold fewer jobs than asked for while more pages remain.
func (p *Platform) List(ctx context.Context, req sdk.ListRequest) (sdk.ListResponse, error) {
	c, err := p.regional(ctx)
	if err != nil {
		return sdk.ListResponse{}, err
	}
	in := &sagemaker.ListTrainingJobsInput{SortBy: types.SortByCreationTime, SortOrder: types.SortOrderDescending}
	if req.PageSize > 0 {
		in.MaxResults = aws.Int32(int32(min(req.PageSize, 100)))
	}
	if req.PageToken != "" {
		in.NextToken = aws.String(req.PageToken)
	}
	if nameContainsPattern.MatchString(req.NamePrefix) {
		in.NameContains = aws.String(req.NamePrefix)
	}
	if !req.CreatedAfter.IsZero() {
		in.CreationTimeAfter = aws.Time(req.CreatedAfter)
	}
	if !req.CreatedBefore.IsZero() {
		in.CreationTimeBefore = aws.Time(req.CreatedBefore)
	}
	if status, ok := oneStatus(req.States); ok {
		in.StatusEquals = status
	}
	out, err := c.sm.ListTrainingJobs(ctx, in)
	if err != nil {
		return sdk.ListResponse{}, awsError(err, "listing training jobs", "")
	}
	var resp sdk.ListResponse
	for _, s := range out.TrainingJobSummaries {
		st := summaryStatus(s, c.region)
		if len(req.Labels) > 0 {
			tags, err := p.tags(ctx, c, aws.ToString(s.TrainingJobArn))
			if err != nil {
				return sdk.ListResponse{}, err
			}
			st.Labels = labelsOf(tags)
		}
		if req.Matches(st) {
			resp.Jobs = append(resp.Jobs, st)
		}
	}
	resp.NextPageToken = aws.ToString(out.NextToken)
	return resp, nil
}

// summaryStatus converts a ListTrainingJobs summary: the job's state, but
// not its failure reason, tags or start time, which only
// DescribeTrainingJob and ListTags return.
func summaryStatus(s types.TrainingJobSummary, region string) sdk.JobStatus {
	name := aws.ToString(s.TrainingJobName)
	st := sdk.JobStatus{
		ID: name, Name: name,
		State: stateOf(s.TrainingJobStatus, s.SecondaryStatus), RawState: rawState(s.TrainingJobStatus, s.SecondaryStatus),
		Reason:    stoppedReason(s.SecondaryStatus),
		CreatedAt: aws.ToTime(s.CreationTime), EndedAt: aws.ToTime(s.TrainingEndTime), ConsoleURL: consoleURL(region, name),
		Attributes: map[string]string{"arn": aws.ToString(s.TrainingJobArn), "region": region, "secondary_status": string(s.SecondaryStatus)},
	}
	st.Terminal = st.State.Terminal()
	return st
}

// oneStatus is the TrainingJobStatus all of states come from, if there is
// exactly one, which lets List filter on SageMaker's side. An unknown state
// can come from a status newer than the plugin, so it is never filtered.
func oneStatus(states []sdk.State) (types.TrainingJobStatus, bool) {
	var status types.TrainingJobStatus
	for _, st := range states {
		from := statusesOf(st)
		if st == sdk.StateUnknown || len(from) != 1 || (status != "" && from[0] != status) {
			return "", false
		}
		status = from[0]
	}
	return status, status != ""
}
