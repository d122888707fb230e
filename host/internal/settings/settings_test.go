package settings

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

func TestResolve(t *testing.T) {
	fields := []sdk.ConfigField{
		{Key: "host", Required: true, EnvVars: []string{"X_HOST", "X_HOST_OLD"}},
		{Key: "region", Default: "eu"},
		{Key: "token", Secret: true, EnvVars: []string{"X_TOKEN"}},
	}
	env := map[string]string{"X_HOST_OLD": "old", "X_TOKEN": "s3cret"}
	got, err := Resolve("x", fields, func(k string) string { return env[k] }, nil, map[string]string{"host": "file", "region": "us"})
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.Config{"host": "old", "region": "us", "token": "s3cret"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if s := Secrets(fields, got); len(s) != 1 || s[0] != "s3cret" {
		t.Errorf("Secrets = %v", s)
	}
}

func TestResolveMissingAndUnknown(t *testing.T) {
	fields := []sdk.ConfigField{{Key: "host", Required: true, EnvVars: []string{"X_HOST"}}}
	_, err := Resolve("x", fields, func(string) string { return "" }, nil, map[string]string{"hots": "typo"})
	if !errors.Is(err, sdk.ErrInvalidArgument) {
		t.Fatalf("want invalid argument, got %v", err)
	}
	for _, want := range []string{"x.host", "$X_HOST", "platforms.x.hots"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestResolvePrecedence(t *testing.T) {
	fields := []sdk.ConfigField{{Key: "k", EnvVars: []string{"X_K"}, Default: "default"}}
	tests := []struct {
		name             string
		env, creds, file string
		want             string
	}{
		{"environment beats all", "env", "creds", "file", "env"},
		{"credentials beat the config file", "", "creds", "file", "creds"},
		{"config file beats the default", "", "", "file", "file"},
		{"default last", "", "", "", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layer := func(v string) map[string]string {
				if v == "" {
					return nil
				}
				return map[string]string{"k": v}
			}
			got, err := Resolve("x", fields, func(string) string { return tt.env }, layer(tt.creds), layer(tt.file))
			if err != nil || got["k"] != tt.want {
				t.Errorf("got %q (%v), want %q", got["k"], err, tt.want)
			}
		})
	}
	_, err := Resolve("x", fields, func(string) string { return "" }, map[string]string{"typo": "v"}, nil)
	if err == nil || !strings.Contains(err.Error(), "platforms.x.typo") || !strings.Contains(err.Error(), "credentials file") {
		t.Errorf("unknown stored key: %v", err)
	}
	required := []sdk.ConfigField{{Key: "token", Required: true, Secret: true, EnvVars: []string{"X_TOKEN"}}}
	_, err = Resolve("x", required, func(string) string { return "" }, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "neural-host auth configure x") {
		t.Errorf("missing required setting: %v", err)
	}
}

// A platform name in the config becomes part of a binary's path.
func TestPlatformNamesInConfig(t *testing.T) {
	for _, tc := range []struct {
		what, body, env, want string
	}{
		{"well-formed", "platforms:\n  local:\n    k: v\ndev_overrides:\n  acme: /bin/acme\n", "acme=/bin/acme", ""},
		{"a path under platforms", "platforms:\n  ../../evil:\n    k: v\n", "", "platforms.../../evil"},
		{"a path under dev_overrides", "dev_overrides:\n  ../evil: /bin/sh\n", "", "dev_overrides.../evil"},
		{"a path in the environment", "", "ok=/bin/ok,../evil=/bin/sh", "$" + EnvDevOverrides},
	} {
		t.Run(tc.what, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Load(path)
			if err == nil {
				_, err = f.Overrides(func(string) string { return tc.env })
			}
			if (tc.want == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), tc.want) || !errors.Is(err, sdk.ErrInvalidArgument) ||
				!strings.Contains(err.Error(), "not a platform name"))) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
