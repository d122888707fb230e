// Package sdk is the contract between neural-host and a platform plugin.
//
// A plugin author implements Platform (and, where the platform has them, the
// optional FileTransfer, Deployer, UsageReporter and PriceCatalog interfaces)
// and hands it to plugin.Serve. The host talks to the same interfaces through
// a gRPC client, so both sides see only the Go types in this package; the
// wire format is generated code internal to the SDK.
//
// The package does not reach any platform, resolve credentials or retry
// requests: those are the job of each platform's own SDK inside the plugin.
// It does ship what every plugin would otherwise rewrite: job-spec validation,
// typed errors that survive the process boundary, the job bundle (package
// bundle) and the runner for Neural DSL jobs (package runner).
package sdk

// Version is the version of this SDK, reported by every plugin built with it.
const Version = "0.1.0"

// ProtocolVersion is the plugin protocol this SDK speaks. It changes only
// when the wire contract changes incompatibly.
const ProtocolVersion = 1
