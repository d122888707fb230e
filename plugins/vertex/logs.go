package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/logging"
	"cloud.google.com/go/logging/logadmin"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/logtail"
	"github.com/neural-dsl/neural-host/sdk/result"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// logCursor is a position in a job's log: Cloud Logging orders entries by
// timestamp and then by insert ID, so the pair names one entry.
type logCursor struct {
	at       time.Time
	insertID string
}

func (c logCursor) String() string { return c.at.UTC().Format(time.RFC3339Nano) + "|" + c.insertID }

func parseCursor(s string) (logCursor, error) {
	if s == "" {
		return logCursor{}, nil
	}
	ts, id, ok := strings.Cut(s, "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || id == "" || strings.ContainsAny(id, `"\`) {
		return logCursor{}, sdk.FieldError("cursor", fmt.Sprintf("%q is not a cursor of a Vertex AI job log", s), "use a cursor printed with 'neural-host job logs -o json', or omit it")
	}
	return logCursor{at: t, insertID: id}, nil
}

// logFilter selects a job's entries after cur, or from the job's creation.
func logFilter(jobID string, created time.Time, cur logCursor) string {
	f := `resource.type="ml_job" AND resource.labels.job_id="` + jobID + `"`
	if cur.at.IsZero() {
		// An explicit bound also stops the library from adding its own
		// 24-hour one, which would hide the start of long jobs.
		return f + ` AND timestamp>="` + created.UTC().Format(time.RFC3339Nano) + `"`
	}
	t := cur.at.UTC().Format(time.RFC3339Nano)
	return f + ` AND (timestamp>"` + t + `" OR (timestamp="` + t + `" AND insertId>"` + cur.insertID + `"))`
}

// Logs sends the job's Cloud Logging entries in order. Following, it polls
// until the job is terminal, then waits one more interval for late entries
// and drains them.
func (p *Platform) Logs(ctx context.Context, req sdk.LogsRequest, fn sdk.LogFunc) error {
	cur, err := parseCursor(req.Cursor)
	if err != nil {
		return err
	}
	s, _, job, err := p.getJob(ctx, req.ID)
	if err != nil {
		return err
	}
	_, c := p.current()
	logs, err := c.logClient(s.project)
	if err != nil {
		return err
	}
	id := statusOf(s, job).ID
	created := job.GetCreateTime().AsTime()
	return logtail.Loop{
		Follow: req.Follow, Interval: s.pollInterval,
		// Entries reach Cloud Logging a little after they are written;
		// the last ones get time to arrive.
		Settle: s.pollInterval,
		// Log reads have a low quota; a follower backs off and goes on.
		Transient: func(err error) bool { return errors.Is(err, sdk.ErrRateLimited) || errors.Is(err, sdk.ErrUnavailable) },
		Terminal: func(ctx context.Context) (bool, error) {
			_, _, job, err := p.getJob(ctx, req.ID)
			return stateOf(job.GetState()).Terminal(), err
		},
		Pass: func(ctx context.Context, _ bool) (bool, error) {
			sent, err := sendEntries(ctx, logs, logFilter(id, created, cur), &cur, fn)
			return sent > 0, err
		},
	}.Run(ctx)
}

// sendEntries sends every entry matching filter, advancing cur.
func sendEntries(ctx context.Context, logs *logadmin.Client, filter string, cur *logCursor, fn sdk.LogFunc) (int, error) {
	it := logs.Entries(ctx, logadmin.Filter(filter), logadmin.PageSize(1000))
	sent := 0
	for {
		e, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return sent, nil
		}
		if err != nil {
			return sent, apiError(err, "reading the job's log", "grant the caller roles/logging.viewer on the project")
		}
		*cur = logCursor{at: e.Timestamp, insertID: e.InsertID}
		if err := fn(sdk.LogEntry{Time: e.Timestamp, Source: logSource(e), Line: payloadText(e.Payload), Cursor: cur.String()}); err != nil {
			return sent, err
		}
		sent++
	}
}

// logSource names the replica that wrote an entry, such as workerpool0-0.
func logSource(e *logging.Entry) string {
	if t := e.Resource.GetLabels()["task_name"]; t != "" {
		return t
	}
	return e.LogName[strings.LastIndexByte(e.LogName, '/')+1:]
}

// payloadText renders a payload as one line of text: a JSON payload by its
// message field where it has one.
func payloadText(p any) string {
	switch v := p.(type) {
	case string:
		return strings.TrimRight(v, "\n")
	case *structpb.Struct:
		if m, ok := v.GetFields()["message"]; ok {
			if s, ok := m.GetKind().(*structpb.Value_StringValue); ok {
				return strings.TrimRight(s.StringValue, "\n")
			}
		}
		b, _ := json.Marshal(v.AsMap())
		return string(b)
	case proto.Message:
		return protojson.Format(v)
	case nil:
		return ""
	}
	return fmt.Sprint(p)
}

// excerpt returns the job's last log lines, or "" when they cannot be read.
func (p *Platform) excerpt(ctx context.Context, s settings, job *aiplatformpb.CustomJob) string {
	_, c := p.current()
	logs, err := c.logClient(s.project)
	if err != nil {
		return ""
	}
	filter := logFilter(statusOf(s, job).ID, job.GetCreateTime().AsTime(), logCursor{})
	it := logs.Entries(ctx, logadmin.Filter(filter), logadmin.NewestFirst(), logadmin.PageSize(result.ExcerptLines))
	var lines []string
	for len(lines) < result.ExcerptLines {
		e, err := it.Next()
		if err != nil {
			break
		}
		lines = append(lines, payloadText(e.Payload))
	}
	slices.Reverse(lines)
	return strings.Join(lines, "\n")
}
