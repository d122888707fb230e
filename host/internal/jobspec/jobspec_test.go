package jobspec

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

func TestParse(t *testing.T) {
	src := `
platform: local
name: quick
kind: python
workdir: src
entrypoint: train.py
env: {SEED: "1"}
resources:
  gpus: 2
  gpu_type: T4
  max_runtime: 90m
labels: {team: ml}
`
	s, err := Parse([]byte(src), "job.yaml", "/p")
	if err != nil {
		t.Fatal(err)
	}
	if s.Platform != "local" || s.Kind != sdk.KindPython || s.WorkDir != "/p/src" || s.Resources.GPUs != 2 ||
		s.Resources.MaxRuntime != 90*time.Minute || s.Env["SEED"] != "1" || s.Labels["team"] != "ml" {
		t.Fatalf("got %+v", s.JobSpec)
	}
	if got := s.Line("resources.gpus"); got != 9 {
		t.Errorf("Line(resources.gpus) = %d, want 9", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"kind: python\nentrypoint: a.py\nresourcse:\n  gpus: 1\n", []string{"job.yaml:3", `unknown key "resourcse"`}},
		{"kind: python\nresources:\n  gpus: many\n", []string{"job.yaml:3", "many"}},
		{"kind: python\nresources:\n  max_runtime: soon\n", []string{"job.yaml:3", "not a duration"}},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.src), "job.yaml", "/p")
		if !errors.Is(err, sdk.ErrInvalidArgument) {
			t.Errorf("Parse(%q): want invalid argument, got %v", tt.src, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Parse(%q) error %q lacks %q", tt.src, err, w)
			}
		}
	}
}

func TestDescribeAddsLine(t *testing.T) {
	s, err := Parse([]byte("kind: python\nentrypoint: a.py\nresources:\n  gpus: -1\n"), "job.yaml", "/p")
	if err != nil {
		t.Fatal(err)
	}
	verr := s.Validate()
	if verr == nil {
		t.Fatal("negative gpus validated")
	}
	got := s.Describe(sdk.Problems(verr)[0]).Error()
	if !strings.Contains(got, "resources.gpus") || !strings.Contains(got, "job.yaml:4") {
		t.Errorf("got %q", got)
	}
}

func TestFromValues(t *testing.T) {
	s, err := FromValues(map[string]any{
		"kind": "command", "command": []any{"train", 3},
		"env":       map[string]any{"LR": 0.01, "DEBUG": true},
		"resources": map[string]any{"gpus": 2, "max_runtime": "90m"},
	}, "batch.yaml", "/p")
	if err != nil {
		t.Fatal(err)
	}
	if s.Env["LR"] != "0.01" || s.Env["DEBUG"] != "true" || s.Command[1] != "3" || s.Resources.GPUs != 2 ||
		s.Resources.MaxRuntime != 90*time.Minute {
		t.Errorf("got %+v", s.JobSpec)
	}
	for _, tt := range []struct {
		vals  map[string]any
		field string
	}{
		{map[string]any{"kind": "command", "resourcse": map[string]any{}}, "resourcse"},
		{map[string]any{"kind": "command", "resources": map[string]any{"gpus": "many"}}, "resources.gpus"},
		{map[string]any{"kind": "command", "resources": map[string]any{"max_runtime": "soon"}}, "spec"},
	} {
		_, err := FromValues(tt.vals, "batch.yaml", "/p")
		var e *sdk.Error
		if !errors.As(err, &e) || !errors.Is(err, sdk.ErrInvalidArgument) || e.Field != tt.field {
			t.Errorf("FromValues(%v) = %v, want an error on %s", tt.vals, err, tt.field)
		}
	}
}

func TestPlatformMustBeAName(t *testing.T) {
	for _, platform := range []string{"../../../../proc/self/cwd/tools/evil", "/usr/bin/evil", "Local", "a.b"} {
		_, err := Parse([]byte("platform: "+platform+"\nkind: python\nentrypoint: a.py\n"), "job.yaml", "/p")
		var e *sdk.Error
		if !errors.As(err, &e) || e.Field != "platform" || !errors.Is(err, sdk.ErrInvalidArgument) || !strings.Contains(err.Error(), "job.yaml:1") {
			t.Errorf("Parse(platform: %s) = %v, want an invalid-argument error on platform at job.yaml:1", platform, err)
		}
		_, err = FromValues(map[string]any{"platform": platform, "kind": "command", "command": []any{"x"}}, "batch.yaml", "/p")
		if !errors.As(err, &e) || e.Field != "platform" || !errors.Is(err, sdk.ErrInvalidArgument) {
			t.Errorf("FromValues(platform: %s) = %v, want an invalid-argument error on platform", platform, err)
		}
	}
}
