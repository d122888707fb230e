package cli

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/neural-dsl/neural-host/host/internal/discovery"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/host/internal/project"
	"github.com/neural-dsl/neural-host/host/internal/store"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:   "init",
		Usage:  "install the plugins neural.yaml requires and write neural.lock",
		Flags:  []cli.Flag{&cli.StringFlag{Name: "mirror", Usage: "install missing plugins from the mirror in `DIR`"}},
		Action: initProject,
	}
}

func initProject(c *cli.Context) error {
	s := sess(c)
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	proj, ok, err := project.Find(cwd)
	if err != nil {
		return err
	}
	if !ok {
		return usageError("no " + project.ConfigFile + " here or above: write one listing required_plugins")
	}
	cfg, err := proj.Config()
	if err != nil {
		return usageError(err.Error())
	}
	lock, err := proj.Lock()
	if err != nil {
		return usageError(err.Error())
	}
	st := &store.Store{Dir: installDir(c)}
	mirror := c.String("mirror")
	view := output.Init{Project: proj.Dir, Lock: filepath.Join(proj.Dir, project.LockFile), Plugins: []output.InitPlugin{}}
	for _, name := range slices.Sorted(maps.Keys(cfg.RequiredPlugins)) {
		con := cfg.RequiredPlugins[name]
		namespace, short, err := requiredNamespace(lock, st, name)
		if err != nil {
			return err
		}
		constraints, _ := project.Constraint(con)
		pinned := ""
		locked := discovery.LockedEntry(lock, namespace, short)
		if locked != nil {
			pinned = locked.Version
		}
		inst, found := st.Find(namespace, short, constraints, pinned)
		hashes := map[string]string{}
		switch {
		case found && pinned != "":
			// Installed as pinned: the launch-time check compares hashes.
			view.Plugins = append(view.Plugins, output.InitPlugin{Plugin: short, Version: inst.Version, Action: "already installed"})
			continue
		case mirror != "":
			inst, hashes, err = installFromMirror(c.Context, s, st, mirror, short, con, pinned)
			if err != nil {
				return installErr(err)
			}
			if namespace != "" && inst.Namespace != namespace {
				return &sdk.Error{Kind: sdk.ErrNotFound, Message: fmt.Sprintf("%s requires %s/%s but the mirror's %s is %s", project.ConfigFile, namespace, short, short, inst.Address()),
					Hint: "use a mirror holding " + namespace + "/" + short + ", or require " + inst.Address() + " in " + project.ConfigFile}
			}
			if locked != nil && locked.Hashes[inst.Platform] != "" && locked.Hashes[inst.Platform] != project.Hash(inst.SHA256) {
				return &mirrorChecksumError{name: short, want: locked.Hashes[inst.Platform], got: project.Hash(inst.SHA256)}
			}
			view.Plugins = append(view.Plugins, output.InitPlugin{Plugin: short, Version: inst.Version, Action: "installed from " + mirror})
		case found:
			hashes[inst.Platform] = inst.SHA256
			view.Plugins = append(view.Plugins, output.InitPlugin{Plugin: short, Version: inst.Version, Action: "already installed"})
		default:
			return &sdk.Error{Kind: sdk.ErrNotFound, Message: fmt.Sprintf("%s %s is required by %s and not installed", short, con, project.ConfigFile),
				Hint: "run 'neural-host init --mirror DIR' with a plugin mirror"}
		}
		if err := lockPlugin(proj, inst, con, hashes); err != nil {
			return err
		}
	}
	return s.out.Show(view)
}

// requiredNamespace splits a required_plugins key: NAMESPACE/NAME names
// its namespace; a plain NAME takes the namespace the lock pins it under,
// else the one installed, by discovery's rule. "" means neither knows,
// and the plugin installed from a mirror then brings its own.
func requiredNamespace(lock project.Lock, st *store.Store, address string) (namespace, name string, err error) {
	namespace, name, err = store.SplitAddress("required_plugins", address)
	if err != nil || namespace != "" {
		return namespace, name, err
	}
	if namespace, err = discovery.Choose(name, discovery.LockedNamespaces(lock, name)); err != nil || namespace != "" {
		return namespace, name, err
	}
	namespace, err = discovery.Choose(name, st.Namespaces(name))
	return namespace, name, err
}
