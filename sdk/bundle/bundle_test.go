package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDeterministic(t *testing.T) {
	files := map[string]string{"train.py": "print(1)\n", "data/a.csv": "1,2\n", "data/b.csv": "3,4\n"}
	a := writeTree(t, files)
	b := writeTree(t, files)
	// Different mtimes must not change the bytes.
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(b, "train.py"), old, old)
	ia, err := Hash(a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ib, err := Hash(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ia.SHA256 != ib.SHA256 {
		t.Fatalf("hash differs for equal trees: %s vs %s", ia.SHA256, ib.SHA256)
	}
	if ia.Files != 3 || ia.Bytes != int64(len("print(1)\n1,2\n3,4\n")) {
		t.Fatalf("got %d files %d bytes", ia.Files, ia.Bytes)
	}
	os.WriteFile(filepath.Join(b, "train.py"), []byte("print(2)\n"), 0o644)
	ic, _ := Hash(b, Options{})
	if ic.SHA256 == ia.SHA256 {
		t.Fatal("hash did not change with content")
	}
}

func TestIgnoreAndRoundTrip(t *testing.T) {
	dir := writeTree(t, map[string]string{
		".neuralignore":  "# data stays local\ndata/\n*.ckpt\n/build/out.bin\n",
		"train.py":       "x",
		"data/big.csv":   "y",
		"model.ckpt":     "z",
		"sub/model.ckpt": "z",
		"build/out.bin":  "b",
		"build/keep.txt": "k",
		".git/HEAD":      "ref",
		"sub/data.txt":   "d",
	})
	var buf bytes.Buffer
	if _, err := Write(&buf, dir, Options{Extra: map[string][]byte{"_runner.py": []byte("r")}}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := Extract(&buf, out); err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(got)
	want := []string{".neuralignore", "_runner.py", "build/keep.txt", "sub/data.txt", "train.py"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestBadIgnorePattern(t *testing.T) {
	dir := writeTree(t, map[string]string{".neuralignore": "[\n"})
	if _, err := Hash(dir, Options{}); err == nil {
		t.Fatal("want an error for a malformed pattern")
	}
}

func writeArchive(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Format: tar.FormatPAX}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type tarEntry struct {
	name string
	typ  byte
	link string
	body string
}

func file(name, body string) tarEntry  { return tarEntry{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) tarEntry         { return tarEntry{name: name, typ: tar.TypeDir} }
func symlink(name, to string) tarEntry { return tarEntry{name: name, typ: tar.TypeSymlink, link: to} }

// listTree lists the paths under dir, slash-separated, with "@target" after
// a link and "/" after a directory.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			rel += "@" + target
		case d.IsDir():
			rel += "/"
		}
		got = append(got, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	return got
}

// TestExtractRefusesUnsafeEntries: nothing in a bundle can make Extract
// write outside dest, write through a link, or leave a link out of the
// tree behind.
func TestExtractRefusesUnsafeEntries(t *testing.T) {
	tests := []struct {
		name    string
		entries func(outside string) []tarEntry
		reason  string
	}{
		{"absolute name", func(o string) []tarEntry { return []tarEntry{file(o+"/evil.txt", "x")} }, "absolute"},
		{"parent name", func(string) []tarEntry { return []tarEntry{file("../evil.txt", "x")} }, "'..'"},
		{"parent inside a name", func(string) []tarEntry { return []tarEntry{file("a/../../evil.txt", "x")} }, "'..'"},
		{"parent that stays inside", func(string) []tarEntry { return []tarEntry{file("a/../evil.txt", "x")} }, "'..'"},
		{"link to an absolute path, then a file under it", func(o string) []tarEntry {
			return []tarEntry{symlink("link", o), file("link/evil.txt", "x")}
		}, "absolute path"},
		{"link climbing out, then a file under it", func(string) []tarEntry {
			return []tarEntry{dir("sub/"), symlink("sub/link", "../../outside"), file("sub/link/evil.txt", "x")}
		}, "outside the bundle"},
		{"link inside, then a file under it", func(string) []tarEntry {
			return []tarEntry{dir("sub/"), symlink("link", "sub"), file("link/evil.txt", "x")}
		}, `written through the symbolic link "link"`},
		{"link inside, then a directory under it", func(string) []tarEntry {
			return []tarEntry{dir("sub/"), symlink("link", "sub"), dir("link/deeper/")}
		}, `written through the symbolic link "link"`},
		{"link, then a file of the same name", func(o string) []tarEntry {
			return []tarEntry{symlink("f", "g"), file("g", ""), file("f", "x")}
		}, "there already"},
		{"link with '..' after a name", func(string) []tarEntry {
			return []tarEntry{dir("d1/d2/"), symlink("d1/d2/l", "../../x"), symlink("a", "d1/d2/l/../..")}
		}, "'..' after a name"},
		{"hard link out of the tree", func(o string) []tarEntry {
			return []tarEntry{{name: "h", typ: tar.TypeLink, link: o + "/secret"}}
		}, "hard link"},
		{"hard link inside the tree", func(string) []tarEntry {
			return []tarEntry{file("a", "x"), {name: "h", typ: tar.TypeLink, link: "a"}}
		}, "hard link"},
		{"device", func(string) []tarEntry { return []tarEntry{{name: "dev", typ: tar.TypeChar}} }, "tar type"},
		{"file twice", func(string) []tarEntry { return []tarEntry{file("a", "x"), file("a", "y")} }, "there already"},
		{"file under a file", func(string) []tarEntry { return []tarEntry{file("a", "x"), file("a/b", "y")} }, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outside := t.TempDir()
			if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(t.TempDir(), "dest")
			err := Extract(bytes.NewReader(writeArchive(t, tt.entries(outside))), dest)
			var ee *EntryError
			if !errors.As(err, &ee) || !strings.Contains(ee.Reason, tt.reason) {
				t.Errorf("got %v, want an *EntryError saying %q", err, tt.reason)
			}
			if got := listTree(t, outside); len(got) != 1 || got[0] != "secret" {
				t.Errorf("outside dest: %v", got)
			}
			if got, _ := os.ReadFile(filepath.Join(outside, "secret")); string(got) != "s" {
				t.Errorf("the file outside dest now holds %q", got)
			}
			for _, p := range listTree(t, filepath.Dir(dest)) {
				if strings.Contains(p, "evil") || strings.Contains(p, "@/") || strings.HasSuffix(p, "@../../outside") {
					t.Errorf("left behind: %s", p)
				}
			}
		})
	}
}

// TestExtractKeepsLinksInside: links that stay inside the tree are kept,
// from a bundle Write made and from one made elsewhere.
func TestExtractKeepsLinksInside(t *testing.T) {
	src := writeTree(t, map[string]string{"runs/3/model.bin": "m", "data/a.csv": "1"})
	for name, target := range map[string]string{"latest": "runs/3", "runs/3/data": "../../data", "runs/here": "./3/model.bin"} {
		if err := os.Symlink(target, filepath.Join(src, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := Write(&buf, src, Options{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		archive []byte
		want    []string
	}{
		{"written by Write", buf.Bytes(), []string{"data/", "data/a.csv", "latest@runs/3", "runs/", "runs/3/", "runs/3/data@../../data", "runs/3/model.bin", "runs/here@./3/model.bin"}},
		{"written elsewhere, with ./ names", writeArchive(t, []tarEntry{dir("./"), dir("./a/"), file("./a/f", "x"), symlink("./b", "a/f")}), []string{"a/", "a/f", "b@a/f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			if err := Extract(bytes.NewReader(tt.archive), dest); err != nil {
				t.Fatal(err)
			}
			if got := listTree(t, dest); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWriteRefusesLinksOutOfTree: a link Extract would refuse is refused
// when packing, naming it, rather than on the platform.
func TestWriteRefusesLinksOutOfTree(t *testing.T) {
	tests := []struct {
		link, target string
		wantErr      string
	}{
		{"data", "/mnt/data", "absolute path"},
		{"data", "../data", "outside the bundle"},
		{"sub/data", "../../data", "outside the bundle"},
		{"sub/data", "x/../../data", "'..' after a name"},
		{"sub/data", "../train.py", ""},
		{"data", "sub/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.link+"->"+tt.target, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"train.py": "x", "sub/x": "y"})
			if err := os.Symlink(tt.target, filepath.Join(dir, filepath.FromSlash(tt.link))); err != nil {
				t.Fatal(err)
			}
			_, err := Hash(dir, Options{})
			var fe *sdk.Error
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != "" && (!errors.As(err, &fe) || fe.Field != "workdir" || fe.Hint == "" ||
				!strings.Contains(fe.Message, tt.wantErr) || !strings.Contains(fe.Message, tt.link)):
				t.Errorf("got %v, want a workdir error naming %s and saying %q", err, tt.link, tt.wantErr)
			}
		})
	}
}

// TestSymlinkedWorkDir: a work dir reached through links is packed as the
// tree it points to, not as an empty bundle.
func TestSymlinkedWorkDir(t *testing.T) {
	real := writeTree(t, map[string]string{"train.py": "print(1)\n", "data/a.csv": "1,2\n"})
	links := t.TempDir()
	link := filepath.Join(links, "work")
	linkToLink := filepath.Join(links, "current")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("work", linkToLink); err != nil {
		t.Fatal(err)
	}
	want, err := Hash(real, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{"a link": link, "a link to a link": linkToLink, "a link, with a slash": link + "/"} {
		t.Run(name, func(t *testing.T) {
			got, err := Hash(dir, Options{Entrypoint: "train.py"})
			if err != nil {
				t.Fatal(err)
			}
			if got != want || got.Files != 2 {
				t.Errorf("got %+v, want %+v (2 files)", got, want)
			}
		})
	}
}

// TestEntrypointMustBeInBundle: a bundle that would not hold the file the
// job runs is refused before a byte is written, saying why.
func TestEntrypointMustBeInBundle(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		links      map[string]string
		extra      map[string][]byte
		entrypoint string
		wantErr    string
	}{
		{name: "a file", files: map[string]string{"train.py": "x"}, entrypoint: "train.py"},
		{name: "a file, named with ./", files: map[string]string{"src/train.py": "x"}, entrypoint: "./src/train.py"},
		{name: "an extra file", extra: map[string][]byte{"_runner.py": []byte("r")}, entrypoint: "_runner.py"},
		{name: "a link to a file", files: map[string]string{"src/train.py": "x"}, links: map[string]string{"train.py": "src/train.py"}, entrypoint: "train.py"},
		{name: "a file under a linked directory", files: map[string]string{"src/train.py": "x"}, links: map[string]string{"code": "src"}, entrypoint: "code/train.py"},
		{name: "a link climbing to a file", files: map[string]string{"lib/m.py": "x", "bin/.keep": ""}, links: map[string]string{"bin/run.py": "../lib/m.py"}, entrypoint: "bin/run.py"},
		{name: "missing", files: map[string]string{"train.py": "x"}, entrypoint: "tarin.py", wantErr: "there is no tarin.py"},
		{name: "left out by a pattern", files: map[string]string{"train.py": "x", IgnoreFile: "*.py\n"}, entrypoint: "train.py", wantErr: IgnoreFile + " leaves out train.py"},
		{name: "under a directory left out", files: map[string]string{"src/train.py": "x", IgnoreFile: "src/\n"}, entrypoint: "src/train.py", wantErr: IgnoreFile + " leaves out src"},
		{name: "a link to a file left out", files: map[string]string{"src/train.py": "x", IgnoreFile: "src/\n"}, links: map[string]string{"train.py": "src/train.py"}, entrypoint: "train.py", wantErr: IgnoreFile + " leaves out src"},
		{name: "in .git", files: map[string]string{".git/hooks/train.py": "x"}, entrypoint: ".git/hooks/train.py", wantErr: ".git is always left out"},
		{name: "a directory", files: map[string]string{"src/train.py": "x"}, entrypoint: "src", wantErr: "is a directory"},
		{name: "a dangling link", links: map[string]string{"train.py": "gone.py"}, entrypoint: "train.py", wantErr: "there is no gone.py"},
		{name: "a loop of links", links: map[string]string{"a": "b", "b": "a"}, entrypoint: "a", wantErr: "symbolic links lead to it"},
		{name: "under a file", files: map[string]string{"train.py": "x"}, entrypoint: "train.py/x", wantErr: "there is no train.py/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			for name, target := range tt.links {
				if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
			var buf bytes.Buffer
			_, err := Write(&buf, dir, Options{Extra: tt.extra, Entrypoint: tt.entrypoint})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			var fe *sdk.Error
			if !errors.As(err, &fe) || !errors.Is(err, sdk.ErrInvalidArgument) || fe.Field != "entrypoint" || fe.Hint == "" ||
				!strings.Contains(fe.Message, tt.wantErr) || !strings.Contains(fe.Message, dir) {
				t.Fatalf("got %#v, want an entrypoint error naming workdir and saying %q, with a hint", err, tt.wantErr)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written before the refusal", buf.Len())
			}
		})
	}
}

// TestExtractLeavesHoles: runs of zeros are unpacked as holes, so a sparse
// file takes the disk its data takes, and reads back the same.
func TestExtractLeavesHoles(t *testing.T) {
	const size = 8 << 20
	src := t.TempDir()
	data := bytes.Repeat([]byte("data"), 1024) // one 4 KiB block
	f, err := os.Create(filepath.Join(src, "sparse.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, size / 2, size - 100} { // the last block is partly data
		if _, err := f.WriteAt(data[:min(len(data), size-int(off))], off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(src, "zeros.bin"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Write(&buf, src, Options{}); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if err := Extract(&buf, dest); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		maxBlock int64 // the most disk the copy may take
	}{
		{"sparse.bin", 3 * 4096},
		{"zeros.bin", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, _ := os.ReadFile(filepath.Join(src, tt.name))
			got, err := os.ReadFile(filepath.Join(dest, tt.name))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("unpacked content differs (%v): %d bytes, want %d", err, len(got), len(want))
			}
			fi, err := os.Stat(filepath.Join(dest, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if disk := fi.Sys().(*syscall.Stat_t).Blocks * 512; disk > tt.maxBlock {
				t.Errorf("the copy takes %d bytes of disk, want at most %d", disk, tt.maxBlock)
			}
		})
	}
}

// TestExtractReadsToTheEnd: Extract consumes the whole stream, checksum
// included, so that a Write piped into it finishes and a damaged bundle is
// noticed.
func TestExtractReadsToTheEnd(t *testing.T) {
	src := writeTree(t, map[string]string{"train.py": "print(1)\n"})
	t.Run("piped", func(t *testing.T) {
		pr, pw := io.Pipe()
		written := make(chan error, 1)
		go func() {
			_, err := Write(pw, src, Options{})
			pw.CloseWithError(err)
			written <- err
		}()
		if err := Extract(pr, t.TempDir()); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-written:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute):
			t.Fatal("Write is still blocked: Extract stopped reading before the end of the stream")
		}
	})
	t.Run("damaged checksum", func(t *testing.T) {
		var buf bytes.Buffer
		if _, err := Write(&buf, src, Options{}); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		b[len(b)-8] ^= 0xff // the gzip trailer's CRC-32
		if err := Extract(bytes.NewReader(b), t.TempDir()); !errors.Is(err, gzip.ErrChecksum) {
			t.Errorf("got %v, want %v", err, gzip.ErrChecksum)
		}
	})
}

// TestExtractSparseEntries: the sparse entries of GNU tar unpack with their
// holes. testdata/sparse-*.tar.gz hold big.bin, 1 MiB reading "head", zeros
// and "tail", made with GNU tar 1.34's --sparse in its gnu and posix
// (sparse 1.0) formats.
func TestExtractSparseEntries(t *testing.T) {
	want := make([]byte, 1<<20)
	copy(want, "head")
	copy(want[len(want)-4:], "tail")
	for _, name := range []string{"sparse-gnu.tar.gz", "sparse-pax.tar.gz"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			dest := t.TempDir()
			if err := Extract(f, dest); err != nil {
				t.Fatal(err)
			}
			if got := listTree(t, dest); strings.Join(got, " ") != "big.bin" {
				t.Fatalf("unpacked %v, want [big.bin]", got)
			}
			got, err := os.ReadFile(filepath.Join(dest, "big.bin"))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("big.bin differs (%v): %d bytes", err, len(got))
			}
			fi, _ := os.Stat(filepath.Join(dest, "big.bin"))
			if disk := fi.Sys().(*syscall.Stat_t).Blocks * 512; disk > 2*holeBlock {
				t.Errorf("big.bin takes %d bytes of disk, want at most %d", disk, 2*holeBlock)
			}
		})
	}
}
