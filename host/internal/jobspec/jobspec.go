// Package jobspec reads job spec files (neural-job.yaml) into sdk.JobSpec.
// Unknown keys and wrong types are errors that name the key and its line;
// paths in the file are relative to the file. It bounds what it parses: one
// YAML document of at most MaxFileSize bytes whose mappings have at most
// MaxMappingKeys keys; the batch package reads its files through the same
// bounds. Command-line overrides are applied by the caller after Load;
// validation is sdk.JobSpec.Validate.
package jobspec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
	"gopkg.in/yaml.v3"
)

// File is the YAML shape of a job spec.
type File struct {
	Platform     string            `yaml:"platform" json:"platform"`
	Name         string            `yaml:"name" json:"name"`
	Kind         string            `yaml:"kind" json:"kind"`
	WorkDir      string            `yaml:"workdir" json:"workdir"`
	Entrypoint   string            `yaml:"entrypoint" json:"entrypoint"`
	Args         []string          `yaml:"args" json:"args"`
	Command      []string          `yaml:"command" json:"command"`
	DSL          DSL               `yaml:"dsl" json:"dsl"`
	Requirements []string          `yaml:"requirements" json:"requirements"`
	Env          map[string]string `yaml:"env" json:"env"`
	Resources    Resources         `yaml:"resources" json:"resources"`
	Labels       map[string]string `yaml:"labels" json:"labels"`
	Options      map[string]string `yaml:"options" json:"options"`
}

// DSL is the dsl: section.
type DSL struct {
	Backend       string `yaml:"backend" json:"backend"`
	Dataset       string `yaml:"dataset" json:"dataset"`
	NeuralVersion string `yaml:"neural_version" json:"neural_version"`
}

// Resources is the resources: section.
type Resources struct {
	InstanceType string   `yaml:"instance_type" json:"instance_type"`
	GPUType      string   `yaml:"gpu_type" json:"gpu_type"`
	GPUs         int      `yaml:"gpus" json:"gpus"`
	CPUs         float64  `yaml:"cpus" json:"cpus"`
	MemoryGB     float64  `yaml:"memory_gb" json:"memory_gb"`
	DiskGB       int      `yaml:"disk_gb" json:"disk_gb"`
	MaxRuntime   Duration `yaml:"max_runtime" json:"max_runtime"`
	Spot         bool     `yaml:"spot" json:"spot"`
	Nodes        int      `yaml:"nodes" json:"nodes"`
}

// Duration reads "90m", "2h" or a number of seconds.
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalJSON reads the same forms as UnmarshalYAML.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var text string
	switch t := v.(type) {
	case float64:
		text = strconv.FormatFloat(t, 'g', -1, 64)
	case string:
		text = t
	default:
		return fmt.Errorf("%s is not a duration (write 90m, 2h or seconds)", b)
	}
	dur, err := parseDuration(text)
	if err != nil {
		return err
	}
	*d = Duration(dur)
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
// When ctx ends before the file is parsed, Load returns ctx's error.
func Load(ctx context.Context, path string) (*Spec, error) {
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
	b, err := ReadFile(abs)
	if err != nil {
		return nil, FileError("spec", path, err, "give the path of a job spec file such as neural-job.yaml")
	}
	type parsed struct {
		spec *Spec
		err  error
	}
	// A parse cannot be stopped part way. When ctx ends first it is left
	// to finish, bounded by MaxFileSize, while the caller exits.
	done := make(chan parsed, 1)
	go func() {
		s, err := parse(b, path, filepath.Dir(abs))
		done <- parsed{s, err}
	}()
	select {
	case p := <-done:
		return p.spec, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// parse is Parse; a test replaces it to hold a parse open.
var parse = Parse

var lineRE = regexp.MustCompile(`line (\d+): (.*)`)
var fieldRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

// Parse decodes spec bytes; name labels errors and baseDir resolves workdir.
func Parse(b []byte, name, baseDir string) (*Spec, error) {
	doc, err := Document(b, name, "spec")
	if err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, sdk.FieldError("spec", name+" is empty", "write a job spec; 'neural-host job schema' prints its keys")
	}
	if errs := checkScalars(doc.Content[0], name, "", reflect.TypeOf(File{})); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, decodeError(name, err)
	}
	return checkPlatform(fromFile(f, name, baseDir, b))
}

// FromValues builds a spec from values already decoded, as a batch's
// matrix makes them, with Parse's key and type checks but without a YAML
// round trip; name labels errors and baseDir resolves workdir.
func FromValues(vals map[string]any, name, baseDir string) (*Spec, error) {
	b, err := json.Marshal(coerce(vals, reflect.TypeOf(File{})))
	if err != nil {
		return nil, sdk.FieldError("spec", name+": "+err.Error(), "give plain values: strings, numbers, lists and maps")
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, jsonError(name, err)
	}
	return checkPlatform(fromFile(f, name, baseDir, nil))
}

// checkPlatform refuses a platform that is not a platform name as the spec
// is read: the name becomes part of the path of the binary that runs.
func checkPlatform(s *Spec) (*Spec, error) {
	if s.Platform == "" {
		return s, nil
	}
	if err := sdk.CheckPlatformName("platform", s.Platform); err != nil {
		return nil, s.Describe(err)
	}
	return s, nil
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]+)"`)

// coerce turns numbers and booleans bound for string fields into their
// text, as YAML decoding does (env: {LR: 0.01} is the string "0.01").
func coerce(v any, t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch val := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(val))
		for k, e := range val {
			switch t.Kind() {
			case reflect.Map:
				out[k] = coerce(e, t.Elem())
			case reflect.Struct:
				if f, ok := fieldByYAML(t, k); ok {
					out[k] = coerce(e, f.Type)
				} else {
					out[k] = e // an unknown key: the decoder reports it
				}
			default:
				out[k] = e
			}
		}
		return out
	case []any:
		if t.Kind() != reflect.Slice {
			return v
		}
		out := make([]any, len(val))
		for i, e := range val {
			out[i] = coerce(e, t.Elem())
		}
		return out
	case int, int64, uint64, float64, bool:
		if t.Kind() == reflect.String {
			switch n := val.(type) {
			case float64:
				return strconv.FormatFloat(n, 'g', -1, 64)
			default:
				return fmt.Sprint(n)
			}
		}
	}
	return v
}

func fieldByYAML(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		if strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0] == key {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

func jsonError(name string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Type.Kind() == reflect.Int {
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: te.Field, Message: fmt.Sprintf("%s: want an integer, got %s", name, te.Value),
			Hint: "write a whole number, such as 2"}
	}
	if errors.As(err, &te) {
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: te.Field, Message: fmt.Sprintf("%s: %s is not a %s", name, te.Value, te.Type),
			Hint: "fix the value; 'neural-host job schema' gives each key's type"}
	}
	if m := unknownFieldRE.FindStringSubmatch(err.Error()); m != nil {
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: m[1], Message: fmt.Sprintf("%s: unknown key %q", name, m[1]),
			Hint: "remove it or correct its spelling; 'neural-host job schema' lists the keys"}
	}
	return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "spec", Message: name + ": " + strings.TrimPrefix(err.Error(), "json: "),
		Hint: "fix the spec; 'neural-host job schema' prints its keys"}
}

// fromFile turns a decoded file into a Spec; source, when not nil, is the
// text line numbers are looked up in.
func fromFile(f File, name, baseDir string, source []byte) *Spec {
	s := &Spec{Platform: f.Platform, Path: name, source: source}
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
	return s
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

// CheckOptions refuses options the platform's metadata does not declare,
// naming the ones it does.
func (s *Spec) CheckOptions(platform string, meta sdk.Metadata) error {
	keys := make([]string, 0, len(meta.JobOptions))
	for _, f := range meta.JobOptions {
		keys = append(keys, f.Key)
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(s.Options)) {
		if slices.Contains(keys, k) {
			continue
		}
		hint := "platform " + platform + " takes no options; remove it"
		if len(keys) > 0 {
			hint = "platform " + platform + " takes: " + strings.Join(keys, ", ")
		}
		errs = append(errs, s.Describe(sdk.FieldError("options."+k, "is not an option of platform "+platform, hint)))
	}
	return errors.Join(errs...)
}
