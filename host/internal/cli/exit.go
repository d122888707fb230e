package cli

import (
	"context"
	"errors"
	"io"

	"github.com/neural-dsl/neural-host/host/internal/discovery"
	"github.com/neural-dsl/neural-host/host/internal/launcher"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/host/internal/wait"
	"github.com/neural-dsl/neural-host/sdk"
)

// Exit codes, documented in docs/exit-codes.md.
const (
	ExitOK          = 0
	ExitError       = 1 // an unexpected failure on this machine
	ExitUsage       = 2 // bad input: nothing was sent to a platform
	ExitPlatform    = 3 // the platform or its plugin failed or refused
	ExitJobFailed   = wait.ExitJobFailed
	ExitJobCanceled = wait.ExitJobCanceled
	ExitTimeout     = wait.ExitTimeout
	// A signal ends a command with 128 plus its number, as a shell
	// reports a command the signal killed.
	ExitInterrupted = 130 // SIGINT (Ctrl-C)
	ExitTerminated  = 143 // SIGTERM
)

type usageErr struct{ msg string }

func (e *usageErr) Error() string { return e.msg }
func (e *usageErr) Unwrap() error { return sdk.ErrInvalidArgument }

func usageError(msg string) error { return &usageErr{msg: msg} }

// exitCoder is an error that knows its exit code, as waiting's do.
type exitCoder interface{ ExitCode() int }

func exitCode(err error, interrupted bool) int {
	var (
		ec  exitCoder
		ue  *usageErr
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
	case errors.As(err, &ec):
		return ec.ExitCode()
	case errors.As(err, &ce), errors.As(err, &ke), errors.As(err, &me), errors.As(err, &cf):
		return ExitPlatform
	case errors.As(err, &ue), errors.As(err, &nie), errors.Is(err, sdk.ErrInvalidArgument), errors.Is(err, sdk.ErrUnsupported):
		return ExitUsage
	case errors.As(err, &se):
		return ExitPlatform
	}
	return ExitError
}

// kinder is an error that names its own kind, as waiting's do.
type kinder interface{ Kind() string }

// kindName is the error's kind in JSON output: the SDK's kinds first, then
// the host's own.
func kindName(err error) string {
	if k, ok := sdk.KindOf(err); ok {
		return k.Name
	}
	var (
		kd  kinder
		ce  *launcher.CrashError
		nie *discovery.NotInstalledError
		ke  *launcher.ChecksumError
	)
	switch {
	case errors.As(err, &kd):
		return kd.Kind()
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

// errorView is err as the user sees it, each joined problem on its own.
func errorView(err error, code int, redact func(string) string) output.Error {
	if code == ExitInterrupted || code == ExitTerminated {
		err = errors.New("interrupted; any job already submitted keeps running (stop it with 'neural-host job cancel REF')")
	}
	body := output.ErrorBody{Kind: kindName(err), Message: redact(err.Error()), ExitCode: code, Problems: []output.Problem{}}
	for i, problem := range flatten(err) {
		field, msg, hint := "", problem.Error(), hintOf(problem)
		var se *sdk.Error
		if errors.As(problem, &se) {
			field, msg, hint = se.Field, se.Message, se.Hint
		}
		pr := output.ProblemOf(field, redact(msg), redact(hint), redact(problem.Error()))
		if i == 0 {
			body.Field, body.Hint = pr.Field, pr.Hint
		}
		body.Problems = append(body.Problems, pr)
	}
	return output.Error{Error: body}
}

// printError writes err to w; redact, when not nil, hides secrets in it.
func printError(w io.Writer, format output.Format, err error, code int, redact func(string) string) {
	if redact == nil {
		redact = func(text string) string { return text }
	}
	p := output.Printer{Format: format, Out: w}
	_ = p.Show(errorView(err, code, redact))
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
