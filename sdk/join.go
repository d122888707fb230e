package sdk

import (
	"errors"
	"strings"
)

// joinedErrors is errors.Join with one problem per line and errors.As
// reaching the first *Error.
type joinedErrors []error

func joinErrors(errs []error) error { return joinedErrors(errs) }

func (j joinedErrors) Error() string {
	parts := make([]string, len(j))
	for i, e := range j {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

func (j joinedErrors) Unwrap() []error { return j }

// Problems splits an error made by Validate back into its parts.
func Problems(err error) []error {
	var j joinedErrors
	if errors.As(err, &j) {
		return j
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
