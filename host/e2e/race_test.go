//go:build race

package e2e

func init() { hostBuildFlags = append(hostBuildFlags, "-race") }
