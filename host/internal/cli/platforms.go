package cli

import (
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

func platformsCommand() *cli.Command {
	return &cli.Command{
		Name:      "platforms",
		Usage:     "list installed platform plugins, their versions, capabilities and settings",
		ArgsUsage: "[PLATFORM]",
		Action:    platformsAction,
	}
}

// platformsAction is platforms and plugins info: every installed
// platform's metadata, or one named platform's, which must start.
func platformsAction(c *cli.Context) error {
	s := sess(c)
	names := installed(s)
	if name := c.Args().First(); name != "" {
		if err := sdk.CheckPlatformName("PLATFORM", name); err != nil {
			return err
		}
		names = []string{name}
	}
	var rows []output.Platform
	for _, name := range names {
		row := output.Platform{Name: name, Config: []output.ConfigField{}}
		meta, p, err := s.mgr.Metadata(c.Context, name)
		row.Path = p.Path
		if err != nil && c.NArg() == 1 {
			return err
		}
		if err != nil {
			row.Error = err.Error()
		} else {
			row.Version, row.ProtocolVersion, row.SDKVersion = meta.Version, meta.ProtocolVersion, meta.SDKVersion
			row.Description, row.Capabilities = meta.Description, output.Capabilities(meta.Capabilities)
			for _, f := range meta.Config {
				row.Config = append(row.Config, output.ConfigField(f))
			}
		}
		rows = append(rows, row)
	}
	return s.out.Show(output.PlatformsOf(rows, s.dirs, c.NArg() == 1))
}
