// Package flock serialises neural-host processes that change the same
// directory, with an advisory lock on the directory itself.
package flock

import (
	"os"
	"syscall"
)

// Dir blocks until it holds an exclusive lock on dir, and returns the func
// that releases it. The lock also ends when the process does.
func Dir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
