package jobspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strconv"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest spec or batch file read, 1 MiB. yaml.v3 is
// slow on big inputs (a 10 MB spec took minutes), and no spec needs more:
// data belongs in workdir.
const MaxFileSize = 1 << 20

// MaxMappingKeys bounds the keys of any one mapping in a spec or batch
// file. yaml.v3 checks a mapping for duplicate keys by comparing every
// pair, so a mapping of n keys costs n² comparisons: 60,000 env entries,
// well inside MaxFileSize, took 90 seconds to decode. No platform takes
// more than a few hundred environment variables, labels or options.
const MaxMappingKeys = 1000

// TooLargeError is a spec or batch file over MaxFileSize, refused unread.
type TooLargeError struct{ Path string }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("jobspec: %s is larger than %d bytes (1 MiB), the limit for a spec or batch file", e.Path, MaxFileSize)
}

// ReadFile reads a spec or batch file, refusing one over MaxFileSize with
// a *TooLargeError after reading at most one byte past the limit.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, &TooLargeError{Path: path}
	}
	return b, nil
}

// FileError turns a ReadFile failure on the file at path into an
// invalid-argument error on field; hint is for a file that cannot be read.
func FileError(field, path string, err error, hint string) *sdk.Error {
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return sdk.FieldError(field, fmt.Sprintf("%s is larger than 1 MiB (%d bytes), the limit for a spec or batch file", path, MaxFileSize),
			"keep data out of the file (put it in workdir), or split a batch into several files")
	}
	return sdk.FieldError(field, err.Error(), hint)
}

// Document parses b as YAML into its document node, which has no content
// when b holds none; name labels errors and field is the one they are on.
// A second document, and a mapping of more than MaxMappingKeys keys, are
// errors: a spec or batch file holds one document, and big mappings make
// decoding slow.
func Document(b []byte, name, field string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, onField(lineError(name, err.Error()), field)
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case err == nil:
		return nil, sdk.FieldError(field, fmt.Sprintf("%s:%d: a second YAML document starts here; the file must hold one", name, second.Line),
			"remove the '---' line and what follows it; to submit several jobs, write a batch file (docs/batch.md)")
	case !errors.Is(err, io.EOF):
		return nil, onField(lineError(name, err.Error()), field)
	}
	var errs []error
	checkMappings(&doc, "", func(path string, n *yaml.Node) {
		if path == "" {
			path = field
		}
		errs = append(errs, sdk.FieldError(path, fmt.Sprintf("%s:%d: has %d keys, more than %d", name, n.Line, len(n.Content)/2, MaxMappingKeys),
			fmt.Sprintf("keep each mapping to at most %d keys; put bulk data in a file in workdir", MaxMappingKeys)))
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &doc, nil
}

// onField moves an *sdk.Error made by lineError from "spec" to field.
func onField(err error, field string) error {
	var e *sdk.Error
	if errors.As(err, &e) && e.Field == "spec" {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// checkMappings calls tooBig for each mapping under n with more than
// MaxMappingKeys keys, with its dotted path. Aliases are not followed:
// what they point at is checked where it stands.
func checkMappings(n *yaml.Node, path string, tooBig func(string, *yaml.Node)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			checkMappings(c, path, tooBig)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			checkMappings(c, fmt.Sprintf("%s[%d]", path, i), tooBig)
		}
	case yaml.MappingNode:
		if len(n.Content)/2 > MaxMappingKeys {
			tooBig(path, n)
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if path != "" {
				key = path + "." + key
			}
			checkMappings(n.Content[i+1], key, tooBig)
		}
	}
}

// checkScalars checks the values of n, a mapping to be decoded into t,
// that the decoder would take silently or report without their key:
// yaml.v3 stores 1.5 into an int as 1. It reports integers that are not
// whole and durations it cannot read, each on its dotted key; unknown keys
// and other type errors are left to the decoder.
func checkScalars(n *yaml.Node, name, prefix string, t reflect.Type) []error {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		if k.ShortTag() == "!!merge" {
			// << lays one mapping, or a list of them, into this one.
			merged := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				merged = v.Content
			}
			for _, m := range merged {
				errs = append(errs, checkScalars(m, name, prefix, t)...)
			}
			continue
		}
		f, ok := fieldByYAML(t, k.Value)
		if !ok {
			continue
		}
		key := k.Value
		if prefix != "" {
			key = prefix + "." + key
		}
		where := fmt.Sprintf("%s:%d", name, v.Line)
		switch {
		case f.Type.Kind() == reflect.Struct:
			errs = append(errs, checkScalars(v, name, key, f.Type)...)
		case v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null":
		case f.Type == durationType:
			if _, err := parseDuration(v.Value); err != nil {
				errs = append(errs, sdk.FieldError(key, where+": "+err.Error(), "write a duration such as 90m or 2h, or a number of seconds"))
			}
		case f.Type.Kind() == reflect.Int && v.ShortTag() != "!!int":
			errs = append(errs, sdk.FieldError(key, fmt.Sprintf("%s: want an integer, got %s", where, v.Value), "write a whole number, such as 2"))
		}
	}
	return errs
}

// resolveAlias returns the node an alias stands for. yaml.v3 bounds alias
// chains when it parses, so following one ends.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

var durationType = reflect.TypeOf(Duration(0))

// maxSeconds is where a number of seconds stops fitting a time.Duration.
var maxSeconds = math.Exp2(63) / float64(time.Second)

// parseDuration reads "90m", "2h" or a number of seconds. NaN, infinities
// and spans beyond a time.Duration are refused: converting them gives an
// arbitrary value, on some machines 0, which means no bound at all.
func parseDuration(text string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration (write 90m, 2h or seconds, at most %.0fh)", text, math.Floor(maxSeconds/3600))
	if secs, err := strconv.ParseFloat(text, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if !(math.Abs(secs) < maxSeconds) {
			return 0, bad
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	v, err := time.ParseDuration(text)
	if err != nil {
		return 0, bad
	}
	return v, nil
}
