package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/host/internal/credentials"
	"github.com/neural-dsl/neural-host/host/internal/credentials/prompt"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

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
	rows := output.AuthChecks{}
	var failed []string
	for _, name := range names {
		row := checkAuth(c.Context, s, name)
		if row.Status != "ok" {
			failed = append(failed, name)
		}
		rows = append(rows, row)
	}
	if err := s.out.Show(rows); err != nil {
		return err
	}
	if explicit && len(failed) > 0 {
		return &sdk.Error{Kind: sdk.ErrUnauthenticated, Message: "not ready: " + strings.Join(failed, ", ")}
	}
	return nil
}

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

// checkAuth asks platform name who the user is there; a failure is a row
// saying what to set, with secrets redacted.
func checkAuth(ctx context.Context, s *session, name string) output.Auth {
	row := output.Auth{Platform: name, Diagnostics: []output.Diagnostic{}}
	conn, err := s.mgr.Get(ctx, name)
	var info sdk.AuthInfo
	if err == nil {
		info, err = conn.CheckAuth(ctx)
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
	row.Message, row.Hint = s.mgr.Redact(row.Message), s.mgr.Redact(row.Hint)
	for i, d := range row.Diagnostics {
		row.Diagnostics[i].Message, row.Diagnostics[i].Hint = s.mgr.Redact(d.Message), s.mgr.Redact(d.Hint)
	}
	return row
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
	given := c.IsSet("set") || c.Bool("stdin") || c.IsSet("unset")
	unset := c.StringSlice("unset")
	var values map[string]string
	if given {
		values, err = givenSettings(c, s, name, meta.Config, unset)
	} else {
		values, err = askSettings(c, s, name, meta.Config, stored)
	}
	if err != nil {
		return err
	}
	res, err := storeSettings(s, name, meta.Config, values, unset, given)
	if err != nil {
		return err
	}
	return s.out.Show(res)
}

// storeSettings writes values into the credentials file and removes unset;
// without given values (asked on the terminal) the answers replace every
// stored setting.
func storeSettings(s *session, name string, fields []sdk.ConfigField, values map[string]string, unset []string, given bool) (output.CredentialsSaved, error) {
	var stored map[string]string
	err := credentials.Update(s.credentialsPath, func(f *credentials.File) error {
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
		return output.CredentialsSaved{}, err
	}
	res := output.CredentialsSaved{Platform: name, Path: s.credentialsPath, Keys: slices.Sorted(maps.Keys(stored)), OverriddenByEnv: []string{}}
	for _, f := range fields {
		for _, env := range f.EnvVars {
			if _, ok := stored[f.Key]; ok && os.Getenv(env) != "" {
				res.OverriddenByEnv = append(res.OverriddenByEnv, f.Key)
				break
			}
		}
	}
	return res, nil
}

// givenSettings reads --set and --stdin, and checks that every key given
// or unset is one of the platform's settings.
func givenSettings(c *cli.Context, s *session, name string, fields []sdk.ConfigField, unset []string) (map[string]string, error) {
	values := map[string]string{}
	if pl, ok := c.Generic("set").(*pairList); ok {
		if err := parsePairs(pl.items, "--set", values); err != nil {
			return nil, err
		}
	}
	if c.Bool("stdin") {
		if err := readPairs(s.in, values); err != nil {
			return nil, err
		}
	}
	for _, k := range append(slices.Sorted(maps.Keys(values)), unset...) {
		if !slices.ContainsFunc(fields, func(f sdk.ConfigField) bool { return f.Key == k }) {
			return nil, &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: name + "." + k, Message: "is not a setting of platform " + name,
				Hint: "its settings are: " + strings.Join(fieldKeys(fields), ", ")}
		}
	}
	return values, nil
}

// askSettings asks for every setting on the terminal, secrets without echo.
func askSettings(c *cli.Context, s *session, name string, fields []sdk.ConfigField, stored map[string]string) (map[string]string, error) {
	if !isTerminal(s.in) {
		return nil, usageError("standard input is not a terminal: give values with --set KEY=VALUE or --stdin (KEY=VALUE lines)")
	}
	tty, _ := s.in.(*os.File)
	fmt.Fprintf(s.errw, "Settings for %s, stored in %s:\n", name, s.credentialsPath)
	a := &prompt.Asker{In: bufio.NewReader(s.in), Out: s.errw, ReadSecret: prompt.Terminal(tty, s.errw)}
	var asked []prompt.Field
	for _, f := range fields {
		asked = append(asked, prompt.Field{Key: f.Key, Description: f.Description, Required: f.Required, Secret: f.Secret,
			Default: f.Default, Current: stored[f.Key], EnvVars: f.EnvVars})
	}
	return a.Ask(c.Context, asked)
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

func fieldKeys(fields []sdk.ConfigField) []string {
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		out = append(out, f.Key)
	}
	slices.Sort(out)
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
	return s.out.Show(res)
}
