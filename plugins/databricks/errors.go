package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/retries"
	"github.com/neural-dsl/neural-host/sdk"
)

// authHint says what to set when the workspace or credentials are missing.
const authHint = "set DATABRICKS_HOST and DATABRICKS_TOKEN, or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET for OAuth M2M, or DATABRICKS_CONFIG_PROFILE to a profile in ~/.databrickscfg"

// scrub removes secrets from a message: those given as settings and those
// the SDK would read from the environment or the config file.
func (s settings) scrub(msg string) string {
	r := s.resolved()
	for _, secret := range []string{s.token, s.clientSecret, r.Token, r.ClientSecret, r.Password} {
		if len(secret) >= 4 {
			msg = strings.ReplaceAll(msg, secret, "***")
		}
	}
	return msg
}

// authError explains a failure to resolve the workspace or credentials.
func (s settings) authError(err error) error {
	return &sdk.Error{Kind: sdk.ErrUnauthenticated, Message: "databricks: " + s.scrub(err.Error()), Hint: authHint}
}

// wrap maps an SDK or transport error onto the sdk error kinds, with a hint.
// what names the operation for the message.
func (s settings) wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var se *sdk.Error
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		var timedOut *retries.ErrTimedOut
		if !errors.As(err, &timedOut) {
			return err
		}
	}
	msg := fmt.Sprintf("databricks: %s: %s", what, s.scrub(err.Error()))
	var apiErr *apierr.APIError
	if errors.As(err, &apiErr) {
		switch {
		case errors.Is(err, apierr.ErrUnauthenticated), strings.Contains(apiErr.Message, "Invalid access token"):
			// Workspaces answer a bad token with 403 "Invalid access token".
			return &sdk.Error{Kind: sdk.ErrUnauthenticated, Message: msg, Hint: "the workspace rejected the credentials; " + authHint}
		case errors.Is(err, apierr.ErrPermissionDenied):
			return &sdk.Error{Kind: sdk.ErrPermissionDenied, Message: msg, Hint: "ask a workspace admin for access, or use credentials that have it"}
		case errors.Is(err, apierr.ErrNotFound):
			return &sdk.Error{Kind: sdk.ErrNotFound, Message: msg}
		case errors.Is(err, apierr.ErrTooManyRequests):
			return &sdk.Error{Kind: sdk.ErrRateLimited, Message: msg, Hint: "the workspace is throttling requests; wait and retry, or lower rate_limit"}
		case errors.Is(err, apierr.ErrResourceConflict):
			return &sdk.Error{Kind: sdk.ErrConflict, Message: msg}
		case errors.Is(err, apierr.ErrTemporarilyUnavailable), errors.Is(err, apierr.ErrDeadlineExceeded), errors.Is(err, apierr.ErrInternalError):
			return &sdk.Error{Kind: sdk.ErrUnavailable, Message: msg, Hint: "the workspace is unavailable; retry later"}
		case errors.Is(err, apierr.ErrNotImplemented):
			return &sdk.Error{Kind: sdk.ErrUnsupported, Message: msg, Hint: "this workspace does not offer the feature; check its tier and enabled previews"}
		case errors.Is(err, apierr.ErrBadRequest):
			return &sdk.Error{Kind: sdk.ErrInvalidArgument, Message: msg}
		}
		return &sdk.Error{Message: msg}
	}
	if strings.Contains(msg, "default auth") || errors.Is(err, config.ErrNoHostConfigured) {
		return s.authError(err)
	}
	var ue *url.Error
	var ne net.Error
	var timedOut *retries.ErrTimedOut
	if errors.As(err, &ue) || errors.As(err, &ne) || errors.As(err, &timedOut) {
		return &sdk.Error{Kind: sdk.ErrUnavailable, Message: msg, Hint: "check the network path to the workspace (host, endpoint, proxy) and retry"}
	}
	return errors.New(msg)
}

// notFound reports whether err means the resource does not exist.
func notFound(err error) bool {
	return errors.Is(err, apierr.ErrNotFound) || errors.Is(err, sdk.ErrNotFound)
}
