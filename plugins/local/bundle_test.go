package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

// testPlatform is a local platform with its state in a temporary directory
// and sh standing in for Python, which these tests never run.
func testPlatform(t *testing.T) *Platform {
	t.Helper()
	p := New()
	dir := t.TempDir()
	if err := p.Configure(context.Background(), sdk.Config{"state_dir": filepath.Join(dir, "state"), "artifact_dir": filepath.Join(dir, "artifacts"), "python": "sh"}); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// planBundle is the bundle section of a plan's request body.
func planBundle(t *testing.T, plan sdk.Plan) (files int) {
	t.Helper()
	var body struct {
		Bundle struct{ Files int } `json:"bundle"`
	}
	if err := json.Unmarshal([]byte(plan.Requests[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	return body.Bundle.Files
}

// TestSymlinkedWorkDirIsCopied: a work dir reached through a link is
// planned and copied as the tree it points to, not as an empty bundle.
func TestSymlinkedWorkDirIsCopied(t *testing.T) {
	real := t.TempDir()
	writeFiles(t, real, map[string]string{"train.py": "print(1)\n", "data/a.csv": "1,2\n"})
	link := filepath.Join(t.TempDir(), "work")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	for name, workdir := range map[string]string{"the directory": real, "a link to it": link} {
		t.Run(name, func(t *testing.T) {
			spec := sdk.JobSpec{Kind: sdk.KindPython, WorkDir: workdir, Entrypoint: "train.py"}
			plan, err := testPlatform(t).Plan(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := planBundle(t, plan); got != 2 {
				t.Errorf("the plan's bundle holds %d files, want 2", got)
			}
			dst := t.TempDir()
			if err := copyBundle(spec, dst); err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(filepath.Join(dst, "train.py")); err != nil || string(got) != "print(1)\n" {
				t.Errorf("the job's copy of train.py: %q, %v", got, err)
			}
		})
	}
}

// TestEntrypointMissingFromBundle: plan and submit refuse a work dir whose
// bundle would lack the entrypoint, naming the field, before any job exists.
func TestEntrypointMissingFromBundle(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantMsg string
	}{
		{"left out by .neuralignore", map[string]string{"train.py": "x", ".neuralignore": "*.py\n"}, ".neuralignore leaves out train.py"},
		{"under an ignored directory", map[string]string{"src/train.py": "x", "train.py": "x", ".neuralignore": "src/\n"}, ".neuralignore leaves out src"},
		{"not there", map[string]string{"other.py": "x"}, "there is no train.py"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			writeFiles(t, work, tt.files)
			entry := "train.py"
			if _, ok := tt.files["src/train.py"]; ok {
				entry = "src/train.py"
			}
			spec := sdk.JobSpec{Kind: sdk.KindPython, WorkDir: work, Entrypoint: entry}
			_, planErr := testPlatform(t).Plan(context.Background(), spec)
			copyErr := copyBundle(spec, t.TempDir())
			for what, err := range map[string]error{"plan": planErr, "copy": copyErr} {
				var fe *sdk.Error
				if !errors.As(err, &fe) || fe.Field != "entrypoint" || fe.Hint == "" || !strings.Contains(fe.Message, tt.wantMsg) {
					t.Errorf("%s: got %v, want an entrypoint error saying %q, with a hint", what, err, tt.wantMsg)
				}
			}
		})
	}
}
