package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The bundle benchmark's work dir: bundleDense files of random bytes, which
// gzip cannot shrink, and bundleSparse files that are mostly holes, with
// bundleSparseData random bytes at their end.
const (
	mib              = 1 << 20
	bundleDense      = 128
	bundleDenseSize  = 1 * mib
	bundleSparse     = 4
	bundleSparseSize = 32 * mib
	bundleSparseData = 1 * mib
	bundleTreeBytes  = bundleDense*bundleDenseSize + bundleSparse*bundleSparseSize
	bundleTreeData   = bundleDense*bundleDenseSize + bundleSparse*bundleSparseData
)

// BenchmarkSubmitBundle is `neural-host job submit` of a command job whose
// work dir holds 256 MiB, half of it in sparse files, to a local plugin the
// host attaches to. It reports the peak resident memory of the plugin (its
// VmHWM over every submit) and of the host (the largest of its runs), and
// the disk the unpacked copy takes, next to the work dir's size and the
// bytes of data in it.
func BenchmarkSubmitBundle(b *testing.B) {
	env := home(b)
	work := b.TempDir()
	writeBundleTree(b, work)
	spec := filepath.Join(b.TempDir(), "job.yaml")
	body := fmt.Sprintf("kind: command\ncommand: [\"true\"]\nworkdir: %s\n", work)
	if err := os.WriteFile(spec, []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	plugin, reattach := debugPlugin(b, "local", env)
	env = append(env, "NEURAL_REATTACH_PLUGINS="+reattach)
	state := envValue(env, "XDG_STATE_HOME")
	host := filepath.Join(bin, "neural-host")
	var hostPeak, diskPeak int64
	b.SetBytes(bundleTreeBytes)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		submit := exec.Command(host, "job", "submit", spec, "-p", "local", "--yes", "-o", "json")
		submit.Env = env
		out, err := submit.Output()
		if err != nil {
			b.Fatalf("%v: %v\n%s", submit.Args, err, out)
		}
		b.StopTimer()
		hostPeak = max(hostPeak, maxRSS(submit))
		var job struct {
			Ref string `json:"ref"`
		}
		if err := json.Unmarshal(out, &job); err != nil || job.Ref == "" {
			b.Fatalf("no job in %s (%v)", out, err)
		}
		wait := exec.Command(host, "job", "wait", job.Ref)
		wait.Env = env
		runOrFail(b, wait)
		dir := filepath.Join(state, "neural", "local", "jobs", strings.TrimPrefix(job.Ref, "local:"))
		size, disk := usage(b, filepath.Join(dir, "work"))
		if size != bundleTreeBytes {
			b.Fatalf("the job's copy of the work dir holds %d bytes, want %d", size, bundleTreeBytes)
		}
		diskPeak = max(diskPeak, disk)
		// Each submit makes a new copy; keep the disk from filling up.
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(bundleTreeBytes)/mib, "workdir-MiB")
	b.ReportMetric(float64(bundleTreeData)/mib, "data-MiB")
	b.ReportMetric(float64(vmHWM(b, plugin.Process.Pid))/mib, "plugin-peak-MiB")
	b.ReportMetric(float64(hostPeak)/mib, "host-peak-MiB")
	b.ReportMetric(float64(diskPeak)/mib, "copy-disk-MiB")
}

// writeBundleTree fills dir with the benchmark's work dir.
func writeBundleTree(b *testing.B, dir string) {
	rng := rand.NewChaCha8([32]byte{})
	buf := make([]byte, max(bundleDenseSize, bundleSparseData))
	for i := range bundleDense {
		rng.Read(buf[:bundleDenseSize])
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("dense-%03d.bin", i)), buf[:bundleDenseSize], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for i := range bundleSparse {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("sparse-%d.bin", i)))
		if err != nil {
			b.Fatal(err)
		}
		rng.Read(buf[:bundleSparseData])
		if _, err := f.WriteAt(buf[:bundleSparseData], bundleSparseSize-bundleSparseData); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// debugPlugin starts a plugin as NEURAL_PLUGIN_DEBUG does, so that it
// outlives each host run and its VmHWM covers every command, and returns it
// with the NEURAL_REATTACH_PLUGINS value a host attaches with.
func debugPlugin(b *testing.B, name string, env []string) (*exec.Cmd, string) {
	cmd := exec.Command(filepath.Join(bin, "neural-plugin-"+name))
	cmd.Env = append(env, "NEURAL_PLUGIN_DEBUG=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export NEURAL_REATTACH_PLUGINS='"); ok {
			go func() { // keep draining, so the plugin never blocks on stdout
				for sc.Scan() {
				}
			}()
			return cmd, strings.TrimSuffix(v, "'")
		}
	}
	b.Fatalf("the plugin printed no NEURAL_REATTACH_PLUGINS value (%v)", sc.Err())
	return nil, ""
}

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// vmHWM is the peak resident set of a running process, in bytes.
func vmHWM(b *testing.B, pid int) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// maxRSS is the peak resident set of a process that has ended, in bytes:
// the same figure as VmHWM, which is gone with the process.
func maxRSS(cmd *exec.Cmd) int64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10 // Linux counts it in KiB
	}
	return 0
}

// usage sums the sizes of the files under dir and the disk blocks they
// take, which are fewer where a file has holes.
func usage(b *testing.B, dir string) (size, disk int64) {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		size += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			disk += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return size, disk
}
