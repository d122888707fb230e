package sdktest

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// Build compiles Go packages of the module in dir into outDir, once per
// test run (call it from TestMain): targets maps each package, such as
// "./plugins/acme", to the file name of its binary. flags go to go build.
func Build(dir, outDir string, targets map[string]string, flags ...string) error {
	for pkg, name := range targets {
		args := append(append([]string{"build"}, flags...), "-o", filepath.Join(outDir, name), pkg)
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("sdktest: building %s: %v\n%s", pkg, err, out)
		}
	}
	return nil
}
