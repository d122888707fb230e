package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/storage"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/result"
	"github.com/neural-dsl/neural-host/sdk/runner"
	"github.com/neural-dsl/neural-host/sdk/statemap"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
)

const (
	// cancelWait bounds how long Cancel waits for a job to stop.
	cancelWait = 15 * time.Minute
)

const hintJobs = "list jobs with 'neural-host job list --platform vertex'"

var (
	jobIDRe   = regexp.MustCompile(`^[0-9]{1,20}$`)
	jobNameRe = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/customJobs/[0-9]{1,20}$`)
)

// jobStates maps Vertex AI job states onto sdk.State. EXPIRED and
// PARTIALLY_SUCCEEDED are failures: the job did not do all it was asked.
// A PAUSED job waits to be resumed, like a queued one.
var jobStates = statemap.New(map[aiplatformpb.JobState]sdk.State{
	aiplatformpb.JobState_JOB_STATE_UNSPECIFIED:         sdk.StateUnknown,
	aiplatformpb.JobState_JOB_STATE_QUEUED:              sdk.StateQueued,
	aiplatformpb.JobState_JOB_STATE_PAUSED:              sdk.StateQueued,
	aiplatformpb.JobState_JOB_STATE_PENDING:             sdk.StateStarting,
	aiplatformpb.JobState_JOB_STATE_RUNNING:             sdk.StateRunning,
	aiplatformpb.JobState_JOB_STATE_UPDATING:            sdk.StateRunning,
	aiplatformpb.JobState_JOB_STATE_CANCELLING:          sdk.StateStopping,
	aiplatformpb.JobState_JOB_STATE_SUCCEEDED:           sdk.StateSucceeded,
	aiplatformpb.JobState_JOB_STATE_FAILED:              sdk.StateFailed,
	aiplatformpb.JobState_JOB_STATE_EXPIRED:             sdk.StateFailed,
	aiplatformpb.JobState_JOB_STATE_PARTIALLY_SUCCEEDED: sdk.StateFailed,
	aiplatformpb.JobState_JOB_STATE_CANCELLED:           sdk.StateCancelled,
})

func stateOf(st aiplatformpb.JobState) sdk.State { return jobStates.State(st) }

// jobName turns the ID users see into the job's resource name.
func jobName(s settings, id string) (string, error) {
	switch {
	case jobIDRe.MatchString(id):
		return s.parent() + "/customJobs/" + id, nil
	case jobNameRe.MatchString(id):
		return id, nil
	}
	return "", sdk.FieldError("job", fmt.Sprintf("%q is not a Vertex AI custom job ID", id), "use the numeric ID that 'neural-host job submit' printed")
}

// statusOf describes job; a nil job gives a zero status.
func statusOf(s settings, job *aiplatformpb.CustomJob) sdk.JobStatus {
	if job == nil {
		return sdk.JobStatus{}
	}
	parts := strings.Split(job.GetName(), "/")
	id := parts[len(parts)-1]
	st := sdk.JobStatus{ID: id, Name: job.GetDisplayName(), State: stateOf(job.GetState()), RawState: job.GetState().String(),
		Attributes: map[string]string{"resource": job.GetName()}}
	if len(parts) == 6 {
		st.ConsoleURL = fmt.Sprintf("https://console.cloud.google.com/vertex-ai/locations/%s/training/%s/cpu?project=%s", parts[3], id, parts[1])
	}
	if t := job.GetCreateTime(); t != nil {
		st.CreatedAt = t.AsTime()
	}
	if t := job.GetStartTime(); t != nil {
		st.StartedAt = t.AsTime()
	}
	if t := job.GetEndTime(); t != nil {
		st.EndedAt = t.AsTime()
	}
	if msg := job.GetError().GetMessage(); msg != "" {
		st.Reason = msg
	} else if job.GetState() == aiplatformpb.JobState_JOB_STATE_PAUSED {
		st.Reason = "paused; resume it in the Google Cloud console"
	}
	for k, v := range job.GetLabels() {
		if k == keyLabel {
			continue
		}
		if st.Labels == nil {
			st.Labels = map[string]string{}
		}
		st.Labels[k] = v
	}
	if out := job.GetJobSpec().GetBaseOutputDirectory().GetOutputUriPrefix(); out != "" {
		st.Attributes["output_dir"] = out
	}
	for k, v := range job.GetWebAccessUris() {
		st.Attributes["web_access."+k] = v
	}
	st.Terminal = st.State.Terminal()
	return st
}

// getJob fetches a job by the ID users see.
func (p *Platform) getJob(ctx context.Context, id string) (settings, *aiplatform.JobClient, *aiplatformpb.CustomJob, error) {
	s, c, err := p.ready(ctx)
	if err != nil {
		return s, nil, nil, err
	}
	name, err := jobName(s, id)
	if err != nil {
		return s, nil, nil, err
	}
	jobs, err := c.jobClient()
	if err != nil {
		return s, nil, nil, err
	}
	job, err := jobs.GetCustomJob(ctx, &aiplatformpb.GetCustomJobRequest{Name: name}, readRetry(s))
	if err != nil {
		return s, jobs, nil, apiError(err, "GetCustomJob "+id, hintJobs)
	}
	return s, jobs, job, nil
}

func (p *Platform) Status(ctx context.Context, id string) (sdk.JobStatus, error) {
	s, _, job, err := p.getJob(ctx, id)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	return statusOf(s, job), nil
}

// Result reports the job's state, the metrics and artifacts in its base
// output directory, and the last lines of its log. The log excerpt is best
// effort: a job whose logs cannot be read still has a result.
func (p *Platform) Result(ctx context.Context, id string) (sdk.JobResult, error) {
	s, _, job, err := p.getJob(ctx, id)
	if err != nil {
		return sdk.JobResult{}, err
	}
	res := result.New(statusOf(s, job), 0, time.Now())
	if out := job.GetJobSpec().GetBaseOutputDirectory().GetOutputUriPrefix(); out != "" {
		if err := p.readOutputs(ctx, out, &res); err != nil {
			return res, err
		}
	}
	res.OutputExcerpt = p.excerpt(ctx, s, job)
	return res, nil
}

// readOutputs lists the artifacts under the output prefix and reads the
// metrics file there.
func (p *Platform) readOutputs(ctx context.Context, prefixURI string, res *sdk.JobResult) error {
	bucket, prefix, err := parseGCS(prefixURI)
	if err != nil {
		return fmt.Errorf("vertex: the job's output directory %q: %w", prefixURI, err)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	_, c := p.current()
	gcs, err := c.storageClient()
	if err != nil {
		return err
	}
	b := gcs.Bucket(bucket)
	it := b.Objects(ctx, &storage.Query{Prefix: prefix})
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return apiError(err, "listing "+prefixURI, "")
		}
		if !result.AddArtifact(res, "gs://"+bucket+"/"+a.Name) {
			break
		}
	}
	r, err := b.Object(prefix + runner.MetricsFile).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil
	}
	if err != nil {
		return apiError(err, "reading "+runner.MetricsFile, "")
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, result.MaxMetricsBytes))
	if err != nil {
		return apiError(err, "reading "+runner.MetricsFile, "")
	}
	result.AddMetrics(res, data)
	return nil
}

// Cancel asks Vertex AI to cancel the job and polls until it has stopped,
// for at most cancelWait; a job still stopping then is reported as such.
func (p *Platform) Cancel(ctx context.Context, id string) (sdk.JobStatus, error) {
	s, jobs, job, err := p.getJob(ctx, id)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	if st := statusOf(s, job); st.Terminal {
		return st, nil
	}
	err = jobs.CancelCustomJob(ctx, &aiplatformpb.CancelCustomJobRequest{Name: job.GetName()})
	if err != nil && !isCode(err, codes.FailedPrecondition) {
		return sdk.JobStatus{}, apiError(err, "CancelCustomJob "+id, hintJobs)
	}
	deadline := time.Now().Add(cancelWait)
	for {
		if _, _, job, err = p.getJob(ctx, id); err != nil {
			return sdk.JobStatus{}, err
		}
		st := statusOf(s, job)
		if st.Terminal || time.Now().After(deadline) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(s.pollInterval):
		}
	}
}

// List filters by state, label and creation time on the server and by
// name prefix here.
func (p *Platform) List(ctx context.Context, req sdk.ListRequest) (sdk.ListResponse, error) {
	s, c, err := p.ready(ctx)
	if err != nil {
		return sdk.ListResponse{}, err
	}
	filter, err := listFilter(req)
	if err != nil {
		return sdk.ListResponse{}, err
	}
	jobs, err := c.jobClient()
	if err != nil {
		return sdk.ListResponse{}, err
	}
	size := req.PageSize
	if size <= 0 {
		size = 100
	}
	it := jobs.ListCustomJobs(ctx, &aiplatformpb.ListCustomJobsRequest{Parent: s.parent(), Filter: filter}, readRetry(s))
	var page []*aiplatformpb.CustomJob
	next, err := iterator.NewPager(it, size, req.PageToken).NextPage(&page)
	if err != nil {
		return sdk.ListResponse{}, apiError(err, "ListCustomJobs", "")
	}
	resp := sdk.ListResponse{NextPageToken: next}
	for _, job := range page {
		if st := statusOf(s, job); req.Matches(st) {
			resp.Jobs = append(resp.Jobs, st)
		}
	}
	return resp, nil
}

// listFilter renders the parts of req that ListCustomJobs can filter on.
func listFilter(req sdk.ListRequest) (string, error) {
	var parts []string
	if len(req.States) > 0 {
		var alts []string
		for _, st := range req.States {
			for _, js := range jobStates.Values(st) {
				alts = append(alts, `state="`+js.String()+`"`)
			}
		}
		if len(alts) == 0 {
			return "", sdk.FieldError("state", "matches no Vertex AI job state", "use one of queued, starting, running, stopping, succeeded, failed, cancelled, unknown")
		}
		parts = append(parts, "("+strings.Join(sortedUnique(alts), " OR ")+")")
	}
	for _, k := range sortedKeys(req.Labels) {
		v := req.Labels[k]
		if !labelKeyRe.MatchString(k) || !labelValueRe.MatchString(v) {
			return "", sdk.FieldError("label", fmt.Sprintf("%s=%s is not a label Vertex AI can store", k, v), "use lowercase letters, digits, '_' and '-'")
		}
		parts = append(parts, `labels.`+k+`="`+v+`"`)
	}
	if !req.CreatedAfter.IsZero() {
		parts = append(parts, `create_time>="`+req.CreatedAfter.UTC().Format(time.RFC3339)+`"`)
	}
	if !req.CreatedBefore.IsZero() {
		parts = append(parts, `create_time<"`+req.CreatedBefore.UTC().Format(time.RFC3339)+`"`)
	}
	return strings.Join(parts, " AND "), nil
}

func sortedUnique(in []string) []string {
	seen := map[string]bool{}
	for _, s := range in {
		seen[s] = true
	}
	return sortedKeys(seen)
}
