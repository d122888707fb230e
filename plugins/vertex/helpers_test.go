package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// workdir writes files into a fresh directory.
func workdir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// eventually polls cond until it holds, failing after timeout. It waits on
// another process's progress, never in place of synchronisation the test
// controls.
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

// waitTerminal polls Status until the job ends.
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

// commandSpec is a command job that runs script with sh in a workdir.
func commandSpec(t *testing.T, key, script string, files map[string]string) sdk.JobSpec {
	if files == nil {
		files = map[string]string{}
	}
	return sdk.JobSpec{Name: "test-job", Kind: sdk.KindCommand, WorkDir: workdir(t, files),
		Command: []string{"sh", "-c", script}, IdempotencyKey: key}
}

// wantKind fails unless err is an *sdk.Error of kind (and field, if set).
func wantKind(t *testing.T, err error, kind error, field string) *sdk.Error {
	t.Helper()
	var se *sdk.Error
	if !errors.As(err, &se) || !errors.Is(err, kind) {
		t.Fatalf("error %v (%T), want kind %v", err, err, kind)
	}
	if field != "" && se.Field != field {
		t.Fatalf("error field %q, want %q (%v)", se.Field, field, err)
	}
	return se
}

func collectLogs(t *testing.T, p *Platform, req sdk.LogsRequest) []sdk.LogEntry {
	t.Helper()
	var out []sdk.LogEntry
	if err := p.Logs(testCtx(t), req, func(e sdk.LogEntry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func lines(es []sdk.LogEntry) string {
	var out []string
	for _, e := range es {
		out = append(out, e.Line)
	}
	return strings.Join(out, "|")
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
