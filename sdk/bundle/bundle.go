// Package bundle packs a job's working directory into a deterministic
// tar.gz, and unpacks one.
//
// Write stores files in sorted order with fixed timestamps and owners and
// normalised modes. The same tree always gives the same bytes and so the
// same hash, which plugins use to name uploads and skip re-uploading. A work
// dir given as a symbolic link is resolved first, so the bundle holds the
// tree the link points to. Given the job's entrypoint, Write refuses, before
// writing a byte, a bundle that would not contain it: such a job could only
// fail on the platform, after it was paid for.
//
// A .neuralignore file at the root lists patterns to leave out, one per line:
// '#' starts a comment, a pattern ending in '/' matches directories only, a
// pattern containing '/' is matched against the path from the root, and any
// other pattern against each name. .git is always left out.
//
// Symbolic links are stored as links and never followed. Only links that
// stay inside the tree are allowed, as Python's tarfile "data" filter
// (PEP 706) allows: the target is relative, may climb with leading ".." no
// higher than the root, and has no ".." after a name (where a link along the
// way would make the written path lie about where it leads). Write refuses
// any other link, since it would dangle on the platform; .neuralignore can
// leave it out. Extract refuses them too and, as git's checkout does
// ("beyond a symbolic link"), never writes through a link: an entry under a
// link, or with the name of one already there, is refused. Extract works
// inside an os.Root, so even a destination changed while it runs cannot
// make it write outside dest. Extract also refuses absolute names, names with
// a ".." component, hard links, devices and fifos; Write makes none of them.
//
// Holes are not part of the format: Write packs a sparse file's holes as the
// zeros they read as, which gzip shrinks to almost nothing (archive/tar
// cannot write sparse entries, and holes found by seeking would depend on
// the file system, not the content, and so change the hash). Extract leaves a
// hole wherever a whole 4 KiB block of zeros would be written, as
// cp --sparse=always does, so an unpacked file takes no more disk than its
// data; it reads the sparse entries other tar tools write the same way.
//
// Write and Extract stream: neither holds more than a few buffers, whatever
// the size of the tree, so a plugin can pipe one into the other. The package
// keeps no owners, times or modes beyond the executable bit, and does not
// pack sockets, devices or fifos.
package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
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

	"github.com/neural-dsl/neural-host/sdk"
)

// IgnoreFile is the name of the file listing patterns to leave out.
const IgnoreFile = ".neuralignore"

// epoch is the modification time stored for every entry.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// maxLinkHops bounds the links followed to find the entrypoint, as
// Linux's MAXSYMLINKS does for a path.
const maxLinkHops = 40

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
	// Entrypoint is the file the job runs, relative to the work dir, as in
	// sdk.JobSpec. When set, Write fails unless the bundle holds it as a
	// regular file, directly or through links inside the bundle; empty
	// checks nothing.
	Entrypoint string
}

// Write packs dir into w and returns what it wrote. A problem with the tree
// or the entrypoint is an *sdk.Error for the field "workdir" or
// "entrypoint" with a hint, found before anything is written where it can
// be; a failure to write to w is a plain error wrapping w's.
func Write(w io.Writer, dir string, opts Options) (Info, error) {
	t, err := collect(dir, opts.Extra)
	if err != nil {
		return Info{}, err
	}
	if opts.Entrypoint != "" {
		if err := t.checkEntrypoint(dir, opts.Entrypoint); err != nil {
			return Info{}, err
		}
	}
	out := &recordingWriter{w: w}
	h := sha256.New()
	zw, _ := gzip.NewWriterLevel(io.MultiWriter(out, h), gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	// A failure is the tree's unless writing to w failed first.
	fail := func(err error) (Info, error) {
		if out.err != nil {
			return Info{}, fmt.Errorf("bundle: writing the bundle: %w", out.err)
		}
		var fe *sdk.Error
		if errors.As(err, &fe) {
			return Info{}, err
		}
		return Info{}, sdk.FieldError("workdir", fmt.Sprintf("cannot pack %s: %v", dir, err), "check the directory and its "+IgnoreFile)
	}
	var info Info
	for _, rel := range t.paths {
		if _, ok := opts.Extra[rel]; ok {
			continue
		}
		if err := t.add(tw, rel, &info); err != nil {
			return fail(err)
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
			return fail(err)
		}
		if _, err := tw.Write(data); err != nil {
			return fail(err)
		}
		info.Files++
		info.Bytes += int64(len(data))
	}
	if err := tw.Close(); err != nil {
		return fail(err)
	}
	if err := zw.Close(); err != nil {
		return fail(err)
	}
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	return info, nil
}

// Hash returns what Write would report without keeping the bytes.
func Hash(dir string, opts Options) (Info, error) { return Write(io.Discard, dir, opts) }

// recordingWriter keeps the first error of w, so that Write can tell a
// failure to write the bundle from a failure to read the tree.
type recordingWriter struct {
	w   io.Writer
	err error
}

func (r *recordingWriter) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

type kind int

const (
	kindMissing kind = iota
	kindFile
	kindDir
	kindLink
)

type entry struct {
	kind kind
	link string // the target of a kindLink
}

// tree is what Write packs.
type tree struct {
	root    string           // the work dir, symbolic links resolved
	paths   []string         // relative, slash-separated, sorted
	entries map[string]entry // every path in the bundle, extras included
	ignore  *ignore
}

func (t *tree) add(tw *tar.Writer, rel string, info *Info) error {
	e := t.entries[rel]
	hdr := &tar.Header{Name: rel, ModTime: epoch, Format: tar.FormatPAX}
	switch e.kind {
	case kindLink:
		// The target checked when the tree was walked, not a new read.
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.link, 0o777
		info.Files++
		return tw.WriteHeader(hdr)
	case kindDir:
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, rel+"/", 0o755
		return tw.WriteHeader(hdr)
	}
	full := filepath.Join(t.root, filepath.FromSlash(rel))
	fi, err := os.Lstat(full)
	if err != nil {
		return err
	}
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	defer f.Close()
	// What was opened must be the file walked, not a link put in its place.
	if opened, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || !os.SameFile(fi, opened) {
		return fmt.Errorf("%s changed while being packed", rel)
	}
	hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, fi.Size(), 0o644
	if fi.Mode()&0o111 != 0 {
		hdr.Mode = 0o755
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, f)
	if err != nil {
		return err
	}
	if n != fi.Size() {
		return fmt.Errorf("%s changed size while being packed", rel)
	}
	info.Files++
	info.Bytes += n
	return nil
}

// collect walks dir, resolved, and lists what to pack.
func collect(dir string, extra map[string][]byte) (*tree, error) {
	root, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, sdk.FieldError("workdir", dir+" does not exist", "point workdir at the directory holding the job's files")
	}
	if err != nil {
		return nil, sdk.FieldError("workdir", fmt.Sprintf("cannot read %s: %v", dir, err), "check the directory's permissions")
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, sdk.FieldError("workdir", dir+" is not a directory", "point workdir at the directory holding the job's files")
	}
	ig, err := loadIgnore(root)
	if err != nil {
		return nil, err
	}
	t := &tree{root: root, entries: map[string]entry{}, ignore: ig}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ig.match(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		var e entry
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if why := linkEscapes(rel, target); why != "" {
				return sdk.FieldError("workdir", fmt.Sprintf("the symbolic link %s in %s %s", rel, dir, why),
					"make it a relative link to a file inside workdir, or leave it out with "+IgnoreFile)
			}
			e = entry{kind: kindLink, link: target}
		case d.IsDir():
			e = entry{kind: kindDir}
		case d.Type().IsRegular():
			e = entry{kind: kindFile}
		default:
			return nil // sockets, devices and pipes are not job inputs
		}
		t.paths = append(t.paths, rel)
		t.entries[rel] = e
		return nil
	})
	if err != nil {
		var fe *sdk.Error
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, sdk.FieldError("workdir", fmt.Sprintf("cannot read %s: %v", dir, err), "check the directory's permissions")
	}
	for name := range extra {
		t.entries[name] = entry{kind: kindFile}
	}
	sort.Strings(t.paths)
	return t, nil
}

// checkEntrypoint reports, with the reason, an entrypoint the bundle would
// not hold as a file.
func (t *tree) checkEntrypoint(dir, entrypoint string) error {
	k, at := t.resolve(path.Clean(filepath.ToSlash(entrypoint)))
	if k == kindFile {
		return nil
	}
	fail := func(why, hint string) error {
		return sdk.FieldError("entrypoint", fmt.Sprintf("%s is not in the bundle of workdir %s: %s", entrypoint, dir, why), hint)
	}
	switch k {
	case kindDir:
		return fail("it is a directory", "name the file the job runs, relative to workdir")
	case kindLink:
		return fail("more than "+fmt.Sprint(maxLinkHops)+" symbolic links lead to it", "point the links at the file itself")
	}
	if at == ".." {
		return fail("it is outside workdir", "move the file into workdir and name it relative to workdir")
	}
	// Missing from the bundle: left out, or not there at all.
	for p := at; p != "."; p = path.Dir(p) {
		fi, err := os.Lstat(filepath.Join(t.root, filepath.FromSlash(p)))
		if err != nil || !t.ignore.match(p, fi.IsDir()) {
			continue
		}
		if p == ".git" || strings.HasPrefix(p, ".git/") {
			return fail(".git is always left out", "move the file out of .git")
		}
		return fail(IgnoreFile+" leaves out "+p, "remove the pattern that matches "+p+" from "+IgnoreFile)
	}
	if _, err := os.Lstat(filepath.Join(t.root, filepath.FromSlash(at))); err == nil {
		return fail(at+" is not a regular file", "name a regular file inside workdir")
	}
	return fail("there is no "+at, "name a file inside workdir, relative to it")
}

// resolve follows name through the bundle's entries as the job's file
// system will, links included, and returns the kind of what it names and
// its path; or kindMissing and the first path along the way that the
// bundle lacks, or kindLink and the last link when there are too many.
func (t *tree) resolve(name string) (kind, string) {
	comps := strings.Split(name, "/")
	cur, k := "", kindDir
	for hops := 0; len(comps) > 0; {
		c := comps[0]
		comps = comps[1:]
		if c == "" || c == "." {
			continue
		}
		if k != kindDir {
			return kindMissing, path.Join(cur, c)
		}
		if c == ".." {
			if cur == "" {
				return kindMissing, ".."
			}
			if cur = path.Dir(cur); cur == "." {
				cur = ""
			}
			continue
		}
		next := path.Join(cur, c)
		e, ok := t.entries[next]
		if !ok {
			return kindMissing, next
		}
		if e.kind == kindLink {
			if hops++; hops > maxLinkHops {
				return kindLink, next
			}
			// A link's target is resolved from the link's directory, cur.
			comps = append(strings.Split(e.link, "/"), comps...)
			continue
		}
		cur, k = next, e.kind
	}
	return k, cur
}

// linkEscapes says how a symbolic link at name (slash-separated, from the
// root) pointing to target could lead outside the tree, or "" if it
// cannot. Leading ".." climb from the link's own directory, which Extract
// guarantees is a real one; a ".." after a name could climb from wherever a
// link along the way leads, so it is refused rather than reasoned about.
func linkEscapes(name, target string) string {
	if target == "" {
		return "has an empty target"
	}
	if strings.HasPrefix(target, "/") {
		return "points to the absolute path " + target + ", outside the bundle"
	}
	up := strings.Count(name, "/")
	named := false
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
		case "..":
			if named {
				return "points to " + target + ", which has '..' after a name"
			}
			if up == 0 {
				return "points to " + target + ", outside the bundle"
			}
			up--
		default:
			named = true
		}
	}
	return ""
}

type ignore struct{ patterns []string }

func loadIgnore(dir string) (*ignore, error) {
	ig := &ignore{patterns: []string{".git/"}}
	f, err := os.Open(filepath.Join(dir, IgnoreFile))
	if errors.Is(err, fs.ErrNotExist) {
		return ig, nil
	}
	if err != nil {
		return nil, sdk.FieldError("workdir", fmt.Sprintf("cannot read %s: %v", IgnoreFile, err), "check its permissions")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := path.Match(strings.TrimSuffix(line, "/"), ""); err != nil {
			return nil, sdk.FieldError("workdir", fmt.Sprintf("%s line %d: bad pattern %q: %v", IgnoreFile, n, line, err), "fix or remove the pattern")
		}
		ig.patterns = append(ig.patterns, line)
	}
	if err := sc.Err(); err != nil {
		return nil, sdk.FieldError("workdir", fmt.Sprintf("cannot read %s: %v", IgnoreFile, err), "check the file")
	}
	return ig, nil
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

// EntryError is a bundle entry Extract refuses.
type EntryError struct {
	// Name is the entry's name as the archive gives it.
	Name string
	// Reason says what is wrong with it.
	Reason string
}

func (e *EntryError) Error() string { return fmt.Sprintf("bundle: entry %q %s", e.Name, e.Reason) }

// holeBlock is the run of zeros Extract leaves as a hole rather than
// writing: the block size of common file systems, below which a hole saves
// no disk.
const holeBlock = 4 << 10

// copyBuffer is the most of a file Extract holds at once.
const copyBuffer = 32 * holeBlock

// Extract unpacks a bundle into dest, creating it if need be. It refuses
// (with an *EntryError) what the package doc lists, stopping at the first
// such entry; what it unpacked before stays.
func Extract(r io.Reader, dest string) error {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	defer root.Close()
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	x := &extractor{root: root, dirs: map[string]bool{"": true}, buf: make([]byte, copyBuffer)}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		if err := x.extract(hdr, tr); err != nil {
			return err
		}
	}
	// Read to the end, so that gzip checks its checksum and a writer at the
	// other end of a pipe is never left blocked.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return nil
}

type extractor struct {
	root *os.Root
	// dirs holds the directories known to be real ones, not links; "" is
	// dest itself.
	dirs map[string]bool
	buf  []byte
}

func (x *extractor) extract(hdr *tar.Header, r io.Reader) error {
	name, err := entryName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "" && hdr.Typeflag != tar.TypeDir && hdr.Typeflag != tar.TypeXGlobalHeader {
		return &EntryError{hdr.Name, "has no name"}
	}
	osName := filepath.FromSlash(name)
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil // PAX records for the archive, not a file
	case tar.TypeDir:
		return x.mkdirs(hdr.Name, name)
	case tar.TypeSymlink:
		if why := linkEscapes(name, hdr.Linkname); why != "" {
			return &EntryError{hdr.Name, "is a symbolic link that " + why}
		}
		if err := x.mkdirs(hdr.Name, parent(name)); err != nil {
			return err
		}
		if err := x.root.Symlink(hdr.Linkname, osName); err != nil {
			return x.createError(hdr.Name, err)
		}
		return nil
	case tar.TypeReg, tar.TypeGNUSparse:
		if err := x.mkdirs(hdr.Name, parent(name)); err != nil {
			return err
		}
		// O_EXCL: never open what is there already, least of all a link.
		f, err := x.root.OpenFile(osName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(hdr.Mode)&0o755)
		if err != nil {
			return x.createError(hdr.Name, err)
		}
		n, err := copyWithHoles(f, r, x.buf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("bundle: unpacking %q: %w", hdr.Name, err)
		}
		if n != hdr.Size {
			return &EntryError{hdr.Name, fmt.Sprintf("holds %d bytes, not the %d its header says", n, hdr.Size)}
		}
		return nil
	case tar.TypeLink:
		return &EntryError{hdr.Name, fmt.Sprintf("is a hard link to %q, and a bundle holds none", hdr.Linkname)}
	}
	return &EntryError{hdr.Name, fmt.Sprintf("is of tar type %q, and a bundle holds only files, directories and symbolic links", hdr.Typeflag)}
}

func (x *extractor) createError(entry string, err error) error {
	if errors.Is(err, fs.ErrExist) {
		return &EntryError{entry, "is there already: a bundle names each path once"}
	}
	return fmt.Errorf("bundle: unpacking %q: %w", entry, err)
}

// mkdirs makes dir and its parents real directories, creating those
// missing, and refuses to go through a link or a file.
func (x *extractor) mkdirs(entry, dir string) error {
	if x.dirs[dir] {
		return nil
	}
	if err := x.mkdirs(entry, parent(dir)); err != nil {
		return err
	}
	osDir := filepath.FromSlash(dir)
	fi, err := x.root.Lstat(osDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := x.root.Mkdir(osDir, 0o755); err != nil {
			return x.createError(entry, err)
		}
	case err != nil:
		return fmt.Errorf("bundle: unpacking %q: %w", entry, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return &EntryError{entry, fmt.Sprintf("would be written through the symbolic link %q", dir)}
	case !fi.IsDir():
		return &EntryError{entry, fmt.Sprintf("would be written under %q, which is not a directory", dir)}
	}
	x.dirs[dir] = true
	return nil
}

// entryName checks an archive name and returns it cleaned, slash-separated,
// with no trailing slash; "" is the root.
func entryName(raw string) (string, error) {
	if strings.HasPrefix(raw, "/") {
		return "", &EntryError{raw, "has an absolute name"}
	}
	var comps []string
	for _, c := range strings.Split(raw, "/") {
		switch c {
		case "", ".":
		case "..":
			return "", &EntryError{raw, "has a '..' in its name"}
		default:
			comps = append(comps, c)
		}
	}
	return strings.Join(comps, "/"), nil
}

// parent is the directory holding name, "" for the root.
func parent(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return ""
}

var zeros [holeBlock]byte

// copyWithHoles copies r to the new file f and returns the bytes copied.
// Every block of holeBlock zeros at a multiple of holeBlock is skipped
// rather than written, which leaves a hole that reads back as zeros.
func copyWithHoles(f *os.File, r io.Reader, buf []byte) (int64, error) {
	var off int64
	for {
		n, err := io.ReadFull(r, buf)
		if werr := writeData(f, buf[:n], off); werr != nil {
			return off, werr
		}
		off += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break // a short archive shows as fewer bytes than its header says
		}
		if err != nil {
			return off, err
		}
	}
	// A file ending in a hole has only its size to say so.
	return off, f.Truncate(off)
}

// writeData writes b at off, skipping the blocks of zeros. off is a
// multiple of holeBlock.
func writeData(f *os.File, b []byte, off int64) error {
	isZero := func(i int) bool {
		blk := b[i:min(i+holeBlock, len(b))]
		return bytes.Equal(blk, zeros[:len(blk)])
	}
	for start := 0; start < len(b); {
		zero, end := isZero(start), start
		for end < len(b) && isZero(end) == zero {
			end = min(end+holeBlock, len(b))
		}
		if !zero {
			if _, err := f.WriteAt(b[start:end], off+int64(start)); err != nil {
				return err
			}
		}
		start = end
	}
	return nil
}
