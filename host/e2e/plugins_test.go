package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

var testPlugin = func() string { return filepath.Join(binDir, "testplugin", "neural-plugin-testplugin") }

type installOut struct {
	Name, Version, Platform, SHA256, Path, Lock string
}

func (e *env) install(args ...string) installOut {
	e.t.Helper()
	var out installOut
	e.json(&out, append([]string{"plugins", "install"}, args...)...)
	return out
}

func TestTamperedBinaryRefused(t *testing.T) {
	e := newEnv(t)
	var list []struct{ Path, SHA256 string }
	e.json(&list, "plugins", "list")
	if len(list) != 1 {
		t.Fatalf("list: %+v", list)
	}
	bin := list[0].Path
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	r := e.run("job", "list", "--all", "-p", "local")
	if r.code != 3 || !strings.Contains(r.stderr, "refusing to run plugin local") || !strings.Contains(r.stderr, list[0].SHA256) ||
		!strings.Contains(r.stderr, "plugins install") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(e.root, "state", "neural", "logs", "local.log")); err == nil {
		if b, _ := os.ReadFile(filepath.Join(e.root, "state", "neural", "logs", "local.log")); strings.Contains(string(b), "plugin started") {
			t.Error("the tampered plugin was started")
		}
	}
}

func TestWrongProtocolRefused(t *testing.T) {
	e := newEnv(t)
	e.extra = append(e.extra, "TESTPLUGIN_MODE=protocol2")
	r := e.run("plugins", "install", testPlugin())
	if r.code != 2 || !strings.Contains(r.stderr, "speaks plugin protocol 2; this neural-host speaks 1") {
		t.Fatalf("install: exit %d\n%s", r.code, r.stderr)
	}
	// A dev override skips install checks, not the handshake.
	e.extra = append(e.extra, "NEURAL_DEV_OVERRIDES=testplugin="+testPlugin())
	r = e.run("job", "status", "testplugin:1")
	if r.code == 0 || !strings.Contains(r.stderr, "speaks plugin protocol 2") || !strings.Contains(r.stderr, "DEV OVERRIDE") {
		t.Fatalf("status: exit %d\n%s", r.code, r.stderr)
	}
}

func TestStdoutBeforeHandshake(t *testing.T) {
	e := newEnv(t)
	e.extra = append(e.extra, "TESTPLUGIN_MODE=stdout")
	r := e.run("plugins", "install", testPlugin())
	if r.code == 0 || !strings.Contains(r.stderr, `wrote "hello from a chatty plugin" to stdout before the plugin handshake`) {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
}

func TestConcurrentInstalls(t *testing.T) {
	e := newEnv(t)
	proj := filepath.Join(e.root, "proj")
	os.MkdirAll(proj, 0o755)
	os.WriteFile(filepath.Join(proj, "neural.yaml"), []byte("required_plugins:\n  local: \">= 0.1\"\n"), 0o644)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := 0; i < 8; i++ {
		for _, bin := range []string{filepath.Join(binDir, "neural-plugin-local"), testPlugin()} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := e.command("plugins", "install", bin)
				cmd.Dir = proj
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- string(out)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Errorf("a concurrent install failed: %s", msg)
	}
	var list []struct{ Name, Version string }
	e.json(&list, "plugins", "list")
	if len(list) != 2 {
		t.Errorf("list after concurrent installs: %+v", list)
	}
	var lock struct {
		Plugins map[string]struct {
			Version string
			Hashes  map[string]string
		}
	}
	b, err := os.ReadFile(filepath.Join(proj, "neural.lock"))
	if err != nil || yaml.Unmarshal(b, &lock) != nil || len(lock.Plugins) != 2 || len(lock.Plugins["official/local"].Hashes) != 1 {
		t.Errorf("lock file after concurrent installs (%v):\n%s", err, b)
	}
	leftovers, _ := filepath.Glob(filepath.Join(e.root, "data", "neural", "plugins", ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left in the plugin dir: %v", leftovers)
	}
}

func TestMirrorInitAndPrune(t *testing.T) {
	e := newEnv(t)
	mirror := filepath.Join(e.root, "mirror")
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		cmd := e.command("plugins", "mirror", mirror, testPlugin())
		cmd.Env = append(cmd.Env, "TESTPLUGIN_VERSION="+v)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mirror %s: %v\n%s", v, err, out)
		}
	}
	sums, _ := os.ReadFile(filepath.Join(mirror, "SHA256SUMS"))
	if n := strings.Count(string(sums), "neural-plugin-testplugin_v"); n != 3 {
		t.Fatalf("SHA256SUMS lists %d archives:\n%s", n, sums)
	}

	proj := filepath.Join(e.root, "proj")
	os.MkdirAll(proj, 0o755)
	os.WriteFile(filepath.Join(proj, "neural.yaml"), []byte("required_plugins:\n  testplugin: \"~> 1.0\"\n"), 0o644)
	run := func(env []string, args ...string) run {
		cmd := e.command(args...)
		cmd.Dir, cmd.Env = proj, append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return run{stdout: string(out), code: code}
	}
	// The plugin reports the version it was archived as, as a real build would.
	if r := run([]string{"TESTPLUGIN_VERSION=1.1.0"}, "init", "--mirror", mirror); r.code != 0 {
		t.Fatalf("init: %d\n%s", r.code, r.stdout)
	}
	b, _ := os.ReadFile(filepath.Join(proj, "neural.lock"))
	if !strings.Contains(string(b), "version: 1.1.0") || !strings.Contains(string(b), "constraint: ~> 1.0") || !strings.Contains(string(b), "sha256:") {
		t.Fatalf("lock after init:\n%s", b)
	}
	// Install 2.0.0 outside the project, then prune: the locked 1.1.0 and
	// the newest 2.0.0 stay; nothing else was installed.
	cmd := e.command("plugins", "install", "--mirror", mirror, "testplugin@2.0.0")
	cmd.Env = append(cmd.Env, "TESTPLUGIN_VERSION=2.0.0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install 2.0.0: %v\n%s", err, out)
	}
	cmd = e.command("plugins", "install", "--mirror", mirror, "testplugin@1.0.0")
	cmd.Env = append(cmd.Env, "TESTPLUGIN_VERSION=1.0.0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install 1.0.0: %v\n%s", err, out)
	}
	r := run(nil, "plugins", "prune", "-o", "json")
	var pruned struct{ Removed []string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &pruned) != nil || len(pruned.Removed) != 1 || !strings.Contains(pruned.Removed[0], "1.0.0") {
		t.Fatalf("prune: %d %s", r.code, r.stdout)
	}
	var list []struct{ Name, Version string }
	e.json(&list, "plugins", "list")
	var versions []string
	for _, p := range list {
		if p.Name == "testplugin" {
			versions = append(versions, p.Version)
		}
	}
	if strings.Join(versions, ",") != "2.0.0,1.1.0" {
		t.Errorf("after prune: %v", versions)
	}
	// In the project, the lock's version runs, not the newest.
	r = run(nil, "platforms", "testplugin", "-o", "json")
	if !strings.Contains(r.stdout, `"version": "1.1.0"`) {
		t.Errorf("project resolves to:\n%s", r.stdout)
	}
}

func TestDevOverrideWarnsEveryCommand(t *testing.T) {
	e := newEnv(t)
	e.extra = append(e.extra, "NEURAL_DEV_OVERRIDES=testplugin="+testPlugin())
	for i := 0; i < 2; i++ {
		r := e.run("auth", "check", "testplugin")
		if r.code != 0 || !strings.Contains(r.stderr, "DEV OVERRIDE: platform testplugin runs "+testPlugin()) {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	}
}

func TestPluginsListStartsNothing(t *testing.T) {
	e := newEnv(t)
	e.install(testPlugin())
	// Remove execute permission: listing must not need to run them.
	var list []struct{ Path string }
	e.json(&list, "plugins", "list")
	for _, p := range list {
		os.Chmod(p.Path, 0o644)
	}
	out := e.ok("plugins", "list")
	if !strings.Contains(out, "local") || !strings.Contains(out, "testplugin") {
		t.Errorf("list:\n%s", out)
	}
	if out := e.ok("platforms", "-o", "json"); !strings.Contains(out, `"jobs": true`) {
		t.Errorf("platforms from manifests:\n%s", out)
	}
}
