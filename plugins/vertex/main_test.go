package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

var (
	// testCert is the fakes' TLS certificate, trusted via SSL_CERT_FILE.
	testCert *testTLS
	// binDir holds neural-host and neural-plugin-vertex, built once.
	binDir string
	// buildErr fails the tests that need the binaries; the others still
	// run when another package of the repository does not build.
	buildErr error
)

func TestMain(m *testing.M) {
	if os.Getenv(envGCSChild) != "" {
		gcsChildMain()
		return
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "neural-vertex-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if testCert, err = newTestTLS(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Before any TLS use: Go reads the trusted roots once per process.
	os.Setenv("SSL_CERT_FILE", testCert.caFile)
	binDir = filepath.Join(dir, "bin")
	root := filepath.Join("..", "..")
	if buildErr = sdktest.Build(root, binDir, map[string]string{"./host/cmd/neural-host": "neural-host"}); buildErr == nil {
		buildErr = buildPlugin(root, binDir)
	}
	return m.Run()
}

// buildPlugin builds the plugin as a release does, with the build tags in
// its TAGS file.
func buildPlugin(root, binDir string) error {
	tags, err := os.ReadFile("TAGS")
	if err != nil {
		return err
	}
	return sdktest.Build(root, binDir, map[string]string{"./plugins/vertex": "neural-plugin-vertex"}, "-tags", strings.TrimSpace(string(tags)))
}

// needBinaries fails the test when TestMain could not build the binaries.
func needBinaries(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}
