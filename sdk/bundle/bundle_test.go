package bundle

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
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
