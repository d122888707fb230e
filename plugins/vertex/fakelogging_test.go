package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/logging/apiv2/loggingpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

type loggingServer struct {
	loggingpb.UnimplementedLoggingServiceV2Server
	*fake
}

// logField reads the fields of a log entry a query may name.
func logField(e *loggingpb.LogEntry) fieldGetter {
	return func(field string) (string, bool, bool) {
		switch {
		case field == "timestamp":
			return e.GetTimestamp().AsTime().UTC().Format(time.RFC3339Nano), true, true
		case field == "insertId":
			return e.GetInsertId(), false, true
		case field == "logName":
			return e.GetLogName(), false, true
		case field == "severity":
			return e.GetSeverity().String(), false, true
		case field == "resource.type":
			return e.GetResource().GetType(), false, true
		case field == "textPayload":
			return e.GetTextPayload(), false, e.GetTextPayload() != ""
		case strings.HasPrefix(field, "resource.labels."):
			v, ok := e.GetResource().GetLabels()[strings.TrimPrefix(field, "resource.labels.")]
			return v, false, ok
		case strings.HasPrefix(field, "labels."):
			v, ok := e.GetLabels()[strings.TrimPrefix(field, "labels.")]
			return v, false, ok
		}
		return "", false, false
	}
}

func logFilterField(field, value string) error {
	switch {
	case field == "timestamp":
		if _, err := time.Parse(time.RFC3339Nano, value); err != nil {
			return fmt.Errorf("invalid timestamp %q", value)
		}
		return nil
	case field == "insertId", field == "logName", field == "severity", field == "resource.type", field == "textPayload",
		strings.HasPrefix(field, "resource.labels."), strings.HasPrefix(field, "labels."):
		return nil
	}
	return fmt.Errorf("unknown field %q", field)
}

// ListLogEntries answers entries.list: resource names must name this
// project, page sizes stop at 1000, and entries come ordered by timestamp
// and then insert ID.
func (s *loggingServer) ListLogEntries(ctx context.Context, req *loggingpb.ListLogEntriesRequest) (*loggingpb.ListLogEntriesResponse, error) {
	if _, err := s.begin(ctx, "ListLogEntries", "", ""); err != nil {
		return nil, err
	}
	if len(req.GetResourceNames()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "resource_names: Required field is not set.")
	}
	for _, rn := range req.GetResourceNames() {
		if rn != "projects/"+s.project {
			return nil, status.Errorf(codes.PermissionDenied, "The caller does not have permission to read logs of %s", rn)
		}
	}
	if req.GetPageSize() < 0 || req.GetPageSize() > 1000 {
		return nil, status.Error(codes.InvalidArgument, "page_size must be between 0 and 1000")
	}
	desc := false
	switch req.GetOrderBy() {
	case "", "timestamp asc":
	case "timestamp desc":
		desc = true
	default:
		return nil, status.Errorf(codes.InvalidArgument, "Invalid order_by %q", req.GetOrderBy())
	}
	expr, err := parseFilter(req.GetFilter(), logFilterField)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "Unparseable filter: "+err.Error())
	}
	off, err := pageOffset(req.GetPageToken(), req.GetFilter())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = 50
	}
	s.mu.Lock()
	var match []*loggingpb.LogEntry
	for _, e := range s.logs {
		if expr.eval(logField(e)) {
			match = append(match, e)
		}
	}
	s.mu.Unlock()
	sort.SliceStable(match, func(i, j int) bool {
		a, b := match[i], match[j]
		if c := a.GetTimestamp().AsTime().Compare(b.GetTimestamp().AsTime()); c != 0 {
			return (c < 0) != desc
		}
		return (a.GetInsertId() < b.GetInsertId()) != desc
	})
	resp := &loggingpb.ListLogEntriesResponse{}
	for i := off; i < len(match) && i < off+size; i++ {
		resp.Entries = append(resp.Entries, proto.Clone(match[i]).(*loggingpb.LogEntry))
	}
	if off+size < len(match) {
		resp.NextPageToken = pageToken(req.GetFilter(), off+size)
	}
	return resp, nil
}
