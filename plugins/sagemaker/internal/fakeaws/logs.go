package fakeaws

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Logs is the CloudWatch Logs stand-in: groups of streams of events.
type Logs struct {
	env    *Env
	mu     sync.Mutex
	groups map[string]map[string]*logStream
}

type logStream struct {
	name    string
	created int64
	events  []logEvent
}

type logEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

func newLogs(e *Env) *Logs { return &Logs{env: e, groups: map[string]map[string]*logStream{}} }

// Append adds a line to a stream, creating the group and stream as
// SageMaker does when a host starts. Events keep time order.
func (l *Logs) Append(group, stream string, t time.Time, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stream(group, stream)
	ts := t.UnixMilli()
	if n := len(s.events); n > 0 && s.events[n-1].Timestamp > ts {
		ts = s.events[n-1].Timestamp
	}
	s.events = append(s.events, logEvent{Timestamp: ts, Message: msg, IngestionTime: time.Now().UnixMilli()})
}

// CreateStream makes an empty stream.
func (l *Logs) CreateStream(group, stream string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stream(group, stream)
}

func (l *Logs) stream(group, name string) *logStream {
	g := l.groups[group]
	if g == nil {
		g = map[string]*logStream{}
		l.groups[group] = g
	}
	s := g[name]
	if s == nil {
		s = &logStream{name: name, created: time.Now().UnixMilli()}
		g[name] = s
	}
	return s
}

func (l *Logs) ops() map[string]handler {
	return map[string]handler{"DescribeLogStreams": l.describeLogStreams, "GetLogEvents": l.getLogEvents}
}

func (l *Logs) group(req map[string]any) (map[string]*logStream, string, *apiError) {
	name, _ := req["logGroupName"].(string)
	id, _ := req["logGroupIdentifier"].(string)
	if (name == "") == (id == "") {
		return nil, "", &apiError{400, "InvalidParameterException", "Exactly one of logGroupName or logGroupIdentifier must be specified"}
	}
	if id != "" {
		name = id[strings.LastIndex(id, ":log-group:")+len(":log-group:"):]
		if !strings.Contains(id, ":log-group:") {
			name = id
		}
	}
	g, ok := l.groups[name]
	if !ok {
		return nil, name, &apiError{400, "ResourceNotFoundException", "The specified log group does not exist."}
	}
	return g, name, nil
}

func (l *Logs) describeLogStreams(req map[string]any, raw []byte) (any, *apiError) {
	var in struct {
		LogStreamNamePrefix string
		OrderBy             string
		Descending          bool
		NextToken           string
		Limit               int
	}
	json.Unmarshal(raw, &in)
	if in.OrderBy == "LastEventTime" && in.LogStreamNamePrefix != "" {
		return nil, &apiError{400, "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix."}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	g, group, aerr := l.group(req)
	if aerr != nil {
		return nil, aerr
	}
	var names []string
	for n := range g {
		if strings.HasPrefix(n, in.LogStreamNamePrefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if in.OrderBy == "LastEventTime" {
		sort.SliceStable(names, func(i, j int) bool { return lastEvent(g[names[i]]) < lastEvent(g[names[j]]) })
	}
	if in.Descending {
		for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
			names[i], names[j] = names[j], names[i]
		}
	}
	start, aerr := pageStart(in.NextToken, len(names))
	if aerr != nil {
		return nil, aerr
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	end := min(start+limit, len(names))
	streams := []map[string]any{}
	for _, n := range names[start:end] {
		s := g[n]
		m := map[string]any{"logStreamName": n, "creationTime": s.created, "storedBytes": 0,
			"arn": fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", l.env.Region, l.env.Account, group, n)}
		if len(s.events) > 0 {
			m["firstEventTimestamp"] = s.events[0].Timestamp
			m["lastEventTimestamp"] = s.events[len(s.events)-1].Timestamp
			m["lastIngestionTime"] = s.events[len(s.events)-1].IngestionTime
		}
		streams = append(streams, m)
	}
	out := map[string]any{"logStreams": streams}
	if end < len(names) {
		out["nextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

func lastEvent(s *logStream) int64 {
	if len(s.events) == 0 {
		return 0
	}
	return s.events[len(s.events)-1].Timestamp
}

func pageStart(token string, n int) (int, *apiError) {
	if token == "" {
		return 0, nil
	}
	i, err := strconv.Atoi(token)
	if err != nil || i < 0 || i > n {
		return 0, &apiError{400, "InvalidParameterException", "The specified nextToken is invalid."}
	}
	return i, nil
}

// getLogEvents pages through a stream. Tokens are f/POS and b/POS, where
// POS is an event index; at the end of a stream the forward token given is
// handed back, as CloudWatch does.
func (l *Logs) getLogEvents(req map[string]any, raw []byte) (any, *apiError) {
	var in struct {
		LogStreamName string
		NextToken     string
		Limit         int
		StartFromHead *bool
		StartTime     *int64
		EndTime       *int64
	}
	json.Unmarshal(raw, &in)
	l.mu.Lock()
	defer l.mu.Unlock()
	g, _, aerr := l.group(req)
	if aerr != nil {
		return nil, aerr
	}
	s, ok := g[in.LogStreamName]
	if !ok {
		return nil, &apiError{400, "ResourceNotFoundException", "The specified log stream does not exist."}
	}
	var events []logEvent
	for _, ev := range s.events {
		if (in.StartTime == nil || ev.Timestamp >= *in.StartTime) && (in.EndTime == nil || ev.Timestamp < *in.EndTime) {
			events = append(events, ev)
		}
	}
	limit := in.Limit
	if limit == 0 {
		limit = 10000
	}
	fromHead := in.StartFromHead != nil && *in.StartFromHead
	var lo, hi int
	switch {
	case strings.HasPrefix(in.NextToken, "f/"):
		pos, err := strconv.Atoi(in.NextToken[2:])
		if err != nil || pos < 0 {
			return nil, &apiError{400, "InvalidParameterException", "The specified nextToken is invalid."}
		}
		lo = min(pos, len(events))
		hi = min(lo+limit, len(events))
	case strings.HasPrefix(in.NextToken, "b/"):
		pos, err := strconv.Atoi(in.NextToken[2:])
		if err != nil || pos < 0 {
			return nil, &apiError{400, "InvalidParameterException", "The specified nextToken is invalid."}
		}
		hi = min(pos, len(events))
		lo = max(hi-limit, 0)
	case in.NextToken != "":
		return nil, &apiError{400, "InvalidParameterException", "The specified nextToken is invalid."}
	case fromHead:
		lo, hi = 0, min(limit, len(events))
	default:
		hi = len(events)
		lo = max(hi-limit, 0)
	}
	page := events[lo:hi]
	if page == nil {
		page = []logEvent{}
	}
	forward := token("f", hi)
	if strings.HasPrefix(in.NextToken, "f/") && lo == hi {
		forward = in.NextToken
	}
	return map[string]any{"events": page, "nextForwardToken": forward, "nextBackwardToken": token("b", lo)}, nil
}

func token(dir string, pos int) string { return fmt.Sprintf("%s/%036d", dir, pos) }
