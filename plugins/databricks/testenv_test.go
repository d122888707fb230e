package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/plugins/databricks/internal/fakeworkspace"
	"github.com/neural-dsl/neural-host/sdk"
)

// Names the fake workspace knows.
const (
	testCluster = "0923-164208-meows279"
	testVolume  = "/Volumes/main/default/neural"
	testModel   = "main.default.mnist"
	brokenModel = "main.default.broken"
)

// newFake starts a fake workspace for one test.
func newFake(t *testing.T) *fakeworkspace.Server {
	t.Helper()
	f, err := fakeworkspace.New(t.TempDir(), fakeworkspace.Options{
		StartDelay:    30 * time.Millisecond,
		ReadyAfter:    300 * time.Millisecond,
		Clusters:      []string{testCluster},
		Volumes:       []string{testVolume},
		Models:        map[string][]string{testModel: {"1", "2"}, brokenModel: {"1"}},
		FailingModels: []string{brokenModel},
		Serverless:    true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// emptyConfigFile is a Databricks config file with no profiles, so that a
// developer's ~/.databrickscfg never leaks into a test.
func emptyConfigFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "databrickscfg")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startFakes starts every fake the plugin talks to and returns the
// environment that points a freshly started plugin binary at them.
func startFakes(t *testing.T) (env []string) {
	t.Helper()
	f := newFake(t)
	return fakeEnv(t, f)
}

func fakeEnv(t *testing.T, f *fakeworkspace.Server) []string {
	return []string{
		"DATABRICKS_HOST=" + f.URL,
		"DATABRICKS_TOKEN=" + f.Token(),
		"DATABRICKS_CONFIG_FILE=" + emptyConfigFile(t),
		// Cleared so that a developer's own settings cannot interfere.
		"DATABRICKS_CLIENT_ID=", "DATABRICKS_CLIENT_SECRET=", "DATABRICKS_CONFIG_PROFILE=", "DATABRICKS_AUTH_TYPE=",
		"DATABRICKS_CLUSTER_ID=", "NEURAL_DATABRICKS_COMPUTE=", "NEURAL_DATABRICKS_STAGING_DIR=", "NEURAL_DATABRICKS_ENDPOINT=",
		"NEURAL_DATABRICKS_POLL_INTERVAL=50ms",
		"NEURAL_DATABRICKS_WAIT_TIMEOUT=60s",
		"DATABRICKS_RATE_LIMIT=1000",
	}
}

// newPlatform returns the plugin configured against f, with extra settings.
func newPlatform(t *testing.T, f *fakeworkspace.Server, extra sdk.Config) *Platform {
	t.Helper()
	cfg := sdk.Config{"host": f.URL, "token": f.Token(), "config_file": emptyConfigFile(t),
		"poll_interval": "20ms", "wait_timeout": "60s", "rate_limit": "1000"}
	for k, v := range extra {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	p := New()
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return p
}

// clearDatabricksEnv removes the developer's Databricks variables from this
// test process, where the SDK would read them.
func clearDatabricksEnv() {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "DATABRICKS_") || strings.HasPrefix(k, "NEURAL_DATABRICKS_") {
			os.Unsetenv(k)
		}
	}
}

// eventually polls cond until it holds, failing after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
