// Package store keeps installed plugins in a directory laid out as
//
//	NAMESPACE/NAME/VERSION/OS_ARCH/neural-plugin-NAME
//	NAMESPACE/NAME/VERSION/OS_ARCH/manifest.json
//
// so that a registry can be added later without moving files. The manifest
// records the binary's sha256 and the metadata the plugin reported when it
// was installed, so listing never starts a plugin. Every change happens
// under an exclusive lock on the directory and lands by atomic rename, so
// concurrent neural-host processes never see or leave a half-installed
// plugin. The package does not start plugins; callers pass a Probe.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/neural-dsl/neural-host/host/internal/flock"
	"github.com/neural-dsl/neural-host/sdk"
)

// Namespace is where plugins built in this repository are installed.
const Namespace = "official"

// BinaryPrefix starts every plugin binary's name.
const BinaryPrefix = "neural-plugin-"

const manifestFile = "manifest.json"

// Platform is this machine's OS_ARCH.
func Platform() string { return runtime.GOOS + "_" + runtime.GOARCH }

// Manifest describes one installed binary.
type Manifest struct {
	Namespace   string       `json:"namespace"`
	Name        string       `json:"name"`
	Version     string       `json:"version"`
	Platform    string       `json:"platform"`
	SHA256      string       `json:"sha256"`
	Size        int64        `json:"size"`
	Source      string       `json:"source"`
	InstalledAt time.Time    `json:"installed_at"`
	Metadata    sdk.Metadata `json:"metadata"`
}

// Installed is a plugin in a store.
type Installed struct {
	Manifest
	// Path is the binary.
	Path string
}

// Address is NAMESPACE/NAME, the plugin's key in lock files.
func (i Installed) Address() string { return i.Namespace + "/" + i.Name }

// Store is one plugin directory.
type Store struct {
	Dir string
}

// Probe starts the binary at path, whose sha256 is given so that the
// binary started is the one checked, and returns its metadata.
type Probe func(ctx context.Context, path, sha256 string) (sdk.Metadata, error)

// List returns the plugins installed for this machine's platform, sorted by
// name and then by version, newest first.
func (s *Store) List() ([]Installed, error) {
	pattern := filepath.Join(s.Dir, "*", "*", "*", Platform(), manifestFile)
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var out []Installed
	for _, p := range paths {
		var m Manifest
		b, err := os.ReadFile(p)
		if err != nil || json.Unmarshal(b, &m) != nil {
			continue // a manifest being replaced, or foreign files
		}
		out = append(out, Installed{Manifest: m, Path: filepath.Join(filepath.Dir(p), BinaryPrefix+m.Name)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return newer(out[i].Version, out[j].Version)
	})
	return out, nil
}

func newer(a, b string) bool {
	va, errA := version.NewVersion(a)
	vb, errB := version.NewVersion(b)
	if errA != nil || errB != nil {
		return a > b
	}
	return va.GreaterThan(vb)
}

// Find returns the newest installed version of name that meets c (nil
// accepts any) and, when exact is not empty, equals it.
func (s *Store) Find(name string, c version.Constraints, exact string) (Installed, bool) {
	all, _ := s.List()
	for _, p := range all {
		if p.Name != name {
			continue
		}
		v, err := version.NewVersion(p.Version)
		if err != nil {
			continue
		}
		if exact != "" && p.Version != exact {
			continue
		}
		if c == nil || c.Check(v) {
			return p, true
		}
	}
	return Installed{}, false
}

// lock takes an exclusive lock on the store directory until unlock.
func (s *Store) lock() (unlock func(), err error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, err
	}
	return flock.Dir(s.Dir)
}

// Expect is what the caller knows about a binary before it is probed;
// empty fields are not checked.
type Expect struct {
	Name     string
	Version  string
	Platform string
}

// InstallError says an install was refused, and why.
type InstallError struct{ Msg, Hint string }

func (e *InstallError) Error() string { return "store: " + e.Msg }

// Install copies the binary read from src into the store, after probing the
// copy and checking it against want. It replaces an install of the same
// name, version and platform.
func (s *Store) Install(ctx context.Context, src io.Reader, source string, want Expect, probe Probe) (Installed, error) {
	if want.Platform != "" && want.Platform != Platform() {
		return Installed{}, &InstallError{Msg: fmt.Sprintf("%s is built for %s, this machine is %s", source, want.Platform, Platform()),
			Hint: "install the archive built for " + Platform()}
	}
	unlock, err := s.lock()
	if err != nil {
		return Installed{}, fmt.Errorf("store: %w", err)
	}
	defer unlock()

	stage, err := os.MkdirTemp(s.Dir, ".install-")
	if err != nil {
		return Installed{}, fmt.Errorf("store: %w", err)
	}
	defer os.RemoveAll(stage)
	tmpBin := filepath.Join(stage, "plugin")
	sum, size, err := copyHashed(src, tmpBin)
	if err != nil {
		return Installed{}, fmt.Errorf("store: copying %s: %w", source, err)
	}
	meta, err := probe(ctx, tmpBin, sum)
	if err != nil {
		return Installed{}, &InstallError{Msg: fmt.Sprintf("%s did not start as a plugin: %v", source, err),
			Hint: "check that it is a neural-host plugin built for " + Platform()}
	}
	if err := checkMeta(meta, want, source); err != nil {
		return Installed{}, err
	}
	m := Manifest{Namespace: Namespace, Name: meta.Name, Version: meta.Version, Platform: Platform(), SHA256: sum, Size: size,
		Source: source, InstalledAt: time.Now().UTC(), Metadata: meta}
	binName := BinaryPrefix + meta.Name
	if err := os.Rename(tmpBin, filepath.Join(stage, binName)); err != nil {
		return Installed{}, fmt.Errorf("store: %w", err)
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(stage, manifestFile), mb, 0o644); err != nil {
		return Installed{}, fmt.Errorf("store: %w", err)
	}
	final := filepath.Join(s.Dir, m.Namespace, m.Name, m.Version, m.Platform)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return Installed{}, fmt.Errorf("store: %w", err)
	}
	// Swap directories: a reader sees the old install or the new one.
	old := ""
	if _, err := os.Stat(final); err == nil {
		old = stage + ".old"
		if err := os.Rename(final, old); err != nil {
			return Installed{}, fmt.Errorf("store: %w", err)
		}
	}
	if err := os.Rename(stage, final); err != nil {
		if old != "" {
			os.Rename(old, final)
		}
		return Installed{}, fmt.Errorf("store: %w", err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return Installed{Manifest: m, Path: filepath.Join(final, binName)}, nil
}

func checkMeta(meta sdk.Metadata, want Expect, source string) error {
	if meta.Name == "" || strings.ContainsAny(meta.Name, "/\\. ") {
		return &InstallError{Msg: fmt.Sprintf("%s reports the invalid name %q", source, meta.Name), Hint: "the plugin's Metadata.Name must be a plain word"}
	}
	if want.Name != "" && meta.Name != want.Name {
		return &InstallError{Msg: fmt.Sprintf("%s is named for plugin %q but says it is %q", source, want.Name, meta.Name),
			Hint: "rename the file to " + BinaryPrefix + meta.Name + " or rebuild the plugin"}
	}
	if _, err := version.NewVersion(meta.Version); err != nil {
		return &InstallError{Msg: fmt.Sprintf("%s reports version %q, which is not a version number", source, meta.Version),
			Hint: "give the plugin a semantic version such as 1.2.0"}
	}
	if want.Version != "" && strings.TrimPrefix(want.Version, "v") != meta.Version {
		return &InstallError{Msg: fmt.Sprintf("%s claims version %s but the plugin says %s", source, want.Version, meta.Version),
			Hint: "the archive was renamed or built wrongly; rebuild it with 'make release'"}
	}
	if meta.ProtocolVersion != sdk.ProtocolVersion {
		return &InstallError{Msg: fmt.Sprintf("%s speaks plugin protocol %d; this neural-host speaks %d", source, meta.ProtocolVersion, sdk.ProtocolVersion),
			Hint: "install a plugin version built for protocol " + fmt.Sprint(sdk.ProtocolVersion)}
	}
	return nil
}

func copyHashed(src io.Reader, dst string) (string, int64, error) {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// FileSHA256 hashes the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Remove deletes name's installs, only the given version if not empty, for
// every platform. It returns what it removed.
func (s *Store) Remove(name, ver string) ([]string, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer unlock()
	return s.removeLocked(name, ver)
}

func (s *Store) removeLocked(name, ver string) ([]string, error) {
	pattern := filepath.Join(s.Dir, "*", name, "*")
	if ver != "" {
		pattern = filepath.Join(s.Dir, "*", name, ver)
	}
	dirs, _ := filepath.Glob(pattern)
	var removed []string
	for _, d := range dirs {
		// Move aside first so a reader never sees a half-deleted install.
		aside, err := os.MkdirTemp(s.Dir, ".remove-")
		if err != nil {
			return removed, err
		}
		if err := os.Rename(d, filepath.Join(aside, "x")); err != nil {
			os.RemoveAll(aside)
			return removed, err
		}
		os.RemoveAll(aside)
		removed = append(removed, strings.TrimPrefix(d, s.Dir+string(filepath.Separator)))
		parent := filepath.Dir(d)
		if entries, _ := os.ReadDir(parent); len(entries) == 0 {
			os.Remove(parent)
		}
	}
	return removed, nil
}

// Prune removes every installed version for which keep returns false.
func (s *Store) Prune(keep func(address, version string) bool) ([]string, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer unlock()
	dirs, _ := filepath.Glob(filepath.Join(s.Dir, "*", "*", "*"))
	var removed []string
	for _, d := range dirs {
		rel, _ := filepath.Rel(s.Dir, d)
		parts := strings.Split(rel, string(filepath.Separator))
		if len(parts) != 3 || strings.HasPrefix(parts[0], ".") || keep(parts[0]+"/"+parts[1], parts[2]) {
			continue
		}
		r, err := s.removeLocked(parts[1], parts[2])
		removed = append(removed, r...)
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// IsNotExist reports whether err means a file was missing.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
