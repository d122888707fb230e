package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/neural-dsl/neural-host/sdk"
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

// maxLine bounds one log entry; longer lines are split.
const maxLine = 64 << 10

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
	s := p.settings()
	for {
		r, err := p.getRun(ctx, ws, n)
		if err != nil {
			return err
		}
		st, _, _ := runState(r.Status, r.State)
		task := ourTask(r.Tasks)
		target, delivered := logTarget(task)
		if src == "" {
			src = sourceOutput
			if req.Follow && task != nil && task.NewCluster != nil && task.NewCluster.ClusterLogConf != nil {
				src = sourceDriver
			}
		}
		if src == sourceDriver {
			if delivered {
				if pos, err = p.sendDriverLog(ctx, ws, target, pos, st.Terminal(), fn); err != nil {
					return err
				}
			}
			if st.Terminal() {
				if pos > 0 {
					return nil
				}
				// Nothing was delivered: the task output has it all.
				src = sourceOutput
			}
		}
		if src == sourceOutput && (st.Terminal() || !req.Follow) {
			return p.sendOutput(ctx, ws, task, pos, fn)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.pollInterval):
		}
	}
}

// sendOutput sends the task output from line skip on.
func (p *Platform) sendOutput(ctx context.Context, ws *workspace, task *jobs.RunTask, skip int64, fn sdk.LogFunc) error {
	if task == nil || task.RunId == 0 {
		return nil
	}
	out, err := ws.jobs.GetRunOutput(ctx, jobs.GetRunOutputRequest{RunId: task.RunId})
	if notFound(err) {
		return nil
	}
	if err != nil {
		return p.settings().wrap(err, fmt.Sprintf("output of task run %d", task.RunId))
	}
	text := strings.TrimSuffix(out.Logs, "\n")
	if text == "" {
		return nil
	}
	if out.LogsTruncated && skip == 0 {
		if err := fn(sdk.LogEntry{Source: "output", Line: truncatedNotice, Cursor: sourceOutput + ":0", Truncated: true}); err != nil {
			return err
		}
	}
	for i, line := range strings.Split(text, "\n") {
		if int64(i) < skip {
			continue
		}
		if err := fn(sdk.LogEntry{Source: "output", Line: strings.TrimSuffix(line, "\r"), Cursor: sourceOutput + ":" + strconv.Itoa(i+1)}); err != nil {
			return err
		}
	}
	return nil
}

// sendDriverLog sends the complete lines of the delivered driver log after
// byte pos, and a trailing partial line too when final. It returns the new
// position.
func (p *Platform) sendDriverLog(ctx context.Context, ws *workspace, target location, pos int64, final bool, fn sdk.LogFunc) (int64, error) {
	for {
		chunk, err := ws.readFrom(ctx, target, pos, blockSize)
		if notFound(err) {
			return pos, nil
		}
		if err != nil {
			return pos, p.settings().wrap(err, "reading the driver log "+target.String())
		}
		rest := chunk
		for len(rest) > 0 {
			i := bytes.IndexByte(rest, '\n')
			var line []byte
			switch {
			case i >= 0 && i <= maxLine:
				line, rest = rest[:i], rest[i+1:]
				pos += int64(i + 1)
			case i < 0 && len(rest) <= maxLine && !(final && len(chunk) < blockSize):
				// A partial line: wait for the rest of it.
				rest = nil
				continue
			default:
				k := min(len(rest), maxLine)
				line, rest = rest[:k], rest[k:]
				pos += int64(k)
			}
			if err := fn(sdk.LogEntry{Source: "driver", Line: strings.TrimSuffix(string(line), "\r"), Cursor: sourceDriver + ":" + strconv.FormatInt(pos, 10)}); err != nil {
				return pos, err
			}
		}
		if len(chunk) < blockSize {
			return pos, nil
		}
	}
}
