// Package settings resolves each plugin's configuration from the
// environment, the credentials file, the CLI config file and the plugin's
// defaults, in that order of precedence. It never prints values: some are
// secrets.
package settings

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
	"gopkg.in/yaml.v3"
)

// File is the CLI config file's content.
type File struct {
	// Platforms maps a platform name to its settings; nil when the file
	// has none.
	Platforms map[string]map[string]string `yaml:"platforms"`
	// DevOverrides maps a plugin name to a binary to run instead of the
	// installed one, unchecked; nil when there are none.
	DevOverrides map[string]string `yaml:"dev_overrides"`
}

// EnvDevOverrides adds dev overrides as NAME=PATH pairs separated by commas.
const EnvDevOverrides = "NEURAL_DEV_OVERRIDES"

// Overrides merges the file's dev overrides with $NEURAL_DEV_OVERRIDES,
// which wins.
func (f File) Overrides(getenv func(string) string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range f.DevOverrides {
		out[k] = v
	}
	for _, pair := range strings.Split(getenv(EnvDevOverrides), ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("settings: $%s: %q is not NAME=PATH", EnvDevOverrides, pair)
		}
		k = strings.TrimSpace(k)
		if err := sdk.CheckPlatformName("$"+EnvDevOverrides, k); err != nil {
			return nil, fmt.Errorf("settings: %w", err)
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}

// Load reads the config file at path; a missing file is an empty config.
func Load(path string) (File, error) {
	var f File
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("settings: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && err.Error() != "EOF" {
		return f, fmt.Errorf("settings: %s: %w", path, err)
	}
	for _, section := range []struct {
		name string
		keys []string
	}{{"platforms", slices.Sorted(maps.Keys(f.Platforms))}, {"dev_overrides", slices.Sorted(maps.Keys(f.DevOverrides))}} {
		for _, k := range section.keys {
			if err := sdk.CheckPlatformName(section.name+"."+k, k); err != nil {
				return File{}, fmt.Errorf("settings: %s: %w", path, err)
			}
		}
	}
	return f, nil
}

// Resolve returns the values for fields, each from the first of: the
// platform's environment variables, the credentials file's values for the
// platform (creds), the config file's (file), the default. A required field
// with no value is an invalid-argument error naming where to set it.
func Resolve(platform string, fields []sdk.ConfigField, getenv func(string) string, creds, file map[string]string) (sdk.Config, error) {
	out := sdk.Config{}
	var errs []error
	for _, f := range fields {
		v := ""
		for _, env := range f.EnvVars {
			if v = getenv(env); v != "" {
				break
			}
		}
		if v == "" {
			v = creds[f.Key]
		}
		if v == "" {
			v = file[f.Key]
		}
		if v == "" {
			v = f.Default
		}
		if v == "" && f.Required {
			where := "platforms." + platform + "." + f.Key + " in the config file"
			if len(f.EnvVars) > 0 {
				where = "$" + f.EnvVars[0] + ", " + where
			}
			errs = append(errs, &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: platform + "." + f.Key,
				Message: "is required (" + f.Description + ")", Hint: "run 'neural-host auth configure " + platform + "', or set " + where})
			continue
		}
		if v != "" {
			out[f.Key] = v
		}
	}
	for _, layer := range []struct {
		vals  map[string]string
		where string
	}{{creds, "in the credentials file"}, {file, "in the config file"}} {
		for k := range layer.vals {
			if !slices.ContainsFunc(fields, func(f sdk.ConfigField) bool { return f.Key == k }) {
				errs = append(errs, &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "platforms." + platform + "." + k,
					Message: "is not a setting of platform " + platform + " (found " + layer.where + ")", Hint: "see 'neural-host platforms " + platform + "' for its settings; 'neural-host auth configure " + platform + "' rewrites stored credentials"})
			}
		}
	}
	return out, errors.Join(errs...)
}

// Secrets returns the values of fields marked secret, for redaction.
func Secrets(fields []sdk.ConfigField, cfg sdk.Config) []string {
	var out []string
	for _, f := range fields {
		if f.Secret && cfg[f.Key] != "" {
			out = append(out, cfg[f.Key])
		}
	}
	return out
}
