package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "long.py"), []byte("import time\nprint('started', flush=True)\ntime.sleep(300)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sdktest.Run(t, sdktest.Config{
		Binary:  filepath.Join(binDir, "neural-plugin-sagemaker"),
		Env:     startFakes(t),
		LongJob: sdk.JobSpec{Name: "long", Kind: sdk.KindPython, WorkDir: work, Entrypoint: "long.py"},
	})
}
