package main

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

// writeRandom writes n pseudo-random bytes and returns their sha256,
// without holding them in memory.
func writeRandom(t *testing.T, path string, n int64) [32]byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(buf)) {
		b := buf[:min(int64(len(buf)), left)]
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		_, _ = h.Write(b)
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func fileSum(t *testing.T, path string) [32]byte {
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

func TestFileRoundTripBoundedMemory(t *testing.T) {
	fs := startFakeSet(t)
	p := fs.platform(t)
	const size = 64 << 20
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "weights.bin"), filepath.Join(dir, "back", "weights.bin")
	want := writeRandom(t, src, size)
	// Warm the clients and the token first, so that only the transfers
	// are measured.
	if _, err := p.ListFiles(testCtx(t), sdk.ListFilesRequest{URI: "gs://" + testBucket + "/"}); err != nil {
		t.Fatal(err)
	}
	var upDone, downDone []int64
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	up, err := p.Upload(testCtx(t), sdk.TransferRequest{LocalPath: src, RemoteURI: "gs://" + testBucket + "/models/"}, func(done, total int64) {
		if total != size {
			t.Errorf("upload total %d", total)
		}
		upDone = append(upDone, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	down, err := p.Download(testCtx(t), sdk.TransferRequest{LocalPath: dst, RemoteURI: up.URI}, func(done, total int64) {
		if total != size {
			t.Errorf("download total %d", total)
		}
		downDone = append(downDone, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if up.URI != "gs://"+testBucket+"/models/weights.bin" || up.Size != size || down.Size != size {
		t.Fatalf("upload %+v, download %+v", up, down)
	}
	if fileSum(t, dst) != want {
		t.Fatal("the downloaded bytes differ")
	}
	for name, d := range map[string][]int64{"upload": upDone, "download": downDone} {
		if len(d) < 4 || d[len(d)-1] != size {
			t.Errorf("%s progress %v", name, d)
		}
		for i := 1; i < len(d); i++ {
			if d[i] < d[i-1] {
				t.Errorf("%s progress goes back: %v", name, d)
			}
		}
	}
	// 128 MiB moved; a copy that buffered the file would allocate at least
	// 64 MiB at once, and most of it would be in use at the end.
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d MiB, heap in use %d MiB", allocated>>20, after.HeapInuse>>20)
	if allocated > 32<<20 {
		t.Errorf("allocated %d MiB to move 128 MiB", allocated>>20)
	}
	if after.HeapInuse > before.HeapInuse+40<<20 {
		t.Errorf("heap in use grew from %d to %d MiB", before.HeapInuse>>20, after.HeapInuse>>20)
	}
}

func TestListFiles(t *testing.T) {
	fs := startFakeSet(t)
	p := fs.platform(t)
	for _, name := range []string{"runs/a.txt", "runs/b.txt", "runs/sub/c.txt", "pages/1", "pages/2", "pages/3"} {
		if err := fs.gcs.put(testBucket, name, stringsReader(name)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		uri  string
		want []string
	}{
		{"", []string{"gs://neural-staging/runs/a.txt", "gs://neural-staging/runs/b.txt", "gs://neural-staging/runs/sub/"}},
		{"gs://neural-staging/runs", []string{"gs://neural-staging/runs/a.txt", "gs://neural-staging/runs/b.txt", "gs://neural-staging/runs/sub/"}},
		{"gs://neural-staging/runs/sub/", []string{"gs://neural-staging/runs/sub/c.txt"}},
		{"gs://neural-staging/runs/a.txt", []string{"gs://neural-staging/runs/a.txt"}},
		{"gs://neural-staging/", []string{"gs://neural-staging/pages/", "gs://neural-staging/runs/"}},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			resp, err := p.ListFiles(testCtx(t), sdk.ListFilesRequest{URI: tt.uri})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range resp.Files {
				got = append(got, f.URI)
				if f.IsDir != (f.URI[len(f.URI)-1] == '/') || !f.IsDir && (f.Size == 0 || f.ModifiedAt.IsZero()) {
					t.Errorf("entry %+v", f)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
	// fake-gcs-server repeats directory prefixes on every page, which Cloud
	// Storage does not, so paging is checked on a flat directory.
	t.Run("pages", func(t *testing.T) {
		var got []string
		token := ""
		for i := 0; i < 4; i++ {
			resp, err := p.ListFiles(testCtx(t), sdk.ListFilesRequest{URI: "gs://neural-staging/pages/", PageSize: 1, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range resp.Files {
				got = append(got, f.URI)
			}
			if token = resp.NextPageToken; token == "" {
				break
			}
		}
		if strings.Join(got, " ") != "gs://neural-staging/pages/1 gs://neural-staging/pages/2 gs://neural-staging/pages/3" {
			t.Errorf("paged listing %v", got)
		}
	})
}

func TestFileErrors(t *testing.T) {
	fs := startFakeSet(t)
	p := fs.platform(t)
	local := filepath.Join(t.TempDir(), "x.txt")
	_ = os.WriteFile(local, []byte("x"), 0o644)
	tests := []struct {
		name  string
		call  func() error
		kind  error
		field string
	}{
		{"upload to s3", func() error {
			_, err := p.Upload(testCtx(t), sdk.TransferRequest{LocalPath: local, RemoteURI: "s3://b/x"}, nil)
			return err
		}, sdk.ErrInvalidArgument, "remote"},
		{"upload a missing file", func() error {
			_, err := p.Upload(testCtx(t), sdk.TransferRequest{LocalPath: local + ".nope", RemoteURI: "gs://neural-staging/x"}, nil)
			return err
		}, sdk.ErrNotFound, "local"},
		{"upload a directory", func() error {
			_, err := p.Upload(testCtx(t), sdk.TransferRequest{LocalPath: t.TempDir(), RemoteURI: "gs://neural-staging/x"}, nil)
			return err
		}, sdk.ErrInvalidArgument, "local"},
		{"upload to a missing bucket", func() error {
			_, err := p.Upload(testCtx(t), sdk.TransferRequest{LocalPath: local, RemoteURI: "gs://no-such-bucket/x"}, nil)
			return err
		}, sdk.ErrNotFound, ""},
		{"download a missing object", func() error {
			_, err := p.Download(testCtx(t), sdk.TransferRequest{LocalPath: local + ".out", RemoteURI: "gs://neural-staging/nope"}, nil)
			return err
		}, sdk.ErrNotFound, ""},
		{"download a directory", func() error {
			_, err := p.Download(testCtx(t), sdk.TransferRequest{LocalPath: local + ".out", RemoteURI: "gs://neural-staging/dir/"}, nil)
			return err
		}, sdk.ErrInvalidArgument, "remote"},
		{"list a bad uri", func() error {
			_, err := p.ListFiles(testCtx(t), sdk.ListFilesRequest{URI: "neural-staging"})
			return err
		}, sdk.ErrInvalidArgument, "uri"},
		{"rejected token", func() error {
			_, err := fs.platform(t, keyAccessToken+"=ya29.wrong").Upload(testCtx(t), sdk.TransferRequest{LocalPath: local, RemoteURI: "gs://neural-staging/x"}, nil)
			return err
		}, sdk.ErrUnauthenticated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantKind(t, tt.call(), tt.kind, tt.field)
		})
	}
	if _, err := os.Stat(local + ".out"); !os.IsNotExist(err) {
		t.Errorf("a failed download left a file: %v", err)
	}
}
