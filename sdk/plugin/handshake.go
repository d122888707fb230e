package plugin

import (
	"context"

	"github.com/hashicorp/go-hclog"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/internal/wire"
	"google.golang.org/grpc"
)

// Handshake is shared by the host and every plugin. The cookie only keeps a
// user from running a plugin binary by hand; it is not a security measure.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  sdk.ProtocolVersion,
	MagicCookieKey:   "NEURAL_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "b1f0c9a4e3d24a36a8cd7f4d9d1e2c58",
}

// MaxMessageSize bounds one gRPC message in either direction.
const MaxMessageSize = 256 << 20

// pluginName is the single go-plugin plugin every binary serves.
const pluginName = "platform"

// grpcPlugin adapts an sdk.Platform to go-plugin.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl sdk.Platform
	log  hclog.Logger
}

var _ goplugin.GRPCPlugin = (*grpcPlugin)(nil)

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	wire.Register(s, p.impl, p.log)
	return nil
}

func (p *grpcPlugin) GRPCClient(ctx context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (interface{}, error) {
	return wire.NewClient(ctx, conn)
}

func pluginSets(impl sdk.Platform, log hclog.Logger) map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{sdk.ProtocolVersion: {pluginName: &grpcPlugin{impl: impl, log: log}}}
}
