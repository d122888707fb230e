// Package project reads a project's neural.yaml (the plugins it requires)
// and reads and writes its neural.lock (the exact plugin versions and
// checksums it was set up with). A project is the nearest directory at or
// above the working directory holding either file. As git does with
// repositories (safe.directory), a project directory owned by another user
// is not trusted unless listed in $NEURAL_SAFE_DIRECTORIES: its lock file
// picks the binaries that run. Plugin names in both files follow the
// platform name rule. Writes to the lock file are atomic and serialised
// with a lock on the project directory.
package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/hashicorp/go-version"
	"github.com/neural-dsl/neural-host/host/internal/flock"
	"github.com/neural-dsl/neural-host/sdk"
	"gopkg.in/yaml.v3"
)

const (
	ConfigFile = "neural.yaml"
	LockFile   = "neural.lock"
)

// Config is neural.yaml.
type Config struct {
	// RequiredPlugins maps a plugin name (or NAMESPACE/NAME) to a version
	// constraint such as ">= 1.2, < 2.0"; empty accepts any version.
	RequiredPlugins map[string]string `yaml:"required_plugins"`
}

// Lock is neural.lock.
type Lock struct {
	Plugins map[string]*Locked `yaml:"plugins"`
}

// Locked is one plugin in the lock file.
type Locked struct {
	Version    string `yaml:"version"`
	Constraint string `yaml:"constraint,omitempty"`
	// Hashes maps OS_ARCH to "sha256:HEX" of the plugin binary.
	Hashes map[string]string `yaml:"hashes"`
}

// Project is a directory with a neural.yaml or neural.lock.
type Project struct {
	Dir string
}

// EnvSafeDirectories lists, separated as $PATH is, project directories
// trusted although another user owns them; "*" trusts every directory.
const EnvSafeDirectories = "NEURAL_SAFE_DIRECTORIES"

// UnsafeError says a project directory belongs to another user.
type UnsafeError struct {
	Dir        string
	Owner, UID uint32
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("project: %s is owned by uid %d, not by you (uid %d), so its %s and %s are not trusted",
		e.Dir, e.Owner, e.UID, ConfigFile, LockFile)
}

// Hint says how to proceed.
func (e *UnsafeError) Hint() string {
	return fmt.Sprintf("run neural-host outside %s, or, if you trust whoever owns it, add it to $%s (directories separated by '%c'; '*' trusts all)",
		e.Dir, EnvSafeDirectories, filepath.ListSeparator)
}

// Unwrap makes an untrusted project bad input: nothing is run or sent.
func (e *UnsafeError) Unwrap() error { return sdk.ErrInvalidArgument }

// Find returns the project at or above dir, or an *UnsafeError when the
// directory found is another user's and not listed as safe.
func Find(dir string) (Project, bool, error) {
	for {
		for _, f := range []string{ConfigFile, LockFile} {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				if err := checkOwner(dir, os.Getenv); err != nil {
					return Project{}, false, err
				}
				return Project{Dir: dir}, true, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return Project{}, false, nil
		}
		dir = parent
	}
}

// checkOwner follows git's ownership rule: the directory must belong to
// the effective user, or, for root under sudo, to the user who ran sudo;
// otherwise it must be listed in $NEURAL_SAFE_DIRECTORIES.
func checkOwner(dir string, getenv func(string) string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("project: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("project: cannot read the owner of %s", dir)
	}
	uid := uint32(os.Geteuid())
	if sys.Uid == uid {
		return nil
	}
	if sudo, err := strconv.ParseUint(getenv("SUDO_UID"), 10, 32); err == nil && uid == 0 && sys.Uid == uint32(sudo) {
		return nil
	}
	for _, safe := range filepath.SplitList(getenv(EnvSafeDirectories)) {
		if safe == "*" || (safe != "" && filepath.Clean(safe) == filepath.Clean(dir)) {
			return nil
		}
	}
	return &UnsafeError{Dir: dir, Owner: sys.Uid, UID: uid}
}

// Address turns a plain plugin name into NAMESPACE/NAME: a plain name is
// sdk.DefaultNamespace's, as a plain Terraform provider name is hashicorp's.
func Address(name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	return sdk.DefaultNamespace + "/" + name
}

// Config reads neural.yaml; a missing file is an empty config.
func (p Project) Config() (Config, error) {
	var c Config
	b, err := os.ReadFile(filepath.Join(p.Dir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("project: %s: %w", filepath.Join(p.Dir, ConfigFile), err)
	}
	for name, con := range c.RequiredPlugins {
		if err := checkAddress("required_plugins", name); err != nil {
			return c, fmt.Errorf("project: %s: %w", filepath.Join(p.Dir, ConfigFile), err)
		}
		if _, err := Constraint(con); err != nil {
			return c, fmt.Errorf("project: %s: required_plugins.%s: %w", ConfigFile, name, err)
		}
	}
	return c, nil
}

// checkAddress checks a plugin named as NAME or NAMESPACE/NAME under
// section: both parts follow the platform name rule.
func checkAddress(section, address string) error {
	ns, name, qualified := strings.Cut(address, "/")
	if !qualified {
		ns, name = sdk.DefaultNamespace, address
	}
	field := section + "." + address
	if !sdk.ValidPlatformName(ns) {
		return sdk.FieldError(field, fmt.Sprintf("%q is not a plugin namespace", ns), "write NAME or NAMESPACE/NAME, each "+sdk.PlatformNameRule)
	}
	return sdk.CheckPlatformName(field, name)
}

// Constraint parses a version constraint; empty means any version.
func Constraint(s string) (version.Constraints, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	c, err := version.NewConstraint(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a version constraint (write e.g. \">= 1.2, < 2.0\" or \"~> 1.2\")", s)
	}
	return c, nil
}

// Lock reads neural.lock; a missing file is an empty lock.
func (p Project) Lock() (Lock, error) {
	l := Lock{Plugins: map[string]*Locked{}}
	b, err := os.ReadFile(filepath.Join(p.Dir, LockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, err
	}
	if err := yaml.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("project: %s: %w", filepath.Join(p.Dir, LockFile), err)
	}
	if l.Plugins == nil {
		l.Plugins = map[string]*Locked{}
	}
	for addr, lp := range l.Plugins {
		err := checkAddress("plugins", addr)
		if err == nil && lp == nil {
			err = sdk.FieldError("plugins."+addr, "has no version", "remove the entry and run 'neural-host init' to record it again")
		}
		if err != nil {
			return l, fmt.Errorf("project: %s: %w", filepath.Join(p.Dir, LockFile), err)
		}
	}
	return l, nil
}

const lockHeader = "# neural.lock: the plugin versions and checksums this project uses.\n" +
	"# Written by neural-host (plugins install, init); commit it with the project.\n"

// UpdateLock applies fn to the lock file under an exclusive lock on the
// project directory and writes the result atomically.
func (p Project) UpdateLock(fn func(*Lock) error) error {
	unlock, err := flock.Dir(p.Dir)
	if err != nil {
		return fmt.Errorf("project: %w", err)
	}
	defer unlock()
	l, err := p.Lock()
	if err != nil {
		return err
	}
	if err := fn(&l); err != nil {
		return err
	}
	b, err := yaml.Marshal(l)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(p.Dir, ".neural.lock-")
	if err != nil {
		return fmt.Errorf("project: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(lockHeader + string(b)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(p.Dir, LockFile))
}

// Hash formats a sha256 for the lock file.
func Hash(sha256 string) string { return "sha256:" + sha256 }

// Referenced reports whether the lock file refers to this version.
func (l Lock) Referenced(address, ver string) bool {
	lp, ok := l.Plugins[address]
	return ok && lp.Version == ver
}
