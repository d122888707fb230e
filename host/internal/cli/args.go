package cli

import (
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

// checkPlatformFlag is the Action of every --platform flag: a value that is
// not a platform name is refused before the command runs, since the name
// becomes part of the path of the binary that would run.
func checkPlatformFlag(_ *cli.Context, name string) error {
	return sdk.CheckPlatformName("--platform", name)
}

// checkPlatformList is checkPlatformFlag for a repeatable flag named field
// whose values may also be comma-separated.
func checkPlatformList(field string) func(*cli.Context, []string) error {
	return func(_ *cli.Context, values []string) error {
		for _, v := range values {
			for _, name := range strings.Split(v, ",") {
				if name = strings.TrimSpace(name); name != "" {
					if err := sdk.CheckPlatformName(field, name); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
}

// permute lets flags stand anywhere on the command line, as users expect
// (`job submit SPEC -p local -o json`): the parser stops at the first
// positional argument, so global flags are moved before the command and the
// command's own flags before its arguments. "--" ends flag handling.
func permute(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	var global, path, local, positional []string
	flags := app.Flags
	cmds := app.Commands
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			name := strings.TrimLeft(a, "-")
			name, _, hasValue := strings.Cut(name, "=")
			take := func(f cli.Flag) []string {
				out := []string{a}
				if !hasValue && takesValue(f) && i+1 < len(rest) {
					i++
					out = append(out, rest[i])
				}
				return out
			}
			if f := lookup(app.Flags, name); f != nil {
				global = append(global, take(f)...)
				continue
			}
			if f := lookup(flags, name); f != nil && len(path) > 0 {
				local = append(local, take(f)...)
				continue
			}
			local = append(local, a) // unknown: let the parser report it
			continue
		}
		if len(positional) == 0 {
			if c := findCommand(cmds, a); c != nil {
				path = append(path, a)
				flags, cmds = c.Flags, c.Subcommands
				continue
			}
		}
		positional = append(positional, a)
	}
	out := append([]string{args[0]}, global...)
	out = append(out, path...)
	out = append(out, local...)
	return append(out, positional...)
}

func lookup(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	if dg, ok := f.(cli.DocGenerationFlag); ok {
		return dg.TakesValue()
	}
	return true
}
