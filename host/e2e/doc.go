// Package e2e tests neural-host end to end: real binaries of the host and
// the local plugin, built once per test run, driven as a user would drive
// them. It has no non-test code.
package e2e
