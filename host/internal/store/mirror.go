package store

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/neural-dsl/neural-host/sdk"
)

// SumsFile lists a mirror's archives with their sha256, as sha256sum does.
const SumsFile = "SHA256SUMS"

// archiveRE splits a release archive's name; the name and version parts
// are then held to their own rules. A platform name has no '_'.
var archiveRE = regexp.MustCompile(`^neural-plugin-([^_]+)_v([^_]+)_([a-z0-9]+_[a-z0-9]+)\.tar\.gz$`)

// ArchiveName is the release archive's file name.
func ArchiveName(name, ver, platform string) string {
	return fmt.Sprintf("%s%s_v%s_%s.tar.gz", BinaryPrefix, name, strings.TrimPrefix(ver, "v"), platform)
}

// Archive is a release archive's name, parsed.
type Archive struct {
	Path     string
	Name     string
	Version  string
	Platform string
}

// ParseArchive parses a release archive's file name.
func ParseArchive(path string) (Archive, bool) {
	m := archiveRE.FindStringSubmatch(filepath.Base(path))
	if m == nil || !sdk.ValidPlatformName(m[1]) || !ValidVersion(m[2]) {
		return Archive{}, false
	}
	return Archive{Path: path, Name: m[1], Version: m[2], Platform: m[3]}, true
}

// OpenBinary returns the plugin binary inside the archive. A release
// archive holds that one regular file and nothing else, at most
// maxBinarySize bytes: anything more is refused from the tar header, before
// a byte of it is decompressed, and the reader fails past the size too.
func (a Archive) OpenBinary() (io.ReadCloser, error) {
	f, err := os.Open(a.Path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: %s: %w", a.Path, err)
	}
	tr := tar.NewReader(zr)
	h, err := tr.Next()
	want := BinaryPrefix + a.Name
	switch {
	case errors.Is(err, io.EOF):
		err = &InstallError{Msg: fmt.Sprintf("%s has no %s", a.Path, want), Hint: "a release archive holds the plugin binary alone; rebuild it with 'make release'"}
	case err != nil:
		err = fmt.Errorf("store: %s: %w", a.Path, err)
	case h.Typeflag != tar.TypeReg || strings.TrimPrefix(h.Name, "./") != want:
		err = &InstallError{Msg: fmt.Sprintf("%s holds %q where only the regular file %s belongs", a.Path, h.Name, want),
			Hint: "a release archive holds the plugin binary alone; rebuild it with 'make release'"}
	case h.Size > maxBinarySize:
		err = &InstallError{Msg: fmt.Sprintf("%s unpacks %s to %d MiB, more than the %d MiB a plugin binary may have", a.Path, want, h.Size>>20, maxBinarySize>>20),
			Hint: "a plugin binary is tens of megabytes; this archive is not a plugin release, or was built to exhaust the disk"}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &archiveBinary{tr: tr, f: f, path: a.Path}, nil
}

// archiveBinary reads the binary out of an archive, then checks that the
// archive ends there.
type archiveBinary struct {
	tr   *tar.Reader
	f    *os.File
	path string
}

func (b *archiveBinary) Read(p []byte) (int, error) {
	n, err := b.tr.Read(p)
	if errors.Is(err, io.EOF) {
		if h, nerr := b.tr.Next(); nerr == nil {
			return n, &InstallError{Msg: fmt.Sprintf("%s holds %q after the plugin binary, where nothing belongs", b.path, h.Name),
				Hint: "a release archive holds the plugin binary alone; rebuild it with 'make release'"}
		} else if !errors.Is(nerr, io.EOF) {
			return n, fmt.Errorf("store: %s: %w", b.path, nerr)
		}
	}
	return n, err
}

func (b *archiveBinary) Close() error { return b.f.Close() }

// BinarySHA256 hashes the binary inside the archive.
func (a Archive) BinarySHA256() (string, error) {
	r, err := a.OpenBinary()
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WriteArchive packs the binary at bin into a release archive in dir and
// returns the archive's sha256. The archive is deterministic.
func WriteArchive(dir, bin, name, ver, platform string) (string, string, error) {
	in, err := os.Open(bin)
	if err != nil {
		return "", "", err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return "", "", err
	}
	path := filepath.Join(dir, ArchiveName(name, ver, platform))
	tmp, err := os.CreateTemp(dir, ".archive-")
	if err != nil {
		return "", "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	zw := gzip.NewWriter(io.MultiWriter(tmp, h))
	tw := tar.NewWriter(zw)
	hdr := &tar.Header{Name: BinaryPrefix + name, Mode: 0o755, Size: st.Size(), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return "", "", err
	}
	if _, err := io.Copy(tw, in); err != nil {
		return "", "", err
	}
	if err := tw.Close(); err != nil {
		return "", "", err
	}
	if err := zw.Close(); err != nil {
		return "", "", err
	}
	if err := tmp.Close(); err != nil {
		return "", "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", "", err
	}
	return path, hex.EncodeToString(h.Sum(nil)), nil
}

// VerifyArchive checks the file at path against the SHA256SUMS beside it,
// as 'sha256sum -c' does: a missing SHA256SUMS, a file it does not list and
// a different sum are all refused.
func VerifyArchive(path string) error {
	hint := "fetch the archive with the " + SumsFile + " of its release, or pass --no-verify to install it unchecked"
	dir, base := filepath.Dir(path), filepath.Base(path)
	sums, err := ReadSums(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	want, listed := sums[base]
	switch {
	case len(sums) == 0:
		return &InstallError{Msg: fmt.Sprintf("%s has no %s beside it, so its checksum cannot be checked", path, SumsFile), Hint: hint}
	case !listed:
		return &InstallError{Msg: fmt.Sprintf("%s is not listed in %s", path, filepath.Join(dir, SumsFile)), Hint: hint}
	}
	got, err := FileSHA256(path)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if got != want {
		return &InstallError{Msg: fmt.Sprintf("%s has sha256 %s but %s beside it says %s", path, got, SumsFile, want),
			Hint: "the archive is corrupt or was tampered with; fetch it again"}
	}
	return nil
}

// ReadSums reads dir's SHA256SUMS; a missing file is empty.
func ReadSums(dir string) (map[string]string, error) {
	sums := map[string]string{}
	f, err := os.Open(filepath.Join(dir, SumsFile))
	if IsNotExist(err) {
		return sums, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			sums[strings.TrimPrefix(fields[1], "*")] = fields[0]
		}
	}
	return sums, sc.Err()
}

// WriteSums replaces dir's SHA256SUMS atomically, sorted by file name.
func WriteSums(dir string, sums map[string]string) error {
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	tmp := filepath.Join(dir, "."+SumsFile+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, SumsFile))
}

// MirrorFind returns name's archives in a mirror whose version meets c (nil
// accepts any), newest first, each checked against SHA256SUMS.
func MirrorFind(dir, name string, c version.Constraints) ([]Archive, error) {
	sums, err := ReadSums(dir)
	if err != nil {
		return nil, err
	}
	if len(sums) == 0 {
		return nil, fmt.Errorf("store: %s has no %s; is it a plugin mirror? ('neural-host plugins mirror' writes one)", dir, SumsFile)
	}
	var out []Archive
	for file, sum := range sums {
		a, ok := ParseArchive(filepath.Join(dir, file))
		if !ok || a.Name != name {
			continue
		}
		v, err := version.NewVersion(a.Version)
		if err != nil || (c != nil && !c.Check(v)) {
			continue
		}
		got, err := FileSHA256(a.Path)
		if err != nil {
			return nil, fmt.Errorf("store: mirror lists %s but: %w", file, err)
		}
		if got != sum {
			return nil, fmt.Errorf("store: %s in the mirror has sha256 %s but %s says %s; the mirror is corrupt or was tampered with", file, got, SumsFile, sum)
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Version != out[j].Version {
			return newer(out[i].Version, out[j].Version)
		}
		return out[i].Platform < out[j].Platform
	})
	return out, nil
}
