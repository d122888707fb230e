// Package batch reads batch files and submits them: a list of job specs, or
// a base spec and a parameter matrix whose every combination is a job
// (learning rates × backends × platforms). It expands a file into validated
// specs, gives each the idempotency key derived from the batch id and the
// spec, so that running the same batch again names the same jobs, resumes a
// batch by leaving out what an earlier run submitted, and sends the rest
// through package submission with bounded concurrency.
//
// It does not start plugins or draw progress: its caller passes the
// connected platforms and a callback for each finished job.
package batch

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/neural-dsl/neural-host/host/internal/jobspec"
	"github.com/neural-dsl/neural-host/host/internal/submission"
	"github.com/neural-dsl/neural-host/sdk"
	"gopkg.in/yaml.v3"
)

// MaxJobs bounds how many jobs one file may expand to.
const MaxJobs = 10000

// File is a batch file's YAML shape.
type File struct {
	// ID names the batch; empty derives one from the file's name and path.
	ID string `yaml:"id"`
	// Platform is the platform of jobs that name none; empty leaves it to
	// the caller's default.
	Platform string `yaml:"platform"`
	// Base is a job spec file's path or an inline spec, under every job.
	Base yaml.Node `yaml:"base"`
	// Matrix maps spec keys (dotted: env.LR, dsl.backend) to lists of
	// values; every combination makes a job.
	Matrix yaml.Node `yaml:"matrix"`
	// Jobs are spec file paths or inline specs, each laid over Base (an
	// inline one may name its own file with spec: PATH).
	Jobs []yaml.Node `yaml:"jobs"`
}

// Item is one job of a batch.
type Item struct {
	// Index is the job's 1-based position in the expansion.
	Index    int
	Platform string
	// Spec is validated, with its idempotency key and batch label set.
	Spec *jobspec.Spec
	// Matrix holds the matrix values that made this job, by key; empty
	// when the file has no matrix.
	Matrix map[string]string
	// MatrixKeys are Matrix's keys in the file's order.
	MatrixKeys []string
}

// Key is the item's idempotency key.
func (it *Item) Key() string { return it.Spec.IdempotencyKey }

// Describe names the item for messages: its index and matrix values.
func (it *Item) Describe() string {
	var parts []string
	for _, k := range it.MatrixKeys {
		parts = append(parts, k+"="+it.Matrix[k])
	}
	if len(parts) == 0 && it.Spec != nil {
		return fmt.Sprintf("job %d (%s)", it.Index, it.Spec.Name)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("job %d", it.Index)
	}
	return fmt.Sprintf("job %d (%s)", it.Index, strings.Join(parts, ", "))
}

// Batch is an expanded batch file.
type Batch struct {
	ID   string
	Path string
	// Items are in the file's order: jobs, then matrix combinations with
	// the first key varying slowest.
	Items []*Item
}

// Platforms lists the platforms the batch uses, sorted.
func (b *Batch) Platforms() []string {
	seen := map[string]bool{}
	var out []string
	for _, it := range b.Items {
		if !seen[it.Platform] {
			seen[it.Platform] = true
			out = append(out, it.Platform)
		}
	}
	sort.Strings(out)
	return out
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidID reports whether id can name a batch: lowercase letters, digits,
// '-' and '_', at most 63, as platforms accept in labels.
func ValidID(id string) bool { return idRE.MatchString(id) }

// DefaultID is the id of the batch file at path when it names none: its
// name and a short hash of its absolute path, so the same file keeps its id.
func DefaultID(path string) string {
	abs, _ := filepath.Abs(path)
	sum := sha256.Sum256([]byte(abs))
	stem := strings.ToLower(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
	stem = strings.Trim(regexp.MustCompile(`[^a-z0-9_-]+`).ReplaceAllString(stem, "-"), "-_")
	if len(stem) > 40 {
		stem = stem[:40]
	}
	if stem == "" {
		stem = "batch"
	}
	return stem + "-" + hex.EncodeToString(sum[:4])
}

// KeyFor derives a job's idempotency key from the batch id, its platform
// and its spec (without a key): the same job of the same batch always gets
// the same key, and any change to the job gives a new one.
func KeyFor(batchID, platform string, spec sdk.JobSpec) string {
	spec.IdempotencyKey = ""
	b, _ := json.Marshal(spec) // maps marshal in key order: stable
	h := sha256.New()
	fmt.Fprintf(h, "neural-batch\x00%s\x00%s\x00", batchID, platform)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Load reads and expands the batch file at path. id, when not empty,
// overrides the file's id; defaultPlatform is the platform of jobs for
// which neither they nor the file name one. Every problem found is
// reported, each as an *sdk.Error naming its field. When ctx ends first,
// Load returns ctx's error and the expansion stops.
func Load(ctx context.Context, path, id, defaultPlatform string) (*Batch, error) {
	type loaded struct {
		b   *Batch
		err error
	}
	// Parsing cannot be stopped part way; it is left to finish, bounded by
	// the file size limit, while the caller exits.
	done := make(chan loaded, 1)
	go func() {
		b, err := load(ctx, path, id, defaultPlatform)
		done <- loaded{b, err}
	}()
	select {
	case l := <-done:
		return l.b, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// load is Load's work; a test replaces it to hold a load open.
var load = loadFile

func loadFile(ctx context.Context, path, id, defaultPlatform string) (*Batch, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	raw, err := jobspec.ReadFile(abs)
	if err != nil {
		return nil, jobspec.FileError("batch", path, err, "give the path of a batch file; see docs/batch.md")
	}
	root, err := jobspec.Document(raw, path, "batch")
	if err != nil {
		return nil, err
	}
	if len(root.Content) == 0 {
		return nil, sdk.FieldError("batch", path+" is empty", "list jobs: or give base: and matrix:; see docs/batch.md")
	}
	if errs := checkKeys(root.Content[0], path, "", reflect.TypeOf(File{}), nil); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var f File
	if err := root.Content[0].Decode(&f); err != nil {
		return nil, yamlError(path, err)
	}
	l := &loader{path: path, dir: filepath.Dir(abs)}
	return l.expand(ctx, f, id, defaultPlatform)
}

type loader struct {
	path string
	dir  string
	errs []error
}

func (l *loader) fail(field, line, msg, hint string) {
	where := l.path
	if line != "" {
		where += ":" + line
	}
	l.errs = append(l.errs, &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: field, Message: where + ": " + msg, Hint: hint})
}

// source is a spec before the matrix: its values, the directory its
// relative paths are against, and the file it came from.
type source struct {
	vals map[string]any
	dir  string
	file string
}

func (l *loader) expand(ctx context.Context, f File, id, defaultPlatform string) (*Batch, error) {
	if id == "" {
		id = f.ID
	}
	if id == "" {
		id = DefaultID(l.path)
	}
	if !ValidID(id) {
		l.fail("id", "", fmt.Sprintf("%q cannot name a batch", id), "use lowercase letters, digits, '-' and '_', at most 63, starting with a letter or digit")
	}
	// A platform name becomes part of a binary's path; jobspec checks the
	// ones specs and the matrix give.
	for _, p := range []struct{ field, name string }{{"platform", f.Platform}, {"--platform", defaultPlatform}} {
		if p.name != "" && !sdk.ValidPlatformName(p.name) {
			l.fail(p.field, "", fmt.Sprintf("%q is not a platform name", p.name), "a platform name is "+sdk.PlatformNameRule)
		}
	}
	base := source{vals: map[string]any{}, dir: l.dir, file: l.path}
	if f.Base.Kind != 0 {
		if b, ok := l.spec(&f.Base, "base"); ok {
			base = b
		}
	}
	var sources []source
	var fields []string
	for i := range f.Jobs {
		field := fmt.Sprintf("jobs[%d]", i)
		if s, ok := l.spec(&f.Jobs[i], field); ok {
			// Relative paths are against the file the job's workdir
			// comes from: its own spec file, the batch file when it sets
			// workdir inline, else the base's.
			dir, file := base.dir, base.file
			if _, inlineWorkdir := s.vals["workdir"]; s.file != l.path || inlineWorkdir {
				dir, file = s.dir, s.file
			}
			sources = append(sources, source{vals: merge(base.vals, s.vals), dir: dir, file: file})
			fields = append(fields, field)
		}
	}
	if len(f.Jobs) == 0 {
		sources, fields = []source{base}, []string{"base"}
	}
	keys, values := l.matrix(&f.Matrix)
	if f.Base.Kind == 0 && len(f.Jobs) == 0 {
		l.fail("jobs", "", "the batch has no jobs", "list jobs: (spec files or inline specs), or give base: and matrix:")
	}
	if !withinMaxJobs(len(sources), values) {
		l.fail("matrix", strconv.Itoa(f.Matrix.Line), fmt.Sprintf("expands to more than %d jobs", MaxJobs), "split the batch into several files")
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	b := &Batch{ID: id, Path: l.path}
	type task struct {
		src   source
		field string
		combo []any
	}
	var tasks []task
	for si, src := range sources {
		for _, combo := range product(values) {
			tasks = append(tasks, task{src, fields[si], combo})
		}
	}
	// Jobs are built on every core: each is a YAML round trip and a hash.
	items := make([]*Item, len(tasks))
	errs := make([][]error, len(tasks))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := tasks[i]
				vals := deepCopy(t.src.vals).(map[string]any)
				it := &Item{Index: i + 1, Matrix: map[string]string{}, MatrixKeys: keys}
				var suffix []string
				for ki, k := range keys {
					setPath(vals, strings.Split(k, "."), t.combo[ki])
					it.Matrix[k] = scalarText(t.combo[ki])
					if k != "name" {
						suffix = append(suffix, it.Matrix[k])
					}
				}
				sub := &loader{path: l.path, dir: l.dir}
				if sub.item(b.ID, it, vals, t.src, t.field, suffix, f.Platform, defaultPlatform) {
					items[i] = it
				}
				errs[i] = sub.errs
			}
		}()
	}
	for i := range tasks {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	seen := map[string]*Item{}
	for i, it := range items {
		l.errs = append(l.errs, errs[i]...)
		if it == nil {
			continue
		}
		if first, dup := seen[it.Key()]; dup {
			l.errs = append(l.errs, &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: tasks[i].field,
				Message: fmt.Sprintf("%s: %s is the same job as %s", l.path, it.Describe(), first.Describe()),
				Hint:    "give the two jobs different names or settings, or remove one"})
			continue
		}
		seen[it.Key()] = it
		b.Items = append(b.Items, it)
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return b, nil
}

// item builds and validates one job, with its key, and reports whether it
// is valid; its problems are in l.errs.
func (l *loader) item(batchID string, it *Item, vals map[string]any, src source, field string, suffix []string, filePlatform, defaultPlatform string) bool {
	spec, err := jobspec.FromValues(vals, src.file, src.dir)
	if err != nil {
		for _, p := range sdk.Problems(err) {
			l.problem(field, it, p)
		}
		return false
	}
	// Matrix jobs share the base's name; their values tell them apart,
	// unless the matrix sets the name itself.
	if _, matrixName := it.Matrix["name"]; !matrixName && len(sanitize(suffix)) > 0 {
		spec.Name += "-" + strings.Join(sanitize(suffix), "-")
	}
	it.Spec = spec
	it.Platform = cmp.Or(spec.Platform, filePlatform, defaultPlatform)
	if it.Platform == "" {
		l.errs = append(l.errs, &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: field + ".platform",
			Message: l.path + ": " + it.Describe() + " names no platform",
			Hint:    "set platform: in the batch file or the spec, put platform in the matrix, or pass --platform"})
		return false
	}
	if err := spec.Validate(); err != nil {
		for _, p := range sdk.Problems(err) {
			l.problem(field, it, p)
		}
		return false
	}
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels[submission.LabelBatch] = batchID
	spec.IdempotencyKey = KeyFor(batchID, it.Platform, spec.JobSpec)
	return true
}

func (l *loader) problem(field string, it *Item, p error) {
	var se *sdk.Error
	if !errors.As(p, &se) {
		l.errs = append(l.errs, fmt.Errorf("%s: %s: %w", l.path, it.Describe(), p))
		return
	}
	c := *se
	if c.Field != "" {
		c.Field = field + "." + c.Field
		if _, fromMatrix := it.Matrix[se.Field]; fromMatrix {
			c.Field = "matrix." + se.Field
		}
	} else {
		c.Field = field
	}
	c.Message = it.Describe() + ": " + c.Message
	l.errs = append(l.errs, &c)
}

// spec reads a base or job entry: a path to a spec file, or a mapping that
// may name a file with spec: and override its keys.
func (l *loader) spec(n *yaml.Node, field string) (source, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		return l.specFile(n.Value, field, n.Line)
	case yaml.MappingNode:
		src := source{vals: map[string]any{}, dir: l.dir, file: l.path}
		rest := &yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "spec" {
				f, ok := l.specFile(n.Content[i+1].Value, field+".spec", n.Content[i+1].Line)
				if !ok {
					return src, false
				}
				src = f
				continue
			}
			rest.Content = append(rest.Content, n.Content[i], n.Content[i+1])
		}
		if errs := checkKeys(rest, l.path, field, reflect.TypeOf(jobspec.File{}), nil); len(errs) > 0 {
			l.errs = append(l.errs, errs...)
			return src, false
		}
		var inline map[string]any
		if err := rest.Decode(&inline); err != nil {
			l.fail(field, strconv.Itoa(n.Line), err.Error(), "fix the spec's values; see docs/job-spec.md")
			return src, false
		}
		src.vals = merge(src.vals, inline)
		return src, true
	}
	l.fail(field, strconv.Itoa(n.Line), "is neither a spec file path nor a spec", "write a path such as train.yaml, or a mapping of spec keys")
	return source{}, false
}

func (l *loader) specFile(p, field string, line int) (source, bool) {
	if p == "" {
		l.fail(field, strconv.Itoa(line), "names no file", "write the path of a job spec file, relative to the batch file")
		return source{}, false
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.dir, p)
	}
	raw, err := jobspec.ReadFile(p)
	if err != nil {
		e := jobspec.FileError(field, p, err, "write the path of a job spec file, relative to the batch file")
		l.fail(field, strconv.Itoa(line), e.Message, e.Hint)
		return source{}, false
	}
	// Parse reports unknown keys and wrong types with the spec file's own
	// line numbers.
	if _, err := jobspec.Parse(raw, p, filepath.Dir(p)); err != nil {
		l.errs = append(l.errs, sdk.Problems(err)...)
		return source{}, false
	}
	vals := map[string]any{}
	if err := yaml.Unmarshal(raw, &vals); err != nil {
		l.errs = append(l.errs, yamlError(p, err))
		return source{}, false
	}
	if _, named := vals["name"]; !named {
		// The file's name is the job's default name, as for job submit.
		vals["name"] = strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
	}
	return source{vals: vals, dir: filepath.Dir(p), file: p}, true
}

// matrix reads the matrix: its keys in order and each key's values.
func (l *loader) matrix(n *yaml.Node) ([]string, [][]any) {
	if n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		l.fail("matrix", strconv.Itoa(n.Line), "is not a mapping", "map spec keys to lists of values, such as env.LR: [\"0.1\", \"0.01\"]")
		return nil, nil
	}
	var keys []string
	var values [][]any
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := "matrix." + k.Value
		if msg := checkPath(k.Value); msg != "" {
			l.fail(field, strconv.Itoa(k.Line), msg, "use a spec key such as platform, env.LR, dsl.backend or resources.gpus; see docs/batch.md")
			continue
		}
		if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
			l.fail(field, strconv.Itoa(v.Line), "is not a list of values", "give a list with at least one value, such as [0.1, 0.01]")
			continue
		}
		var vals []any
		for _, c := range v.Content {
			var x any
			if err := c.Decode(&x); err != nil {
				l.fail(field, strconv.Itoa(c.Line), err.Error(), "")
				continue
			}
			vals = append(vals, x)
		}
		keys, values = append(keys, k.Value), append(values, vals)
	}
	return keys, values
}

// checkPath says what is wrong with a dotted matrix key, or "".
func checkPath(path string) string {
	parts := strings.Split(path, ".")
	t := reflect.TypeOf(jobspec.File{})
	for i, p := range parts {
		if t.Kind() == reflect.Map {
			if i != len(parts)-1 || p == "" {
				return fmt.Sprintf("%q: %s takes one key after the dot", path, strings.Join(parts[:i], "."))
			}
			return ""
		}
		if t.Kind() != reflect.Struct {
			return fmt.Sprintf("%q: %s has no sub-keys", path, strings.Join(parts[:i], "."))
		}
		f, ok := fieldByTag(t, p)
		if !ok {
			return fmt.Sprintf("%q is not a job spec key", path)
		}
		t = f.Type
	}
	if t.Kind() == reflect.Map || t.Kind() == reflect.Struct {
		return fmt.Sprintf("%q is a section; name one key in it, such as %s.KEY", path, path)
	}
	return ""
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if strings.Split(f.Tag.Get("yaml"), ",")[0] == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// checkKeys reports keys of the mapping n that t (a struct with yaml tags)
// does not have, recursing into sections, with the lines they are on.
// allow lists extra keys that are accepted at the top.
func checkKeys(n *yaml.Node, file, prefix string, t reflect.Type, allow []string) []error {
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		field := strings.TrimSuffix(prefix, ".")
		if field == "" {
			field = "batch"
		}
		return []error{&sdk.Error{Kind: sdk.ErrInvalidArgument, Field: field, Message: fmt.Sprintf("%s:%d: is not a mapping", file, n.Line), Hint: "see docs/batch.md for the file's shape"}}
	}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := fieldByTag(t, k.Value)
		if !ok {
			errs = append(errs, &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: join(prefix, k.Value),
				Message: fmt.Sprintf("%s:%d: unknown key %q", file, k.Line, k.Value), Hint: "remove it or correct its spelling; see docs/batch.md and docs/job-spec.md"})
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(yaml.Node{}) {
			errs = append(errs, checkKeys(v, file, join(prefix, k.Value)+".", f.Type, nil)...)
		}
	}
	return errs
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	if strings.HasSuffix(prefix, ".") {
		return prefix + key
	}
	return prefix + "." + key
}

func yamlError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "batch", Message: path + ": " + msg, Hint: "fix the YAML; see docs/batch.md"}
}

// merge returns base with over laid on it: mappings merge key by key,
// anything else in over replaces what base has.
func merge(base, over map[string]any) map[string]any {
	out := deepCopy(base).(map[string]any)
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = merge(bm, om)
				continue
			}
		}
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

func setPath(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = deepCopy(v)
}

// withinMaxJobs reports whether sources × the lengths of values is at most
// MaxJobs. It stops before a multiplication would pass the limit, so the
// product never overflows: 64 keys of two values each would otherwise
// come to 2^64, which wraps to 0 and passes.
func withinMaxJobs(sources int, values [][]any) bool {
	if sources > MaxJobs {
		return false
	}
	total := sources
	for _, v := range values {
		if len(v) > 0 && total > MaxJobs/len(v) {
			return false
		}
		total *= len(v)
	}
	return true
}

// product lists every combination of values, the first list varying
// slowest; with no lists it is one empty combination.
func product(values [][]any) [][]any {
	out := [][]any{nil}
	for _, vs := range values {
		var next [][]any
		for _, prefix := range out {
			for _, v := range vs {
				next = append(next, append(append([]any(nil), prefix...), v))
			}
		}
		out = next
	}
	return out
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// sanitize makes matrix values fit in a job name, dropping empty ones.
func sanitize(parts []string) []string {
	var out []string
	for _, p := range parts {
		if v := strings.Trim(unsafeName.ReplaceAllString(p, "_"), "_"); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// NamedPlatforms reads, without expanding anything, the platforms a batch
// file names outright: its platform and a matrix over platform, plus
// defaultPlatform. Callers start those plugins while Load expands the jobs;
// Load remains the authority on which platforms the jobs use. A name that
// is not a platform name is left out: it is never started, and Load
// reports it.
func NamedPlatforms(path, defaultPlatform string) []string {
	var f struct {
		Platform string              `yaml:"platform"`
		Matrix   map[string][]string `yaml:"matrix"`
	}
	names := map[string]bool{}
	if b, err := jobspec.ReadFile(path); err == nil {
		if doc, err := jobspec.Document(b, path, "batch"); err == nil && len(doc.Content) > 0 && doc.Content[0].Decode(&f) == nil {
			names[f.Platform] = true
			for _, p := range f.Matrix["platform"] {
				names[p] = true
			}
		}
	}
	names[defaultPlatform] = true
	out := make([]string, 0, len(names))
	for n := range names {
		if sdk.ValidPlatformName(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
