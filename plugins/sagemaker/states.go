package main

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/neural-dsl/neural-host/sdk"
)

var _ sdk.JobStater = (*Platform)(nil)

// statesPageSize is the largest page ListTrainingJobs returns.
const statesPageSize = 100

// JobStates reads one page of ListTrainingJobs per call. SageMaker cannot
// filter that listing by tag, so the labels are of no use; it is narrowed
// instead by the name prefix the wanted jobs share (job names start with
// the spec's name, so a batch's jobs share theirs) and by their creation
// time, oldest first, so that the wanted jobs come before any started
// after them; without a creation time, newest first, where recent jobs
// are. Failed jobs are left out: their failure reason comes only with
// DescribeTrainingJob, which the host's Status call makes.
func (p *Platform) JobStates(ctx context.Context, req sdk.JobStatesRequest) (sdk.JobStatesResponse, error) {
	c, err := p.regional(ctx)
	if err != nil {
		return sdk.JobStatesResponse{}, err
	}
	in := &sagemaker.ListTrainingJobsInput{SortBy: types.SortByCreationTime, SortOrder: types.SortOrderDescending,
		MaxResults: aws.Int32(statesPageSize)}
	if req.PageSize > 0 {
		in.MaxResults = aws.Int32(int32(min(req.PageSize, statesPageSize)))
	}
	if req.PageToken != "" {
		in.NextToken = aws.String(req.PageToken)
	}
	if prefix := namePrefix(req.IDs); prefix != "" {
		in.NameContains = aws.String(prefix)
	}
	if !req.CreatedAfter.IsZero() {
		in.CreationTimeAfter = aws.Time(req.CreatedAfter)
		in.SortOrder = types.SortOrderAscending
	}
	out, err := c.sm.ListTrainingJobs(ctx, in)
	if err != nil {
		return sdk.JobStatesResponse{}, awsError(err, "listing training jobs", "")
	}
	wanted := make(map[string]bool, len(req.IDs))
	for _, id := range req.IDs {
		wanted[id] = true
	}
	resp := sdk.JobStatesResponse{NextPageToken: aws.ToString(out.NextToken)}
	for _, s := range out.TrainingJobSummaries {
		if wanted[aws.ToString(s.TrainingJobName)] && s.TrainingJobStatus != types.TrainingJobStatusFailed {
			resp.Jobs = append(resp.Jobs, summaryStatus(s, c.region))
		}
	}
	return resp, nil
}

// namePrefix is the longest prefix all ids share, as far as NameContains
// accepts it; empty when there is none.
func namePrefix(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	prefix := ids[0]
	for _, id := range ids[1:] {
		n := 0
		for n < len(prefix) && n < len(id) && prefix[n] == id[n] {
			n++
		}
		prefix = prefix[:n]
	}
	if len(prefix) > maxName {
		prefix = prefix[:maxName]
	}
	if i := strings.IndexFunc(prefix, func(r rune) bool { return !nameContainsPattern.MatchString(string(r)) }); i >= 0 {
		prefix = prefix[:i]
	}
	return prefix
}
