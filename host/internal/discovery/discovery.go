// Package discovery decides which binary runs for a platform name, and
// what its sha256 must be. In order: a dev override (unchecked, with a
// warning); the version a project's neural.lock pins, checked against the
// lock's hash; the newest installed version, checked against the hash
// recorded at install; a bare neural-plugin-NAME file in a search directory
// (unchecked, with a warning). A name installed in several namespaces
// resolves to the namespace the lock's address names; otherwise to
// sdk.DefaultNamespace if it is one of them; otherwise, between two
// third-party namespaces, to an error naming both, as a shadowed plugin
// would run someone else's code. Discovery only looks: it neither starts
// nor installs plugins.
package discovery

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/neural-dsl/neural-host/host/internal/project"
	"github.com/neural-dsl/neural-host/host/internal/store"
	"github.com/neural-dsl/neural-host/sdk"
)

// Prefix starts every plugin binary's name.
const Prefix = store.BinaryPrefix

// Source says how a candidate was found.
type Source string

const (
	FromDevOverride Source = "dev override"
	FromLock        Source = "neural.lock"
	FromStore       Source = "installed"
	FromSearchPath  Source = "unmanaged"
)

// Plugin is the binary that will run for a name.
type Plugin struct {
	Name string
	Path string
	// SHA256 is the hash the binary must have; empty means unchecked.
	SHA256 string
	Source Source
	// Installed is set when the binary is in a store.
	Installed *store.Installed
	// Warning is said on every command that runs this plugin; empty if none.
	Warning string
}

// Resolver finds plugins.
type Resolver struct {
	// Stores are plugin directories in the installed layout, searched in
	// order.
	Stores []*store.Store
	// SearchDirs may hold bare neural-plugin-NAME binaries.
	SearchDirs []string
	// DevOverrides maps names to binaries that win over everything.
	DevOverrides map[string]string
	// Lock is the project's lock file; nil outside a project.
	Lock *project.Lock
	// LockPath names the lock file in messages.
	LockPath string
}

// Dirs returns the search directories in order: explicit dirs, then
// $NEURAL_PLUGIN_PATH, then the user's plugin dir, then the directory of
// the running executable.
func Dirs(explicit []string, userDir string) []string {
	dirs := append([]string(nil), explicit...)
	if env := os.Getenv("NEURAL_PLUGIN_PATH"); env != "" {
		dirs = append(dirs, filepath.SplitList(env)...)
	}
	dirs = append(dirs, userDir)
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Dir(exe))
	}
	return dirs
}

// NotInstalledError says no binary was found for a platform.
type NotInstalledError struct {
	Name string
	Dirs []string
	// Why adds detail, such as the version a lock file wants.
	Why string
}

func (e *NotInstalledError) Error() string {
	if e.Why != "" {
		return fmt.Sprintf("discovery: platform %q: %s", e.Name, e.Why)
	}
	return fmt.Sprintf("discovery: platform %q is not installed (looked in %s)", e.Name, strings.Join(e.Dirs, ", "))
}

// Hint says how to install it.
func (e *NotInstalledError) Hint() string {
	return "install it with 'neural-host plugins install PATH' or 'neural-host plugins install --mirror DIR " + e.Name + "'"
}

// Resolve returns the binary to run for name. A name that is not a
// platform name is refused before any path is built from it: callers
// validate names where they enter, and this is the second line of defence.
func (r *Resolver) Resolve(name string) (Plugin, error) {
	if err := sdk.CheckPlatformName("platform", name); err != nil {
		return Plugin{}, fmt.Errorf("discovery: %w", err)
	}
	if path, ok := r.DevOverrides[name]; ok {
		return Plugin{Name: name, Path: path, Source: FromDevOverride,
			Warning: fmt.Sprintf("DEV OVERRIDE: platform %s runs %s, skipping version and checksum checks and the lock file", name, path)}, nil
	}
	if r.Lock != nil {
		namespace, err := Choose(name, LockedNamespaces(*r.Lock, name))
		if err != nil {
			return Plugin{}, err
		}
		if namespace != "" {
			return r.resolveLocked(namespace, name, LockedEntry(*r.Lock, namespace, name))
		}
	}
	namespace, err := Choose(name, r.namespaces(name))
	if err != nil {
		return Plugin{}, err
	}
	for _, s := range r.Stores {
		if inst, ok := s.Find(namespace, name, nil, ""); ok {
			return Plugin{Name: name, Path: inst.Path, SHA256: inst.SHA256, Source: FromStore, Installed: &inst}, nil
		}
	}
	for _, dir := range r.SearchDirs {
		path := filepath.Join(dir, Prefix+name)
		if st, err := os.Stat(path); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return Plugin{Name: name, Path: path, Source: FromSearchPath,
				Warning: fmt.Sprintf("platform %s runs %s, which was not installed with 'neural-host plugins install', so its checksum is not checked", name, path)}, nil
		}
	}
	return Plugin{}, &NotInstalledError{Name: name, Dirs: r.SearchDirs}
}

// Choose picks the namespace a plain name resolves to among those that
// have it, ordered as store.SortNamespaces orders them: the only one,
// else sdk.DefaultNamespace, else none, with an *store.AmbiguousError.
// No namespace at all is "" and no error.
func Choose(name string, namespaces []string) (string, error) {
	switch {
	case len(namespaces) == 0:
		return "", nil
	case len(namespaces) == 1 || namespaces[0] == sdk.DefaultNamespace:
		return namespaces[0], nil
	}
	return "", &store.AmbiguousError{Name: name, Namespaces: namespaces,
		Fix: fmt.Sprintf("pin one in %s, such as required_plugins: {%s/%s: \"\"}, then run 'neural-host init'", project.ConfigFile, namespaces[0], name)}
}

// LockedNamespaces returns the namespaces under which lock pins name,
// ordered as store.SortNamespaces orders them.
func LockedNamespaces(lock project.Lock, name string) []string {
	var out []string
	for addr := range lock.Plugins {
		if ns, n, err := store.SplitAddress("plugins", project.Address(addr)); err == nil && n == name {
			out = append(out, ns)
		}
	}
	store.SortNamespaces(out)
	return out
}

// LockedEntry returns lock's entry for namespace/name, which a plain NAME
// key also is when namespace is sdk.DefaultNamespace; nil if none.
func LockedEntry(lock project.Lock, namespace, name string) *project.Locked {
	if lp, ok := lock.Plugins[namespace+"/"+name]; ok {
		return lp
	}
	if namespace == sdk.DefaultNamespace {
		return lock.Plugins[name]
	}
	return nil
}

// namespaces returns the namespaces that have name installed in any store,
// ordered as store.SortNamespaces orders them.
func (r *Resolver) namespaces(name string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range r.Stores {
		for _, ns := range s.Namespaces(name) {
			if !seen[ns] {
				seen[ns] = true
				out = append(out, ns)
			}
		}
	}
	store.SortNamespaces(out)
	return out
}

func (r *Resolver) resolveLocked(namespace, name string, locked *project.Locked) (Plugin, error) {
	want, ok := locked.Hashes[store.Platform()]
	if !ok {
		return Plugin{}, &NotInstalledError{Name: name, Why: fmt.Sprintf("%s pins version %s but has no checksum for %s; run 'neural-host init --mirror DIR' to add it",
			r.LockPath, locked.Version, store.Platform())}
	}
	for _, s := range r.Stores {
		if inst, ok := s.Find(namespace, name, nil, locked.Version); ok {
			return Plugin{Name: name, Path: inst.Path, SHA256: strings.TrimPrefix(want, "sha256:"), Source: FromLock, Installed: &inst}, nil
		}
	}
	return Plugin{}, &NotInstalledError{Name: name, Why: fmt.Sprintf("%s pins version %s of %s/%s, which is not installed; run 'neural-host init --mirror DIR' or 'neural-host plugins install'",
		r.LockPath, locked.Version, namespace, name)}
}

// Names returns every platform name the resolver can find, sorted.
func (r *Resolver) Names() []string {
	seen := map[string]bool{}
	for n := range r.DevOverrides {
		seen[n] = sdk.ValidPlatformName(n)
	}
	for _, s := range r.Stores {
		all, _ := s.List()
		for _, p := range all {
			seen[p.Name] = true
		}
	}
	for _, dir := range r.SearchDirs {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), Prefix)
			if !ok || !sdk.ValidPlatformName(name) {
				continue
			}
			if st, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				seen[name] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n, ok := range seen {
		if ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
