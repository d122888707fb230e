package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	// binDir holds neural-host and neural-plugin-databricks, built once per
	// test run by TestMain.
	binDir string
	// buildErrs say why a binary could not be built; the tests that run it
	// fail with that, while the other tests still run.
	buildErrs = map[string]error{}
)

func TestMain(m *testing.M) {
	clearDatabricksEnv()
	dir, err := os.MkdirTemp("", "neural-databricks-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) {
	root, err := filepath.Abs("../..")
	for pkg, out := range map[string]string{"./plugins/databricks": "neural-plugin-databricks", "./host/cmd/neural-host": "neural-host"} {
		if err != nil {
			buildErrs[out] = err
			continue
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, out), pkg)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErrs[out] = fmt.Errorf("building %s: %v\n%s", pkg, err, b)
		}
	}
}

// needBinaries fails a test that runs the named binaries when they could
// not be built.
func needBinaries(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := buildErrs[n]; err != nil {
			t.Fatal(err)
		}
	}
}
