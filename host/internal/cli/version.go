package cli

import (
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the host's version and the plugin protocol it speaks",
		Action: func(c *cli.Context) error {
			s := sess(c)
			return s.out.Show(output.Version{Version: s.version, ProtocolVersion: sdk.ProtocolVersion, SDKVersion: sdk.Version})
		},
	}
}
