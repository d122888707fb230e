package fakeworkspace

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/jobs"
)

// run is one submitted run with its single task run.
type run struct {
	id, taskRunID int64
	sub           jobs.SubmitRun
	task          jobs.SubmitTask
	clusterID     string
	start, end    int64
	execStart     int64
	lifeCycle     jobs.RunLifeCycleState
	result        jobs.RunResultState
	v2            jobs.RunLifecycleStateV2State
	code          jobs.TerminationCodeCode
	codeType      jobs.TerminationTypeType
	message       string
	logs          []byte
	truncated     bool
	errMsg        string
	errTrace      string
	cancelled     bool
	// forced is set once ForceState decided the run's outcome.
	forced bool
	pid    int
	done   chan struct{}
	// stop is closed when the run is cancelled or forced to an end.
	stop     chan struct{}
	stopOnce sync.Once
}

// halt ends the run's process, or keeps it from starting; s.mu is held.
func (rn *run) halt() {
	rn.stopOnce.Do(func() { close(rn.stop) })
	rn.kill()
}

// maxLogs is how much task output get-output keeps: the last 5 MB.
const maxLogs = 5 << 20

var (
	taskKeyRE      = regexp.MustCompile(`^[\w\-_]+$`)
	sparkVersionRE = regexp.MustCompile(`^1[0-9]\.[0-9]+\.x-(cpu-ml-|gpu-ml-)?scala2\.1[23]$`)
	// nodeTypes are the node types the fake workspace offers, with GPUs.
	nodeTypes = map[string]int{
		"m5d.large": 0, "m5d.xlarge": 0, "m5d.2xlarge": 0, "c5d.2xlarge": 0, "r5d.xlarge": 0, "i3.xlarge": 0, "i3.2xlarge": 0,
		"g4dn.xlarge": 1, "g4dn.2xlarge": 1, "g4dn.12xlarge": 4, "p3.2xlarge": 1, "p3.8xlarge": 4, "p3.16xlarge": 8,
	}
)

func (s *Server) submit(w http.ResponseWriter, r *http.Request) *apiError {
	var sub jobs.SubmitRun
	raw, e := decode(r, &sub)
	if e != nil {
		return e
	}
	if e := s.checkSubmit(raw, &sub); e != nil {
		return e
	}
	s.mu.Lock()
	s.submitted = append(s.submitted, raw)
	if id, ok := s.tokens[sub.IdempotencyToken]; ok && sub.IdempotencyToken != "" {
		s.mu.Unlock()
		writeJSON(w, map[string]int64{"run_id": id})
		return nil
	}
	s.nextID += 2
	rn := &run{id: s.nextID, taskRunID: s.nextID + 1, sub: sub, task: sub.Tasks[0], start: nowMS(),
		lifeCycle: jobs.RunLifeCycleStatePending, v2: jobs.RunLifecycleStateV2StatePending, done: make(chan struct{}), stop: make(chan struct{})}
	if rn.task.NewCluster != nil {
		rn.clusterID = fmt.Sprintf("1129-%06d-fake%04d", rn.id%1000000, rn.id%10000)
	} else {
		rn.clusterID = rn.task.ExistingClusterId
	}
	s.runs[rn.id] = rn
	s.taskRuns[rn.taskRunID] = rn
	if sub.IdempotencyToken != "" {
		s.tokens[sub.IdempotencyToken] = rn.id
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go s.execute(rn)
	writeJSON(w, map[string]int64{"run_id": rn.id})
	return nil
}

// checkSubmit enforces what runs/submit requires beyond the request's shape.
func (s *Server) checkSubmit(raw map[string]any, sub *jobs.SubmitRun) *apiError {
	bad := func(format string, args ...any) *apiError {
		return errf(400, "INVALID_PARAMETER_VALUE", format, args...)
	}
	if len(sub.Tasks) == 0 {
		return bad("Missing required field: tasks")
	}
	if len(sub.Tasks) > 100 {
		return bad("A run can have at most 100 tasks")
	}
	if len(sub.Tasks) > 1 {
		return bad("This fake workspace runs one task per run")
	}
	if len(sub.IdempotencyToken) > 64 {
		return bad("idempotency_token must have at most 64 characters")
	}
	if sub.TimeoutSeconds < 0 {
		return bad("timeout_seconds must not be negative")
	}
	envs := map[string]bool{}
	for _, e := range sub.Environments {
		envs[e.EnvironmentKey] = true
	}
	rawTasks, _ := raw["tasks"].([]any)
	for i, t := range sub.Tasks {
		traw, _ := rawTasks[i].(map[string]any)
		if !taskKeyRE.MatchString(t.TaskKey) || len(t.TaskKey) > 100 {
			return bad("Invalid task_key %q: use at most 100 letters, digits, '-' and '_'", t.TaskKey)
		}
		if len(t.Description) > 1000 {
			return bad("tasks[%d].description must have at most 1000 characters", i)
		}
		var kinds []string
		for k, v := range traw {
			if strings.HasSuffix(k, "_task") && v != nil {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) != 1 {
			return bad("Task %s must have exactly one task type, got %d", t.TaskKey, len(kinds))
		}
		if t.SparkPythonTask == nil {
			return bad("Task type %s is not run by this fake workspace", kinds[0])
		}
		if f := t.SparkPythonTask.PythonFile; !strings.HasPrefix(f, "dbfs:/") && !strings.HasPrefix(f, "/Volumes/") && !strings.HasPrefix(f, "/Workspace/") {
			return bad("python_file %q must be a dbfs:/, /Volumes/ or /Workspace/ path", f)
		}
		var computes []string
		for _, k := range []string{"existing_cluster_id", "new_cluster", "job_cluster_key", "environment_key"} {
			if v, ok := traw[k]; ok && v != nil && v != "" {
				computes = append(computes, k)
			}
		}
		switch {
		case len(computes) == 0 && s.opts.Serverless:
			return bad("Task %s: one of new_cluster, existing_cluster_id or environment_key must be specified", t.TaskKey)
		case len(computes) == 0:
			return bad("One of job_cluster_key, new_cluster, or existing_cluster_id must be specified.")
		case len(computes) > 1:
			return bad("Task %s: only one of %s may be specified", t.TaskKey, strings.Join(computes, ", "))
		}
		switch computes[0] {
		case "existing_cluster_id":
			if !contains(s.opts.Clusters, t.ExistingClusterId) {
				return bad("Cluster %s does not exist", t.ExistingClusterId)
			}
		case "environment_key":
			if !s.opts.Serverless {
				return errf(400, "FEATURE_DISABLED", "Serverless compute for jobs is not enabled in this workspace")
			}
			if !envs[t.EnvironmentKey] {
				return bad("Task %s refers to environment %q, which is not defined in environments", t.TaskKey, t.EnvironmentKey)
			}
			if len(t.Libraries) > 0 {
				return bad("Libraries field is not supported for serverless task, please specify libraries in environment.")
			}
		case "new_cluster":
			craw, _ := traw["new_cluster"].(map[string]any)
			if e := checkCluster(craw, t.NewCluster); e != nil {
				return e
			}
		}
		for j, lib := range t.Libraries {
			n := 0
			for _, set := range []bool{lib.Pypi != nil, lib.Whl != "", lib.Jar != "", lib.Egg != "", lib.Maven != nil, lib.Cran != nil, lib.Requirements != ""} {
				if set {
					n++
				}
			}
			if n != 1 {
				return bad("libraries[%d] must name exactly one library", j)
			}
			if lib.Pypi != nil && strings.TrimSpace(lib.Pypi.Package) == "" {
				return bad("libraries[%d].pypi.package must not be empty", j)
			}
		}
	}
	return nil
}

func checkCluster(raw map[string]any, c *compute.ClusterSpec) *apiError {
	bad := func(format string, args ...any) *apiError {
		return errf(400, "INVALID_PARAMETER_VALUE", format, args...)
	}
	if c.SparkVersion == "" {
		return bad("Missing required field: new_cluster.spark_version")
	}
	if !sparkVersionRE.MatchString(c.SparkVersion) {
		return bad("Invalid spark version %s.", c.SparkVersion)
	}
	if c.NodeTypeId == "" && c.InstancePoolId == "" && c.PolicyId == "" {
		return bad("Missing required field: new_cluster.node_type_id")
	}
	for _, n := range []string{c.NodeTypeId, c.DriverNodeTypeId} {
		if _, ok := nodeTypes[n]; n != "" && !ok {
			return bad("Node type %s is not supported", n)
		}
	}
	if strings.Contains(c.SparkVersion, "gpu-ml") && c.NodeTypeId != "" && nodeTypes[c.NodeTypeId] == 0 {
		return bad("Node type %s does not have GPUs, which runtime %s needs", c.NodeTypeId, c.SparkVersion)
	}
	_, hasWorkers := raw["num_workers"]
	if !hasWorkers && c.Autoscale == nil {
		return bad("Cluster size must be specified: set num_workers or autoscale")
	}
	if c.Autoscale == nil && c.NumWorkers == 0 &&
		(c.SparkConf["spark.databricks.cluster.profile"] != "singleNode" || c.CustomTags["ResourceClass"] != "SingleNode") {
		return bad("A cluster with no workers must be single node: set spark_conf spark.databricks.cluster.profile=singleNode and custom tag ResourceClass=SingleNode")
	}
	if c.NumWorkers < 0 {
		return bad("num_workers must not be negative")
	}
	if len(c.CustomTags) > 45 {
		return bad("At most 45 custom tags are allowed")
	}
	if lc := c.ClusterLogConf; lc != nil {
		n := 0
		if lc.Dbfs != nil {
			n++
			if !strings.HasPrefix(lc.Dbfs.Destination, "dbfs:/") {
				return bad("cluster_log_conf.dbfs.destination must start with dbfs:/")
			}
		}
		if lc.Volumes != nil {
			n++
			if !strings.HasPrefix(lc.Volumes.Destination, "/Volumes/") {
				return bad("cluster_log_conf.volumes.destination must start with /Volumes/")
			}
		}
		if lc.S3 != nil {
			n++
		}
		if n != 1 {
			return bad("cluster_log_conf must have exactly one destination")
		}
	}
	return nil
}

// queryInt64 reads a required integer query parameter.
func queryInt64(r *http.Request, name string) (int64, *apiError) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, errf(400, "INVALID_PARAMETER_VALUE", "Missing required field: %s", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errf(400, "INVALID_PARAMETER_VALUE", "Invalid value for %s: expected an integer", name)
	}
	return n, nil
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) *apiError {
	id, e := queryInt64(r, "run_id")
	if e != nil {
		return e
	}
	s.mu.Lock()
	rn, ok := s.runs[id]
	var out jobs.Run
	if ok {
		out = s.view(rn, true)
	}
	s.mu.Unlock()
	if !ok {
		return errf(400, "INVALID_PARAMETER_VALUE", "Run %d does not exist.", id)
	}
	writeJSON(w, out)
	return nil
}

func (s *Server) getOutput(w http.ResponseWriter, r *http.Request) *apiError {
	id, e := queryInt64(r, "run_id")
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.runs[id]; ok {
		return errf(400, "INVALID_PARAMETER_VALUE", "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of each individual task run instead.")
	}
	rn, ok := s.taskRuns[id]
	if !ok {
		return errf(400, "INVALID_PARAMETER_VALUE", "Run %d does not exist.", id)
	}
	meta := s.view(rn, false)
	meta.RunId = rn.taskRunID
	out := jobs.RunOutput{Metadata: &meta}
	if rn.lifeCycle == jobs.RunLifeCycleStateTerminated || rn.lifeCycle == jobs.RunLifeCycleStateInternalError {
		logs := rn.logs
		if len(logs) > maxLogs {
			logs = logs[len(logs)-maxLogs:]
			if i := bytes.IndexByte(logs, '\n'); i >= 0 {
				logs = logs[i+1:]
			}
		}
		out.Logs, out.LogsTruncated, out.Error, out.ErrorTrace = string(logs), rn.truncated, rn.errMsg, rn.errTrace
	}
	writeJSON(w, out)
	return nil
}

// view renders a run as runs/get shows it; s.mu is held.
func (s *Server) view(rn *run, withTasks bool) jobs.Run {
	state := &jobs.RunState{LifeCycleState: rn.lifeCycle, ResultState: rn.result, StateMessage: rn.message,
		UserCancelledOrTimedout: rn.cancelled || rn.result == jobs.RunResultStateTimedout}
	status := &jobs.RunStatus{State: rn.v2}
	if rn.v2 == jobs.RunLifecycleStateV2StateTerminated {
		status.TerminationDetails = &jobs.TerminationDetails{Code: rn.code, Type: rn.codeType, Message: rn.message}
	}
	out := jobs.Run{RunId: rn.id, RunName: rn.sub.RunName, RunType: jobs.RunTypeSubmitRun, StartTime: rn.start, EndTime: rn.end,
		State: state, Status: status, CreatorUserName: s.opts.UserName,
		RunPageUrl: fmt.Sprintf("%s/?o=1234567890#job/runs/%d", s.URL, rn.id)}
	if rn.execStart > 0 {
		out.SetupDuration = rn.execStart - rn.start
	}
	if rn.end > 0 {
		out.RunDuration = rn.end - rn.start
		if rn.execStart > 0 {
			out.ExecutionDuration = rn.end - rn.execStart
		}
	}
	if withTasks {
		t := rn.task
		task := jobs.RunTask{TaskKey: t.TaskKey, RunId: rn.taskRunID, Description: t.Description, SparkPythonTask: t.SparkPythonTask,
			NewCluster: t.NewCluster, ExistingClusterId: t.ExistingClusterId, Libraries: t.Libraries, EnvironmentKey: t.EnvironmentKey,
			StartTime: rn.start, EndTime: rn.end, State: state, Status: status, SetupDuration: out.SetupDuration,
			ExecutionDuration: out.ExecutionDuration, RunPageUrl: fmt.Sprintf("%s/?o=1234567890#job/runs/%d", s.URL, rn.taskRunID)}
		if rn.clusterID != "" {
			task.ClusterInstance = &jobs.ClusterInstance{ClusterId: rn.clusterID, SparkContextId: "4242"}
		}
		out.Tasks = []jobs.RunTask{task}
	}
	return out
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) *apiError {
	q := r.URL.Query()
	bad := func(format string, args ...any) *apiError {
		return errf(400, "INVALID_PARAMETER_VALUE", format, args...)
	}
	flag := func(name string) (bool, *apiError) {
		switch q.Get(name) {
		case "", "false":
			return false, nil
		case "true":
			return true, nil
		}
		return false, bad("Invalid value for %s: expected a boolean", name)
	}
	active, e1 := flag("active_only")
	completed, e2 := flag("completed_only")
	expand, e3 := flag("expand_tasks")
	for _, e := range []*apiError{e1, e2, e3} {
		if e != nil {
			return e
		}
	}
	if active && completed {
		return bad("Both active_only and completed_only cannot be true.")
	}
	if rt := q.Get("run_type"); rt != "" {
		var t jobs.RunType
		if err := t.Set(rt); err != nil {
			return bad("Invalid run_type %q", rt)
		}
	}
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 25 {
			return bad("limit must be between 1 and 25, got %s", v)
		}
		limit = n
	}
	var from, to int64
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"start_time_from", &from}, {"start_time_to", &to}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return bad("Invalid value for %s: expected an integer", p.name)
			}
			*p.dst = n
		}
	}
	offset := 0
	if tok := q.Get("page_token"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			return bad("Invalid page_token")
		}
		offset = n
	}
	s.mu.Lock()
	var all []*run
	for _, rn := range s.runs {
		terminal := rn.lifeCycle == jobs.RunLifeCycleStateTerminated || rn.lifeCycle == jobs.RunLifeCycleStateSkipped || rn.lifeCycle == jobs.RunLifeCycleStateInternalError
		if (active && terminal) || (completed && !terminal) || (from > 0 && rn.start < from) || (to > 0 && rn.start > to) {
			continue
		}
		if rt := q.Get("run_type"); rt != "" && rt != string(jobs.RunTypeSubmitRun) {
			continue
		}
		all = append(all, rn)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].start != all[j].start {
			return all[i].start > all[j].start
		}
		return all[i].id > all[j].id
	})
	resp := jobs.ListRunsResponse{}
	end := min(offset+limit, len(all))
	for _, rn := range all[min(offset, len(all)):end] {
		v := s.view(rn, expand)
		resp.Runs = append(resp.Runs, jobs.BaseRun{RunId: v.RunId, RunName: v.RunName, RunType: v.RunType, StartTime: v.StartTime,
			EndTime: v.EndTime, State: v.State, Status: v.Status, Tasks: v.Tasks, RunPageUrl: v.RunPageUrl,
			SetupDuration: v.SetupDuration, ExecutionDuration: v.ExecutionDuration, RunDuration: v.RunDuration, CreatorUserName: v.CreatorUserName})
	}
	s.mu.Unlock()
	if end < len(all) {
		resp.HasMore = true
		resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	writeJSON(w, resp)
	return nil
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) *apiError {
	var req jobs.CancelRun
	if _, e := decode(r, &req); e != nil {
		return e
	}
	s.mu.Lock()
	rn, ok := s.runs[req.RunId]
	if !ok {
		rn, ok = s.taskRuns[req.RunId]
	}
	if ok && !rn.terminal() {
		rn.cancelled = true
		rn.message = "Run cancelled."
		if rn.v2 == jobs.RunLifecycleStateV2StateRunning {
			rn.lifeCycle, rn.v2 = jobs.RunLifeCycleStateTerminating, jobs.RunLifecycleStateV2StateTerminating
		}
		rn.halt()
	}
	s.mu.Unlock()
	if !ok {
		return errf(400, "INVALID_PARAMETER_VALUE", "Run %d does not exist.", req.RunId)
	}
	writeJSON(w, struct{}{})
	return nil
}

func (rn *run) terminal() bool {
	return rn.lifeCycle == jobs.RunLifeCycleStateTerminated || rn.lifeCycle == jobs.RunLifeCycleStateSkipped ||
		rn.lifeCycle == jobs.RunLifeCycleStateInternalError
}

// ForceState puts a run into the given states, ending its process, so
// that tests can see how every state the API defines is reported.
func (s *Server) ForceState(id int64, lc jobs.RunLifeCycleState, rs jobs.RunResultState, v2 jobs.RunLifecycleStateV2State,
	code jobs.TerminationCodeCode, typ jobs.TerminationTypeType, msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rn, ok := s.runs[id]
	if !ok {
		return fmt.Errorf("fakeworkspace: no run %d", id)
	}
	rn.halt()
	rn.forced = true
	rn.lifeCycle, rn.result, rn.v2, rn.code, rn.codeType, rn.message = lc, rs, v2, code, typ, msg
	if rn.end == 0 {
		rn.end = nowMS()
	}
	return nil
}

// Submitted returns the bodies of the accepted runs/submit requests, as
// generic JSON values (numbers as json.Number).
func (s *Server) Submitted() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.submitted...)
}

// Runs returns the ids of the runs submitted so far.
func (s *Server) Runs() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for id := range s.runs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// fusePath maps a dbfs:/ or /Volumes/ URI onto the fake's disk.
func (s *Server) fusePath(uri string) (string, bool) {
	switch {
	case strings.HasPrefix(uri, "dbfs:/Volumes/"):
		return s.Root + strings.TrimPrefix(uri, "dbfs:"), true
	case strings.HasPrefix(uri, "dbfs:/"):
		return s.Root + "/dbfs/" + strings.TrimPrefix(uri, "dbfs:/"), true
	case strings.HasPrefix(uri, "/Volumes/"):
		return s.Root + uri, true
	}
	return "", false
}
