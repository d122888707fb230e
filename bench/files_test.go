package bench

import (
	"bufio"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

// filesSize is the file the files benchmarks move: 2 GiB of random bytes,
// or BENCH_FILES_MIB MiB.
func filesSize(b *testing.B) int64 {
	if v := os.Getenv("BENCH_FILES_MIB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_FILES_MIB=%q is not a positive number of MiB", v)
		}
		return n * mib
	}
	return 2 << 30
}

var (
	filesOnce sync.Once
	filesSrc  string
	filesErr  error
)

// filesSource writes the file to move once per run, in the build
// directory that TestMain removes, with the plugins the benchmarks use.
func filesSource(b *testing.B) string {
	filesOnce.Do(func() {
		filesErr = sdktest.Build("..", bin, map[string]string{
			"./plugins/sagemaker": "neural-plugin-sagemaker", "./plugins/sagemaker/internal/fakeawsd": "fakeawsd",
		}, "-trimpath", "-ldflags=-s -w")
		if filesErr != nil {
			return
		}
		filesSrc = filepath.Join(bin, "files-src.bin")
		filesErr = writeRandom(filesSrc, filesSize(b))
	})
	if filesErr != nil {
		b.Fatal(filesErr)
	}
	return filesSrc
}

func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 4*mib)
	w := bufio.NewWriterSize(f, len(buf))
	for done := int64(0); done < size; done += int64(len(buf)) {
		n := min(int64(len(buf)), size-done)
		rng.Read(buf[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// filesTarget is a platform whose storage the benchmarks move the file
// to and from.
type filesTarget struct {
	platform string
	env      []string
	// remote names the benchmark's remote copy.
	remote string
	// removeRemote deletes the remote copy where it takes disk space.
	removeRemote func()
}

func localTarget(b *testing.B) filesTarget {
	store := b.TempDir()
	remote := filepath.Join(store, "remote.bin")
	return filesTarget{platform: "local", env: home(b), remote: "file://" + remote, removeRemote: func() { os.Remove(remote) }}
}

// sagemakerTarget runs the S3 stand-in (gofakes3, objects in memory) in a
// process of its own, so that its memory is not counted as the host's or
// the plugin's, and points the sagemaker plugin at it.
func sagemakerTarget(b *testing.B) filesTarget {
	fake := exec.Command(filepath.Join(bin, "fakeawsd"), "bench")
	stdin, err := fake.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := fake.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	fake.Stderr = os.Stderr
	if err := fake.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); fake.Wait() })
	env := home(b)
	install := exec.Command(filepath.Join(bin, "neural-host"), "plugins", "install", filepath.Join(bin, "neural-plugin-sagemaker"))
	install.Env = env
	runOrFail(b, install)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "READY" {
		env = append(env, sc.Text())
	}
	if sc.Err() != nil {
		b.Fatal(sc.Err())
	}
	return filesTarget{platform: "sagemaker", env: env, remote: "s3://bench/remote.bin", removeRemote: func() {}}
}

// run is one transfer: its wall time and the host's peak RSS.
func (t filesTarget) run(b *testing.B, env []string, args ...string) (time.Duration, int64) {
	cmd := exec.Command(filepath.Join(bin, "neural-host"), append(args, "--platform", t.platform)...)
	cmd.Env = env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return d, maxRSS(cmd)
}

// floorTransfer is the same bytes through a bare go-plugin gRPC stream:
// hello-host and hello-plugin, file to file.
func floorTransfer(b *testing.B, direction, src, dst string) time.Duration {
	start := time.Now()
	out := runOrFail(b, exec.Command(filepath.Join(bin, "hello-host"), filepath.Join(bin, "hello-plugin"), direction, src, dst))
	d := time.Since(start)
	if !strings.Contains(out, "TRANSFERRED") {
		b.Fatalf("hello-host %s: %s", direction, out)
	}
	return d
}

func checkSize(b *testing.B, path string, want int64) {
	st, err := os.Stat(path)
	if err != nil || st.Size() != want {
		b.Fatalf("%s: %v, %v; want %d bytes", path, st, err, want)
	}
}

// BenchmarkFilesUpload is `neural-host files upload` of filesSize bytes,
// and BenchmarkFilesDownload `files download`, to and from the local
// plugin's file:// store and the sagemaker plugin's S3 (the stand-in).
// Each run alternates the command with the floor, a bare go-plugin gRPC
// stream of the same bytes from file to file, so both see the same
// machine, and reports stream/measured (the floor's time over the
// command's; goal >= 0.7), the plugin's peak RSS over every run (its
// VmHWM: it runs as NEURAL_PLUGIN_DEBUG does, and the host attaches to
// it), and the host's (the largest of its runs).
func BenchmarkFilesUpload(b *testing.B) { benchFiles(b, "upload") }

func BenchmarkFilesDownload(b *testing.B) { benchFiles(b, "download") }

var filesTargets = []struct {
	name string
	new  func(*testing.B) filesTarget
}{{"local", localTarget}, {"sagemaker", sagemakerTarget}}

func benchFiles(b *testing.B, direction string) {
	src := filesSource(b)
	size := filesSize(b)
	for _, target := range filesTargets {
		b.Run(target.name, func(b *testing.B) { benchFilesOn(b, target.new, direction, src, size) })
	}
}

func benchFilesOn(b *testing.B, newTarget func(*testing.B) filesTarget, direction, src string, size int64) {
	t := newTarget(b)
	plugin, reattach := debugPlugin(b, t.platform, t.env)
	env := append(t.env, "NEURAL_REATTACH_PLUGINS="+reattach)
	dir := b.TempDir()
	local := filepath.Join(dir, "local.bin")
	floorRemote := filepath.Join(dir, "floor-remote.bin")
	if direction == "download" {
		// The remote copy to download, and the floor's.
		t.run(b, env, "files", "upload", src, t.remote)
		runOrFail(b, exec.Command("cp", src, floorRemote))
	}
	var measured, floor time.Duration
	var hostPeak int64
	for b.Loop() {
		var d time.Duration
		var peak int64
		if direction == "upload" {
			floor += floorTransfer(b, "upload", src, floorRemote)
			checkSize(b, floorRemote, size)
			os.Remove(floorRemote)
			d, peak = t.run(b, env, "files", "upload", src, t.remote)
		} else {
			floor += floorTransfer(b, "download", floorRemote, local)
			checkSize(b, local, size)
			os.Remove(local)
			d, peak = t.run(b, env, "files", "download", t.remote, local)
			checkSize(b, local, size)
			os.Remove(local)
		}
		measured += d
		hostPeak = max(hostPeak, peak)
	}
	b.StopTimer()
	t.removeRemote()
	b.ReportMetric(float64(size)/mib, "MiB")
	b.ReportMetric(float64(floor)/float64(measured), "stream/measured")
	b.ReportMetric(float64(measured.Milliseconds())/float64(b.N), "ms/measured")
	b.ReportMetric(float64(floor.Milliseconds())/float64(b.N), "ms/stream")
	b.ReportMetric(float64(vmHWM(b, plugin.Process.Pid))/mib, "plugin-peak-MiB")
	b.ReportMetric(float64(hostPeak)/mib, "host-peak-MiB")
}
