// Package hello holds what the hello-world plugin and host share.
package hello

import goplugin "github.com/hashicorp/go-plugin"

// Handshake is the hello-world pair's handshake.
var Handshake = goplugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "HELLO_PLUGIN", MagicCookieValue: "hello"}
