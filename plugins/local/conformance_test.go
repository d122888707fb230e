package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "neural-plugin-local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	sdktest.Run(t, sdktest.Config{
		Binary: bin,
		Env: []string{"NEURAL_LOCAL_STATE_DIR=" + filepath.Join(dir, "state"), "NEURAL_LOCAL_ARTIFACT_DIR=" + filepath.Join(dir, "artifacts"),
			"NEURAL_LOCAL_CANCEL_GRACE=2s"},
		LongJob: sdk.JobSpec{Name: "long", Kind: sdk.KindCommand, Command: []string{"sleep", "600"}},
	})
}
