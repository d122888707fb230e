// Package scaffold writes the skeleton of a new platform plugin: a Go module
// that builds as neural-plugin-NAME, runs jobs end to end from its first
// build (as detached processes on the machine, to be replaced by calls to
// the platform's API), and carries a conformance test. It writes files and
// nothing else.
package scaffold

import (
	"bytes"
	"embed"
	"io/fs"
	"os"
	"path/filepath"
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
	// Dir is created and must not exist yet, or be empty.
	Dir string
	// Module is the Go module path.
	Module string
	// SDKPath, when set, points the module at a neural-host checkout with a
	// replace directive; empty requires the published SDK version.
	SDKPath string
}

// Write renders the skeleton into o.Dir and returns the files written.
func Write(o Options) ([]string, error) {
	if err := sdk.CheckPlatformName("NAME", o.Name); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(o.Dir); err == nil && len(entries) > 0 {
		return nil, sdk.FieldError("dir", o.Dir+" exists and is not empty", "choose a new directory with --dir")
	}
	if o.SDKPath != "" {
		abs, err := filepath.Abs(o.SDKPath)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(abs, "sdk", "doc.go")); err != nil {
			return nil, sdk.FieldError("sdk-path", abs+" is not a neural-host checkout", "point --sdk-path at the directory holding go.mod and sdk/")
		}
		o.SDKPath = abs
	}
	data := map[string]string{
		"Name": o.Name, "Module": o.Module, "SDKPath": o.SDKPath, "SDKVersion": "v" + sdk.Version,
		"EnvPrefix": strings.ToUpper(strings.ReplaceAll(o.Name, "-", "_")),
	}
	var written []string
	err := fs.WalkDir(files, "template", func(path string, d fs.DirEntry, err error) error {
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
	return written, err
}
