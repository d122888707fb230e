package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/logtail"
)

// A log cursor names its source and a position in it:
//
//	o:N  after line N of the task run's output (runs/get-output "logs")
//	d:N  after byte N of the driver's stdout delivered to the cluster log
//	     destination (<destination>/<cluster-id>/driver/stdout)
const (
	sourceOutput = "o"
	sourceDriver = "d"
)

// truncatedNotice precedes output that Databricks cut to its last 5 MB.
const truncatedNotice = "[databricks kept only the last 5 MB of this task's output; earlier lines were dropped]"

func parseCursor(c string) (string, int64, error) {
	if c == "" {
		return "", 0, nil
	}
	src, pos, ok := strings.Cut(c, ":")
	n, err := strconv.ParseInt(pos, 10, 64)
	if !ok || err != nil || n < 0 || (src != sourceOutput && src != sourceDriver) {
		return "", 0, sdk.FieldError("cursor", fmt.Sprintf("%q is not a cursor of a Databricks job", clip(c)), "use a cursor printed with the logs, or omit it")
	}
	return src, n, nil
}

// logTarget is where a run's driver logs are delivered; zero when nowhere.
func logTarget(t *jobs.RunTask) (location, bool) {
	if t == nil || t.NewCluster == nil || t.NewCluster.ClusterLogConf == nil || t.ClusterInstance == nil || t.ClusterInstance.ClusterId == "" {
		return location{}, false
	}
	conf := t.NewCluster.ClusterLogConf
	var dest string
	switch {
	case conf.Dbfs != nil:
		dest = conf.Dbfs.Destination
	case conf.Volumes != nil:
		dest = conf.Volumes.Destination
	}
	l, err := parseLocation(dest)
	if err != nil {
		return location{}, false
	}
	return l.join(t.ClusterInstance.ClusterId, "driver", "stdout"), true
}

// Logs sends the task run's output. Following, it tails the driver log the
// cluster delivers to the staging directory while the run goes on, and
// falls back to the task output when none was delivered.
func (p *Platform) Logs(ctx context.Context, req sdk.LogsRequest, fn sdk.LogFunc) error {
	n, err := runID(req.ID)
	if err != nil {
		return err
	}
	src, pos, err := parseCursor(req.Cursor)
	if err != nil {
		return err
	}
	ws, err := p.client()
	if err != nil {
		return err
	}
	var task *jobs.RunTask
	ended := false
	terminal := func(ctx context.Context) (bool, error) {
		r, err := p.getRun(ctx, ws, n)
		if err != nil {
			return false, err
		}
		st, _, _ := runState(r.Status, r.State)
		task, ended = ourTask(r.Tasks), st.Terminal()
		if src == "" {
			src = sourceOutput
			if req.Follow && task != nil && task.NewCluster != nil && task.NewCluster.ClusterLogConf != nil {
				src = sourceDriver
			}
		}
		return ended, nil
	}
	pass := func(ctx context.Context, _ bool) (bool, error) {
		before := pos
		var err error
		if src == sourceDriver {
			if target, delivered := logTarget(task); delivered {
				pos, err = p.sendDriverLog(ctx, ws, target, pos, ended, fn)
				if err != nil || pos != before {
					return pos != before, err
				}
			}
			if !ended || pos > 0 {
				return false, nil
			}
			// Nothing was delivered: the task output has it all.
			src = sourceOutput
		}
		// The task output is complete only once the run has ended.
		if !ended && req.Follow {
			return false, nil
		}
		pos, err = p.sendOutput(ctx, ws, task, pos, fn)
		return pos != before, err
	}
	return logtail.Loop{Follow: req.Follow, Interval: p.settings().pollInterval, Terminal: terminal, Pass: pass}.Run(ctx)
}

// sendOutput sends the task output from line skip on, and returns the
// number of lines sent or skipped.
func (p *Platform) sendOutput(ctx context.Context, ws *workspace, task *jobs.RunTask, skip int64, fn sdk.LogFunc) (int64, error) {
	if task == nil || task.RunId == 0 {
		return skip, nil
	}
	out, err := ws.jobs.GetRunOutput(ctx, jobs.GetRunOutputRequest{RunId: task.RunId})
	if notFound(err) {
		return skip, nil
	}
	if err != nil {
		return skip, p.settings().wrap(err, fmt.Sprintf("output of task run %d", task.RunId))
	}
	text := strings.TrimSuffix(out.Logs, "\n")
	if text == "" {
		return skip, nil
	}
	if out.LogsTruncated && skip == 0 {
		if err := fn(sdk.LogEntry{Source: "output", Line: truncatedNotice, Cursor: sourceOutput + ":0", Truncated: true}); err != nil {
			return skip, err
		}
	}
	pos := skip
	for i, line := range strings.Split(text, "\n") {
		if int64(i) < skip {
			continue
		}
		if err := fn(sdk.LogEntry{Source: "output", Line: strings.TrimSuffix(line, "\r"), Cursor: sourceOutput + ":" + strconv.Itoa(i+1)}); err != nil {
			return pos, err
		}
		pos = int64(i + 1)
	}
	return pos, nil
}

// sendDriverLog sends the complete lines of the delivered driver log after
// byte pos, and a trailing partial line too when final. It returns the new
// position.
func (p *Platform) sendDriverLog(ctx context.Context, ws *workspace, target location, pos int64, final bool, fn sdk.LogFunc) (int64, error) {
	tail := logtail.Tailer{Block: blockSize, ReadAt: func(ctx context.Context, off int64, n int) ([]byte, error) {
		chunk, err := ws.readFrom(ctx, target, off, int64(n))
		if notFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, p.settings().wrap(err, "reading the driver log "+target.String())
		}
		return chunk, nil
	}}
	return tail.Tail(ctx, pos, final, func(line string, next int64) error {
		return fn(sdk.LogEntry{Source: "driver", Line: line, Cursor: sourceDriver + ":" + strconv.FormatInt(next, 10)})
	})
}
