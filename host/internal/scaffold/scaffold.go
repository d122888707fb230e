// Package scaffold writes the skeleton of a new platform plugin: a Go module
// that builds as neural-plugin-NAME, runs jobs end to end from its first
// build (as detached processes on the machine, to be replaced by calls to
// the platform's API), and carries a conformance test. The module points
// at a neural-host checkout with a replace directive, because the SDK is
// not published as a Go module; its go.mod and go.sum pin every dependency
// at the version the checkout is built and tested with, so that it builds
// without resolving anything. It writes files and nothing else.
package scaffold

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"text/template"

	"github.com/neural-dsl/neural-host/sdk"
)

//go:embed template
var files embed.FS

// Options describe the plugin to write.
type Options struct {
	// Name is the platform name, as sdk.ValidPlatformName accepts it.
	Name string
	// Namespace is the publisher the plugin declares, installed as
	// NAMESPACE/NAME; empty is DefaultNamespace.
	Namespace string
	// Dir is created and must not exist yet, or be empty.
	Dir string
	// Module is the Go module path.
	Module string
	// SDKPath is the neural-host checkout the module builds against; empty
	// looks for one with FindSDK.
	SDKPath string
	// Host is the neural-host executable that 'make install' runs; empty
	// runs neural-host from PATH.
	Host string
}

// DefaultNamespace is the namespace a new plugin declares unless told
// otherwise: not sdk.DefaultNamespace, which is reserved for the plugins
// neural-host ships, as Terraform reserves hashicorp/ for its own
// providers, so that a new plugin never shadows or is shadowed by one of
// them. Publishers are meant to pass their own with --namespace.
const DefaultNamespace = "community"

// EnvSDKPath names a neural-host checkout for `plugins new`.
const EnvSDKPath = "NEURAL_SDK_PATH"

const sdkModule = "github.com/neural-dsl/neural-host"

// FindSDK returns the neural-host checkout to build a plugin against:
// flag when set, else $NEURAL_SDK_PATH, else the checkout this neural-host
// was built from, if it is still there. The error says how to name one.
func FindSDK(flag string) (string, error) {
	if flag != "" {
		return checkSDK("sdk-path", flag)
	}
	if env := os.Getenv(EnvSDKPath); env != "" {
		return checkSDK(EnvSDKPath, env)
	}
	// A build without -trimpath records this file's absolute path; three
	// directories up is the checkout's root.
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if root, err := checkSDK("", filepath.Join(filepath.Dir(file), "..", "..", "..")); err == nil {
			return root, nil
		}
	}
	return "", sdk.FieldError("sdk-path", "no neural-host checkout to build the plugin against: the SDK is not published as a Go module, and this neural-host was not built from a checkout that is still in place",
		"clone neural-host and run 'neural-host plugins new NAME --sdk-path DIR' with DIR the clone (the directory holding go.mod and sdk/), or export "+EnvSDKPath+"=DIR")
}

// checkSDK resolves dir and checks that it holds the SDK's module.
func checkSDK(field, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	mod, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	_, docErr := os.Stat(filepath.Join(abs, "sdk", "doc.go"))
	if err != nil || docErr != nil || modulePath(mod) != sdkModule {
		return "", sdk.FieldError(field, abs+" is not a neural-host checkout", "point it at the directory holding neural-host's go.mod and sdk/")
	}
	return abs, nil
}

func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.TrimSpace(p)
		}
	}
	return ""
}

// requireRE matches a requirement in go.mod, inside a block or alone.
var requireRE = regexp.MustCompile(`(?m)^(?:require\s+|\t)(\S+) (v\S+)`)

// requirements lists the checkout's requirements as indirect ones of the
// plugin's module: with its go.sum they are what the SDK is tested with,
// and the plugin builds on them without asking a module proxy to resolve
// anything. 'go mod tidy' trims those the plugin does not use.
func requirements(gomod []byte) []string {
	var out []string
	for _, m := range requireRE.FindAllStringSubmatch(string(gomod), -1) {
		out = append(out, m[1]+" "+m[2])
	}
	return out
}

// Write renders the skeleton into o.Dir and returns the files written.
func Write(o Options) ([]string, error) {
	if err := sdk.CheckPlatformName("NAME", o.Name); err != nil {
		return nil, err
	}
	namespace := o.Namespace
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if !sdk.ValidPlatformName(namespace) {
		return nil, sdk.FieldError("namespace", fmt.Sprintf("%q is not a plugin namespace", namespace), "a namespace is "+sdk.PlatformNameRule+", such as your organisation's name")
	}
	if namespace == sdk.DefaultNamespace {
		return nil, sdk.FieldError("namespace", fmt.Sprintf("%q is reserved for the plugins neural-host ships", namespace), "give your organisation's name, such as --namespace acme")
	}
	if entries, err := os.ReadDir(o.Dir); err == nil && len(entries) > 0 {
		return nil, sdk.FieldError("dir", o.Dir+" exists and is not empty", "choose a new directory with --dir")
	}
	root, err := FindSDK(o.SDKPath)
	if err != nil {
		return nil, err
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return nil, fmt.Errorf("scaffold: the checkout has no go.sum: %w", err)
	}
	host := o.Host
	if host == "" {
		host = "neural-host"
	}
	data := map[string]any{
		"Name": o.Name, "Namespace": namespace, "Module": o.Module, "SDKPath": root, "SDKVersion": "v" + sdk.Version, "Host": host,
		"Requires": requirements(gomod), "EnvPrefix": strings.ToUpper(strings.ReplaceAll(o.Name, "-", "_")),
	}
	var written []string
	err = fs.WalkDir(files, "template", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		tmpl, err := template.New(path).Delims("[[", "]]").Parse(string(src))
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if err := tmpl.Execute(&out, data); err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(path, "template/"), ".tmpl")
		dst := filepath.Join(o.Dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, out.Bytes(), 0o644); err != nil {
			return err
		}
		written = append(written, dst)
		return nil
	})
	if err != nil {
		return written, err
	}
	sum := filepath.Join(o.Dir, "go.sum")
	if err := os.WriteFile(sum, gosum, 0o644); err != nil {
		return written, err
	}
	return append(written, sum), nil
}
