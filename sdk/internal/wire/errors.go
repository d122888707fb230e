package wire

import (
	"context"
	"errors"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
	pb "github.com/neural-dsl/neural-host/sdk/internal/platformpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// grpcCodes is the gRPC status code of each kind in sdk.ErrorKinds; the
// wire enum value is derived from the kind's name.
var grpcCodes = map[error]codes.Code{
	sdk.ErrNotFound:         codes.NotFound,
	sdk.ErrUnauthenticated:  codes.Unauthenticated,
	sdk.ErrInvalidArgument:  codes.InvalidArgument,
	sdk.ErrUnsupported:      codes.Unimplemented,
	sdk.ErrRateLimited:      codes.ResourceExhausted,
	sdk.ErrConflict:         codes.AlreadyExists,
	sdk.ErrPermissionDenied: codes.PermissionDenied,
	sdk.ErrUnavailable:      codes.Unavailable,
}

type wireKind struct {
	kind error
	pb   pb.ErrorKind
	code codes.Code
}

// errorKinds is sdk.ErrorKinds with each kind's wire enum and status code.
var errorKinds = func() []wireKind {
	out := make([]wireKind, 0, len(sdk.ErrorKinds))
	for _, k := range sdk.ErrorKinds {
		out = append(out, wireKind{kind: k.Err, pb: pb.ErrorKind(pb.ErrorKind_value["ERROR_KIND_"+strings.ToUpper(k.Name)]), code: grpcCodes[k.Err]})
	}
	return out
}()

// toStatusError turns a plugin's error into a gRPC status that carries its
// kind, field and hint.
func toStatusError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	detail := &pb.ErrorDetail{}
	code := codes.Unknown
	msg := err.Error()
	var e *sdk.Error
	if errors.As(err, &e) {
		detail.Field, detail.Hint = e.Field, e.Hint
		msg = e.Message
		if msg == "" && e.Kind != nil {
			msg = e.Kind.Error()
		}
		// A joined validation error keeps every problem in the message.
		if len(sdk.Problems(err)) > 1 {
			msg, detail.Field, detail.Hint = err.Error(), "", ""
		}
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.kind) {
			detail.Kind, code = k.pb, k.code
			break
		}
	}
	// Status travels in HTTP/2 trailers, which have a size limit: an error
	// that quotes a huge input must not break the connection.
	msg, detail.Hint = clip(msg), clip(detail.Hint)
	st, derr := status.New(code, msg).WithDetails(detail)
	if derr != nil {
		return status.Error(code, msg)
	}
	return st.Err()
}

// maxErrorText bounds an error message or hint on the wire.
const maxErrorText = 4 << 10

func clip(s string) string {
	if len(s) <= maxErrorText {
		return s
	}
	return s[:maxErrorText] + "…"
}

// fromStatusError turns a gRPC error back into an *sdk.Error. Transport
// failures, which mean the plugin process is gone or unreachable, come back
// as ErrUnavailable with Transport set.
func fromStatusError(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	}
	out := &sdk.Error{Message: st.Message()}
	found := false
	for _, d := range st.Details() {
		if detail, ok := d.(*pb.ErrorDetail); ok {
			found = true
			out.Field, out.Hint = detail.GetField(), detail.GetHint()
			for _, k := range errorKinds {
				if k.pb == detail.GetKind() {
					out.Kind = k.kind
				}
			}
		}
	}
	if !found {
		// No detail means the status came from gRPC itself, not the plugin.
		for _, k := range errorKinds {
			if k.code == st.Code() {
				out.Kind = k.kind
			}
		}
		if st.Code() == codes.Unavailable || st.Code() == codes.Internal {
			return &TransportError{Err: out}
		}
	}
	return out
}

// TransportError is a call that failed because the plugin could not be
// reached, as when its process died mid-call.
type TransportError struct{ Err error }

func (e *TransportError) Error() string { return "plugin connection lost: " + e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }
