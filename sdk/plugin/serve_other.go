//go:build !linux

package plugin

// keepExecutableFromChildren has nothing to do: the host passes no
// descriptor here (see verifiedExe).
func keepExecutableFromChildren() {}
