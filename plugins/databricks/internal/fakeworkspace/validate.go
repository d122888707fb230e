package fakeworkspace

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// decode reads a JSON request body into v, a pointer to a Databricks SDK
// request type, after checking the body against that type the way the
// workspace does: valid JSON, known fields only, required fields present,
// values of the right JSON type and enum values the API defines. It also
// returns the body as a generic value, for presence checks.
func decode(r *http.Request, v any) (map[string]any, *apiError) {
	obj, body, e := decodeChecked(r, reflect.TypeOf(v).Elem())
	if e != nil {
		return nil, e
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, errf(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request - %v", err)
	}
	return obj, nil
}

// decodeChecked reads and checks a JSON body against the request type t,
// returning it as a generic value and as bytes.
func decodeChecked(r *http.Request, t reflect.Type) (map[string]any, []byte, *apiError) {
	if e := requireJSON(r); e != nil {
		return nil, nil, e
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		return nil, nil, errf(400, "MALFORMED_REQUEST", "could not read the request body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, errf(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request - %v", err)
	}
	if dec.More() {
		return nil, nil, errf(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request - trailing data")
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, nil, errf(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request - expected an object")
	}
	if e := check(obj, t, ""); e != nil {
		return nil, nil, e
	}
	return obj, body, nil
}

var valuesMethod = "Values"

// check validates one JSON value against the Go type the SDK uses for it.
func check(v any, t reflect.Type, path string) *apiError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := path
	if name == "" {
		name = "request"
	}
	bad := func(want string) *apiError {
		return errf(400, "INVALID_PARAMETER_VALUE", "Invalid value for %s: expected %s", name, want)
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		fields := map[string]reflect.StructField{}
		var required []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			key, opts, _ := strings.Cut(tag, ",")
			if key == "-" || key == "" || !f.IsExported() {
				continue
			}
			fields[key] = f
			if !strings.Contains(opts, "omitempty") {
				required = append(required, key)
			}
		}
		for k, val := range obj {
			f, ok := fields[k]
			if !ok {
				return errf(400, "INVALID_PARAMETER_VALUE", "Unknown field %s", join(path, k))
			}
			if val == nil {
				continue
			}
			if e := check(val, f.Type, join(path, k)); e != nil {
				return e
			}
		}
		for _, k := range required {
			if _, ok := obj[k]; !ok {
				return errf(400, "INVALID_PARAMETER_VALUE", "Missing required field: %s", join(path, k))
			}
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return bad("an array")
		}
		for i, el := range arr {
			if e := check(el, t.Elem(), path+"["+strconv.Itoa(i)+"]"); e != nil {
				return e
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		for k, el := range obj {
			if e := check(el, t.Elem(), join(path, k)); e != nil {
				return e
			}
		}
	case reflect.String:
		str, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		if allowed := enumValues(t); allowed != nil && !contains(allowed, str) {
			return errf(400, "INVALID_PARAMETER_VALUE", "Invalid value %q for %s; expected one of %s", str, name, strings.Join(allowed, ", "))
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return bad("an integer")
		}
		if _, err := n.Int64(); err != nil {
			return bad("an integer")
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			return bad("a number")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return bad("a boolean")
		}
	}
	return nil
}

// enumValues returns the values an SDK enum type allows, or nil when t is
// a plain string.
func enumValues(t reflect.Type) []string {
	m, ok := reflect.PointerTo(t).MethodByName(valuesMethod)
	if !ok || t.PkgPath() == "" {
		return nil
	}
	out := m.Func.Call([]reflect.Value{reflect.New(t)})[0]
	vals := make([]string, out.Len())
	for i := range vals {
		vals[i] = out.Index(i).String()
	}
	return vals
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
