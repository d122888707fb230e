package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/logging/apiv2/loggingpb"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	ltype "google.golang.org/genproto/googleapis/logging/type"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type jobServer struct {
	aiplatformpb.UnimplementedJobServiceServer
	*fake
}

// fakeJob is a stored CustomJob and, while it runs, its process group.
type fakeJob struct {
	job  *aiplatformpb.CustomJob
	pgid int
	// cancelRequested is set by CancelCustomJob; cancelled when that
	// stopped a running process.
	cancelRequested bool
	cancelled       bool
	timedOut        bool
}

var (
	jobIDFakeRe  = regexp.MustCompile(`^[0-9]+$`)
	fakeLabelKey = regexp.MustCompile(`^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$`)
	fakeLabelVal = regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$`)
	cIdentRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	fakeSARe     = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)
	fakeNetRe    = regexp.MustCompile(`^projects/[0-9]+/global/networks/[^/]+$`)
	gcsURIRe     = regexp.MustCompile(`^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/.*)?$`)
)

func checkLabels(p *problems, field string, labels map[string]string) {
	if len(labels) > 64 {
		p.add(field, "at most 64 labels are allowed")
	}
	for k, v := range labels {
		if !fakeLabelKey.MatchString(k) || !fakeLabelVal.MatchString(v) {
			p.add(field, fmt.Sprintf("label %q=%q is invalid", k, v))
		}
	}
}

// checkCustomJob validates a CustomJob as CreateCustomJob does.
func checkCustomJob(cj *aiplatformpb.CustomJob) error {
	var p problems
	if cj == nil {
		p.add("custom_job", "Required field is not set.")
		return p.err()
	}
	if cj.GetDisplayName() == "" {
		p.add("custom_job.display_name", "Required field is not set.")
	} else if utf8.RuneCountInString(cj.GetDisplayName()) > 128 {
		p.add("custom_job.display_name", "The display name must be at most 128 characters.")
	}
	checkLabels(&p, "custom_job.labels", cj.GetLabels())
	spec := cj.GetJobSpec()
	if spec == nil {
		p.add("custom_job.job_spec", "Required field is not set.")
		return p.err()
	}
	if len(spec.GetWorkerPoolSpecs()) == 0 {
		p.add("custom_job.job_spec.worker_pool_specs", "At least one worker pool must be specified.")
	}
	for i, wp := range spec.GetWorkerPoolSpecs() {
		f := fmt.Sprintf("custom_job.job_spec.worker_pool_specs[%d]", i)
		ms := wp.GetMachineSpec()
		if ms.GetMachineType() == "" {
			p.add(f+".machine_spec.machine_type", "Required field is not set.")
		}
		if _, ok := aiplatformpb.AcceleratorType_name[int32(ms.GetAcceleratorType())]; !ok {
			p.add(f+".machine_spec.accelerator_type", fmt.Sprintf("Invalid value %d for enum AcceleratorType.", ms.GetAcceleratorType()))
		}
		hasType := ms.GetAcceleratorType() != aiplatformpb.AcceleratorType_ACCELERATOR_TYPE_UNSPECIFIED
		if hasType != (ms.GetAcceleratorCount() > 0) || ms.GetAcceleratorCount() < 0 {
			p.add(f+".machine_spec", "accelerator_type and a positive accelerator_count must be set together.")
		}
		switch {
		case i == 0 && wp.GetReplicaCount() != 1:
			p.add(f+".replica_count", "The primary worker pool must have exactly one replica.")
		case wp.GetReplicaCount() < 1:
			p.add(f+".replica_count", "Must be positive.")
		}
		switch task := wp.GetTask().(type) {
		case *aiplatformpb.WorkerPoolSpec_ContainerSpec:
			cs := task.ContainerSpec
			if cs.GetImageUri() == "" {
				p.add(f+".container_spec.image_uri", "Required field is not set.")
			}
			seen := map[string]bool{}
			for j, e := range cs.GetEnv() {
				if !cIdentRe.MatchString(e.GetName()) || seen[e.GetName()] {
					p.add(fmt.Sprintf("%s.container_spec.env[%d].name", f, j), "Must be a unique valid C identifier.")
				}
				seen[e.GetName()] = true
			}
		case *aiplatformpb.WorkerPoolSpec_PythonPackageSpec:
			ps := task.PythonPackageSpec
			if ps.GetExecutorImageUri() == "" || len(ps.GetPackageUris()) == 0 || ps.GetPythonModule() == "" {
				p.add(f+".python_package_spec", "executor_image_uri, package_uris and python_module are required.")
			}
		default:
			p.add(f, "Either container_spec or python_package_spec must be set.")
		}
		if ds := wp.GetDiskSpec(); ds != nil {
			switch ds.GetBootDiskType() {
			case "", "pd-ssd", "pd-standard", "hyperdisk-balanced":
			default:
				p.add(f+".disk_spec.boot_disk_type", "Unsupported boot disk type "+ds.GetBootDiskType())
			}
			if n := ds.GetBootDiskSizeGb(); n != 0 && (n < 100 || n > 64000) {
				p.add(f+".disk_spec.boot_disk_size_gb", "Must be between 100 and 64000.")
			}
		}
	}
	if sc := spec.GetScheduling(); sc != nil {
		if sc.GetTimeout() != nil && sc.GetTimeout().AsDuration() <= 0 {
			p.add("custom_job.job_spec.scheduling.timeout", "Must be positive.")
		}
		if _, ok := aiplatformpb.Scheduling_Strategy_name[int32(sc.GetStrategy())]; !ok {
			p.add("custom_job.job_spec.scheduling.strategy", fmt.Sprintf("Invalid value %d for enum Strategy.", sc.GetStrategy()))
		}
	}
	if out := spec.GetBaseOutputDirectory(); out != nil && !gcsURIRe.MatchString(out.GetOutputUriPrefix()) {
		p.add("custom_job.job_spec.base_output_directory.output_uri_prefix", "Must be a gs:// URI.")
	}
	if sa := spec.GetServiceAccount(); sa != "" && !fakeSARe.MatchString(sa) {
		p.add("custom_job.job_spec.service_account", "Invalid service account.")
	}
	if n := spec.GetNetwork(); n != "" && !fakeNetRe.MatchString(n) {
		p.add("custom_job.job_spec.network", "Must be projects/{project_number}/global/networks/{name}.")
	}
	return p.err()
}

func (s *jobServer) CreateCustomJob(ctx context.Context, req *aiplatformpb.CreateCustomJobRequest) (*aiplatformpb.CustomJob, error) {
	ft, err := s.begin(ctx, "CreateCustomJob", "parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	if err := s.checkParent("parent", req.GetParent(), "aiplatform.customJobs.create"); err != nil {
		return nil, err
	}
	if err := checkCustomJob(req.GetCustomJob()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	job := proto.Clone(req.GetCustomJob()).(*aiplatformpb.CustomJob)
	job.Name = fmt.Sprintf("%s/customJobs/%d", req.GetParent(), 7000000000000000000+s.nextSeq()*7919)
	job.State = aiplatformpb.JobState_JOB_STATE_QUEUED
	job.CreateTime, job.UpdateTime = timestamppb.Now(), timestamppb.Now()
	s.jobs[job.Name] = &fakeJob{job: job}
	out := proto.Clone(job).(*aiplatformpb.CustomJob)
	manual := s.manual
	s.mu.Unlock()
	if !manual {
		go s.run(job.Name)
	}
	if err := failAfter(ft); err != nil {
		return nil, err
	}
	return out, nil
}

// jobCall starts a call on one job: it checks the name and returns the
// job with s.mu held; the caller unlocks.
func (s *jobServer) jobCall(ctx context.Context, method, name, perm string) (*fakeJob, error) {
	if _, err := s.begin(ctx, method, "name", name); err != nil {
		return nil, err
	}
	if err := s.checkName("name", name, "customJobs", jobIDFakeRe, perm); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if j := s.jobs[name]; j != nil {
		return j, nil
	}
	s.mu.Unlock()
	return nil, status.Errorf(codes.NotFound, "The CustomJob does not exist: %s", name)
}

func (s *jobServer) GetCustomJob(ctx context.Context, req *aiplatformpb.GetCustomJobRequest) (*aiplatformpb.CustomJob, error) {
	j, err := s.jobCall(ctx, "GetCustomJob", req.GetName(), "aiplatform.customJobs.get")
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	// A cancelled job with no process stops on the next look.
	if j.job.State == aiplatformpb.JobState_JOB_STATE_CANCELLING && j.cancelRequested && j.pgid == 0 {
		s.finish(j, aiplatformpb.JobState_JOB_STATE_CANCELLED, &spb.Status{Code: int32(codes.Canceled), Message: "CANCELED"})
	}
	return proto.Clone(j.job).(*aiplatformpb.CustomJob), nil
}

// jobField reads the fields ListCustomJobs filters on.
func jobField(job *aiplatformpb.CustomJob) fieldGetter {
	return func(field string) (string, bool, bool) {
		switch {
		case field == "display_name":
			return job.GetDisplayName(), false, true
		case field == "state":
			return job.GetState().String(), false, true
		case field == "create_time":
			return job.GetCreateTime().AsTime().Format(time.RFC3339Nano), true, true
		case strings.HasPrefix(field, "labels."):
			v, ok := job.GetLabels()[strings.TrimPrefix(field, "labels.")]
			return v, false, ok
		}
		return "", false, false
	}
}

func jobFilterField(field, value string) error {
	switch {
	case field == "display_name", strings.HasPrefix(field, "labels."):
		return nil
	case field == "state":
		if _, ok := aiplatformpb.JobState_value[value]; !ok {
			return fmt.Errorf("invalid job state %q", value)
		}
		return nil
	case field == "create_time":
		_, err := time.Parse(time.RFC3339Nano, value)
		return err
	}
	return fmt.Errorf("unsupported filter field %q", field)
}

func (s *jobServer) ListCustomJobs(ctx context.Context, req *aiplatformpb.ListCustomJobsRequest) (*aiplatformpb.ListCustomJobsResponse, error) {
	if _, err := s.begin(ctx, "ListCustomJobs", "parent", req.GetParent()); err != nil {
		return nil, err
	}
	if err := s.checkParent("parent", req.GetParent(), "aiplatform.customJobs.list"); err != nil {
		return nil, err
	}
	expr, err := parseFilter(req.GetFilter(), jobFilterField)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "Invalid filter: "+err.Error())
	}
	off, err := pageOffset(req.GetPageToken(), req.GetFilter())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size <= 0 {
		size = 50
	}
	size = min(size, 100)
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*aiplatformpb.CustomJob
	for _, j := range s.jobs {
		if strings.HasPrefix(j.job.GetName(), req.GetParent()+"/") && expr.eval(jobField(j.job)) {
			all = append(all, j.job)
		}
	}
	sort.Slice(all, func(a, b int) bool { return all[a].GetName() > all[b].GetName() })
	resp := &aiplatformpb.ListCustomJobsResponse{}
	for i := off; i < len(all) && i < off+size; i++ {
		resp.CustomJobs = append(resp.CustomJobs, proto.Clone(all[i]).(*aiplatformpb.CustomJob))
	}
	if off+size < len(all) {
		resp.NextPageToken = pageToken(req.GetFilter(), off+size)
	}
	return resp, nil
}

func (s *jobServer) CancelCustomJob(ctx context.Context, req *aiplatformpb.CancelCustomJobRequest) (*emptypb.Empty, error) {
	j, err := s.jobCall(ctx, "CancelCustomJob", req.GetName(), "aiplatform.customJobs.cancel")
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if stateOf(j.job.State).Terminal() {
		return nil, status.Errorf(codes.FailedPrecondition, "Cannot cancel CustomJob %s in state %s.", req.GetName(), j.job.State)
	}
	j.job.State, j.job.UpdateTime = aiplatformpb.JobState_JOB_STATE_CANCELLING, timestamppb.Now()
	j.cancelRequested = true
	if j.pgid > 0 {
		j.cancelled = true
		_ = syscall.Kill(-j.pgid, syscall.SIGKILL)
	}
	return &emptypb.Empty{}, nil
}

// setState moves a job, as the service would, for tests in manual mode.
func (f *fake) setState(name string, st aiplatformpb.JobState, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[name]
	if stateOf(st).Terminal() {
		var e *spb.Status
		if msg != "" {
			e = &spb.Status{Code: int32(codes.Internal), Message: msg}
		}
		f.finish(j, st, e)
		return
	}
	j.job.State, j.job.UpdateTime, j.job.Error, j.job.EndTime = st, timestamppb.Now(), nil, nil
	if st == aiplatformpb.JobState_JOB_STATE_RUNNING && j.job.StartTime == nil {
		j.job.StartTime = timestamppb.Now()
	}
}

// finish ends a job; the caller holds f.mu.
func (f *fake) finish(j *fakeJob, st aiplatformpb.JobState, e *spb.Status) {
	j.job.State, j.job.Error = st, e
	j.job.EndTime, j.job.UpdateTime = timestamppb.Now(), timestamppb.Now()
}

func (f *fake) stopAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.jobs {
		if j.pgid > 0 {
			_ = syscall.Kill(-j.pgid, syscall.SIGKILL)
		}
	}
}

// run executes a job's primary replica on this machine. Cloud Storage FUSE
// is emulated: /gcs/BUCKET/OBJECT paths in the environment point into a
// sandbox, the objects they name are fetched before the start, and files
// the job writes there are uploaded before the job is marked finished.
func (f *fake) run(name string) {
	f.mu.Lock()
	j := f.jobs[name]
	job := proto.Clone(j.job).(*aiplatformpb.CustomJob)
	j.job.State = aiplatformpb.JobState_JOB_STATE_PENDING
	f.mu.Unlock()
	fail := func(msg string) {
		f.mu.Lock()
		f.finish(j, aiplatformpb.JobState_JOB_STATE_FAILED, &spb.Status{Code: int32(codes.Internal), Message: msg})
		f.mu.Unlock()
	}
	id := name[strings.LastIndexByte(name, '/')+1:]
	pool := job.GetJobSpec().GetWorkerPoolSpecs()[0]
	cs := pool.GetContainerSpec()
	if cs == nil || len(cs.GetCommand()) == 0 {
		fail("the fake runs only containers with an explicit command")
		return
	}
	root := filepath.Join(f.work, id)
	mount := func(v string) string {
		if rest, ok := strings.CutPrefix(v, "/gcs/"); ok {
			return filepath.Join(root, "gcs", rest)
		}
		return v
	}
	inputs := map[string]bool{}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(root, "home"), "TMPDIR=" + filepath.Join(root, "tmp"),
		"CLOUD_ML_JOB_ID=" + id, "CLOUD_ML_PROJECT_ID=" + f.project, "CLOUD_ML_REGION=" + f.location}
	for _, d := range []string{"home", "tmp", "gcs"} {
		_ = os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	if out := job.GetJobSpec().GetBaseOutputDirectory().GetOutputUriPrefix(); out != "" {
		env = append(env, "AIP_MODEL_DIR="+mount("/gcs/"+strings.TrimPrefix(out, "gs://"))+"model/")
	}
	for _, e := range cs.GetEnv() {
		v := mount(e.GetValue())
		env = append(env, e.GetName()+"="+v)
		if v != e.GetValue() && f.gcs != nil {
			bucket, obj, _ := strings.Cut(strings.TrimPrefix(e.GetValue(), "/gcs/"), "/")
			if ok, err := f.gcs.download(bucket, obj, v); err != nil {
				fail("mounting " + e.GetValue() + ": " + err.Error())
				return
			} else if ok {
				inputs[v] = true
			}
		}
	}
	argv := append(append([]string(nil), cs.GetCommand()...), cs.GetArgs()...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = env, filepath.Join(root, "home")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// One pipe for both streams keeps lines in the order they were
	// written, as the logging agent sees them.
	pr, pw, err := os.Pipe()
	if err != nil {
		fail(err.Error())
		return
	}
	defer pr.Close()
	cmd.Stdout, cmd.Stderr = pw, pw
	f.mu.Lock()
	if j.job.State != aiplatformpb.JobState_JOB_STATE_PENDING {
		// Cancelled before it started.
		f.finish(j, aiplatformpb.JobState_JOB_STATE_CANCELLED, &spb.Status{Code: int32(codes.Canceled), Message: "CANCELED"})
		f.mu.Unlock()
		return
	}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		f.mu.Unlock()
		fail("starting the container: " + err.Error())
		return
	}
	j.pgid = cmd.Process.Pid
	j.job.State, j.job.StartTime = aiplatformpb.JobState_JOB_STATE_RUNNING, timestamppb.Now()
	f.mu.Unlock()
	if t := job.GetJobSpec().GetScheduling().GetTimeout(); t != nil {
		timer := time.AfterFunc(t.AsDuration(), func() {
			f.mu.Lock()
			j.timedOut = true
			_ = syscall.Kill(-j.pgid, syscall.SIGKILL)
			f.mu.Unlock()
		})
		defer timer.Stop()
	}
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		f.appendLog(id, "workerpool0-0", ltype.LogSeverity_INFO, sc.Text())
	}
	err = cmd.Wait()
	uploadErr := f.collect(root, inputs)
	f.mu.Lock()
	defer f.mu.Unlock()
	j.pgid = 0
	var ee *exec.ExitError
	switch {
	case j.cancelled:
		f.finish(j, aiplatformpb.JobState_JOB_STATE_CANCELLED, &spb.Status{Code: int32(codes.Canceled), Message: "CANCELED"})
	case j.timedOut:
		f.finish(j, aiplatformpb.JobState_JOB_STATE_FAILED, &spb.Status{Code: int32(codes.DeadlineExceeded), Message: "The job exceeded its timeout of " + job.GetJobSpec().GetScheduling().GetTimeout().AsDuration().String() + "."})
	case uploadErr != nil:
		f.finish(j, aiplatformpb.JobState_JOB_STATE_FAILED, &spb.Status{Code: int32(codes.Internal), Message: "writing outputs: " + uploadErr.Error()})
	case err == nil:
		f.finish(j, aiplatformpb.JobState_JOB_STATE_SUCCEEDED, nil)
	case errors.As(err, &ee):
		f.finish(j, aiplatformpb.JobState_JOB_STATE_FAILED, &spb.Status{Code: int32(codes.Internal), Message: fmt.Sprintf(
			"The replica workerpool0-0 exited with a non-zero status of %d. To find out more about why your job exited please check the logs: https://console.cloud.google.com/logs/viewer?project=%s&resource=ml_job%%2Fjob_id%%2F%s", ee.ExitCode(), f.project, id)})
	default:
		f.finish(j, aiplatformpb.JobState_JOB_STATE_FAILED, &spb.Status{Code: int32(codes.Internal), Message: err.Error()})
	}
}

// collect uploads what the job wrote under the emulated mount.
func (f *fake) collect(root string, inputs map[string]bool) error {
	if f.gcs == nil {
		return nil
	}
	mnt := filepath.Join(root, "gcs")
	return filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || inputs[p] {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		bucket, obj, _ := strings.Cut(filepath.ToSlash(rel), "/")
		return f.gcs.upload(bucket, obj, p)
	})
}

// appendLog records one line as Vertex AI does for a replica's output.
func (f *fake) appendLog(jobID, task string, sev ltype.LogSeverity, line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := timestamppb.Now()
	f.logs = append(f.logs, &loggingpb.LogEntry{
		LogName:   "projects/" + f.project + "/logs/" + task,
		Resource:  &monitoredres.MonitoredResource{Type: "ml_job", Labels: map[string]string{"job_id": jobID, "project_id": f.project, "task_name": task}},
		Timestamp: now, ReceiveTimestamp: now, Severity: sev,
		InsertId: fmt.Sprintf("%012x", f.nextSeq()),
		Payload:  &loggingpb.LogEntry_TextPayload{TextPayload: line},
	})
}
