package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/host/internal/credentials"
	"github.com/neural-dsl/neural-host/host/internal/credentials/prompt"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

// loadCredentials reads the credentials file for the launcher. A file
// others can read still works, with a warning.
func loadCredentials(path string, log hclog.Logger) (credentials.File, error) {
	f, err := credentials.Load(path)
	if err != nil {
		return f, usageError(err.Error())
	}
	if mode, loose := credentials.Loose(path); loose {
		log.Warn(fmt.Sprintf("credentials file %s has mode %#o: others can read it; fix with 'chmod 600 %s'", path, mode, path))
	}
	return f, nil
}

func authConfigureCommand() *cli.Command {
	return &cli.Command{
		Name:      "configure",
		Usage:     "store a platform's settings in the credentials file, asking for each (secrets without echo)",
		ArgsUsage: "PLATFORM",
		Description: "On a terminal, asks for each setting of the platform's config schema; Enter keeps the stored value.\n" +
			"Without a terminal, give values with --set KEY=VALUE or --stdin (KEY=VALUE lines). The platform's\n" +
			"environment variables still override what is stored.",
		Flags: []cli.Flag{
			&cli.GenericFlag{Name: "set", Value: &pairList{}, Usage: "store `KEY=VALUE` without asking (repeatable; secrets given here show in 'ps', prefer --stdin)"},
			&cli.BoolFlag{Name: "stdin", Usage: "read KEY=VALUE lines from standard input"},
			&cli.StringSliceFlag{Name: "unset", Usage: "remove the stored `KEY` (repeatable)"},
		},
		Action: authConfigure,
	}
}

func authConfigure(c *cli.Context) error {
	s := sess(c)
	if c.NArg() != 1 {
		return usageError("give exactly one PLATFORM; 'neural-host platforms' lists the installed ones")
	}
	name := c.Args().First()
	if err := sdk.CheckPlatformName("PLATFORM", name); err != nil {
		return err
	}
	meta, _, err := s.mgr.Metadata(c.Context, name)
	if err != nil {
		return err
	}
	if len(meta.Config) == 0 {
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "platform", Message: "platform " + name + " has no settings to store",
			Hint: "its credentials come from the platform's own tools; 'neural-host auth check " + name + "' shows their state"}
	}
	current, err := credentials.Load(s.credentialsPath)
	if err != nil {
		return usageError(err.Error())
	}
	stored := current.Platforms[name]
	values := map[string]string{}
	given := c.IsSet("set") || c.Bool("stdin") || c.IsSet("unset")
	if pl, ok := c.Generic("set").(*pairList); ok {
		if err := parsePairs(pl.items, "--set", values); err != nil {
			return err
		}
	}
	if c.Bool("stdin") {
		if err := readPairs(s.in, values); err != nil {
			return err
		}
	}
	unset := c.StringSlice("unset")
	for _, k := range append(output.SortedKeys(values), unset...) {
		if !hasField(meta.Config, k) {
			return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: name + "." + k, Message: "is not a setting of platform " + name,
				Hint: "its settings are: " + strings.Join(fieldKeys(meta.Config), ", ")}
		}
	}
	if !given {
		if !isTerminal(s.in) {
			return usageError("standard input is not a terminal: give values with --set KEY=VALUE or --stdin (KEY=VALUE lines)")
		}
		tty, _ := s.in.(*os.File)
		fmt.Fprintf(s.errw, "Settings for %s, stored in %s:\n", name, s.credentialsPath)
		a := &prompt.Asker{In: bufio.NewReader(s.in), Out: s.errw, ReadSecret: prompt.Terminal(tty, s.errw)}
		var fields []prompt.Field
		for _, f := range meta.Config {
			fields = append(fields, prompt.Field{Key: f.Key, Description: f.Description, Required: f.Required, Secret: f.Secret,
				Default: f.Default, Current: stored[f.Key], EnvVars: f.EnvVars})
		}
		if values, err = a.Ask(c.Context, fields); err != nil {
			return err
		}
	}
	err = credentials.Update(s.credentialsPath, func(f *credentials.File) error {
		if f.Platforms == nil {
			f.Platforms = map[string]map[string]string{}
		}
		p := f.Platforms[name]
		if p == nil || !given {
			// Asking covers every field: the answers are the whole set.
			p = map[string]string{}
		}
		for k, v := range values {
			p[k] = v
		}
		for _, k := range unset {
			delete(p, k)
		}
		f.Platforms[name] = p
		stored = p
		return nil
	})
	if err != nil {
		return err
	}
	res := output.CredentialsSaved{Platform: name, Path: s.credentialsPath, Keys: output.SortedKeys(stored), OverriddenByEnv: []string{}}
	for _, f := range meta.Config {
		for _, env := range f.EnvVars {
			if _, ok := stored[f.Key]; ok && os.Getenv(env) != "" {
				res.OverriddenByEnv = append(res.OverriddenByEnv, f.Key)
				break
			}
		}
	}
	if s.out.Format == output.JSON {
		return s.out.JSON(res)
	}
	fmt.Fprintf(s.out.Out, "Stored %d settings for %s in %s.\n", len(res.Keys), name, res.Path)
	for _, k := range res.OverriddenByEnv {
		fmt.Fprintf(s.out.Out, "note: an environment variable overrides the stored %s\n", k)
	}
	fmt.Fprintf(s.out.Out, "Check them with: neural-host auth check %s\n", name)
	return nil
}

// pairList is a repeatable flag whose values are kept whole: a string
// slice flag would split them at commas, which secrets may contain.
type pairList struct{ items []string }

func (p *pairList) Set(v string) error { p.items = append(p.items, v); return nil }
func (p *pairList) String() string     { return "" }

func parsePairs(pairs []string, flag string, into map[string]string) error {
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			// The value may be a secret: only the key is named.
			return usageError(fmt.Sprintf("%s: an entry for %q is not KEY=VALUE", flag, k))
		}
		into[strings.TrimSpace(k)] = v
	}
	return nil
}

func readPairs(in io.Reader, into map[string]string) error {
	sc := bufio.NewScanner(in)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(strings.TrimSpace(text), "#") {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return usageError(fmt.Sprintf("--stdin: line %d is not KEY=VALUE", line))
		}
		into[strings.TrimSpace(k)] = v
	}
	return sc.Err()
}

func hasField(fields []sdk.ConfigField, k string) bool {
	for _, f := range fields {
		if f.Key == k {
			return true
		}
	}
	return false
}

func fieldKeys(fields []sdk.ConfigField) []string {
	var out []string
	for _, f := range fields {
		out = append(out, f.Key)
	}
	sort.Strings(out)
	return out
}

func authLogoutCommand() *cli.Command {
	return &cli.Command{
		Name:      "logout",
		Usage:     "remove a platform's stored settings from the credentials file",
		ArgsUsage: "PLATFORM",
		Action:    authLogout,
	}
}

func authLogout(c *cli.Context) error {
	s := sess(c)
	if c.NArg() != 1 {
		return usageError("give exactly one PLATFORM")
	}
	name := c.Args().First()
	if err := sdk.CheckPlatformName("PLATFORM", name); err != nil {
		return err
	}
	res := output.CredentialsRemoved{Platform: name, Path: s.credentialsPath}
	if _, err := os.Stat(s.credentialsPath); err == nil {
		err := credentials.Update(s.credentialsPath, func(f *credentials.File) error {
			_, res.Removed = f.Platforms[name]
			delete(f.Platforms, name)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if s.out.Format == output.JSON {
		return s.out.JSON(res)
	}
	if res.Removed {
		fmt.Fprintf(s.out.Out, "Removed the stored settings of %s from %s.\n", name, res.Path)
	} else {
		fmt.Fprintf(s.out.Out, "Nothing was stored for %s in %s.\n", name, res.Path)
	}
	return nil
}
