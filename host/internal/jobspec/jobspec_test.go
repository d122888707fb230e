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
