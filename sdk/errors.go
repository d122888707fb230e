package sdk

import (
	"errors"
	"strings"
)

// Sentinel kinds of failure. Errors returned by a plugin keep their kind across
// the process boundary, so the host can test them with errors.Is.
var (
	ErrNotFound         = errors.New("not found")
	ErrUnauthenticated  = errors.New("unauthenticated")
	ErrInvalidArgument  = errors.New("invalid argument")
	ErrUnsupported      = errors.New("unsupported")
	ErrRateLimited      = errors.New("rate limited")
	ErrConflict         = errors.New("conflict")
	ErrPermissionDenied = errors.New("permission denied")
	ErrUnavailable      = errors.New("unavailable")
)

// Error is a failure of a known kind, optionally tied to one input field and
// carrying a hint that tells the user how to fix it.
type Error struct {
	// Kind is one of the Err* sentinels; nil means an unclassified failure.
	Kind error
	// Field names the offending input, such as "resources.gpus"; empty when
	// the failure is not about one field.
	Field string
	// Message says what went wrong. It must never contain a secret.
	Message string
	// Hint says how to fix it; empty when there is nothing useful to say.
	Hint string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Message == "" && e.Kind != nil {
		b.WriteString(e.Kind.Error())
	}
	if e.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of the given kind.
func Errorf(kind error, msg string) *Error { return &Error{Kind: kind, Message: msg} }

// FieldError returns an invalid-argument error for one field of the input.
func FieldError(field, msg, hint string) *Error {
	return &Error{Kind: ErrInvalidArgument, Field: field, Message: msg, Hint: hint}
}

// WithHint returns a copy of err's *Error with hint set, or wraps a plain
// error as an unclassified *Error with that hint.
func WithHint(err error, hint string) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Hint = hint
		return &c
	}
	return &Error{Message: err.Error(), Hint: hint}
}

// ErrorKind describes one of the Err* sentinels for everything that must
// treat kinds alike: the wire encoding on both sides, the host's JSON error
// kinds and its decision whether a failed submit may have started a job.
type ErrorKind struct {
	// Err is the sentinel.
	Err error
	// Name is the kind's stable name in JSON output and on the wire
	// (ERROR_KIND_ + its upper case).
	Name string
	// Refusal is true when an error of this kind means the platform
	// answered and started nothing; false (unavailable) when the call may
	// have been cut off after the platform acted.
	Refusal bool
	// Transient is true when the same call may succeed if tried again.
	Transient bool
}

// ErrorKinds lists every kind of failure, in wire-enum order.
var ErrorKinds = []ErrorKind{
	{Err: ErrNotFound, Name: "not_found", Refusal: true},
	{Err: ErrUnauthenticated, Name: "unauthenticated", Refusal: true},
	{Err: ErrInvalidArgument, Name: "invalid_argument", Refusal: true},
	{Err: ErrUnsupported, Name: "unsupported", Refusal: true},
	{Err: ErrRateLimited, Name: "rate_limited", Refusal: true, Transient: true},
	{Err: ErrConflict, Name: "conflict", Refusal: true},
	{Err: ErrPermissionDenied, Name: "permission_denied", Refusal: true},
	{Err: ErrUnavailable, Name: "unavailable", Transient: true},
}

// KindOf returns the kind err is of, and false for an unclassified error.
func KindOf(err error) (ErrorKind, bool) {
	for _, k := range ErrorKinds {
		if errors.Is(err, k.Err) {
			return k, true
		}
	}
	return ErrorKind{}, false
}
