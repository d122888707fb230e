package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

// patternFile writes size bytes of a repeating non-trivial pattern and
// returns their hash.
func patternFile(t *testing.T, path string, size int64) [32]byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	block := make([]byte, 1<<20+7)
	for i := range block {
		block[i] = byte(i*31 + i>>8)
	}
	for left := size; left > 0; {
		n := min(left, int64(len(block)))
		w := io.MultiWriter(f, h)
		if _, err := w.Write(block[:n]); err != nil {
			t.Fatal(err)
		}
		left -= n
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func fileHash(t *testing.T, path string) [32]byte {
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
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// heapWatch samples the heap in use from progress callbacks.
type heapWatch struct {
	mu   sync.Mutex
	peak uint64
	last int64
	n    int
}

func (w *heapWatch) progress(done, total int64) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.peak = max(w.peak, m.HeapInuse)
	w.last = done
	w.n++
}

// TestLargeRoundTripStreams moves 64 MiB through DBFS (1 MB blocks) and a
// volume (one streamed PUT), checking the bytes, the progress reports and
// that the heap stays far below the file's size. It measures the whole
// process's heap, so it must not run in parallel with other tests.
func TestLargeRoundTripStreams(t *testing.T) {
	const size = 64 << 20
	f := newFake(t)
	p := newPlatform(t, f, nil)
	dir := t.TempDir()
	src := filepath.Join(dir, "big.bin")
	want := patternFile(t, src, size)
	// Collect garbage eagerly so the peak reflects live memory.
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	for _, remote := range []string{"dbfs:/data/big.bin", testVolume + "/data/big.bin"} {
		t.Run(remote, func(t *testing.T) {
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			up := &heapWatch{}
			info, err := p.Upload(context.Background(), sdk.TransferRequest{LocalPath: src, RemoteURI: remote}, up.progress)
			if err != nil {
				t.Fatal(err)
			}
			if info.Size != size || info.URI != remote || up.last != size || up.n < 2 {
				t.Fatalf("upload %+v, progress last %d after %d reports", info, up.last, up.n)
			}
			dst := filepath.Join(dir, "back.bin")
			down := &heapWatch{}
			if info, err = p.Download(context.Background(), sdk.TransferRequest{LocalPath: dst, RemoteURI: remote}, down.progress); err != nil {
				t.Fatal(err)
			}
			if info.Size != size || down.last != size || fileHash(t, dst) != want {
				t.Fatalf("download %+v, progress %d; content differs: %v", info, down.last, fileHash(t, dst) != want)
			}
			const bound = 32 << 20
			t.Logf("heap in use: base %d MiB, upload peak %d MiB, download peak %d MiB", base.HeapInuse>>20, up.peak>>20, down.peak>>20)
			for what, peak := range map[string]uint64{"upload": up.peak, "download": down.peak} {
				if peak > base.HeapInuse+bound {
					t.Errorf("%s: heap in use reached %d MiB over a base of %d MiB; want under %d MiB more", what, peak>>20, base.HeapInuse>>20, bound>>20)
				}
			}
		})
	}
	if n := len(f.Requests("POST", "/api/2.0/dbfs/add-block")); n != 64 {
		t.Errorf("%d add-block calls for 64 MiB, want 64 of 1 MB", n)
	}
}

func TestFiles(t *testing.T) {
	f := newFake(t)
	p := newPlatform(t, f, nil)
	ctx := context.Background()
	dir := t.TempDir()
	for i, name := range []string{"a.txt", "b.txt", "c.txt"} {
		local := filepath.Join(dir, name)
		os.WriteFile(local, bytes.Repeat([]byte{'x'}, i+1), 0o644)
		if _, err := p.Upload(ctx, sdk.TransferRequest{LocalPath: local, RemoteURI: "models/" + name}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Relative paths live below the staging directory.
	var got []string
	req := sdk.ListFilesRequest{URI: "models", PageSize: 2}
	for {
		resp, err := p.ListFiles(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, fi := range resp.Files {
			got = append(got, fi.URI)
		}
		if resp.NextPageToken == "" {
			break
		}
		req.PageToken = resp.NextPageToken
	}
	want := "dbfs:/FileStore/neural-host/files/models/a.txt dbfs:/FileStore/neural-host/files/models/b.txt dbfs:/FileStore/neural-host/files/models/c.txt"
	if strings.Join(got, " ") != want {
		t.Errorf("listed %v", got)
	}
	// A volume directory lists through the Files API.
	local := filepath.Join(dir, "a.txt")
	if _, err := p.Upload(ctx, sdk.TransferRequest{LocalPath: local, RemoteURI: testVolume + "/x/a.txt"}, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := p.ListFiles(ctx, sdk.ListFilesRequest{URI: testVolume})
	if err != nil || len(resp.Files) != 1 || resp.Files[0].URI != testVolume+"/x" || !resp.Files[0].IsDir {
		t.Errorf("volume listing %+v %v", resp, err)
	}
	errs := []struct {
		name string
		err  error
		kind error
	}{
		{"download missing", func() error {
			_, err := p.Download(ctx, sdk.TransferRequest{RemoteURI: "dbfs:/nope", LocalPath: filepath.Join(dir, "n")}, nil)
			return err
		}(), sdk.ErrNotFound},
		{"download missing volume file", func() error {
			_, err := p.Download(ctx, sdk.TransferRequest{RemoteURI: testVolume + "/nope", LocalPath: filepath.Join(dir, "n")}, nil)
			return err
		}(), sdk.ErrNotFound},
		{"download a directory", func() error {
			_, err := p.Download(ctx, sdk.TransferRequest{RemoteURI: "models", LocalPath: filepath.Join(dir, "n")}, nil)
			return err
		}(), sdk.ErrInvalidArgument},
		{"s3 URI", func() error {
			_, err := p.Upload(ctx, sdk.TransferRequest{RemoteURI: "s3://b/k", LocalPath: local}, nil)
			return err
		}(), sdk.ErrInvalidArgument},
		{"missing local file", func() error {
			_, err := p.Upload(ctx, sdk.TransferRequest{RemoteURI: "dbfs:/x", LocalPath: filepath.Join(dir, "none")}, nil)
			return err
		}(), sdk.ErrNotFound},
		{"list missing", func() error {
			_, err := p.ListFiles(ctx, sdk.ListFilesRequest{URI: "dbfs:/none"})
			return err
		}(), sdk.ErrNotFound},
	}
	for _, e := range errs {
		if !errors.Is(e.err, e.kind) {
			t.Errorf("%s: %v, want %v", e.name, e.err, e.kind)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "n")); !os.IsNotExist(err) {
		t.Error("a failed download left a file behind")
	}
}
