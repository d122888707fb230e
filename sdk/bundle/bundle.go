// Package bundle packs a job's working directory into a deterministic
// tar.gz: files in sorted order, fixed timestamps and owners, normalised
// modes. The same tree always gives the same bytes and so the same hash,
// which plugins use to name uploads and skip re-uploading.
//
// A .neuralignore file at the root lists patterns to leave out, one per line:
// '#' starts a comment, a pattern ending in '/' matches directories only, a
// pattern containing '/' is matched against the path from the root, and any
// other pattern against each name. .git is always left out. The package
// does not follow symbolic links out of the tree; links are stored as links.
package bundle

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// IgnoreFile is the name of the file listing patterns to leave out.
const IgnoreFile = ".neuralignore"

// epoch is the modification time stored for every entry.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Info describes a written bundle.
type Info struct {
	// SHA256 is the hex digest of the tar.gz bytes.
	SHA256 string
	// Files counts regular files and links; Bytes sums their sizes.
	Files int
	Bytes int64
}

// Options adjust what Write puts in the bundle.
type Options struct {
	// Extra files are added at the root, after the tree, replacing any file
	// of the same name; nil adds none.
	Extra map[string][]byte
}

// Write packs dir into w and returns what it wrote.
func Write(w io.Writer, dir string, opts Options) (Info, error) {
	paths, err := collect(dir, opts.Extra)
	if err != nil {
		return Info{}, err
	}
	h := sha256.New()
	zw, _ := gzip.NewWriterLevel(io.MultiWriter(w, h), gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	var info Info
	for _, rel := range paths {
		if _, ok := opts.Extra[rel]; ok {
			continue
		}
		if err := addFile(tw, dir, rel, &info); err != nil {
			return Info{}, err
		}
	}
	extras := make([]string, 0, len(opts.Extra))
	for name := range opts.Extra {
		extras = append(extras, name)
	}
	sort.Strings(extras)
	for _, name := range extras {
		data := opts.Extra[name]
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return Info{}, err
		}
		if _, err := tw.Write(data); err != nil {
			return Info{}, err
		}
		info.Files++
		info.Bytes += int64(len(data))
	}
	if err := tw.Close(); err != nil {
		return Info{}, err
	}
	if err := zw.Close(); err != nil {
		return Info{}, err
	}
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	return info, nil
}

// Hash returns what Write would report without keeping the bytes.
func Hash(dir string, opts Options) (Info, error) { return Write(io.Discard, dir, opts) }

func addFile(tw *tar.Writer, dir, rel string, info *Info) error {
	full := filepath.Join(dir, filepath.FromSlash(rel))
	fi, err := os.Lstat(full)
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: rel, ModTime: epoch, Format: tar.FormatPAX}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, target, 0o777
		info.Files++
		return tw.WriteHeader(hdr)
	case fi.IsDir():
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, rel+"/", 0o755
		return tw.WriteHeader(hdr)
	case fi.Mode().IsRegular():
		hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, fi.Size(), 0o644
		if fi.Mode()&0o111 != 0 {
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		f, err := os.Open(full)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(tw, f)
		if err != nil {
			return err
		}
		if n != fi.Size() {
			return fmt.Errorf("bundle: %s changed size while being packed", rel)
		}
		info.Files++
		info.Bytes += n
		return nil
	}
	return nil // sockets, devices and pipes are not job inputs
}

// collect lists the paths to pack, relative and slash-separated, sorted.
func collect(dir string, extra map[string][]byte) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("bundle: %s is not a directory", dir)
	}
	ig, err := loadIgnore(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, dir+string(filepath.Separator)))
		if ig.match(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	sort.Strings(paths)
	return paths, nil
}

type ignore struct{ patterns []string }

func loadIgnore(dir string) (*ignore, error) {
	ig := &ignore{patterns: []string{".git/"}}
	f, err := os.Open(filepath.Join(dir, IgnoreFile))
	if errors.Is(err, fs.ErrNotExist) {
		return ig, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := path.Match(strings.TrimSuffix(line, "/"), ""); err != nil {
			return nil, fmt.Errorf("bundle: %s line %d: bad pattern %q: %v", IgnoreFile, n, line, err)
		}
		ig.patterns = append(ig.patterns, line)
	}
	return ig, sc.Err()
}

func (ig *ignore) match(rel string, isDir bool) bool {
	for _, p := range ig.patterns {
		dirOnly := strings.HasSuffix(p, "/")
		p = strings.TrimSuffix(p, "/")
		if dirOnly && !isDir {
			continue
		}
		var ok bool
		if strings.Contains(p, "/") {
			ok, _ = path.Match(strings.TrimPrefix(p, "/"), rel)
		} else {
			ok, _ = path.Match(p, path.Base(rel))
		}
		if ok {
			return true
		}
	}
	return false
}

// Extract unpacks a bundle into dest, refusing entries that would land
// outside it.
func Extract(r io.Reader, dest string) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		name := path.Clean(hdr.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("bundle: entry %q escapes the destination", hdr.Name)
		}
		target := filepath.Join(dest, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fs.FileMode(hdr.Mode)&0o755)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
