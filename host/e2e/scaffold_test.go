package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestThirdPartyPlugin writes a plugin with the scaffold into a directory
// outside this repository, without --sdk-path, then follows its README:
// make build, make test (the conformance suite) and make install, runs a
// job on the installed plugin and checks it against the conformance suite
// as neural-host runs it: what a third party would do.
func TestThirdPartyPlugin(t *testing.T) {
	e := newEnv(t)
	root, _ := filepath.Abs("../..")
	dir := filepath.Join(e.root, "acme")
	if strings.HasPrefix(dir, root+string(filepath.Separator)) {
		t.Fatalf("%s is inside the repository %s", dir, root)
	}
	e.ok("plugins", "new", "acme", "--dir", dir, "--module", "example.com/acme")
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); err != nil {
		t.Fatalf("the scaffold ships no go.sum: %v", err)
	}
	e.extra = append(e.extra, "ACME_STATE_DIR="+filepath.Join(e.root, "acme-jobs"))
	for _, target := range []string{"build", "test", "install"} {
		cmd := exec.Command("make", target)
		cmd.Dir, cmd.Env = dir, e.environ()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
	}
	var list []struct{ Name, Version, Path string }
	e.json(&list, "plugins", "list", "-o", "json")
	found := false
	for _, p := range list {
		found = found || (p.Name == "acme" && p.Version == "0.1.0")
	}
	if !found {
		t.Fatalf("make install did not install acme 0.1.0 into the host that wrote it: %+v", list)
	}
	// The scaffold declares a namespace of its own, so the plugin cannot
	// land among, or shadow, the official ones.
	want := filepath.Join(e.root, "data", "neural", "plugins", "community", "acme", "0.1.0", runtime.GOOS+"_"+runtime.GOARCH, "neural-plugin-acme")
	for _, p := range list {
		if p.Name == "acme" && p.Path != want {
			t.Errorf("acme is installed at %s, want %s", p.Path, want)
		}
	}
	if _, err := os.Stat(filepath.Join(e.root, "data", "neural", "plugins", "official", "acme")); !os.IsNotExist(err) {
		t.Errorf("acme was installed under official/: %v", err)
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
}

// TestScaffoldNamesTheSDK checks that plugins new, given no neural-host
// checkout it can use, says exactly how to name one and writes nothing.
func TestScaffoldNamesTheSDK(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.root, "acme")
	e.extra = append(e.extra, "NEURAL_SDK_PATH="+e.root)
	r := e.run("plugins", "new", "acme", "--dir", dir)
	if r.code != 2 || !strings.Contains(r.stderr, "NEURAL_SDK_PATH") || !strings.Contains(r.stderr, "is not a neural-host checkout") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s was written: %v", dir, err)
	}
}
