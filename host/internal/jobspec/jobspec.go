// Package jobspec reads job spec files (neural-job.yaml) into sdk.JobSpec.
// Unknown keys and wrong types are errors that name the key and its line;
// paths in the file are relative to the file. Command-line overrides are
// applied by the caller after Load; validation is sdk.JobSpec.Validate.
package jobspec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
	"gopkg.in/yaml.v3"
)

// File is the YAML shape of a job spec.
type File struct {
	Platform     string            `yaml:"platform"`
	Name         string            `yaml:"name"`
	Kind         string            `yaml:"kind"`
	WorkDir      string            `yaml:"workdir"`
	Entrypoint   string            `yaml:"entrypoint"`
	Args         []string          `yaml:"args"`
	Command      []string          `yaml:"command"`
	DSL          DSL               `yaml:"dsl"`
	Requirements []string          `yaml:"requirements"`
	Env          map[string]string `yaml:"env"`
	Resources    Resources         `yaml:"resources"`
	Labels       map[string]string `yaml:"labels"`
	Options      map[string]string `yaml:"options"`
}

// DSL is the dsl: section.
type DSL struct {
	Backend       string `yaml:"backend"`
	Dataset       string `yaml:"dataset"`
	NeuralVersion string `yaml:"neural_version"`
}

// Resources is the resources: section.
type Resources struct {
	InstanceType string   `yaml:"instance_type"`
	GPUType      string   `yaml:"gpu_type"`
	GPUs         int      `yaml:"gpus"`
	CPUs         float64  `yaml:"cpus"`
	MemoryGB     float64  `yaml:"memory_gb"`
	DiskGB       int      `yaml:"disk_gb"`
	MaxRuntime   Duration `yaml:"max_runtime"`
	Spot         bool     `yaml:"spot"`
	Nodes        int      `yaml:"nodes"`
}

// Duration reads "90m", "2h" or a number of seconds.
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if secs, err := strconv.ParseFloat(n.Value, 64); err == nil {
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (write 90m, 2h or seconds)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Spec is a loaded job spec.
type Spec struct {
	sdk.JobSpec
	// Platform is the file's default platform; empty when it names none.
	Platform string
	// Path is the file the spec came from; empty for a spec built from a
	// script path.
	Path string
	// source is the file's text; lines maps its key paths to their lines,
	// worked out only when an error needs them.
	source []byte
	lines  map[string]int
}

// Line returns the line of field (as named by sdk errors) in the file, or 0.
func (s *Spec) Line(field string) int {
	if s.lines == nil && s.source != nil {
		var root yaml.Node
		_ = yaml.Unmarshal(s.source, &root)
		s.lines = map[string]int{}
		collectLines(&root, "", s.lines)
	}
	for f := field; f != ""; f = f[:max(strings.LastIndex(f, "."), 0)] {
		if l, ok := s.lines[f]; ok {
			return l
		}
		if !strings.Contains(f, ".") {
			break
		}
	}
	return 0
}

// Load reads a job spec. A path ending in .py or .neural is taken as the
// entrypoint of a python or dsl job whose workdir is the file's directory.
func Load(path string) (*Spec, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	switch filepath.Ext(path) {
	case ".py", ".neural":
		if _, err := os.Stat(abs); err != nil {
			return nil, sdk.FieldError("spec", err.Error(), "give a job spec file, a .py script or a .neural model")
		}
		kind := sdk.KindPython
		if filepath.Ext(path) == ".neural" {
			kind = sdk.KindDSL
		}
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		return &Spec{JobSpec: sdk.JobSpec{Name: name, Kind: kind, WorkDir: filepath.Dir(abs), Entrypoint: filepath.Base(abs)}}, nil
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, sdk.FieldError("spec", err.Error(), "give the path of a job spec file such as neural-job.yaml")
	}
	return Parse(b, path, filepath.Dir(abs))
}

var lineRE = regexp.MustCompile(`line (\d+): (.*)`)
var fieldRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

// Parse decodes spec bytes; name labels errors and baseDir resolves workdir.
func Parse(b []byte, name, baseDir string) (*Spec, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, decodeError(name, err)
	}
	s := &Spec{Platform: f.Platform, Path: name, source: b}

	s.JobSpec = sdk.JobSpec{
		Name: f.Name, Kind: sdk.Kind(f.Kind), Entrypoint: f.Entrypoint, Args: f.Args, Command: f.Command,
		DSL:          sdk.DSLOptions{Backend: sdk.Backend(f.DSL.Backend), Dataset: f.DSL.Dataset, NeuralVersion: f.DSL.NeuralVersion},
		Requirements: f.Requirements, Env: f.Env, Labels: f.Labels, Options: f.Options,
		Resources: sdk.Resources{
			InstanceType: f.Resources.InstanceType, GPUType: f.Resources.GPUType, GPUs: f.Resources.GPUs,
			CPUs: f.Resources.CPUs, MemoryGB: f.Resources.MemoryGB, DiskGB: f.Resources.DiskGB,
			MaxRuntime: time.Duration(f.Resources.MaxRuntime), Spot: f.Resources.Spot, Nodes: f.Resources.Nodes,
		},
	}
	if f.WorkDir != "" || f.Kind != string(sdk.KindCommand) {
		wd := f.WorkDir
		if wd == "" {
			wd = "."
		}
		if !filepath.IsAbs(wd) {
			wd = filepath.Join(baseDir, wd)
		}
		s.WorkDir = filepath.Clean(wd)
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	}
	return s, nil
}

func decodeError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var errs []error
		for _, msg := range te.Errors {
			errs = append(errs, lineError(name, msg))
		}
		return errors.Join(errs...)
	}
	return lineError(name, err.Error())
}

func lineError(name, msg string) error {
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := ""
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, msg = m[1], m[2]
	}
	field := "spec"
	hint := "fix the spec file; 'neural-host job schema' prints its keys"
	if m := fieldRE.FindStringSubmatch(msg); m != nil {
		field, msg = m[1], fmt.Sprintf("unknown key %q", m[1])
		hint = "remove it or correct its spelling; 'neural-host job schema' lists the keys"
	}
	where := name
	if line != "" {
		where += ":" + line
	}
	return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: field, Message: where + ": " + msg, Hint: hint}
}

// collectLines maps dotted key paths to the line of their value.
func collectLines(n *yaml.Node, prefix string, out map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			collectLines(c, prefix, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix != "" {
				key = prefix + "." + key
			}
			out[key] = n.Content[i].Line
			collectLines(n.Content[i+1], key, out)
		}
	}
}

// Describe adds the spec file and line to a validation problem.
func (s *Spec) Describe(err error) error {
	var e *sdk.Error
	if s.Path == "" || !errors.As(err, &e) || e.Field == "" {
		return err
	}
	if l := s.Line(e.Field); l > 0 {
		c := *e
		c.Message = fmt.Sprintf("%s (%s:%d)", e.Message, s.Path, l)
		return &c
	}
	return err
}
