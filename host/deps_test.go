// Package host_test checks what each binary links. The host must link no
// cloud SDK: platform code lives in plugins. Each binary's non-standard
// package list is checked in beside it as deps.txt, so a new dependency is
// a visible change; 'make deps' rewrites the lists.
package host_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// cloudSDKs are module path prefixes the host must never import.
var cloudSDKs = []string{
	"github.com/aws/", "cloud.google.com/", "google.golang.org/api/", "github.com/Azure/",
	"github.com/databricks/", "k8s.io/", "github.com/googleapis/",
}

// deps lists what pkg links when built with the tags in its TAGS file, as
// make and the release script build it.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	tags, _ := os.ReadFile(filepath.Join("..", pkg, "TAGS"))
	cmd := exec.Command("go", "list", "-tags", strings.TrimSpace(string(tags)), "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	list := strings.Fields(string(out))
	sort.Strings(list)
	return list
}

func TestHostLinksNoCloudSDK(t *testing.T) {
	for _, d := range deps(t, "./host/cmd/neural-host") {
		for _, bad := range cloudSDKs {
			if strings.HasPrefix(d, bad) {
				t.Errorf("neural-host imports %s; platform SDKs belong in plugins", d)
			}
		}
	}
}

func TestDependencyLists(t *testing.T) {
	bins := []string{"host/cmd/neural-host"}
	plugins, _ := filepath.Glob("../plugins/*/VERSION")
	for _, v := range plugins {
		bins = append(bins, strings.TrimPrefix(filepath.Dir(v), "../"))
	}
	for _, bin := range bins {
		got := strings.Join(deps(t, "./"+bin), "\n") + "\n"
		want, err := os.ReadFile(filepath.Join("..", bin, "deps.txt"))
		if err != nil || string(want) != got {
			t.Errorf("%s/deps.txt is missing or stale; run 'make deps' and review the change", bin)
		}
	}
}
