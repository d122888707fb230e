//go:build !linux

package plugin

import "errors"

// awaitExit cannot wait for an exit without reaping here: the caller reaps
// first and kills the group after.
func awaitExit(int) error { return errors.ErrUnsupported }
