// Package plugin runs a platform plugin and connects to one.
//
// A plugin's main calls Serve with its sdk.Platform. The host calls Launch
// to start a plugin binary (or Reattach to one started for debugging) and
// gets back a Conn that implements every sdk interface over gRPC.
//
// The package fixes the handshake, the protocol version, gRPC message limits
// and logging, so that every plugin and the host agree on them. Launch runs a
// binary only if it has the sha256 it is given, hashing the bytes it
// executes, and keeps a plugin's process group from outliving the plugin. It
// does not find or install plugin binaries, nor decide what their sha256
// must be; that is the host's job.
package plugin
