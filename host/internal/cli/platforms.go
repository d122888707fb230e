package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

const (
	protocolVersion = sdk.ProtocolVersion
	sdkVersion      = sdk.Version
)

func installed(s *session) []string { return s.mgr.Resolver.Names() }

func platformsCommand() *cli.Command {
	return &cli.Command{
		Name:      "platforms",
		Usage:     "list installed platform plugins, their versions, capabilities and settings",
		ArgsUsage: "[PLATFORM]",
		Action:    platformsAction,
	}
}

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
	if s.out.Format == output.JSON {
		if rows == nil {
			rows = []output.Platform{}
		}
		return s.out.JSON(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(s.out.Out, "No platform plugins found in %v.\n", s.dirs)
		return nil
	}
	if c.NArg() == 1 {
		printPlatform(s, rows[0])
		return nil
	}
	var table [][]string
	for _, r := range rows {
		if r.Error != "" {
			table = append(table, []string{r.Name, "-", "-", "error: " + r.Error, r.Path})
			continue
		}
		table = append(table, []string{r.Name, r.Version, fmt.Sprint(r.ProtocolVersion), caps(r.Capabilities), r.Path})
	}
	s.out.Table([]string{"PLATFORM", "VERSION", "PROTOCOL", "CAPABILITIES", "PATH"}, table)
	return nil
}

func caps(c output.Capabilities) string {
	var out []string
	for _, x := range []struct {
		on   bool
		name string
	}{{c.Jobs, "jobs"}, {c.LogFollow, "logs-follow"}, {c.Plan, "plan"}, {c.Files, "files"}, {c.Deploy, "deploy"}, {c.Usage, "usage"}, {c.Prices, "prices"}, {c.JobStates, "job-states"}} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return strings.Join(out, ",")
}

func printPlatform(s *session, r output.Platform) {
	s.out.KV([][2]string{{"Platform", r.Name}, {"Version", r.Version}, {"Protocol", fmt.Sprint(r.ProtocolVersion)},
		{"SDK", r.SDKVersion}, {"Description", r.Description}, {"Capabilities", caps(r.Capabilities)}, {"Path", r.Path}, {"Error", r.Error}})
	if len(r.Config) == 0 {
		return
	}
	fmt.Fprintln(s.out.Out, "\nSettings (environment first, then platforms."+r.Name+".KEY in the config file, then the default):")
	var rows [][]string
	for _, f := range r.Config {
		flags := []string{}
		if f.Required {
			flags = append(flags, "required")
		}
		if f.Secret {
			flags = append(flags, "secret")
		}
		rows = append(rows, []string{"  " + f.Key, strings.Join(f.EnvVars, ","), f.Default, strings.Join(flags, ","), f.Description})
	}
	s.out.Table([]string{"  KEY", "ENV", "DEFAULT", "", "DESCRIPTION"}, rows)
}

func authCommand() *cli.Command {
	return &cli.Command{
		Name:  "auth",
		Usage: "check, store and remove credentials for platforms",
		Subcommands: []*cli.Command{{
			Name:      "check",
			Usage:     "show who you are on each platform, or what to set",
			ArgsUsage: "[PLATFORM...]",
			Action:    authCheck,
		}, authConfigureCommand(), authLogoutCommand()},
	}
}

func authCheck(c *cli.Context) error {
	s := sess(c)
	names := c.Args().Slice()
	for _, name := range names {
		if err := sdk.CheckPlatformName("PLATFORM", name); err != nil {
			return err
		}
	}
	explicit := len(names) > 0
	if !explicit {
		names = installed(s)
	}
	var rows []output.Auth
	var failed []string
	for _, name := range names {
		row := output.Auth{Platform: name, Diagnostics: []output.Diagnostic{}}
		conn, err := s.mgr.Get(c.Context, name)
		var info sdk.AuthInfo
		if err == nil {
			info, err = conn.CheckAuth(c.Context)
		}
		err = s.mgr.Explain(err)
		var se *sdk.Error
		switch {
		case err == nil:
			row.Status, row.Identity, row.Account = "ok", info.Identity, info.Account
			for _, d := range info.Diagnostics {
				row.Diagnostics = append(row.Diagnostics, output.Diagnostic(d))
				if !d.OK && row.Hint == "" {
					row.Message, row.Hint = d.Check+": "+d.Message, d.Hint
				}
			}
		case errors.Is(err, sdk.ErrInvalidArgument):
			row.Status, row.Message = "not configured", err.Error()
		default:
			row.Status, row.Message = "failed", err.Error()
		}
		if errors.As(err, &se) {
			row.Message, row.Hint = se.Message, se.Hint
			if se.Field != "" {
				row.Message = se.Field + ": " + se.Message
			}
		}
		if row.Status != "ok" && row.Hint == "" {
			row.Hint = "see 'neural-host platforms " + name + "' for its settings; store them with 'neural-host auth configure " + name + "'"
		}
		// A plugin's message may quote a credential it was given.
		row.Message, row.Hint = s.redact(row.Message), s.redact(row.Hint)
		for i, d := range row.Diagnostics {
			row.Diagnostics[i].Message, row.Diagnostics[i].Hint = s.redact(d.Message), s.redact(d.Hint)
		}
		if row.Status != "ok" {
			failed = append(failed, name)
		}
		rows = append(rows, row)
	}
	if s.out.Format == output.JSON {
		if rows == nil {
			rows = []output.Auth{}
		}
		if err := s.out.JSON(rows); err != nil {
			return err
		}
	} else {
		var table [][]string
		for _, r := range rows {
			detail := r.Message
			if r.Hint != "" {
				detail += " (hint: " + r.Hint + ")"
			}
			if r.Status == "ok" && r.Message == "" {
				detail = r.Account
			}
			table = append(table, []string{r.Platform, r.Status, r.Identity, detail})
		}
		s.out.Table([]string{"PLATFORM", "STATUS", "IDENTITY", "DETAIL"}, table)
	}
	if explicit && len(failed) > 0 {
		return &sdk.Error{Kind: sdk.ErrUnauthenticated, Message: "not ready: " + strings.Join(failed, ", ")}
	}
	return nil
}
