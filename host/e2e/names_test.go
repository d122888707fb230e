package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// hostileRepo is a cloned repository that tries to get its own program run
// as a plugin: tools/evil creates marker when it runs, and platform names
// it through /proc/self/cwd, which resolves to the repository for a
// neural-host started there.
type hostileRepo struct {
	dir, marker, platform string
}

func newHostileRepo(t *testing.T, e *env) hostileRepo {
	t.Helper()
	r := hostileRepo{dir: filepath.Join(e.root, "cloned")}
	r.marker = filepath.Join(r.dir, "RAN")
	// Enough "../" to climb from any search directory to /.
	r.platform = strings.Repeat("../", 32) + "proc/self/cwd/tools/evil"
	if err := os.MkdirAll(filepath.Join(r.dir, "tools"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\ntouch '" + r.marker + "'\n"
	if err := os.WriteFile(filepath.Join(r.dir, "tools", "evil"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r hostileRepo) write(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(r.dir, name)
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(body, "EVIL", r.platform)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runIn runs neural-host with dir as its working directory.
func (e *env) runIn(dir string, args ...string) run {
	e.t.Helper()
	cmd := e.command(args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := run{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("neural-host %v: %v", args, err)
	}
	return r
}

// TestPlatformPathNeverRuns: cloning someone's repository and planning its
// job must never run their code, whichever input names the platform.
func TestPlatformPathNeverRuns(t *testing.T) {
	e := newEnv(t)
	repo := newHostileRepo(t, e)
	hostileSpec := repo.write(t, "neural-job.yaml", "platform: EVIL\nkind: command\ncommand: [echo, hi]\n")
	plainSpec := repo.write(t, "plain-job.yaml", "kind: command\ncommand: [echo, hi]\n")
	// Invalid besides its platform: plugins it names must not start while
	// the rest is checked.
	badBatch := repo.write(t, "batch.yaml", "platform: EVIL\njobs:\n  - {kind: python}\n")
	matrixBatch := repo.write(t, "matrix.yaml", "base: {kind: command, command: [x]}\nmatrix:\n  platform: [local, EVIL]\n")
	for _, tc := range []struct {
		what string
		args []string
	}{
		{"the spec's platform", []string{"job", "plan", hostileSpec}},
		{"the spec's platform, on submit", []string{"job", "submit", hostileSpec, "--yes"}},
		{"-p", []string{"job", "plan", plainSpec, "-p", repo.platform}},
		{"a PLATFORM:ID reference", []string{"job", "status", repo.platform + ":1"}},
		{"a batch file's platform", []string{"batch", "submit", badBatch, "--yes"}},
		{"a batch matrix", []string{"batch", "submit", matrixBatch, "--yes"}},
		{"batch -p", []string{"batch", "submit", badBatch, "-p", repo.platform, "--yes"}},
		{"plugins info", []string{"plugins", "info", repo.platform}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			r := e.runIn(repo.dir, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, "platform") || !strings.Contains(r.stderr, "is not a platform name") {
				t.Errorf("exit %d, want 2 with an error naming the platform\nstderr:\n%s", r.code, r.stderr)
			}
			if _, err := os.Stat(repo.marker); err == nil {
				os.Remove(repo.marker)
				t.Fatal("the repository's program ran as a plugin")
			}
		})
	}
}

// TestPluginsRemoveStaysInStore: a name or version that is a path deletes
// nothing outside the plugin directory.
func TestPluginsRemoveStaysInStore(t *testing.T) {
	e := newEnv(t)
	plugins := filepath.Join(e.root, "data", "neural", "plugins")
	// STORE/*/local/../../../x is STORE/../x; STORE/*/../../* is STORE/../*.
	victim := filepath.Join(e.root, "data", "neural", "x")
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ arg, field string }{
		{"local@../../../x", "VERSION"},
		{"../..", "NAME"},
		{"*", "NAME"},
		{"local@*", "VERSION"},
	} {
		r := e.run("plugins", "remove", tc.arg)
		if r.code != 2 || !strings.Contains(r.stderr, tc.field+":") {
			t.Errorf("remove %s: exit %d, want 2 naming %s\n%s", tc.arg, r.code, tc.field, r.stderr)
		}
	}
	for _, dir := range []string{victim, plugins} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s is gone: %v", dir, err)
		}
	}
	if out := e.ok("plugins", "list"); !strings.Contains(out, "local") {
		t.Errorf("the installed plugin is gone:\n%s", out)
	}
}

// writeBomb writes a release archive whose one member claims size bytes of
// zeros, as concatenated gzip streams (which gzip readers accept) of one
// compressed block, so the file is small and the test never holds the
// member in memory.
func writeBomb(t *testing.T, path, member string, size int64) {
	t.Helper()
	const block = 8 << 20
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	if err := tw.WriteHeader(&tar.Header{Name: member, Mode: 0o755, Size: size, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Flush()
	var file bytes.Buffer
	file.Write(gz(hdr.Bytes()))
	zeros := gz(make([]byte, block))
	for n := int64(0); n < size; n += block {
		file.Write(zeros)
	}
	file.Write(gz(make([]byte, 1024)))
	if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeSums(t *testing.T, dir string, files ...string) {
	t.Helper()
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		b.WriteString(hex.EncodeToString(sum[:]) + "  " + f + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			total += info.Size()
		}
		return nil
	})
	return total
}

// TestInstallRefusesGzipBomb: a few MiB that unpack to 2 GiB are refused
// before anything is written, even with a valid SHA256SUMS.
func TestInstallRefusesGzipBomb(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.root, "download")
	os.MkdirAll(dir, 0o755)
	name := "neural-plugin-bomb_v1.0.0_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz"
	archive := filepath.Join(dir, name)
	writeBomb(t, archive, "neural-plugin-bomb", 2<<30)
	if st, _ := os.Stat(archive); st.Size() > 4<<20 {
		t.Fatalf("the bomb is %d bytes; it should be a few MiB", st.Size())
	}
	writeSums(t, dir, name)
	plugins := filepath.Join(e.root, "data", "neural", "plugins")
	before := dirSize(t, plugins)
	r := e.run("plugins", "install", archive)
	if r.code != 2 || !strings.Contains(r.stderr, "2048 MiB, more than the 512 MiB a plugin binary may have") || !strings.Contains(r.stderr, "hint:") {
		t.Fatalf("exit %d, want 2 naming the size and the limit\n%s", r.code, r.stderr)
	}
	if after := dirSize(t, plugins); after != before {
		t.Errorf("the plugin directory grew from %d to %d bytes", before, after)
	}
	if left, _ := filepath.Glob(filepath.Join(plugins, ".install-*")); len(left) > 0 {
		t.Errorf("staging left behind: %v", left)
	}
}

// TestInstallArchiveNeedsSums: an archive install is checked like
// 'sha256sum -c'; --no-verify installs it anyway, with a warning.
func TestInstallArchiveNeedsSums(t *testing.T) {
	e := newEnv(t)
	mirror := filepath.Join(e.root, "mirror")
	e.ok("plugins", "mirror", mirror, testPlugin())
	archives, _ := filepath.Glob(filepath.Join(mirror, "neural-plugin-testplugin_v*.tar.gz"))
	if len(archives) != 1 {
		t.Fatalf("mirror holds %v", archives)
	}
	data, err := os.ReadFile(archives[0])
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(e.root, "alone")
	os.MkdirAll(alone, 0o755)
	archive := filepath.Join(alone, filepath.Base(archives[0]))
	if err := os.WriteFile(archive, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.run("plugins", "install", archive)
	if r.code != 2 || !strings.Contains(r.stderr, "has no SHA256SUMS beside it") || !strings.Contains(r.stderr, "--no-verify") {
		t.Fatalf("without SHA256SUMS: exit %d\n%s", r.code, r.stderr)
	}
	os.WriteFile(filepath.Join(alone, "other.tar.gz"), []byte("x"), 0o644)
	writeSums(t, alone, "other.tar.gz")
	r = e.run("plugins", "install", archive)
	if r.code != 2 || !strings.Contains(r.stderr, "is not listed in") {
		t.Fatalf("not listed: exit %d\n%s", r.code, r.stderr)
	}
	if out := e.ok("plugins", "list"); strings.Contains(out, "testplugin") {
		t.Fatalf("a refused archive was installed:\n%s", out)
	}
	r = e.run("plugins", "install", archive, "--no-verify")
	if r.code != 0 || !strings.Contains(r.stderr, "without checking it against a SHA256SUMS") {
		t.Fatalf("--no-verify: exit %d\n%s", r.code, r.stderr)
	}
	writeSums(t, alone, filepath.Base(archive))
	if r := e.run("plugins", "install", archive); r.code != 0 {
		t.Fatalf("listed: exit %d\n%s", r.code, r.stderr)
	}
}

// TestProjectOwnedByAnotherUser: a neural.lock in a parent directory that
// another user owns (anyone can write one into a shared /tmp) is refused,
// as git refuses such a repository.
func TestProjectOwnedByAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can make a directory another user owns; the project package's TestCheckOwner covers the rule against / instead")
	}
	e := newEnv(t)
	e.extra = append(e.extra, "SUDO_UID=")
	shared := filepath.Join(e.root, "shared")
	work := filepath.Join(shared, "me")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shared, "neural.lock"), []byte("plugins: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(shared, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	r := e.runIn(work, "plugins", "list")
	if r.code != 2 || !strings.Contains(r.stderr, shared+" is owned by uid 65534") || !strings.Contains(r.stderr, "NEURAL_SAFE_DIRECTORIES") {
		t.Fatalf("exit %d, want 2 naming the directory with a hint\n%s", r.code, r.stderr)
	}
	e.extra = append(e.extra, "NEURAL_SAFE_DIRECTORIES="+shared)
	if r := e.runIn(work, "plugins", "list"); r.code != 0 {
		t.Fatalf("with the directory listed as safe: exit %d\n%s", r.code, r.stderr)
	}
}
