package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

// binDir holds neural-host and neural-plugin-sagemaker, built once in
// TestMain for the tests that drive real processes.
var binDir string

func TestMain(m *testing.M) {
	// Tests must never see the developer's AWS setup, nor reach AWS.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") || k == "SAGEMAKER_ROLE_ARN" || strings.HasPrefix(k, "NEURAL_SAGEMAKER_") {
			os.Unsetenv(k)
		}
	}
	os.Setenv("AWS_CONFIG_FILE", "/nonexistent/neural-test-aws-config")
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/neural-test-aws-credentials")
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir, err := os.MkdirTemp("", "neural-sagemaker-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	return sdktest.Build(root, dir, map[string]string{"./host/cmd/neural-host": "neural-host", "./plugins/sagemaker": "neural-plugin-sagemaker"})
}

// newPlatform starts stand-ins and a Platform configured for them through
// the plugin's own settings.
func newPlatform(t *testing.T, opts fakeaws.Options) (*Platform, *fakeaws.Env) {
	t.Helper()
	fake, _ := startFakeAWS(t, opts)
	p := New()
	if err := p.Configure(context.Background(), settingsFor(fake)); err != nil {
		t.Fatal(err)
	}
	return p, fake
}

func settingsFor(fake *fakeaws.Env) sdk.Config {
	return sdk.Config{
		"access_key_id": fake.AccessKey, "secret_access_key": fake.SecretKey, "region": fake.Region,
		"role_arn": fake.RoleARN, "sagemaker_endpoint": fake.SageMakerURL, "s3_endpoint": fake.S3URL,
		"logs_endpoint": fake.LogsURL, "sts_endpoint": fake.STSURL, "poll_interval": "20ms", "retry_max_backoff": "10ms",
	}
}

// eventually polls cond until it holds, failing after timeout. It waits on
// the stand-ins' training processes, never on the test's own goroutines.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitTerminal polls a job until it ends.
func waitTerminal(t *testing.T, p *Platform, id string) sdk.JobStatus {
	t.Helper()
	var st sdk.JobStatus
	eventually(t, 30*time.Second, "job "+id+" to end", func() bool {
		var err error
		st, err = p.Status(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return st.Terminal
	})
	return st
}

// workdir writes files into a fresh directory.
func workdir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// pythonJob is a python job spec running script from a fresh work dir.
func pythonJob(t *testing.T, name, key, script string) sdk.JobSpec {
	return sdk.JobSpec{Name: name, Kind: sdk.KindPython, WorkDir: workdir(t, map[string]string{"train.py": script}),
		Entrypoint: "train.py", IdempotencyKey: key}
}

func wantKind(t *testing.T, err, kind error) *sdk.Error {
	t.Helper()
	var se *sdk.Error
	if !errors.Is(err, kind) || !errors.As(err, &se) {
		t.Fatalf("error %v, want kind %v", err, kind)
	}
	return se
}
