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
