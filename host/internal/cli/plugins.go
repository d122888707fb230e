package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/neural-dsl/neural-host/host/internal/discovery"
	"github.com/neural-dsl/neural-host/host/internal/flock"
	"github.com/neural-dsl/neural-host/host/internal/jobspec"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/host/internal/project"
	"github.com/neural-dsl/neural-host/host/internal/scaffold"
	"github.com/neural-dsl/neural-host/host/internal/store"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/plugin"
	"github.com/neural-dsl/neural-host/sdk/sdktest"
	"github.com/urfave/cli/v2"
)

func pluginsCommand() *cli.Command {
	return &cli.Command{
		Name:  "plugins",
		Usage: "install, list and remove platform plugins; check and scaffold new ones",
		Subcommands: []*cli.Command{
			{Name: "install", Usage: "install a plugin binary, a release archive, or NAME[@CONSTRAINT] from a mirror",
				ArgsUsage: "PATH | --mirror DIR NAME[@CONSTRAINT]", Flags: []cli.Flag{
					&cli.StringFlag{Name: "mirror", Usage: "install from the plugin mirror in `DIR`"},
					&cli.BoolFlag{Name: "no-verify", Usage: "install a release archive that no SHA256SUMS beside it vouches for (warns)"},
				}, Action: pluginsInstall},
			{Name: "list", Usage: "list installed plugins (starts none of them)", Action: pluginsList},
			{Name: "info", Usage: "show an installed plugin's version, checksum, capabilities and settings", ArgsUsage: "NAME", Action: pluginsInfo},
			{Name: "remove", Usage: "remove a plugin, or one version of it", ArgsUsage: "[NAMESPACE/]NAME[@VERSION]", Action: pluginsRemove},
			{Name: "prune", Usage: "remove versions that are neither the newest nor pinned by a lock file", Flags: []cli.Flag{
				&cli.StringSliceFlag{Name: "lock", Usage: "also keep what `FILE` pins (repeatable; the current project's neural.lock is always read)"},
			}, Action: pluginsPrune},
			{Name: "mirror", Usage: "write release archives and SHA256SUMS into DIR, from binaries or from installed plugins",
				ArgsUsage: "DIR [BINARY...]", Action: pluginsMirror},
			{Name: "conformance", Usage: "check that a plugin binary honours the plugin contract", ArgsUsage: "BINARY",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "env", Usage: "set `NAME=VALUE` for the plugin (repeatable)"},
					&cli.StringFlag{Name: "long-job", Usage: "job spec `FILE` that runs for minutes, used to check cancellation"},
				}, Action: pluginsConformance},
			{Name: "new", Usage: "write a buildable plugin skeleton with a conformance test", ArgsUsage: "NAME", Flags: []cli.Flag{
				&cli.StringFlag{Name: "dir", Usage: "write into `DIR` (default: ./neural-plugin-NAME)"},
				&cli.StringFlag{Name: "module", Usage: "Go module path (default: example.com/neural-plugin-NAME)"},
				&cli.StringFlag{Name: "namespace", Usage: "the publisher `NAMESPACE` the plugin installs under, such as your organisation's name (default: " + scaffold.DefaultNamespace + ")"},
				&cli.StringFlag{Name: "sdk-path", Usage: "use the neural-host SDK checked out at `DIR` (a replace directive)"},
			}, Action: pluginsNew},
		},
	}
}

// probe starts a binary once to read its metadata, checking that the bytes
// started are the bytes hashed.
func probe(s *session) store.Probe {
	return func(ctx context.Context, path, sum string) (sdk.Metadata, error) {
		want, err := hex.DecodeString(sum)
		if err != nil {
			return sdk.Metadata{}, err
		}
		conn, err := plugin.Launch(ctx, plugin.LaunchConfig{Path: path, StartTimeout: s.mgr.StartTimeout, SHA256: want})
		if err != nil {
			return sdk.Metadata{}, err
		}
		defer conn.Close()
		return conn.Metadata(), nil
	}
}

func pluginsInstall(c *cli.Context) error {
	s := sess(c)
	st := &store.Store{Dir: installDir(c)}
	var (
		inst      store.Installed
		err       error
		hashes    = map[string]string{}
		constrain string
	)
	switch mirror := c.String("mirror"); {
	case mirror != "":
		if c.NArg() != 1 {
			return usageError("give the plugin to install from the mirror as NAME or NAME@CONSTRAINT")
		}
		name, con, _ := strings.Cut(c.Args().First(), "@")
		if err := sdk.CheckPlatformName("NAME", name); err != nil {
			return err
		}
		constrain = con
		inst, hashes, err = installFromMirror(c.Context, s, st, mirror, name, con, "")
	case c.NArg() == 1:
		inst, err = installFile(c.Context, s, st, c.Args().First(), !c.Bool("no-verify"))
		hashes[inst.Platform] = inst.SHA256
	default:
		return usageError("give a plugin binary or release archive, or --mirror DIR NAME")
	}
	if err != nil {
		return installErr(err)
	}
	out := output.PluginInstalled{Name: inst.Name, Version: inst.Version, Platform: inst.Platform, SHA256: inst.SHA256, Path: inst.Path, Source: inst.Source}
	if cwd, _ := os.Getwd(); cwd != "" {
		proj, ok, err := project.Find(cwd)
		if err != nil {
			return err
		}
		if ok {
			if err := lockPlugin(proj, inst, constrain, hashes); err != nil {
				return err
			}
			out.Lock = filepath.Join(proj.Dir, project.LockFile)
		}
	}
	return s.out.Show(out)
}

func installErr(err error) error {
	var ie *store.InstallError
	if errors.As(err, &ie) {
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Message: strings.TrimPrefix(ie.Error(), "store: "), Hint: ie.Hint}
	}
	return err
}

// installFile installs a binary or a release archive; verify requires the
// archive to be listed, with its sum, in the SHA256SUMS beside it.
func installFile(ctx context.Context, s *session, st *store.Store, path string, verify bool) (store.Installed, error) {
	if a, ok := store.ParseArchive(path); ok {
		if verify {
			if err := store.VerifyArchive(path); err != nil {
				return store.Installed{}, err
			}
		} else {
			s.log.Warn("installing a release archive without checking it against a "+store.SumsFile, "archive", path)
		}
		r, err := a.OpenBinary()
		if err != nil {
			return store.Installed{}, err
		}
		defer r.Close()
		return st.Install(ctx, r, path, store.Expect{Name: a.Name, Version: a.Version, Platform: a.Platform}, probe(s))
	}
	if strings.HasSuffix(path, ".tar.gz") {
		return store.Installed{}, &store.InstallError{Msg: fmt.Sprintf("%s is not named like a release archive", path),
			Hint: "release archives are named neural-plugin-NAME_vVERSION_OS_ARCH.tar.gz, NAME being " + sdk.PlatformNameRule + " and VERSION such as 1.2.0"}
	}
	name, ok := strings.CutPrefix(filepath.Base(path), discovery.Prefix)
	if !ok || !sdk.ValidPlatformName(name) {
		return store.Installed{}, &store.InstallError{Msg: fmt.Sprintf("%s is not named %sNAME", path, discovery.Prefix),
			Hint: "plugin binaries are named " + discovery.Prefix + "NAME, NAME being " + sdk.PlatformNameRule}
	}
	f, err := os.Open(path)
	if err != nil {
		return store.Installed{}, &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "PATH", Message: err.Error()}
	}
	defer f.Close()
	abs, _ := filepath.Abs(path)
	return st.Install(ctx, f, abs, store.Expect{Name: name}, probe(s))
}

// installFromMirror installs the newest version of name meeting con (or
// exactly exact) for this platform, and returns the binary hashes of that
// version for every platform the mirror has.
func installFromMirror(ctx context.Context, s *session, st *store.Store, mirror, name, con, exact string) (store.Installed, map[string]string, error) {
	c, err := project.Constraint(con)
	if err != nil {
		return store.Installed{}, nil, usageError(err.Error())
	}
	archives, err := store.MirrorFind(mirror, name, c)
	if err != nil {
		return store.Installed{}, nil, err
	}
	var pick *store.Archive
	for i, a := range archives {
		if a.Platform == store.Platform() && (exact == "" || a.Version == exact) {
			pick = &archives[i]
			break
		}
	}
	if pick == nil {
		what := name
		if con != "" {
			what += " " + con
		}
		if exact != "" {
			what += " " + exact
		}
		return store.Installed{}, nil, &sdk.Error{Kind: sdk.ErrNotFound, Message: fmt.Sprintf("mirror %s has no %s for %s", mirror, what, store.Platform()),
			Hint: "write one with 'neural-host plugins mirror " + mirror + "' or 'make release'"}
	}
	hashes := map[string]string{}
	for _, a := range archives {
		if a.Version != pick.Version {
			continue
		}
		sum, err := a.BinarySHA256()
		if err != nil {
			return store.Installed{}, nil, err
		}
		hashes[a.Platform] = sum
	}
	r, err := pick.OpenBinary()
	if err != nil {
		return store.Installed{}, nil, err
	}
	defer r.Close()
	inst, err := st.Install(ctx, r, pick.Path, store.Expect{Name: pick.Name, Version: pick.Version, Platform: pick.Platform}, probe(s))
	return inst, hashes, err
}

func lockPlugin(proj project.Project, inst store.Installed, con string, hashes map[string]string) error {
	return proj.UpdateLock(func(l *project.Lock) error {
		addr := inst.Address()
		lp := l.Plugins[addr]
		if lp == nil || lp.Version != inst.Version {
			lp = &project.Locked{Version: inst.Version, Hashes: map[string]string{}}
			l.Plugins[addr] = lp
		}
		if con != "" {
			lp.Constraint = con
		}
		for p, h := range hashes {
			lp.Hashes[p] = project.Hash(h)
		}
		return nil
	})
}

func pluginsList(c *cli.Context) error {
	s := sess(c)
	rows := output.PluginList{}
	seen := map[string]bool{}
	for _, st := range s.mgr.Resolver.Stores {
		all, err := st.List()
		if err != nil {
			return err
		}
		for _, p := range all {
			if seen[p.Path] {
				continue
			}
			seen[p.Path] = true
			rows = append(rows, output.ListedPlugin{Name: p.Name, Version: p.Version, Protocol: p.Metadata.ProtocolVersion, SHA256: p.SHA256, Source: string(discovery.FromStore), Path: p.Path})
		}
	}
	for _, name := range s.mgr.Resolver.Names() {
		p, err := s.mgr.Resolver.Resolve(name)
		if err != nil || p.Installed != nil {
			continue
		}
		rows = append(rows, output.ListedPlugin{Name: name, Source: string(p.Source), Path: p.Path})
	}
	return s.out.Show(rows)
}

func pluginsInfo(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("give the plugin NAME")
	}
	return platformsAction(c)
}

func pluginsRemove(c *cli.Context) error {
	s := sess(c)
	if c.NArg() != 1 {
		return usageError("give NAME, NAMESPACE/NAME, or either @VERSION")
	}
	address, ver, _ := strings.Cut(c.Args().First(), "@")
	removed, err := (&store.Store{Dir: installDir(c)}).Remove(address, ver)
	if err != nil {
		return err
	}
	if len(removed) == 0 {
		return &sdk.Error{Kind: sdk.ErrNotFound, Message: fmt.Sprintf("%s is not installed in %s", c.Args().First(), installDir(c)), Hint: "see 'neural-host plugins list'"}
	}
	if r := s.mgr.Resolver; r.Lock != nil {
		for _, rel := range removed {
			// rel is NAMESPACE/NAME/VERSION, as the store listed it.
			parts := strings.Split(filepath.ToSlash(rel), "/")
			if lp := discovery.LockedEntry(*r.Lock, parts[0], parts[1]); lp != nil && lp.Version == parts[2] {
				s.log.Warn("the project's lock file still pins this plugin; 'neural-host init' reinstalls it", "plugin", parts[0]+"/"+parts[1], "lock", r.LockPath)
			}
		}
	}
	return printRemoved(s, removed)
}

func printRemoved(s *session, removed []string) error {
	if removed == nil {
		removed = []string{}
	}
	return s.out.Show(output.PluginsRemoved{Removed: removed})
}

func pluginsPrune(c *cli.Context) error {
	s := sess(c)
	locks := []project.Lock{}
	if s.mgr.Resolver.Lock != nil {
		locks = append(locks, *s.mgr.Resolver.Lock)
	}
	for _, f := range c.StringSlice("lock") {
		l, err := (project.Project{Dir: filepath.Dir(f)}).Lock()
		if err != nil {
			return usageError(err.Error())
		}
		locks = append(locks, l)
	}
	st := &store.Store{Dir: installDir(c)}
	newest := map[string]string{}
	all, _ := st.List()
	for _, p := range all {
		if _, ok := newest[p.Address()]; !ok {
			newest[p.Address()] = p.Version // List sorts newest first
		}
	}
	removed, err := st.Prune(func(addr, ver string) bool {
		if newest[addr] == ver {
			return true
		}
		for _, l := range locks {
			if l.Referenced(addr, ver) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return err
	}
	return printRemoved(s, removed)
}

func pluginsMirror(c *cli.Context) error {
	s := sess(c)
	if c.NArg() < 1 {
		return usageError("give the mirror DIR, then optionally plugin binaries to put in it")
	}
	dir := c.Args().First()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	type entry struct{ path, name, version string }
	var entries []entry
	if bins := c.Args().Slice()[1:]; len(bins) > 0 {
		for _, b := range bins {
			sum, err := store.FileSHA256(b)
			if err != nil {
				return usageError(err.Error())
			}
			meta, err := probe(s)(c.Context, b, sum)
			if err != nil {
				return fmt.Errorf("%s: %w", b, err)
			}
			entries = append(entries, entry{b, meta.Name, meta.Version})
		}
	} else {
		for _, name := range s.mgr.Resolver.Names() {
			p, err := s.mgr.Resolver.Resolve(name)
			// Archive names carry no namespace, so one mirror holds one
			// namespace's plugin of a name; guessing would ship the wrong one.
			var amb *store.AmbiguousError
			if errors.As(err, &amb) {
				return err
			}
			if err == nil && p.Installed != nil {
				entries = append(entries, entry{p.Path, p.Installed.Name, p.Installed.Version})
			}
		}
	}
	if len(entries) == 0 {
		return usageError("no plugins to put in the mirror: install some, or name binaries")
	}
	unlock, err := flock.Dir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	sums, err := store.ReadSums(dir)
	if err != nil {
		return err
	}
	var written []string
	for _, e := range entries {
		path, sum, err := store.WriteArchive(dir, e.path, e.name, e.version, store.Platform())
		if err != nil {
			return err
		}
		sums[filepath.Base(path)] = sum
		written = append(written, path)
	}
	if err := store.WriteSums(dir, sums); err != nil {
		return err
	}
	return s.out.Show(output.MirrorOf(dir, written, store.SumsFile))
}

// mirrorChecksumError is a mirror whose binary is not what the lock pins.
type mirrorChecksumError struct{ name, want, got string }

func (e *mirrorChecksumError) Error() string {
	return fmt.Sprintf("plugin %s from the mirror has %s but neural.lock pins %s", e.name, e.got, e.want)
}

func (e *mirrorChecksumError) Hint() string {
	return "the mirror holds a different build than the one locked; use the mirror the lock was made with, or remove the entry from neural.lock to accept the new build"
}

// conformanceFailed is a plugin that failed some checks.
type conformanceFailed struct{ failed []string }

func (e *conformanceFailed) Error() string {
	return "the plugin failed conformance checks: " + strings.Join(e.failed, ", ")
}

func pluginsConformance(c *cli.Context) error {
	s := sess(c)
	if c.NArg() != 1 {
		return usageError("give the plugin BINARY to check")
	}
	bin, err := filepath.Abs(c.Args().First())
	if err != nil {
		return err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return usageError(bin + " is not a file")
	}
	for _, kv := range c.StringSlice("env") {
		if !strings.Contains(kv, "=") {
			return usageError(fmt.Sprintf("--env %q: write NAME=VALUE", kv))
		}
	}
	long := sdk.JobSpec{Name: "conformance", Kind: sdk.KindCommand, Command: []string{"sleep", "600"}}
	if f := c.String("long-job"); f != "" {
		spec, err := jobspec.Load(c.Context, f)
		if err != nil {
			return err
		}
		long = spec.JobSpec
	}
	results := sdktest.Check(c.Context, sdktest.Config{Binary: bin, Env: c.StringSlice("env"), LongJob: long, StartTimeout: s.mgr.StartTimeout})
	var failed []string
	for _, r := range results {
		if !r.OK {
			failed = append(failed, r.Check)
		}
	}
	view := output.Conformance{Binary: bin, Passed: len(failed) == 0, Checks: []output.Check{}}
	for _, r := range results {
		view.Checks = append(view.Checks, output.Check(r))
	}
	if err := s.out.Show(view); err != nil {
		return err
	}
	if len(failed) > 0 {
		return &conformanceFailed{failed: failed}
	}
	return nil
}

func pluginsNew(c *cli.Context) error {
	s := sess(c)
	if c.NArg() != 1 {
		return usageError("give the new plugin's NAME")
	}
	name := c.Args().First()
	dir := c.String("dir")
	if dir == "" {
		dir = "neural-plugin-" + name
	}
	module := c.String("module")
	if module == "" {
		module = "example.com/neural-plugin-" + name
	}
	// make install runs the host that wrote the plugin, not whichever
	// neural-host is first on PATH.
	host, err := os.Executable()
	if err != nil {
		return err
	}
	written, err := scaffold.Write(scaffold.Options{Name: name, Namespace: c.String("namespace"), Dir: dir, Module: module, SDKPath: c.String("sdk-path"), Host: host})
	if err != nil {
		return err
	}
	if written == nil {
		written = []string{}
	}
	return s.out.Show(output.Scaffold{Name: name, Dir: dir, Files: written})
}
