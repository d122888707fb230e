package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/neural-dsl/neural-host/host/internal/discovery"
	"github.com/neural-dsl/neural-host/host/internal/launcher"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
)

// Exit codes, documented in docs/exit-codes.md.
const (
	ExitOK          = 0
	ExitError       = 1 // an unexpected failure on this machine
	ExitUsage       = 2 // bad input: nothing was sent to a platform
	ExitPlatform    = 3 // the platform or its plugin failed or refused
	ExitJobFailed   = 4 // a waited-for job ended failed
	ExitJobCanceled = 5 // a waited-for job ended cancelled
	ExitTimeout     = 6 // waiting timed out; the job goes on
	// A signal ends a command with 128 plus its number, as a shell
	// reports a command the signal killed.
	ExitInterrupted = 130 // SIGINT (Ctrl-C)
	ExitTerminated  = 143 // SIGTERM
)

type usageErr struct{ msg string }

func (e *usageErr) Error() string { return e.msg }
func (e *usageErr) Unwrap() error { return sdk.ErrInvalidArgument }

func usageError(msg string) error { return &usageErr{msg: msg} }

// jobEndError reports a waited-for job that did not succeed.
type jobEndError struct {
	ref   string
	state sdk.State
	why   string
}

func (e *jobEndError) Error() string {
	msg := fmt.Sprintf("job %s ended %s", e.ref, e.state)
	if e.why != "" {
		msg += ": " + e.why
	}
	return msg
}

type timeoutError struct{ refs []string }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("timed out waiting for %s; the job keeps running", strings.Join(e.refs, ", "))
}

func exitCode(err error, interrupted bool) int {
	var (
		ue  *usageErr
		je  *jobEndError
		te  *timeoutError
		nie *discovery.NotInstalledError
		se  *sdk.Error
		ce  *launcher.CrashError
		ke  *launcher.ChecksumError
		me  *mirrorChecksumError
		cf  *conformanceFailed
	)
	switch {
	case interrupted && (errors.Is(err, context.Canceled) || errors.Is(err, errInterrupted)):
		return ExitInterrupted
	case errors.As(err, &je):
		if je.state == sdk.StateCancelled {
			return ExitJobCanceled
		}
		return ExitJobFailed
	case errors.As(err, &te):
		return ExitTimeout
	case errors.As(err, &ce), errors.As(err, &ke), errors.As(err, &me), errors.As(err, &cf):
		return ExitPlatform
	case errors.As(err, &ue), errors.As(err, &nie), errors.Is(err, sdk.ErrInvalidArgument), errors.Is(err, sdk.ErrUnsupported):
		return ExitUsage
	case errors.As(err, &se):
		return ExitPlatform
	}
	return ExitError
}

func kindName(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{sdk.ErrInvalidArgument, "invalid_argument"}, {sdk.ErrNotFound, "not_found"}, {sdk.ErrUnauthenticated, "unauthenticated"},
		{sdk.ErrUnsupported, "unsupported"}, {sdk.ErrRateLimited, "rate_limited"}, {sdk.ErrConflict, "conflict"},
		{sdk.ErrPermissionDenied, "permission_denied"}, {sdk.ErrUnavailable, "unavailable"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	var (
		je  *jobEndError
		te  *timeoutError
		ce  *launcher.CrashError
		nie *discovery.NotInstalledError
		ke  *launcher.ChecksumError
	)
	switch {
	case errors.As(err, &je):
		return "job_" + string(je.state)
	case errors.As(err, &te):
		return "timeout"
	case errors.As(err, &ce):
		return "plugin_crashed"
	case errors.As(err, &nie):
		return "not_installed"
	case errors.As(err, &ke):
		return "checksum_mismatch"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	}
	return "error"
}

func printError(w io.Writer, format output.Format, err error, code int, interrupted bool, secrets []string) {
	redact := func(s string) string {
		for _, sec := range secrets {
			if len(sec) >= 4 {
				s = strings.ReplaceAll(s, sec, "***")
			}
		}
		return s
	}
	if code == ExitInterrupted || code == ExitTerminated {
		err = errors.New("interrupted; any job already submitted keeps running (stop it with 'neural-host job cancel REF')")
	}
	if format == output.JSON {
		body := output.ErrorBody{Kind: kindName(err), Message: redact(err.Error()), ExitCode: code, Problems: []output.Problem{}}
		for i, problem := range flatten(err) {
			pr := output.Problem{Message: redact(problem.Error())}
			var se *sdk.Error
			if errors.As(problem, &se) {
				pr = output.Problem{Field: se.Field, Message: redact(se.Message), Hint: redact(se.Hint)}
			} else if h := hintOf(problem); h != "" {
				pr.Hint = h
			}
			if i == 0 {
				body.Field, body.Hint = pr.Field, pr.Hint
			}
			body.Problems = append(body.Problems, pr)
		}
		p := output.Printer{Out: w}
		_ = p.JSON(output.Error{Error: body})
		return
	}
	for _, problem := range flatten(err) {
		var se *sdk.Error
		if errors.As(problem, &se) && se.Hint != "" {
			msg := se.Message
			if se.Field != "" {
				msg = se.Field + ": " + msg
			}
			fmt.Fprintf(w, "error: %s\n  hint: %s\n", output.EscapeText(redact(msg)), output.EscapeText(redact(se.Hint)))
			continue
		}
		if h := hintOf(problem); h != "" {
			fmt.Fprintf(w, "error: %s\n  hint: %s\n", output.EscapeText(redact(problem.Error())), output.EscapeText(redact(h)))
			continue
		}
		fmt.Fprintf(w, "error: %s\n", output.EscapeText(redact(problem.Error())))
	}
}

// hinter is an error that knows how the user can recover.
type hinter interface{ Hint() string }

func hintOf(err error) string {
	var h hinter
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

// flatten splits joined errors into their parts.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
