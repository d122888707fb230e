package fakeaws

import (
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

//go:embed testdata/*.json
var models embed.FS

// model is an excerpt of a botocore service model: enough to check a
// request's input the way the service's front end does.
type model struct {
	Metadata struct {
		TargetPrefix string `json:"targetPrefix"`
	} `json:"metadata"`
	Operations map[string]struct {
		Input *ref `json:"input"`
	} `json:"operations"`
	Shapes map[string]*shape `json:"shapes"`
}

type ref struct {
	Shape string `json:"shape"`
}

type shape struct {
	Type     string         `json:"type"`
	Required []string       `json:"required"`
	Members  map[string]ref `json:"members"`
	Member   *ref           `json:"member"`
	Key      *ref           `json:"key"`
	Value    *ref           `json:"value"`
	Min      *float64       `json:"min"`
	Max      *float64       `json:"max"`
	Pattern  string         `json:"pattern"`
	Enum     []string       `json:"enum"`

	re *regexp.Regexp
}

// lookaround removes the look-ahead and look-behind groups that Go's
// regexp lacks; the checks become slightly more lenient, never stricter.
var lookaround = regexp.MustCompile(`\(\?<?[!=][^()]*(\([^()]*\))?[^()]*\)`)

func loadModel(file string) *model {
	b, err := models.ReadFile("testdata/" + file)
	if err != nil {
		panic(err)
	}
	var m model
	if err := json.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("fakeaws: %s: %v", file, err))
	}
	for _, s := range m.Shapes {
		if s.Pattern == "" {
			continue
		}
		p := lookaround.ReplaceAllString(s.Pattern, "")
		p = strings.ReplaceAll(p, `\p{Alnum}`, `[:alnum:]`)
		if re, err := regexp.Compile(`^(?:` + p + `)$`); err == nil {
			s.re = re
		}
	}
	return &m
}

// serializationError is a request whose JSON does not fit the shapes'
// types, which services reject before validating values.
type serializationError struct{ msg string }

func (e *serializationError) Error() string { return e.msg }

// validate checks body against the operation's input shape. It returns a
// SerializationException for type errors and a ValidationException message
// listing every constraint violated, in the services' own words.
func (m *model) validate(op string, body map[string]any) (problems []string, err error) {
	o, ok := m.Operations[op]
	if !ok || o.Input == nil {
		return nil, nil
	}
	v := &validator{m: m}
	v.check(o.Input.Shape, body, "")
	if v.serial != "" {
		return nil, &serializationError{v.serial}
	}
	return v.problems, nil
}

type validator struct {
	m        *model
	problems []string
	serial   string
}

func (v *validator) fail(value any, path, constraint string) {
	shown := "null"
	if value != nil {
		shown = fmt.Sprintf("'%v'", value)
		if _, ok := value.(map[string]any); ok {
			shown = "map"
		}
	}
	v.problems = append(v.problems, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member must %s", shown, path, constraint))
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func join(path, member string) string {
	if path == "" {
		return lowerFirst(member)
	}
	return path + "." + lowerFirst(member)
}

func (v *validator) check(name string, value any, path string) {
	s := v.m.Shapes[name]
	if s == nil || value == nil {
		return
	}
	typeErr := func(want string) {
		if v.serial == "" {
			v.serial = fmt.Sprintf("Expected %s at '%s' but found %T", want, path, value)
		}
	}
	switch s.Type {
	case "structure":
		obj, ok := value.(map[string]any)
		if !ok {
			typeErr("an object")
			return
		}
		for _, r := range s.Required {
			if obj[r] == nil {
				v.fail(nil, join(path, r), "not be null")
			}
		}
		for _, k := range sortedKeys(obj) {
			if mem, ok := s.Members[k]; ok {
				v.check(mem.Shape, obj[k], join(path, k))
			}
		}
	case "list":
		arr, ok := value.([]any)
		if !ok {
			typeErr("an array")
			return
		}
		v.length(s, value, float64(len(arr)), path)
		for i, e := range arr {
			v.check(s.Member.Shape, e, fmt.Sprintf("%s.%d.member", path, i+1))
		}
	case "map":
		obj, ok := value.(map[string]any)
		if !ok {
			typeErr("an object")
			return
		}
		v.length(s, value, float64(len(obj)), path)
		for _, k := range sortedKeys(obj) {
			v.check(s.Key.Shape, k, path+".key")
			v.check(s.Value.Shape, obj[k], path+"."+k)
		}
	case "string":
		str, ok := value.(string)
		if !ok {
			typeErr("a string")
			return
		}
		v.length(s, value, float64(utf8.RuneCountInString(str)), path)
		if len(s.Enum) > 0 && !contains(s.Enum, str) {
			v.fail(value, path, "satisfy enum value set: ["+strings.Join(s.Enum, ", ")+"]")
		}
		if s.re != nil && !s.re.MatchString(str) {
			v.fail(value, path, "satisfy regular expression pattern: "+s.Pattern)
		}
	case "integer", "long", "float", "double":
		n, ok := value.(json.Number)
		if !ok {
			typeErr("a number")
			return
		}
		f, err := n.Float64()
		if err != nil || ((s.Type == "integer" || s.Type == "long") && strings.ContainsAny(n.String(), ".eE")) {
			typeErr("an integer")
			return
		}
		if s.Min != nil && f < *s.Min {
			v.fail(value, path, fmt.Sprintf("have value greater than or equal to %g", *s.Min))
		}
		if s.Max != nil && f > *s.Max {
			v.fail(value, path, fmt.Sprintf("have value less than or equal to %g", *s.Max))
		}
	case "timestamp":
		if _, ok := value.(json.Number); !ok {
			typeErr("an epoch-seconds timestamp")
		}
	case "boolean":
		if _, ok := value.(bool); !ok {
			typeErr("a boolean")
		}
	case "blob":
		if _, ok := value.(string); !ok {
			typeErr("a base64 string")
		}
	}
}

func (v *validator) length(s *shape, value any, n float64, path string) {
	if s.Min != nil && n < *s.Min {
		v.fail(value, path, fmt.Sprintf("have length greater than or equal to %g", *s.Min))
	}
	if s.Max != nil && n > *s.Max {
		v.fail(value, path, fmt.Sprintf("have length less than or equal to %g", *s.Max))
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validationMessage words a list of problems as the services do.
func validationMessage(problems []string) string {
	n := len(problems)
	noun := "error"
	if n > 1 {
		noun = "errors"
	}
	return fmt.Sprintf("%d validation %s detected: %s", n, noun, strings.Join(problems, "; "))
}
