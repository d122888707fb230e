// Package plugin runs a platform plugin and connects to one.
//
// A plugin's main calls Serve with its sdk.Platform. The host calls Launch
// to start a plugin binary (or Reattach to one started for debugging) and
// gets back a Conn that implements every sdk interface over gRPC.
//
// The package fixes the handshake, the protocol version, gRPC message limits
// and logging, so that every plugin and the host agree on them. It does not
// find, install or verify plugin binaries; that is the host's job.
package plugin
