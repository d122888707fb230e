// Command hello-host starts hello-plugin, makes one gRPC call and exits:
// the same process shape as one neural-host command, minus neural-host.
//
//	hello-host PLUGIN                      one health check
//	hello-host PLUGIN upload SRC DST       a file's bytes to the plugin
//	hello-host PLUGIN download SRC DST     a file's bytes from the plugin
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/neural-dsl/neural-host/bench/hello"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
)

type plugin struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (plugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error { return nil }

func (plugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return c, nil
}

func main() {
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  hello.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{1: {"hello": plugin{}}},
		Cmd:              exec.Command(os.Args[1]),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		Managed:          true,
		Logger:           hclog.NewNullLogger(),
	})
	defer goplugin.CleanupClients()
	rpc, err := client.Client()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	raw, err := rpc.Dispense("hello")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	conn := raw.(*grpc.ClientConn)
	if len(os.Args) == 5 {
		transfer := map[string]func(context.Context, *grpc.ClientConn, string, string) error{"upload": hello.Upload, "download": hello.Download}[os.Args[2]]
		if transfer == nil {
			fmt.Fprintln(os.Stderr, "hello-host: the transfer is upload or download")
			os.Exit(2)
		}
		if err := transfer(context.Background(), conn, os.Args[3], os.Args[4]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("TRANSFERRED")
		return
	}
	resp, err := grpc_health_v1.NewHealthClient(conn).Check(context.Background(), &grpc_health_v1.HealthCheckRequest{Service: "plugin"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(resp.GetStatus())
}
