package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

// testPlatform is a local platform with its state in a temporary directory
// and sh standing in for Python, which these tests never run.
func testPlatform(t *testing.T) *Platform {
	t.Helper()
	p := New()
	dir := t.TempDir()
	if err := p.Configure(context.Background(), sdk.Config{"state_dir": filepath.Join(dir, "state"), "artifact_dir": filepath.Join(dir, "artifacts"), "python": "sh"}); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// planBundle is the bundle section of a plan's request body.
func planBundle(t *testing.T, plan sdk.Plan) (files int) {
	t.Helper()
	var body struct {
		Bundle struct{ Files int } `json:"bundle"`
	}
	if err := json.Unmarshal([]byte(plan.Requests[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	return body.Bundle.Files
}

// TestSymlinkedWorkDirIsCopied: a work dir reached through a link is
// planned and copied as the tree it points to, not as an empty bundle.
func TestSymlinkedWorkDirIsCopied(t *testing.T) {
	real := t.TempDir()
	writeFiles(t, real, map[string]string{"train.py": "print(1)\n", "data/a.csv": "1,2\n"})
	link := filepath.Join(t.TempDir(), "work")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	for name, workdir := range map[string]string{"the directory": real, "a link to it": link} {
		t.Run(name, func(t *testing.T) {
			spec := sdk.JobSpec{Kind: sdk.KindPython, WorkDir: workdir, Entrypoint: "train.py"}
			plan, err := testPlatform(t).Plan(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := planBundle(t, plan); got != 2 {
				t.Errorf("the plan's bundle holds %d files, want 2", got)
			}
			dst := t.TempDir()
			if err := copyBundle(spec, dst); err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(filepath.Join(dst, "train.py")); err != nil || string(got) != "print(1)\n" {
				t.Errorf("the job's copy of train.py: %q, %v", got, err)
			}
		})
	}
}

// TestEntrypointMissingFromBundle: plan and submit refuse a work dir whose
// bundle would lack the entrypoint, naming the field, before any job exists.
func TestEntrypointMissingFromBundle(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantMsg string
	}{
		{"left out by .neuralignore", map[string]string{"train.py": "x", ".neuralignore": "*.py\n"}, ".neuralignore leaves out train.py"},
		{"under an ignored directory", map[string]string{"src/train.py": "x", "train.py": "x", ".neuralignore": "src/\n"}, ".neuralignore leaves out src"},
		{"not there", map[string]string{"other.py": "x"}, "there is no train.py"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			writeFiles(t, work, tt.files)
			entry := "train.py"
			if _, ok := tt.files["src/train.py"]; ok {
				entry = "src/train.py"
			}
			spec := sdk.JobSpec{Kind: sdk.KindPython, WorkDir: work, Entrypoint: entry}
			_, planErr := testPlatform(t).Plan(context.Background(), spec)
			copyErr := copyBundle(spec, t.TempDir())
			for what, err := range map[string]error{"plan": planErr, "copy": copyErr} {
				var fe *sdk.Error
				if !errors.As(err, &fe) || fe.Field != "entrypoint" || fe.Hint == "" || !strings.Contains(fe.Message, tt.wantMsg) {
					t.Errorf("%s: got %v, want an entrypoint error saying %q, with a hint", what, err, tt.wantMsg)
				}
			}
		})
	}
}

// TestCopyBundleStreams: copying a work dir allocates a small fraction of
// its size, however large it is, and the copy of a sparse file takes the
// disk of its data, not of its size.
func TestCopyBundleStreams(t *testing.T) {
	const (
		dense      = 8
		denseSize  = 4 << 20
		sparseSize = 64 << 20
		dataSize   = dense*denseSize + 4<<10
	)
	work := t.TempDir()
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, denseSize)
	for i := range dense {
		rng.Read(buf)
		if err := os.WriteFile(filepath.Join(work, fmt.Sprintf("part-%d.bin", i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(work, "sparse.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(buf[:4<<10], sparseSize-4<<10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	spec := sdk.JobSpec{Kind: sdk.KindCommand, Command: []string{"true"}, WorkDir: work}
	dst := t.TempDir()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := copyBundle(spec, dst); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// Random bytes do not compress: a bundle held in memory is bigger than
	// the dense files alone.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > dataSize/4 {
		t.Errorf("copying %d MiB of data allocated %d MiB, want at most %d MiB", dataSize>>20, alloc>>20, dataSize/4>>20)
	}
	var disk int64
	entries, _ := os.ReadDir(work)
	for _, e := range entries {
		want, got := fileHash(t, filepath.Join(work, e.Name())), fileHash(t, filepath.Join(dst, e.Name()))
		if !bytes.Equal(got, want) {
			t.Errorf("the copy of %s differs", e.Name())
		}
		fi, err := os.Stat(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		disk += fi.Sys().(*syscall.Stat_t).Blocks * 512
	}
	// Slack for file system metadata blocks.
	if limit := int64(dataSize + 1<<20); disk > limit {
		t.Errorf("the copy takes %d MiB of disk, want at most %d MiB", disk>>20, limit>>20)
	}
}

func fileHash(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

// TestCopyBundleStopsWhenUnpackingFails: a failure to unpack ends the copy
// with that failure, rather than leaving the packing side blocked.
func TestCopyBundleStopsWhenUnpackingFails(t *testing.T) {
	work := t.TempDir()
	writeFiles(t, work, map[string]string{"a.txt": strings.Repeat("a", 1<<20)})
	blocker := filepath.Join(t.TempDir(), "file")
	writeFiles(t, filepath.Dir(blocker), map[string]string{"file": "x"})
	err := copyBundle(sdk.JobSpec{Kind: sdk.KindCommand, Command: []string{"true"}, WorkDir: work}, filepath.Join(blocker, "work"))
	if err == nil || !strings.HasPrefix(err.Error(), "local: unpacking the bundle: ") {
		t.Errorf("got %v, want the unpacking failure", err)
	}
}
