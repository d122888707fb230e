package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/neural-dsl/neural-host/sdk"
)

// Error codes AWS services use, grouped by the sdk kind they map to.
var (
	throttleCodes = set("ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
		"SlowDown", "RequestThrottled", "RequestThrottledException", "ProvisionedThroughputExceededException")
	authCodes = set("UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
		"InvalidSignatureException", "SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken",
		"InvalidAccessKeyId", "InvalidToken", "AuthFailure")
	deniedCodes   = set("AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "AuthorizationError", "AllAccessDisabled")
	notFoundCodes = set("ResourceNotFound", "ResourceNotFoundException", "NoSuchKey", "NoSuchBucket", "NotFound", "NoSuchUpload")
	conflictCodes = set("ResourceInUse", "ConflictException", "ResourceAlreadyExistsException", "BucketAlreadyExists",
		"OperationAbortedException")
	invalidCodes = set("ValidationException", "InvalidParameterException", "InvalidParameterValueException",
		"InvalidRequest", "InvalidArgument", "InvalidBucketName", "MissingParameter", "SerializationException")
	unavailableCodes = set("InternalFailure", "InternalServerError", "InternalError", "ServiceUnavailable",
		"ServiceUnavailableException", "ServiceFailure")
)

func set(codes ...string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

// Hints shared by several calls.
const (
	hintCredentials = "check who you are with 'aws sts get-caller-identity'; refresh SSO with 'aws sso login', or set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	hintThrottled   = "AWS is throttling requests; wait and retry, or raise AWS_MAX_ATTEMPTS"
	hintUnavailable = "AWS reported a transient failure; retry shortly"
	hintNetwork     = "check the network, HTTPS_PROXY, and any endpoint override (AWS_ENDPOINT_URL*, platforms.sagemaker.*_endpoint)"
	hintListJobs    = "list jobs with 'neural-host job list --platform sagemaker'"
)

// awsError turns an AWS SDK error into an *sdk.Error with a kind and a hint.
// what says what was being done; notFound is the hint for a missing
// resource. Context errors pass through unchanged.
func awsError(err error, what, notFound string) error {
	if err == nil {
		return nil
	}
	var se *sdk.Error
	if errors.As(err, &se) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code, msg := apiErr.ErrorCode(), apiErr.ErrorMessage()
		text := what + ": " + code
		if msg != "" {
			text += ": " + msg
		}
		switch {
		case throttleCodes[code]:
			return &sdk.Error{Kind: sdk.ErrRateLimited, Message: text, Hint: hintThrottled}
		case code == "ResourceLimitExceeded":
			return &sdk.Error{Kind: sdk.ErrRateLimited, Message: text, Hint: "a SageMaker quota is used up; stop unused jobs or endpoints, or request an increase in Service Quotas"}
		case authCodes[code]:
			return &sdk.Error{Kind: sdk.ErrUnauthenticated, Message: text, Hint: hintCredentials}
		case deniedCodes[code]:
			return &sdk.Error{Kind: sdk.ErrPermissionDenied, Message: text, Hint: "the caller's IAM policy does not allow this call; grant it, or use a role that has it"}
		case notFoundCodes[code] || (code == "ValidationException" && looksNotFound(msg)):
			return &sdk.Error{Kind: sdk.ErrNotFound, Message: text, Hint: notFound}
		case conflictCodes[code] || (code == "ValidationException" && strings.Contains(strings.ToLower(msg), "already exist")):
			return &sdk.Error{Kind: sdk.ErrConflict, Message: text}
		case invalidCodes[code]:
			return &sdk.Error{Kind: sdk.ErrInvalidArgument, Message: text}
		case unavailableCodes[code]:
			return &sdk.Error{Kind: sdk.ErrUnavailable, Message: text, Hint: hintUnavailable}
		}
	}
	var signing *v4.SigningError
	if errors.As(err, &signing) || strings.Contains(err.Error(), "get identity: ") {
		return &sdk.Error{Kind: sdk.ErrUnauthenticated, Message: what + ": no usable AWS credentials: " + rootCause(err), Hint: hintCredentials}
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		switch code := resp.HTTPStatusCode(); {
		case code == 403:
			return &sdk.Error{Kind: sdk.ErrPermissionDenied, Message: fmt.Sprintf("%s: HTTP %d", what, code), Hint: "the caller's IAM policy does not allow this call"}
		case code == 404:
			return &sdk.Error{Kind: sdk.ErrNotFound, Message: fmt.Sprintf("%s: HTTP %d", what, code), Hint: notFound}
		case code == 429:
			return &sdk.Error{Kind: sdk.ErrRateLimited, Message: fmt.Sprintf("%s: HTTP %d", what, code), Hint: hintThrottled}
		case code >= 500:
			return &sdk.Error{Kind: sdk.ErrUnavailable, Message: fmt.Sprintf("%s: HTTP %d", what, code), Hint: hintUnavailable}
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return &sdk.Error{Kind: sdk.ErrUnavailable, Message: what + ": " + rootCause(err), Hint: hintNetwork}
	}
	return fmt.Errorf("sagemaker: %s: %w", what, err)
}

// looksNotFound reports whether a ValidationException says a resource is
// missing: SageMaker answers Describe* of a missing name that way.
func looksNotFound(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "not found") || strings.Contains(m, "could not find") || strings.Contains(m, "does not exist")
}

// isNotFound reports whether err says the resource does not exist.
func isNotFound(err error) bool {
	return errors.Is(awsError(err, "", ""), sdk.ErrNotFound)
}

// rootCause is the innermost error's text, without the SDK's operation
// wrappers.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
