package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/result"
	"github.com/neural-dsl/neural-host/sdk/runner"
)

// runID parses a job id, which is a Databricks run id.
func runID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, sdk.FieldError("job", fmt.Sprintf("%q is not a Databricks run id", clip(id)), "use the id printed by 'neural-host job submit' or 'job list'")
	}
	return n, nil
}

// clip shortens user input quoted back in a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// ourTask returns the task this plugin submitted in run, or nil.
func ourTask(tasks []jobs.RunTask) *jobs.RunTask {
	for i := range tasks {
		if tasks[i].TaskKey == taskKey {
			return &tasks[i]
		}
	}
	if len(tasks) == 1 {
		return &tasks[0]
	}
	return nil
}

// paramValue returns the value after flag in a launcher parameter list.
func paramValue(params []string, flag string) string {
	for i := 0; i+1 < len(params); i++ {
		if params[i] == "--" {
			break
		}
		if params[i] == flag {
			return params[i+1]
		}
	}
	return ""
}

func ms(t int64) time.Time {
	if t <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(t).UTC()
}

// jobStatus describes a run.
func jobStatus(r *jobs.BaseRun) sdk.JobStatus {
	st, raw, reason := runState(r.Status, r.State)
	out := sdk.JobStatus{ID: strconv.FormatInt(r.RunId, 10), Name: r.RunName, State: st, RawState: raw, Reason: reason,
		Terminal: st.Terminal(), CreatedAt: ms(r.StartTime), EndedAt: ms(r.EndTime), ConsoleURL: r.RunPageUrl,
		Attributes: map[string]string{"run_id": strconv.FormatInt(r.RunId, 10)}}
	if t := ourTask(r.Tasks); t != nil {
		out.Labels, _ = labelsOf(t.Description)
		if t.RunId != 0 {
			out.Attributes["task_run_id"] = strconv.FormatInt(t.RunId, 10)
		}
		if t.ClusterInstance != nil && t.ClusterInstance.ClusterId != "" {
			out.Attributes["cluster_id"] = t.ClusterInstance.ClusterId
		}
		if t.ExistingClusterId != "" {
			out.Attributes["cluster_id"] = t.ExistingClusterId
		}
		if t.SparkPythonTask != nil {
			if o := paramValue(t.SparkPythonTask.Parameters, "--output"); o != "" {
				out.Attributes["output"] = o
			}
		}
		if !ms(t.StartTime).IsZero() && st != sdk.StateQueued && st != sdk.StateStarting {
			out.StartedAt = ms(t.StartTime + t.SetupDuration)
		}
	}
	if out.StartedAt.IsZero() && (st == sdk.StateRunning || st == sdk.StateStopping || st.Terminal()) {
		out.StartedAt = out.CreatedAt
	}
	if !st.Terminal() {
		out.EndedAt = time.Time{}
	}
	return out
}

func (p *Platform) getRun(ctx context.Context, ws *workspace, id int64) (*jobs.Run, error) {
	r, err := ws.jobs.GetRun(ctx, jobs.GetRunRequest{RunId: id})
	if err != nil {
		err = p.settings().wrap(err, fmt.Sprintf("run %d", id))
		if errors.Is(err, sdk.ErrNotFound) || errors.Is(err, sdk.ErrInvalidArgument) {
			return nil, &sdk.Error{Kind: sdk.ErrNotFound, Message: fmt.Sprintf("databricks: no run %d in this workspace", id), Hint: "list jobs with 'neural-host job list --platform databricks'; runs are deleted after 60 days"}
		}
		return nil, err
	}
	return r, nil
}

func (p *Platform) status(ctx context.Context, ws *workspace, id int64) (sdk.JobStatus, error) {
	r, err := p.getRun(ctx, ws, id)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	return jobStatus(baseRun(r)), nil
}

// baseRun views a run as the listing does.
func baseRun(r *jobs.Run) *jobs.BaseRun {
	return &jobs.BaseRun{RunId: r.RunId, RunName: r.RunName, State: r.State, Status: r.Status, StartTime: r.StartTime,
		EndTime: r.EndTime, RunPageUrl: r.RunPageUrl, Tasks: r.Tasks, RunDuration: r.RunDuration,
		SetupDuration: r.SetupDuration, ExecutionDuration: r.ExecutionDuration, CleanupDuration: r.CleanupDuration}
}

func (p *Platform) Status(ctx context.Context, id string) (sdk.JobStatus, error) {
	n, err := runID(id)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	ws, err := p.client()
	if err != nil {
		return sdk.JobStatus{}, err
	}
	return p.status(ctx, ws, n)
}

func (p *Platform) Result(ctx context.Context, id string) (sdk.JobResult, error) {
	n, err := runID(id)
	if err != nil {
		return sdk.JobResult{}, err
	}
	ws, err := p.client()
	if err != nil {
		return sdk.JobResult{}, err
	}
	s := p.settings()
	r, err := p.getRun(ctx, ws, n)
	if err != nil {
		return sdk.JobResult{}, err
	}
	st := jobStatus(baseRun(r))
	reported := r.RunDuration
	if reported <= 0 {
		reported = r.SetupDuration + r.ExecutionDuration + r.CleanupDuration
	}
	res := result.New(st, time.Duration(reported)*time.Millisecond, time.Now())
	task := ourTask(r.Tasks)
	if task != nil && task.RunId != 0 {
		// The output belongs to the task run, not to the run around it.
		out, err := ws.jobs.GetRunOutput(ctx, jobs.GetRunOutputRequest{RunId: task.RunId})
		switch {
		case err == nil:
			res.OutputExcerpt = result.Excerpt(out.Logs)
			if out.Error != "" {
				res.Error = out.Error
				if trace := strings.TrimSpace(out.ErrorTrace); trace != "" {
					res.Error += "\n" + result.Excerpt(trace)
				}
			}
		case st.Terminal && !notFound(err):
			// Before a task has run there may be no output to get.
			return sdk.JobResult{}, s.wrap(err, fmt.Sprintf("output of task run %d", task.RunId))
		}
	}
	outURI := st.Attributes["output"]
	if outURI == "" {
		return res, nil
	}
	outLoc, err := parseLocation(outURI)
	if err != nil {
		return res, nil
	}
	b, err := ws.readFile(ctx, outLoc.join(runner.MetricsFile), result.MaxMetricsBytes)
	switch {
	case err == nil:
		result.AddMetrics(&res, b)
	case !notFound(err):
		return sdk.JobResult{}, s.wrap(err, "reading "+runner.MetricsFile)
	}
	files, err := ws.walk(ctx, outLoc, result.MaxArtifacts)
	if err != nil {
		return sdk.JobResult{}, s.wrap(err, "listing the outputs in "+outLoc.String())
	}
	for _, f := range files {
		if !result.AddArtifact(&res, f.URI) {
			break
		}
	}
	return res, nil
}

func (p *Platform) Cancel(ctx context.Context, id string) (sdk.JobStatus, error) {
	n, err := runID(id)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	ws, err := p.client()
	if err != nil {
		return sdk.JobStatus{}, err
	}
	s := p.settings()
	st, err := p.status(ctx, ws, n)
	if err != nil || st.Terminal {
		return st, err
	}
	w, err := ws.jobs.CancelRun(ctx, jobs.CancelRun{RunId: n})
	if err != nil {
		return sdk.JobStatus{}, s.wrap(err, fmt.Sprintf("cancelling run %d", n))
	}
	// The SDK's waiter polls until the run is terminated or skipped. Its
	// own errors (a run that ended in INTERNAL_ERROR, a timeout) still
	// leave a state to report, so the status is read afresh either way.
	_, _ = w.GetWithTimeout(s.waitTimeout)
	return p.status(ctx, ws, n)
}

// listPage is the position a List page token encodes: how many matching
// runs to skip, and the start-time bound of the first page, so that runs
// started since do not shift later pages.
type listPage struct {
	Skip   int   `json:"s"`
	Before int64 `json:"b"`
}

func (p *Platform) List(ctx context.Context, req sdk.ListRequest) (sdk.ListResponse, error) {
	ws, err := p.client()
	if err != nil {
		return sdk.ListResponse{}, err
	}
	var page listPage
	if req.PageToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(req.PageToken)
		if err != nil || json.Unmarshal(b, &page) != nil || page.Skip < 0 {
			return sdk.ListResponse{}, sdk.FieldError("page_token", "is not a token this plugin issued", "start again without a page token")
		}
	} else {
		page.Before = time.Now().UnixMilli()
		if !req.CreatedBefore.IsZero() {
			page.Before = req.CreatedBefore.UnixMilli()
		}
	}
	size := req.PageSize
	if size <= 0 {
		size = 100
	}
	lr := jobs.ListRunsRequest{RunType: jobs.RunTypeSubmitRun, ExpandTasks: true, Limit: 25, StartTimeTo: page.Before}
	if !req.CreatedAfter.IsZero() {
		lr.StartTimeFrom = req.CreatedAfter.UnixMilli()
	}
	if active, done := statesWanted(req.States); active && !done {
		lr.ActiveOnly = true
	} else if done && !active {
		lr.CompletedOnly = true
	}
	var resp sdk.ListResponse
	matched := 0
	it := ws.jobs.ListRuns(ctx, lr)
	for it.HasNext(ctx) {
		r, err := it.Next(ctx)
		if err != nil {
			return sdk.ListResponse{}, p.settings().wrap(err, "listing runs")
		}
		if t := ourTask(r.Tasks); t == nil || !strings.HasPrefix(t.Description, descriptionPrefix) {
			continue
		}
		st := jobStatus(&r)
		if !req.Matches(st) {
			continue
		}
		matched++
		if matched <= page.Skip {
			continue
		}
		if len(resp.Jobs) == size {
			next, _ := json.Marshal(listPage{Skip: page.Skip + size, Before: page.Before})
			resp.NextPageToken = base64.RawURLEncoding.EncodeToString(next)
			break
		}
		resp.Jobs = append(resp.Jobs, st)
	}
	return resp, nil
}

// statesWanted says whether a state filter asks for active runs, finished
// runs, or both (an empty filter asks for both).
func statesWanted(states []sdk.State) (active, done bool) {
	if len(states) == 0 {
		return true, true
	}
	for _, s := range states {
		if s.Terminal() {
			done = true
		} else {
			active = true
		}
	}
	return active, done
}
