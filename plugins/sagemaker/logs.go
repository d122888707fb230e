package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/logtail"
	"github.com/neural-dsl/neural-host/sdk/result"
)

// logGroup is where SageMaker writes training job output: one stream per
// host, named JOB/algo-N-EPOCH.
const logGroup = "/aws/sagemaker/TrainingJobs"

// logPos is a position in one stream: the page fetched with Token (empty
// is the stream's head) and how many of its events were sent. CloudWatch
// tokens mark pages, not events, so the count makes a cursor exact.
type logPos struct {
	Token string `json:"t,omitempty"`
	Skip  int    `json:"n,omitempty"`
}

// logCursor maps each stream to its position; a stream it lacks is read
// from its head.
type logCursor map[string]logPos

func (c logCursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(s string) (logCursor, error) {
	c := logCursor{}
	if s == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return nil, sdk.FieldError("cursor", "is not a cursor of a sagemaker job's logs", "use a cursor printed by 'neural-host job logs -o json', or omit it")
	}
	return c, nil
}

// Logs merges the job's streams in time order. Following, it reads until
// the job has ended and a pass made a poll interval after the end found
// nothing new, since CloudWatch ingests the last lines with a delay.
func (p *Platform) Logs(ctx context.Context, req sdk.LogsRequest, fn sdk.LogFunc) error {
	if err := checkJobID(req.ID); err != nil {
		return err
	}
	cur, err := parseCursor(req.Cursor)
	if err != nil {
		return err
	}
	c, err := p.regional(ctx)
	if err != nil {
		return err
	}
	s := p.settings()
	return logtail.Loop{
		Follow: req.Follow, Interval: s.pollInterval, Settle: s.pollInterval,
		Terminal: func(ctx context.Context) (bool, error) {
			out, err := p.describe(ctx, c, req.ID)
			if err != nil {
				return false, err
			}
			return stateOf(out.TrainingJobStatus, out.SecondaryStatus).Terminal(), nil
		},
		Pass: func(ctx context.Context, _ bool) (bool, error) {
			return p.logPass(ctx, c, req.ID, cur, s.logPageSize, fn)
		},
	}.Run(ctx)
}

// streamReader reads one stream forward from a position.
type streamReader struct {
	name    string
	pos     logPos
	events  []types.OutputLogEvent // the page at pos.Token
	next    string                 // that page's forward token
	fetched bool
	done    bool // nothing more in this pass
}

// logPass sends everything the job's streams hold after cur, merged by
// time, and advances cur. It reports whether it sent anything.
func (p *Platform) logPass(ctx context.Context, c *clients, id string, cur logCursor, limit int32, fn sdk.LogFunc) (bool, error) {
	names, err := logStreams(ctx, c, id)
	if err != nil {
		return false, err
	}
	readers := make([]*streamReader, len(names))
	for i, n := range names {
		readers[i] = &streamReader{name: n, pos: cur[n]}
	}
	sent := false
	for {
		var best *streamReader
		for _, r := range readers {
			if err := r.fill(ctx, c, limit); err != nil {
				return sent, err
			}
			cur[r.name] = r.pos
			if !r.done && (best == nil || aws.ToInt64(r.head().Timestamp) < aws.ToInt64(best.head().Timestamp)) {
				best = r
			}
		}
		if best == nil {
			return sent, nil
		}
		ev := best.head()
		best.pos.Skip++
		cur[best.name] = best.pos
		entry := sdk.LogEntry{Time: time.UnixMilli(aws.ToInt64(ev.Timestamp)).UTC(), Source: strings.TrimPrefix(best.name, id+"/"),
			Line: strings.TrimRight(aws.ToString(ev.Message), "\r\n"), Cursor: cur.String()}
		if err := fn(entry); err != nil {
			return true, err
		}
		sent = true
	}
}

func (r *streamReader) head() types.OutputLogEvent { return r.events[r.pos.Skip] }

// fill makes head valid, fetching pages as needed, or sets done.
func (r *streamReader) fill(ctx context.Context, c *clients, limit int32) error {
	for !r.done {
		if r.fetched {
			if r.pos.Skip < len(r.events) {
				return nil
			}
			// CloudWatch hands back the token it was given at the end of a
			// stream; an empty page is the end for this pass too.
			if len(r.events) == 0 || r.next == "" || r.next == r.pos.Token {
				r.done = true
				if r.next != "" {
					r.pos = logPos{Token: r.next}
				}
				return nil
			}
			r.pos, r.fetched = logPos{Token: r.next}, false
		}
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(logGroup), LogStreamName: aws.String(r.name), StartFromHead: aws.Bool(true)}
		if r.pos.Token != "" {
			in.NextToken = aws.String(r.pos.Token)
		}
		if limit > 0 {
			in.Limit = aws.Int32(limit)
		}
		out, err := c.logs.GetLogEvents(ctx, in)
		if isNotFound(err) {
			r.done = true
			return nil
		}
		if err != nil {
			return awsError(err, "reading log stream "+r.name, "")
		}
		r.events, r.next, r.fetched = out.Events, aws.ToString(out.NextForwardToken), true
	}
	return nil
}

// logStreams lists the job's streams, sorted by name. A job that has not
// started has none, and its log group may not exist yet: neither is an
// error.
func logStreams(ctx context.Context, c *clients, id string) ([]string, error) {
	var names []string
	pages := cloudwatchlogs.NewDescribeLogStreamsPaginator(c.logs, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupName: aws.String(logGroup), LogStreamNamePrefix: aws.String(id + "/"),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if isNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, awsError(err, "listing the log streams of "+id, "")
		}
		for _, s := range page.LogStreams {
			names = append(names, aws.ToString(s.LogStreamName))
		}
	}
	sort.Strings(names)
	return names, nil
}

// logTail is the last n lines of the job's output across its streams.
func (p *Platform) logTail(ctx context.Context, c *clients, id string, n int) (string, error) {
	names, err := logStreams(ctx, c, id)
	if err != nil {
		return "", err
	}
	type line struct {
		t    int64
		text string
	}
	var lines []line
	for _, name := range names {
		out, err := c.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(logGroup),
			LogStreamName: aws.String(name), StartFromHead: aws.Bool(false), Limit: aws.Int32(int32(n))})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return "", awsError(err, "reading log stream "+name, "")
		}
		for _, e := range out.Events {
			lines = append(lines, line{aws.ToInt64(e.Timestamp), strings.TrimRight(aws.ToString(e.Message), "\r\n")})
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].t < lines[j].t })
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var texts []string
	size := 0
	for i := len(lines) - 1; i >= 0 && size+len(lines[i].text) < result.ExcerptBytes; i-- {
		texts = append([]string{lines[i].text}, texts...)
		size += len(lines[i].text) + 1
	}
	return strings.Join(texts, "\n"), nil
}
