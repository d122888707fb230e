package fakeaws

import (
	"encoding/json"
	"strings"
	"time"
)

type createTrainingJobInput struct {
	TrainingJobName        string
	RoleArn                string
	HyperParameters        map[string]string
	AlgorithmSpecification *struct{ TrainingImage, AlgorithmName, TrainingInputMode string }
	OutputDataConfig       *struct{ S3OutputPath string }
	ResourceConfig         *struct {
		InstanceType   string
		InstanceCount  *int
		VolumeSizeInGB *int
		InstanceGroups []any
	}
	StoppingCondition *struct {
		MaxRuntimeInSeconds  *int
		MaxWaitTimeInSeconds *int
	}
	Environment               map[string]string
	Tags                      []tag
	EnableManagedSpotTraining bool
	CheckpointConfig          *struct{ S3Uri, LocalPath string }
}

// trainingJob is one job. Fields below in are guarded by SageMaker.mu.
type trainingJob struct {
	in      createTrainingJobInput
	req     map[string]any
	arn     string
	created time.Time

	status, secondary string
	failure           string
	started, ended    time.Time
	modified          time.Time
	transitions       []map[string]any
	trainSecs         int
	billSecs          int
	artifacts         string
	stopRequested     bool
	stop              chan struct{} // closed by StopTrainingJob
	done              chan struct{} // closed when the job has ended
}

func (s *SageMaker) createTrainingJob(req map[string]any, raw []byte) (any, *apiError) {
	var in createTrainingJobInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, &apiError{400, "SerializationException", err.Error()}
	}
	if aerr := checkTrainingJob(&in); aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkRole(in.RoleArn); aerr != nil {
		return nil, aerr
	}
	if aerr := checkTags(in.Tags); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := s.arn("training-job", in.TrainingJobName)
	if _, ok := s.jobs[in.TrainingJobName]; ok {
		return nil, &apiError{400, "ResourceInUse", "Training job names must be unique within an AWS account and region, and a training job with this name already exists (" + arn + ")"}
	}
	now := time.Now()
	j := &trainingJob{in: in, req: req, arn: arn, created: now, modified: now, stop: make(chan struct{}), done: make(chan struct{})}
	s.jobs[in.TrainingJobName] = j
	s.tags[arn] = append([]tag{}, in.Tags...)
	s.transition(j, "InProgress", "Starting", "Starting the training job")
	go s.run(j)
	return map[string]any{"TrainingJobArn": arn}, nil
}

// checkTrainingJob checks what the service checks beyond the model.
func checkTrainingJob(in *createTrainingJobInput) *apiError {
	a := in.AlgorithmSpecification
	switch {
	case a == nil || (a.TrainingImage == "" && a.AlgorithmName == ""):
		return validation("Either AlgorithmName or TrainingImage must be specified in AlgorithmSpecification.")
	case a.TrainingImage != "" && !ecrImage.MatchString(a.TrainingImage):
		return validation("TrainingImage %q is not a valid Amazon ECR image URI.", a.TrainingImage)
	}
	rc := in.ResourceConfig
	switch {
	case rc == nil:
		return validation("ResourceConfig is required.")
	case len(rc.InstanceGroups) == 0 && (rc.InstanceType == "" || rc.InstanceCount == nil):
		return validation("InstanceType and InstanceCount are required in ResourceConfig when InstanceGroups are not given.")
	case rc.InstanceCount != nil && *rc.InstanceCount < 1:
		return validation("InstanceCount must be at least 1.")
	case rc.VolumeSizeInGB == nil || *rc.VolumeSizeInGB < 1:
		return validation("VolumeSizeInGB must be at least 1.")
	}
	if !strings.HasPrefix(in.OutputDataConfig.S3OutputPath, "s3://") {
		return validation("S3OutputPath %q must be an s3:// URI.", in.OutputDataConfig.S3OutputPath)
	}
	sc := in.StoppingCondition
	runtime, wait := 86400, 0
	if sc != nil && sc.MaxRuntimeInSeconds != nil {
		runtime = *sc.MaxRuntimeInSeconds
	}
	if sc != nil && sc.MaxWaitTimeInSeconds != nil {
		wait = *sc.MaxWaitTimeInSeconds
	}
	switch {
	case in.EnableManagedSpotTraining && wait < runtime:
		return validation("Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to MaxRuntimeInSeconds")
	case !in.EnableManagedSpotTraining && wait != 0:
		return validation("MaxWaitTimeInSeconds is only supported for managed spot training.")
	case in.CheckpointConfig != nil && !strings.HasPrefix(in.CheckpointConfig.S3Uri, "s3://"):
		return validation("CheckpointConfig.S3Uri must be an s3:// URI.")
	}
	return nil
}

// transition records a state change; the caller holds s.mu.
func (s *SageMaker) transition(j *trainingJob, status, secondary, msg string) {
	now := time.Now()
	if n := len(j.transitions); n > 0 {
		j.transitions[n-1]["EndTime"] = epoch(now)
	}
	j.status, j.secondary, j.modified = status, secondary, now
	j.transitions = append(j.transitions, map[string]any{"Status": secondary, "StartTime": epoch(now), "StatusMessage": msg})
}

func (s *SageMaker) job(raw []byte) (*trainingJob, string, *apiError) {
	var in struct{ TrainingJobName string }
	json.Unmarshal(raw, &in)
	j, ok := s.jobs[in.TrainingJobName]
	if !ok {
		// SageMaker answers so, not with its ResourceNotFound error.
		return nil, in.TrainingJobName, validation("Requested resource not found.")
	}
	return j, in.TrainingJobName, nil
}

func (s *SageMaker) describeTrainingJob(_ map[string]any, raw []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, _, aerr := s.job(raw)
	if aerr != nil {
		return nil, aerr
	}
	out := echo(j.req)
	out["TrainingJobArn"] = j.arn
	out["TrainingJobStatus"] = j.status
	out["SecondaryStatus"] = j.secondary
	out["CreationTime"] = epoch(j.created)
	out["LastModifiedTime"] = epoch(j.modified)
	// The answer is encoded after the lock is released: copy what later
	// transitions change.
	transitions := make([]map[string]any, len(j.transitions))
	for i, tr := range j.transitions {
		transitions[i] = map[string]any{}
		for k, v := range tr {
			transitions[i][k] = v
		}
	}
	out["SecondaryStatusTransitions"] = transitions
	out["ModelArtifacts"] = map[string]any{}
	if j.artifacts != "" {
		out["ModelArtifacts"] = map[string]any{"S3ModelArtifacts": j.artifacts}
	}
	for k, v := range map[string]any{"FailureReason": j.failure, "TrainingStartTime": epoch(j.started), "TrainingEndTime": epoch(j.ended)} {
		if v != nil && v != "" {
			out[k] = v
		}
	}
	if j.trainSecs > 0 {
		out["TrainingTimeInSeconds"] = j.trainSecs
		out["BillableTimeInSeconds"] = j.billSecs
	}
	return out, nil
}

func (s *SageMaker) stopTrainingJob(_ map[string]any, raw []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, _, aerr := s.job(raw)
	if aerr != nil {
		return nil, aerr
	}
	if j.status != "InProgress" {
		return nil, validation("The request was rejected because the training job is in status %s.", j.status)
	}
	j.stopRequested = true
	s.transition(j, "Stopping", "Stopping", "Stopping the training job")
	close(j.stop)
	return nil, nil
}

func (s *SageMaker) listTrainingJobs(_ map[string]any, raw []byte) (any, *apiError) {
	var in struct {
		NextToken, NameContains, StatusEquals, SortBy, SortOrder string
		MaxResults                                               int
		CreationTimeAfter, CreationTimeBefore                    *float64
	}
	json.Unmarshal(raw, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for name, j := range s.jobs {
		c := float64(j.created.UnixMilli()) / 1000
		if (in.NameContains == "" || strings.Contains(strings.ToLower(name), strings.ToLower(in.NameContains))) &&
			(in.StatusEquals == "" || j.status == in.StatusEquals) &&
			(in.CreationTimeAfter == nil || c > *in.CreationTimeAfter) && (in.CreationTimeBefore == nil || c < *in.CreationTimeBefore) {
			names = append(names, name)
		}
	}
	sortNames(names, func(n string) time.Time { return s.jobs[n].created }, in.SortBy, in.SortOrder)
	names, next, aerr := page(names, in.NextToken, in.MaxResults, 10)
	if aerr != nil {
		return nil, aerr
	}
	summaries := []map[string]any{}
	for _, n := range names {
		j := s.jobs[n]
		m := map[string]any{"TrainingJobName": n, "TrainingJobArn": j.arn, "CreationTime": epoch(j.created),
			"LastModifiedTime": epoch(j.modified), "TrainingJobStatus": j.status, "SecondaryStatus": j.secondary}
		if !j.ended.IsZero() {
			m["TrainingEndTime"] = epoch(j.ended)
		}
		summaries = append(summaries, m)
	}
	out := map[string]any{"TrainingJobSummaries": summaries}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// Wait blocks until the named job has ended or timeout passes, and
// reports whether it ended.
func (s *SageMaker) Wait(name string, timeout time.Duration) bool {
	s.mu.Lock()
	j, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return false
	}
	select {
	case <-j.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// stopAll ends every running job's processes, at the end of a test.
func (s *SageMaker) stopAll() {
	s.mu.Lock()
	var all []*trainingJob
	for _, j := range s.jobs {
		if j.status == "InProgress" {
			j.stopRequested = true
			s.transition(j, "Stopping", "Stopping", "Stopping the training job")
			close(j.stop)
		}
		all = append(all, j)
	}
	s.mu.Unlock()
	for _, j := range all {
		<-j.done
	}
}
