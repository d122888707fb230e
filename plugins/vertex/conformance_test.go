package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	needBinaries(t)
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "README"), []byte("long job\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sdktest.Run(t, sdktest.Config{
		Binary: filepath.Join(binDir, "neural-plugin-vertex"),
		Env:    startFakes(t),
		LongJob: sdk.JobSpec{Name: "long", Kind: sdk.KindCommand, WorkDir: work,
			Command: []string{"sh", "-c", "echo started; sleep 300"}},
	})
}
