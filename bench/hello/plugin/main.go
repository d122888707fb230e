// Command hello-plugin is the smallest go-plugin gRPC plugin, with the same
// go-plugin options as neural-host's plugins. It is the floor that
// neural-host's per-command cost is measured against.
package main

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/neural-dsl/neural-host/bench/hello"
	"google.golang.org/grpc"
)

type plugin struct {
	goplugin.NetRPCUnsupportedPlugin
}

// GRPCServer registers only the stream service of the file-transfer
// floor: the hello-world call goes to the health service that go-plugin
// itself serves, the cheapest real round trip there is.
func (plugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	hello.RegisterStream(s)
	return nil
}

func (plugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, nil
}

func main() {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  hello.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{1: {"hello": plugin{}}},
		GRPCServer:       goplugin.DefaultGRPCServer,
	})
}
