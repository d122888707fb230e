package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/neural-dsl/neural-host/sdk"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestAPIErrorKinds(t *testing.T) {
	tests := []struct {
		name string
		err  error
		kind error
	}{
		{"not found", status.Error(codes.NotFound, "gone"), sdk.ErrNotFound},
		{"exists", status.Error(codes.AlreadyExists, "dup"), sdk.ErrConflict},
		{"precondition", status.Error(codes.FailedPrecondition, "busy"), sdk.ErrConflict},
		{"denied", status.Error(codes.PermissionDenied, "no"), sdk.ErrPermissionDenied},
		{"unauthenticated", status.Error(codes.Unauthenticated, "who"), sdk.ErrUnauthenticated},
		{"quota", status.Error(codes.ResourceExhausted, "slow down"), sdk.ErrRateLimited},
		{"unavailable", status.Error(codes.Unavailable, "down"), sdk.ErrUnavailable},
		{"server deadline", status.Error(codes.DeadlineExceeded, "backend took too long"), sdk.ErrUnavailable},
		{"invalid", status.Error(codes.InvalidArgument, "bad"), sdk.ErrInvalidArgument},
		{"unimplemented", status.Error(codes.Unimplemented, "no"), sdk.ErrUnsupported},
		{"http 404", &googleapi.Error{Code: http.StatusNotFound}, sdk.ErrNotFound},
		{"http 403", &googleapi.Error{Code: http.StatusForbidden, Message: "no"}, sdk.ErrPermissionDenied},
		{"http 429", &googleapi.Error{Code: http.StatusTooManyRequests}, sdk.ErrRateLimited},
		{"http 503", fmt.Errorf("wrapped: %w", &googleapi.Error{Code: http.StatusServiceUnavailable}), sdk.ErrUnavailable},
		{"missing object", storage.ErrObjectNotExist, sdk.ErrNotFound},
		{"caller cancelled", status.Error(codes.Canceled, "context canceled"), context.Canceled},
		{"caller's deadline", status.Error(codes.DeadlineExceeded, "context deadline exceeded"), context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := apiError(tt.err, "Op", "the hint")
			if !errors.Is(err, tt.kind) {
				t.Errorf("%v is not %v", err, tt.kind)
			}
			var se *sdk.Error
			if errors.As(err, &se) && tt.kind == sdk.ErrNotFound && se.Hint != "the hint" {
				t.Errorf("hint %q", se.Hint)
			}
		})
	}
	if apiError(nil, "Op", "") != nil {
		t.Error("nil became an error")
	}
}
