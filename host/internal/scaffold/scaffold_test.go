package scaffold

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

func checkout(t *testing.T) string {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestFindSDK(t *testing.T) {
	root := checkout(t)
	notSDK := t.TempDir()
	tests := []struct {
		name, flag, env string
		want            string // the root found; empty: an error naming wantField
		wantField       string
	}{
		{"flag", root, "", root, ""},
		{"flag relative", "../../..", "", root, ""},
		{"flag not a checkout", notSDK, root, "", "sdk-path"},
		{"environment", "", root, root, ""},
		{"environment not a checkout", "", notSDK, "", EnvSDKPath},
		{"built from this checkout", "", "", root, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvSDKPath, tt.env)
			got, err := FindSDK(tt.flag)
			var se *sdk.Error
			switch {
			case tt.want != "" && (err != nil || got != tt.want):
				t.Errorf("FindSDK(%q) = %q, %v; want %q", tt.flag, got, err, tt.want)
			case tt.want == "" && (!errors.As(err, &se) || se.Field != tt.wantField):
				t.Errorf("FindSDK(%q) = %q, %v; want an error naming %s", tt.flag, got, err, tt.wantField)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	root := checkout(t)
	dir := filepath.Join(t.TempDir(), "acme")
	written, err := Write(Options{Name: "acme", Dir: dir, Module: "example.com/acme", SDKPath: root, Host: "/opt/bin/neural-host"})
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	sum, _ := os.ReadFile(filepath.Join(root, "go.sum"))
	tests := []struct {
		file, want string
	}{
		{"go.mod", "replace github.com/neural-dsl/neural-host => " + root + "\n"},
		{"go.mod", "\tgithub.com/hashicorp/go-plugin v"},
		{"go.sum", string(sum)},
		{"Makefile", "NEURAL_HOST ?= /opt/bin/neural-host\n"},
		{"Makefile", "\t$(NEURAL_HOST) plugins install ./neural-plugin-acme\n"},
		{"README.md", "(" + root + "/docs/writing-a-plugin.md)"},
		{"platform_test.go", "sdktest.Build("},
		{"platform.go", `Name: "acme", Namespace: "community",`},
	}
	for _, tt := range tests {
		if got := read(tt.file); !strings.Contains(got, tt.want) {
			t.Errorf("%s does not hold %q:\n%s", tt.file, tt.want, got)
		}
	}
	if len(written) != 8 {
		t.Errorf("wrote %d files, want 8: %v", len(written), written)
	}
	if _, err := Write(Options{Name: "acme", Dir: dir, Module: "example.com/acme", SDKPath: root}); err == nil {
		t.Error("Write into a non-empty directory succeeded")
	}
}

func TestWriteNamespace(t *testing.T) {
	root := checkout(t)
	tests := []struct {
		namespace string
		want      string // in platform.go; empty: an error on the namespace field
	}{
		{"", `Namespace: "community"`},
		{"acme-corp", `Namespace: "acme-corp"`},
		{"official", ""},
		{"Acme", ""},
		{"../x", ""},
	}
	for _, tt := range tests {
		dir := filepath.Join(t.TempDir(), "acme")
		_, err := Write(Options{Name: "acme", Namespace: tt.namespace, Dir: dir, Module: "example.com/acme", SDKPath: root})
		if tt.want == "" {
			var se *sdk.Error
			if !errors.As(err, &se) || se.Field != "namespace" || !errors.Is(err, sdk.ErrInvalidArgument) {
				t.Errorf("namespace %q: Write = %v, want an error naming namespace", tt.namespace, err)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("namespace %q: %s was written", tt.namespace, dir)
			}
			continue
		}
		if err != nil {
			t.Fatalf("namespace %q: %v", tt.namespace, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "platform.go")); !strings.Contains(string(b), tt.want) {
			t.Errorf("namespace %q: platform.go does not hold %s", tt.namespace, tt.want)
		}
	}
}
