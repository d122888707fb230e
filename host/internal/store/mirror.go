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
)

// SumsFile lists a mirror's archives with their sha256, as sha256sum does.
const SumsFile = "SHA256SUMS"

var archiveRE = regexp.MustCompile(`^neural-plugin-([a-z0-9][a-z0-9_-]*)_v([^_]+)_([a-z0-9]+_[a-z0-9]+)\.tar\.gz$`)

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
	if m == nil {
		return Archive{}, false
	}
	return Archive{Path: path, Name: m[1], Version: m[2], Platform: m[3]}, true
}

// OpenBinary returns the plugin binary inside the archive.
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
	for {
		h, err := tr.Next()
		if err != nil {
			f.Close()
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("store: %s has no %s%s", a.Path, BinaryPrefix, a.Name)
			}
			return nil, fmt.Errorf("store: %s: %w", a.Path, err)
		}
		if h.Typeflag == tar.TypeReg && filepath.Base(h.Name) == BinaryPrefix+a.Name {
			return struct {
				io.Reader
				io.Closer
			}{tr, f}, nil
		}
	}
}

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
