// Package store keeps installed plugins in a directory laid out as
//
//	NAMESPACE/NAME/VERSION/OS_ARCH/neural-plugin-NAME
//	NAMESPACE/NAME/VERSION/OS_ARCH/manifest.json
//
// so that a registry can be added later without moving files. NAMESPACE is
// the one the plugin declares in its metadata (sdk.DefaultNamespace when it
// declares none), so that two publishers' plugins of one name can both be
// installed, as Terraform's provider addresses allow. The manifest
// records the binary's sha256 and the metadata the plugin reported when it
// was installed, so listing never starts a plugin. Every change happens
// under an exclusive lock on the directory and lands by atomic rename, so
// concurrent neural-host processes never see or leave a half-installed
// plugin. Namespaces, names and versions become path components, so all are checked
// against strict rules (sdk.ValidPlatformName, ValidVersion) before a path
// is built, and removal deletes only directories the store itself lists,
// never a pattern made from user input. The package does not start
// plugins; callers pass a Probe.
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
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/neural-dsl/neural-host/host/internal/flock"
	"github.com/neural-dsl/neural-host/sdk"
)

// BinaryPrefix starts every plugin binary's name.
const BinaryPrefix = "neural-plugin-"

const manifestFile = "manifest.json"

// maxBinarySize bounds what an install copies, from a file or out of an
// archive, so that a small hostile archive cannot fill the disk; real
// plugin binaries are tens of megabytes. A variable so tests can lower it.
var maxBinarySize int64 = 512 << 20

// versionRE admits MAJOR.MINOR.PATCH with optional pre-release and build
// parts, in the characters semver allows: a version is a path component.
var versionRE = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// ValidVersion reports whether v is a strict semantic version such as 1.2.0
// or 1.2.0-rc.1, short enough to be a file name.
func ValidVersion(v string) bool {
	if len(v) > 64 || !versionRE.MatchString(v) {
		return false
	}
	_, err := version.NewSemver(v)
	return err == nil
}

// CheckVersion returns an invalid-argument *sdk.Error naming field when v
// is not a valid version, and nil when it is.
func CheckVersion(field, v string) error {
	if ValidVersion(v) {
		return nil
	}
	return sdk.FieldError(field, fmt.Sprintf("%q is not a version", v), "write a semantic version such as 1.2.0 or 1.2.0-rc.1")
}

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
// name, then by namespace (sdk.DefaultNamespace first), then by version,
// newest first.
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
		// The binary's path is built from the manifest: it must agree with
		// the directory it sits in, or it is a foreign file.
		rel, _ := filepath.Rel(s.Dir, filepath.Dir(p))
		if rel != filepath.Join(m.Namespace, m.Name, m.Version, m.Platform) || !sdk.ValidPlatformName(m.Namespace) || !sdk.ValidPlatformName(m.Name) || !ValidVersion(m.Version) {
			continue
		}
		out = append(out, Installed{Manifest: m, Path: filepath.Join(filepath.Dir(p), BinaryPrefix+m.Name)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		if out[i].Namespace != out[j].Namespace {
			return namespaceBefore(out[i].Namespace, out[j].Namespace)
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

// namespaceBefore orders namespaces with sdk.DefaultNamespace first, then
// alphabetically, so that every listing and every choice between
// namespaces is the same on every run.
func namespaceBefore(a, b string) bool {
	if (a == sdk.DefaultNamespace) != (b == sdk.DefaultNamespace) {
		return a == sdk.DefaultNamespace
	}
	return a < b
}

// SortNamespaces orders namespaces as List does: sdk.DefaultNamespace
// first, then alphabetically.
func SortNamespaces(namespaces []string) {
	sort.Slice(namespaces, func(i, j int) bool { return namespaceBefore(namespaces[i], namespaces[j]) })
}

// Namespaces returns the namespaces that have name installed for this
// machine's platform, sdk.DefaultNamespace first, then alphabetically.
func (s *Store) Namespaces(name string) []string {
	all, _ := s.List()
	var out []string
	for _, p := range all {
		if p.Name == name && (len(out) == 0 || out[len(out)-1] != p.Namespace) {
			out = append(out, p.Namespace) // List sorts by namespace within a name
		}
	}
	return out
}

// Find returns the newest version of namespace/name installed that meets c
// (nil accepts any) and, when exact is not empty, equals it.
func (s *Store) Find(namespace, name string, c version.Constraints, exact string) (Installed, bool) {
	all, _ := s.List()
	for _, p := range all {
		if p.Name != name || p.Namespace != namespace {
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
	sum, size, err := copyHashed(src, tmpBin, source)
	// A refusal from the reader (an archive's contents) is the user's to fix.
	var refused *InstallError
	if errors.As(err, &refused) {
		return Installed{}, refused
	}
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
	m := Manifest{Namespace: NamespaceOf(meta), Name: meta.Name, Version: meta.Version, Platform: Platform(), SHA256: sum, Size: size,
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

// NamespaceOf is the namespace a plugin is installed under: the one it
// declares, or sdk.DefaultNamespace.
func NamespaceOf(meta sdk.Metadata) string {
	if meta.Namespace == "" {
		return sdk.DefaultNamespace
	}
	return meta.Namespace
}

func checkMeta(meta sdk.Metadata, want Expect, source string) error {
	if !sdk.ValidPlatformName(NamespaceOf(meta)) {
		return &InstallError{Msg: fmt.Sprintf("%s reports the invalid namespace %q", source, meta.Namespace), Hint: "the plugin's Metadata.Namespace must be empty or " + sdk.PlatformNameRule}
	}
	if !sdk.ValidPlatformName(meta.Name) {
		return &InstallError{Msg: fmt.Sprintf("%s reports the invalid name %q", source, meta.Name), Hint: "the plugin's Metadata.Name must be " + sdk.PlatformNameRule}
	}
	if want.Name != "" && meta.Name != want.Name {
		return &InstallError{Msg: fmt.Sprintf("%s is named for plugin %q but says it is %q", source, want.Name, meta.Name),
			Hint: "rename the file to " + BinaryPrefix + meta.Name + " or rebuild the plugin"}
	}
	if !ValidVersion(meta.Version) {
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

// copyHashed copies at most maxBinarySize bytes of src to dst; more is an
// error, found after reading one byte past the limit.
func copyHashed(src io.Reader, dst, source string) (string, int64, error) {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(src, maxBinarySize+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > maxBinarySize {
		err = &InstallError{Msg: fmt.Sprintf("%s holds more than the %d MiB a plugin binary may have", source, maxBinarySize>>20),
			Hint: "a plugin binary is tens of megabytes; this file is not one, or was built to exhaust the disk"}
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

// installDir is one NAMESPACE/NAME/VERSION directory of the store.
type installDir struct {
	namespace, name, version string
}

func (d installDir) rel() string { return filepath.Join(d.namespace, d.name, d.version) }

// installDirs lists the store's NAMESPACE/NAME/VERSION directories, read
// from the directory itself; entries that do not follow the naming rules
// are not the store's and are never touched.
func (s *Store) installDirs() ([]installDir, error) {
	var out []installDir
	namespaces, err := os.ReadDir(s.Dir)
	if err != nil && !IsNotExist(err) {
		return nil, err
	}
	for _, ns := range namespaces {
		if !ns.IsDir() || !sdk.ValidPlatformName(ns.Name()) {
			continue
		}
		names, _ := os.ReadDir(filepath.Join(s.Dir, ns.Name()))
		for _, n := range names {
			if !n.IsDir() || !sdk.ValidPlatformName(n.Name()) {
				continue
			}
			versions, _ := os.ReadDir(filepath.Join(s.Dir, ns.Name(), n.Name()))
			for _, v := range versions {
				if v.IsDir() && ValidVersion(v.Name()) {
					out = append(out, installDir{ns.Name(), n.Name(), v.Name()})
				}
			}
		}
	}
	return out, nil
}

// SplitAddress splits NAMESPACE/NAME, or a plain NAME, whose namespace is
// then empty. A part that breaks the platform name rule is an
// invalid-argument error naming field.
func SplitAddress(field, address string) (namespace, name string, err error) {
	namespace, name, qualified := strings.Cut(address, "/")
	if !qualified {
		namespace, name = "", address
	} else if !sdk.ValidPlatformName(namespace) {
		return "", "", sdk.FieldError(field, fmt.Sprintf("%q is not a plugin namespace", namespace), "write NAME or NAMESPACE/NAME, each "+sdk.PlatformNameRule)
	}
	if err := sdk.CheckPlatformName(field, name); err != nil {
		return "", "", err
	}
	return namespace, name, nil
}

// AmbiguousError says a plain plugin name is installed in more than one
// namespace and no rule picks one, so no choice would be safe.
type AmbiguousError struct {
	Name       string
	Namespaces []string
	// Fix says how to name one; it becomes the hint.
	Fix string
}

func (e *AmbiguousError) Error() string {
	addrs := make([]string, len(e.Namespaces))
	for i, ns := range e.Namespaces {
		addrs[i] = ns + "/" + e.Name
	}
	return fmt.Sprintf("store: plugin %q is installed in %d namespaces: %s", e.Name, len(addrs), strings.Join(addrs, " and "))
}

// Hint says how to choose one.
func (e *AmbiguousError) Hint() string { return e.Fix }

// Unwrap makes an ambiguous name bad input: nothing is run or removed.
func (e *AmbiguousError) Unwrap() error { return sdk.ErrInvalidArgument }

// Remove deletes the installs of address (NAMESPACE/NAME, or a NAME
// installed in one namespace only), only the given version if not empty,
// for every platform. It returns what it removed. A malformed address or
// version is an invalid-argument error: both would otherwise become paths;
// a NAME installed in several namespaces is an *AmbiguousError.
func (s *Store) Remove(address, ver string) ([]string, error) {
	namespace, name, err := SplitAddress("NAME", address)
	if err != nil {
		return nil, err
	}
	if ver != "" {
		if err := CheckVersion("VERSION", ver); err != nil {
			return nil, err
		}
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer unlock()
	dirs, err := s.installDirs()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if namespace == "" {
		seen := map[string]bool{}
		var namespaces []string
		for _, d := range dirs {
			if d.name == name && !seen[d.namespace] {
				seen[d.namespace] = true
				namespaces = append(namespaces, d.namespace)
			}
		}
		if len(namespaces) > 1 {
			SortNamespaces(namespaces)
			return nil, &AmbiguousError{Name: name, Namespaces: namespaces, Fix: "name the one to remove as NAMESPACE/NAME, such as " + namespaces[0] + "/" + name}
		}
	}
	var removed []string
	for _, d := range dirs {
		if d.name != name || (namespace != "" && d.namespace != namespace) || (ver != "" && d.version != ver) {
			continue
		}
		if err := s.removeLocked(d); err != nil {
			return removed, err
		}
		removed = append(removed, d.rel())
	}
	return removed, nil
}

// removeLocked deletes one install directory the store listed.
func (s *Store) removeLocked(d installDir) error {
	// Move aside first so a reader never sees a half-deleted install.
	aside, err := os.MkdirTemp(s.Dir, ".remove-")
	if err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(s.Dir, d.rel()), filepath.Join(aside, "x")); err != nil {
		os.RemoveAll(aside)
		return err
	}
	os.RemoveAll(aside)
	parent := filepath.Join(s.Dir, d.namespace, d.name)
	if entries, _ := os.ReadDir(parent); len(entries) == 0 {
		os.Remove(parent)
		// A third-party namespace lives only as long as its plugins do.
		if d.namespace != sdk.DefaultNamespace {
			if entries, _ := os.ReadDir(filepath.Dir(parent)); len(entries) == 0 {
				os.Remove(filepath.Dir(parent))
			}
		}
	}
	return nil
}

// Prune removes every installed version for which keep returns false.
func (s *Store) Prune(keep func(address, version string) bool) ([]string, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer unlock()
	dirs, err := s.installDirs()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var removed []string
	for _, d := range dirs {
		if keep(d.namespace+"/"+d.name, d.version) {
			continue
		}
		if err := s.removeLocked(d); err != nil {
			return removed, err
		}
		removed = append(removed, d.rel())
	}
	return removed, nil
}

// IsNotExist reports whether err means a file was missing.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
