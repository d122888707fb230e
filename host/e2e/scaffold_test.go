package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestThirdPartyPlugin writes a plugin with the scaffold in a module of its
// own, outside this one, builds it against the SDK, installs it, runs a job
// on it and runs its conformance test: what a third party would do.
func TestThirdPartyPlugin(t *testing.T) {
	e := newEnv(t)
	root, _ := filepath.Abs("../..")
	dir := filepath.Join(e.root, "acme")
	e.ok("plugins", "new", "acme", "--dir", dir, "--module", "example.com/acme", "--sdk-path", root)
	gocmd := func(args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	gocmd("mod", "tidy")
	gocmd("vet", "./...")
	gocmd("build", "-o", "neural-plugin-acme", ".")
	e.extra = append(e.extra, "ACME_STATE_DIR="+filepath.Join(e.root, "acme-jobs"))
	if got := e.install(filepath.Join(dir, "neural-plugin-acme")); got.Name != "acme" || got.Version != "0.1.0" {
		t.Fatalf("install: %+v", got)
	}
	spec := e.writeSpec("kind: command\ncommand: [sh, -c, 'echo hello from acme']\n", map[string]string{})
	var j job
	e.json(&j, "job", "submit", spec, "--platform", "acme")
	e.ok("job", "wait", j.Ref, "--poll-interval", "20ms", "--timeout", "30s")
	if out := e.ok("job", "logs", j.Ref); out != "hello from acme\n" {
		t.Errorf("logs: %q", out)
	}
	if out := e.ok("plugins", "conformance", filepath.Join(dir, "neural-plugin-acme")); strings.Contains(out, "FAIL") {
		t.Errorf("conformance:\n%s", out)
	}
	gocmd("test", "./...")
}
