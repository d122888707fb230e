package jobspec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	manyEnv := "kind: command\ncommand: [x]\nenv:\n"
	for i := 0; i <= MaxMappingKeys; i++ {
		manyEnv += fmt.Sprintf("  K%d: v\n", i)
	}
	tests := []struct {
		name, src, field string
		want             []string
	}{
		{"unknown key", "kind: python\nentrypoint: a.py\nresourcse:\n  gpus: 1\n", "resourcse", []string{"job.yaml:3", `unknown key "resourcse"`}},
		{"word for a count", "kind: python\nresources:\n  gpus: many\n", "resources.gpus", []string{"job.yaml:3", "want an integer, got many"}},
		// yaml.v3 would store these as 1 and 1000.
		{"fraction for a count", "kind: python\nresources:\n  gpus: 1.5\n", "resources.gpus", []string{"job.yaml:3", "want an integer, got 1.5"}},
		{"float for a count", "kind: python\nresources:\n  nodes: 1e3\n", "resources.nodes", []string{"job.yaml:3", "want an integer"}},
		{"flow style", "kind: python\nresources: {disk_gb: 0.5}\n", "resources.disk_gb", []string{"job.yaml:2", "want an integer"}},
		{"through an alias", "kind: python\nname: &n 2.5\nresources: {gpus: *n}\n", "resources.gpus", []string{"want an integer, got 2.5"}},
		{"through a merge key", "kind: python\nname: x\ndefaults: &d {gpus: 2.5}\nresources: {<<: *d}\n", "resources.gpus", []string{"want an integer, got 2.5"}},
		{"word for a duration", "kind: python\nresources:\n  max_runtime: soon\n", "resources.max_runtime", []string{"job.yaml:3", "not a duration"}},
		{"NaN duration", "kind: python\nresources:\n  max_runtime: nan\n", "resources.max_runtime", []string{"job.yaml:3", "not a duration"}},
		{"infinite duration", "kind: python\nresources:\n  max_runtime: inf\n", "resources.max_runtime", []string{"not a duration"}},
		{"seconds past a Duration", "kind: python\nresources:\n  max_runtime: 1e300\n", "resources.max_runtime", []string{"not a duration"}},
		{"hours past a Duration", "kind: python\nresources:\n  max_runtime: 9999999h\n", "resources.max_runtime", []string{"not a duration"}},
		{"second document", "kind: python\nentrypoint: a.py\n---\nkind: command\n", "spec", []string{"job.yaml:3", "second YAML document"}},
		{"trailing separator", "kind: python\nentrypoint: a.py\n---\n", "spec", []string{"job.yaml:3", "second YAML document"}},
		{"mapping too big", manyEnv, "env", []string{"job.yaml:4", fmt.Sprintf("has %d keys, more than %d", MaxMappingKeys+1, MaxMappingKeys)}},
		{"empty", "# nothing\n", "spec", []string{"job.yaml is empty"}},
		{"syntax", "kind: [python\n", "spec", []string{"job.yaml"}},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.src), "job.yaml", "/p")
		var e *sdk.Error
		if !errors.As(err, &e) || !errors.Is(err, sdk.ErrInvalidArgument) || e.Field != tt.field || e.Hint == "" {
			t.Errorf("%s: got %#v, want invalid argument on %s with a hint", tt.name, err, tt.field)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
	}
}

// TestParsedNumbersAreValidated follows numbers a YAML decoder takes as
// they are through to Validate, which refuses them with the file's line.
func TestParsedNumbersAreValidated(t *testing.T) {
	tests := []struct {
		src, field string
	}{
		{"kind: command\ncommand: [x]\nresources:\n  nodes: 4294967298\n", "resources.nodes"},
		{"kind: command\ncommand: [x]\nresources:\n  gpus: 2147483648\n", "resources.gpus"},
		{"kind: command\ncommand: [x]\nresources:\n  cpus: .nan\n", "resources.cpus"},
		{"kind: command\ncommand: [x]\nresources:\n  memory_gb: .inf\n", "resources.memory_gb"},
		{"kind: command\ncommand: [x]\nresources:\n  max_runtime: 1.5\n", "resources.max_runtime"},
	}
	for _, tt := range tests {
		s, err := Parse([]byte(tt.src), "job.yaml", "/p")
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		problems := sdk.Problems(s.Validate())
		var e *sdk.Error
		if len(problems) != 1 || !errors.As(problems[0], &e) || e.Field != tt.field {
			t.Errorf("Validate(%q) = %v, want one problem on %s", tt.src, problems, tt.field)
			continue
		}
		if got := s.Describe(e).Error(); !strings.Contains(got, "job.yaml:4") {
			t.Errorf("Describe: %q lacks the line", got)
		}
	}
}

func TestLoadSizeLimit(t *testing.T) {
	head := "kind: command\ncommand: [x]\n# "
	tests := []struct {
		name    string
		size    int
		refused bool
	}{
		{"at the limit", MaxFileSize, false},
		{"one byte over", MaxFileSize + 1, true},
		{"far over", 4 * MaxFileSize, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "big.yaml")
			body := head + strings.Repeat("x", tt.size-len(head)-1) + "\n"
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			parsed := false
			parse = func(b []byte, name, dir string) (*Spec, error) { parsed = true; return Parse(b, name, dir) }
			t.Cleanup(func() { parse = Parse })
			s, err := Load(context.Background(), path)
			if !tt.refused {
				if err != nil || s.Kind != sdk.KindCommand {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			var e *sdk.Error
			if !errors.As(err, &e) || !errors.Is(err, sdk.ErrInvalidArgument) || e.Field != "spec" ||
				!strings.Contains(e.Message, path) || !strings.Contains(e.Message, "1 MiB") || e.Hint == "" {
				t.Fatalf("err = %v, want an invalid-argument error on spec naming %s and the limit", err, path)
			}
			if parsed {
				t.Error("the oversize file was parsed")
			}
		})
	}
}

// TestLoadReturnsWhenCancelled holds a parse open and cancels: Load must
// return the context's error without waiting for the parse.
func TestLoadReturnsWhenCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(path, []byte("kind: command\ncommand: [x]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	parse = func(b []byte, name, dir string) (*Spec, error) {
		close(started)
		<-release
		return Parse(b, name, dir)
	}
	t.Cleanup(func() { close(release); parse = Parse })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Load(ctx, path)
		done <- err
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load did not return after its context was cancelled")
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
		{map[string]any{"kind": "command", "resources": map[string]any{"max_runtime": "nan"}}, "spec"},
		{map[string]any{"kind": "command", "resources": map[string]any{"max_runtime": 1e300}}, "spec"},
		{map[string]any{"kind": "command", "resources": map[string]any{"gpus": 1.5}}, "resources.gpus"},
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

func TestCheckOptions(t *testing.T) {
	meta := sdk.Metadata{JobOptions: []sdk.ConfigField{{Key: "duration"}, {Key: "queue"}}}
	tests := []struct {
		name    string
		options map[string]string
		meta    sdk.Metadata
		fields  []string
		hint    string
	}{
		{"declared", map[string]string{"duration": "1h"}, meta, nil, ""},
		{"unknown, named in order", map[string]string{"zone": "a", "color": "b", "queue": "q"}, meta, []string{"options.color", "options.zone"}, "platform p takes: duration, queue"},
		{"a platform without options", map[string]string{"queue": "q"}, sdk.Metadata{}, []string{"options.queue"}, "platform p takes no options; remove it"},
	}
	for _, tc := range tests {
		s := &Spec{JobSpec: sdk.JobSpec{Options: tc.options}}
		err := s.CheckOptions("p", tc.meta)
		var fields []string
		var problems []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			problems = j.Unwrap()
		}
		for _, p := range problems {
			var se *sdk.Error
			if errors.As(p, &se) {
				fields = append(fields, se.Field)
				if se.Hint != tc.hint {
					t.Errorf("%s: hint %q, want %q", tc.name, se.Hint, tc.hint)
				}
			}
		}
		if strings.Join(fields, ",") != strings.Join(tc.fields, ",") {
			t.Errorf("%s: fields %v, want %v", tc.name, fields, tc.fields)
		}
	}
}
