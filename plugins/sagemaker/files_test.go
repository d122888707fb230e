package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/plugin"
)

// procKiB reads a VmRSS or VmHWM figure of a process, in KiB.
func procKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// pluginPid finds the plugin process this test started: the child of this
// process running the plugin binary.
func pluginPid(t *testing.T) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err1 := os.ReadFile("/proc/" + e.Name() + "/stat")
		exe, err2 := os.Readlink("/proc/" + e.Name() + "/exe")
		if err1 != nil || err2 != nil || filepath.Base(exe) != "neural-plugin-sagemaker" {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			return pid
		}
	}
	t.Fatal("the plugin process is not among this test's children")
	return 0
}

// TestFiles64MiBBoundedMemory moves 64 MiB through a real plugin process
// twice. Streaming shows as a peak well under the file's size, which a
// second transfer keeps under: memory is bounded by the transfers'
// buffers, not by the file, and does not accumulate.
func TestFiles64MiBBoundedMemory(t *testing.T) {
	fake, env := startFakeAWS(t, fakeaws.Options{})
	if err := fake.S3.CreateBucket("neural-data"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// GOGC=50 keeps the garbage collector's slack small, so the peak
	// reflects what the transfer holds rather than when the GC ran.
	conn, err := plugin.Launch(ctx, plugin.LaunchConfig{Name: "sagemaker", Path: filepath.Join(binDir, "neural-plugin-sagemaker"), Env: append(env, "GOGC=50")})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Configure(ctx, sdk.Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ListFiles(ctx, sdk.ListFilesRequest{URI: "s3://neural-data/"}); err != nil {
		t.Fatal(err)
	}
	pid := pluginPid(t)
	base := procKiB(t, pid, "VmRSS")
	roundTrip(t, conn, fake, 64<<20)
	first := procKiB(t, pid, "VmHWM")
	roundTrip(t, conn, fake, 64<<20)
	second := procKiB(t, pid, "VmHWM")
	t.Logf("plugin RSS %d MiB at rest, peak %d MiB after one 64 MiB round trip, %d MiB after two", base>>10, first>>10, second>>10)
	for i, peak := range []int64{first, second} {
		if grow := (peak - base) >> 10; grow > 48 {
			t.Errorf("round trip %d: the plugin's peak memory grew by %d MiB moving 64 MiB", i+1, grow)
		}
	}
	files, err := conn.ListFiles(ctx, sdk.ListFilesRequest{URI: "s3://neural-data/"})
	if err != nil || len(files.Files) != 1 || !files.Files[0].IsDir || files.Files[0].URI != "s3://neural-data/models/" {
		t.Errorf("listing %+v %v", files, err)
	}
}

// roundTrip uploads size random bytes in parts and downloads them again.
func roundTrip(t *testing.T, conn *plugin.Conn, fake *fakeaws.Env, size int64) {
	t.Helper()
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "weights.bin")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{byte(size >> 20)}), size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var mu sync.Mutex
	var progress [][2]int64
	record := func(done, total int64) {
		mu.Lock()
		progress = append(progress, [2]int64{done, total})
		mu.Unlock()
	}
	parts := fake.Calls("s3", "PUT-multipart")
	info, err := conn.Upload(ctx, sdk.TransferRequest{LocalPath: src, RemoteURI: "s3://neural-data/models/"}, record)
	if err != nil {
		t.Fatal(err)
	}
	if info.URI != "s3://neural-data/models/weights.bin" || info.Size != size {
		t.Fatalf("uploaded %+v", info)
	}
	if n := fake.Calls("s3", "PUT-multipart") - parts; n < int(size/partSize) {
		t.Errorf("%d part uploads for %d MiB: not a multipart upload", n, size>>20)
	}
	checkProgress(t, progress, size)
	progress = nil
	dst := filepath.Join(t.TempDir(), "copy.bin")
	if _, err := conn.Download(ctx, sdk.TransferRequest{LocalPath: dst, RemoteURI: info.URI}, record); err != nil {
		t.Fatal(err)
	}
	checkProgress(t, progress, size)
	if fileHash(t, src) != fileHash(t, dst) {
		t.Fatal("downloaded bytes differ from uploaded ones")
	}
}

func checkProgress(t *testing.T, p [][2]int64, size int64) {
	t.Helper()
	if len(p) < 2 || p[len(p)-1] != [2]int64{size, size} {
		t.Fatalf("progress %v", p)
	}
	for i := 1; i < len(p); i++ {
		if p[i][0] < p[i-1][0] || p[i][1] != size {
			t.Errorf("progress goes back or changes total: %v then %v", p[i-1], p[i])
		}
	}
}

func TestFilesErrors(t *testing.T) {
	p, fake := newPlatform(t, fakeaws.Options{})
	fake.S3.CreateBucket("neural-data")
	ctx := context.Background()
	local := filepath.Join(t.TempDir(), "a.txt")
	os.WriteFile(local, []byte("x"), 0o644)
	tests := []struct {
		name  string
		call  func() error
		kind  error
		field string
	}{
		{"download missing", func() error {
			_, err := p.Download(ctx, sdk.TransferRequest{LocalPath: local + ".out", RemoteURI: "s3://neural-data/none"}, nil)
			return err
		}, sdk.ErrNotFound, ""},
		{"download prefix", func() error {
			_, err := p.Download(ctx, sdk.TransferRequest{LocalPath: local, RemoteURI: "s3://neural-data/dir/"}, nil)
			return err
		}, sdk.ErrInvalidArgument, "remote"},
		{"upload to no bucket", func() error {
			_, err := p.Upload(ctx, sdk.TransferRequest{LocalPath: local, RemoteURI: "s3://no-such-bucket/a"}, nil)
			return err
		}, sdk.ErrNotFound, ""},
		{"upload missing file", func() error {
			_, err := p.Upload(ctx, sdk.TransferRequest{LocalPath: local + ".none", RemoteURI: "s3://neural-data/a"}, nil)
			return err
		}, sdk.ErrNotFound, "local"},
		{"not s3", func() error {
			_, err := p.Upload(ctx, sdk.TransferRequest{LocalPath: local, RemoteURI: "file:///tmp/a"}, nil)
			return err
		}, sdk.ErrInvalidArgument, "remote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if se := wantKind(t, tt.call(), tt.kind); se.Field != tt.field {
				t.Errorf("field %q, want %q", se.Field, tt.field)
			}
		})
	}
	if _, err := os.Stat(local + ".out"); !os.IsNotExist(err) {
		t.Error("a failed download left a file behind")
	}
}

// TestFilesRelativePaths: a remote path without a scheme is a key in the
// plugin's bucket, and cannot climb out of it.
func TestFilesRelativePaths(t *testing.T) {
	p, fake := newPlatform(t, fakeaws.Options{})
	bucket := "sagemaker-" + fake.Region + "-" + fake.Account
	fake.S3.CreateBucket(bucket)
	ctx := context.Background()
	local := filepath.Join(t.TempDir(), "a.txt")
	os.WriteFile(local, []byte("hello"), 0o644)
	info, err := p.Upload(ctx, sdk.TransferRequest{LocalPath: local, RemoteURI: "../notes/"}, nil)
	if err != nil || info.URI != "s3://"+bucket+"/notes/a.txt" || info.Size != 5 {
		t.Fatalf("upload %+v %v", info, err)
	}
	list, err := p.ListFiles(ctx, sdk.ListFilesRequest{})
	if err != nil || len(list.Files) != 1 || list.Files[0].URI != "s3://"+bucket+"/notes/" || !list.Files[0].IsDir {
		t.Fatalf("list %+v %v", list, err)
	}
	dst := filepath.Join(t.TempDir(), "b.txt")
	if _, err := p.Download(ctx, sdk.TransferRequest{LocalPath: dst, RemoteURI: "notes/a.txt"}, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "hello" {
		t.Errorf("downloaded %q", b)
	}
}
