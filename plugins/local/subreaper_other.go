//go:build !linux

package main

// becomeSubreaper is Linux-only; elsewhere orphans go to init as usual.
func becomeSubreaper() {}
