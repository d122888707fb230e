package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2/apierror"
	"github.com/neural-dsl/neural-host/sdk"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// apiError turns an error from a Google client into an *sdk.Error of the
// matching kind. what names the operation; notFoundHint is the hint for a
// missing resource. Errors that already are *sdk.Error, and context
// errors, pass through.
func apiError(err error, what, notFoundHint string) error {
	if err == nil {
		return nil
	}
	var se *sdk.Error
	if errors.As(err, &se) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, storage.ErrObjectNotExist) || errors.Is(err, storage.ErrBucketNotExist) {
		return &sdk.Error{Kind: sdk.ErrNotFound, Message: what + ": " + err.Error(), Hint: notFoundHint}
	}
	code, msg, reason := errorCode(err)
	// A call cut short by the caller's context says so in its status.
	switch {
	case code == codes.Canceled:
		return fmt.Errorf("vertex: %s: %w", what, context.Canceled)
	case code == codes.DeadlineExceeded && msg == context.DeadlineExceeded.Error():
		return fmt.Errorf("vertex: %s: %w", what, context.DeadlineExceeded)
	}
	e := &sdk.Error{Message: what + ": " + msg}
	switch code {
	case codes.NotFound:
		e.Kind, e.Hint = sdk.ErrNotFound, notFoundHint
	case codes.AlreadyExists, codes.Aborted, codes.FailedPrecondition:
		e.Kind = sdk.ErrConflict
	case codes.PermissionDenied:
		e.Kind, e.Hint = sdk.ErrPermissionDenied, "grant the caller roles/aiplatform.user on the project, and roles/storage.objectAdmin on the staging bucket"
		if reason == "SERVICE_DISABLED" {
			e.Hint = "enable the API: gcloud services enable aiplatform.googleapis.com logging.googleapis.com storage.googleapis.com"
		}
	case codes.Unauthenticated:
		e.Kind, e.Hint = sdk.ErrUnauthenticated, hintLogin
	case codes.ResourceExhausted:
		e.Kind, e.Hint = sdk.ErrRateLimited, "a quota or rate limit is exhausted: retry later, or raise the quota under IAM & Admin > Quotas for this region"
	case codes.Unavailable, codes.DeadlineExceeded, codes.Internal:
		e.Kind, e.Hint = sdk.ErrUnavailable, "the service did not answer; retry, and check the endpoint settings if this persists"
	case codes.InvalidArgument, codes.OutOfRange:
		e.Kind, e.Hint = sdk.ErrInvalidArgument, "the platform rejected the request; 'neural-host job plan' shows what is sent"
	case codes.Unimplemented:
		e.Kind = sdk.ErrUnsupported
	}
	return e
}

// errorCode reads the gRPC code, message and reason of an error from either
// transport; HTTP statuses become their gRPC equivalents.
func errorCode(err error) (codes.Code, string, string) {
	reason := ""
	if ae, ok := apierror.FromError(err); ok {
		reason = ae.Reason()
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		msg := ge.Message
		if msg == "" {
			msg = http.StatusText(ge.Code)
		}
		return httpCode(ge.Code), msg, reason
	}
	if st, ok := status.FromError(err); ok {
		return st.Code(), st.Message(), reason
	}
	return codes.Unknown, err.Error(), reason
}

func httpCode(c int) codes.Code {
	switch c {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusConflict:
		return codes.AlreadyExists
	case http.StatusPreconditionFailed:
		return codes.FailedPrecondition
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusInternalServerError:
		return codes.Unavailable
	}
	return codes.Unknown
}

// isCode reports whether err carries one of the gRPC codes.
func isCode(err error, cs ...codes.Code) bool {
	c, _, _ := errorCode(err)
	for _, want := range cs {
		if c == want {
			return true
		}
	}
	return false
}
