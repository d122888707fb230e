package jobspec

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestSchemaMatchesFile keeps the schema and the File struct in step: every
// YAML key has a schema property and every property a key.
func TestSchemaMatchesFile(t *testing.T) {
	var schema struct {
		Properties map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(Schema, &schema); err != nil {
		t.Fatal(err)
	}
	keys := func(typ reflect.Type) []string {
		var out []string
		for i := 0; i < typ.NumField(); i++ {
			out = append(out, strings.Split(typ.Field(i).Tag.Get("yaml"), ",")[0])
		}
		sort.Strings(out)
		return out
	}
	props := func(m map[string]json.RawMessage) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	top := map[string]json.RawMessage{}
	for k := range schema.Properties {
		top[k] = nil
	}
	for _, c := range []struct {
		name       string
		file, spec []string
	}{
		{"top level", keys(reflect.TypeOf(File{})), props(top)},
		{"resources", keys(reflect.TypeOf(Resources{})), props(schema.Properties["resources"].Properties)},
		{"dsl", keys(reflect.TypeOf(DSL{})), props(schema.Properties["dsl"].Properties)},
	} {
		if strings.Join(c.file, ",") != strings.Join(c.spec, ",") {
			t.Errorf("%s: File has %v, schema has %v", c.name, c.file, c.spec)
		}
	}
}
