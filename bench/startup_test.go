// Package bench measures whole neural-host processes against a bare
// go-plugin hello-world built with the same options, in the same run, so
// that the ratio between them is what counts, not the machine.
package bench

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk/sdktest"
)

var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run()) // no benchmark asked for: nothing to build
	}
	dir, err := os.MkdirTemp("", "neural-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles the binaries as scripts/release.sh builds what users install.
func build(dir string) error {
	return sdktest.Build("..", dir, map[string]string{
		"./host/cmd/neural-host": "neural-host", "./plugins/local": "neural-plugin-local",
		"./bench/hello/plugin": "hello-plugin", "./bench/hello/host": "hello-host",
	}, "-trimpath", "-ldflags=-s -w")
}

func runOrFail(b *testing.B, cmd *exec.Cmd) string {
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return string(out)
}

// BenchmarkHelloPlugin is the floor: start a plugin, one call, stop.
func BenchmarkHelloPlugin(b *testing.B) {
	for b.Loop() {
		if out := runOrFail(b, exec.Command(filepath.Join(bin, "hello-host"), filepath.Join(bin, "hello-plugin"))); !strings.Contains(out, "SERVING") {
			b.Fatalf("unexpected output %q", out)
		}
	}
}

// home is a user's environment with the local plugin installed.
func home(b *testing.B) []string {
	root := b.TempDir()
	env := append(os.Environ(), "XDG_STATE_HOME="+root+"/state", "XDG_DATA_HOME="+root+"/data",
		"XDG_CONFIG_HOME="+root+"/config")
	install := exec.Command(filepath.Join(bin, "neural-host"), "plugins", "install", filepath.Join(bin, "neural-plugin-local"))
	install.Env = env
	runOrFail(b, install)
	return env
}

// BenchmarkPluginsList is `neural-host plugins list` with seven plugins
// installed: the local plugin and six more entries made from its install.
func BenchmarkPluginsList(b *testing.B) {
	env := home(b)
	var data string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_DATA_HOME="); ok {
			data = v
		}
	}
	src := filepath.Join(data, "neural", "plugins", "official", "local")
	for i := 1; i <= 6; i++ {
		name := fmt.Sprintf("copy%d", i)
		dst := filepath.Join(data, "neural", "plugins", "official", name)
		if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		manifests, _ := filepath.Glob(filepath.Join(dst, "*", "*", "manifest.json"))
		for _, m := range manifests {
			body, _ := os.ReadFile(m)
			os.WriteFile(m, []byte(strings.Replace(string(body), `"name": "local"`, `"name": "`+name+`"`, 1)), 0o644)
			os.Rename(filepath.Join(filepath.Dir(m), "neural-plugin-local"), filepath.Join(filepath.Dir(m), "neural-plugin-"+name))
		}
	}
	host := filepath.Join(bin, "neural-host")
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(host, "plugins", "list")
		cmd.Env = env
		if out := runOrFail(b, cmd); strings.Count(out, "installed") != 7 {
			b.Fatalf("want 7 plugins listed:\n%s", out)
		}
	}
}

// BenchmarkJobStatus is one full `neural-host job status local:ID`,
// including the plugin's checksum check.
func BenchmarkJobStatus(b *testing.B) {
	env, ref := finishedJob(b)
	host := filepath.Join(bin, "neural-host")
	b.ResetTimer()
	for b.Loop() {
		jobStatus(b, host, env, ref)
	}
}

// BenchmarkJobStatusVsFloor alternates the floor and job status in one
// loop, so both see the same machine, and reports their ratio.
func BenchmarkJobStatusVsFloor(b *testing.B) {
	env, ref := finishedJob(b)
	host := filepath.Join(bin, "neural-host")
	var floor, status time.Duration
	for b.Loop() {
		t := time.Now()
		runOrFail(b, exec.Command(filepath.Join(bin, "hello-host"), filepath.Join(bin, "hello-plugin")))
		floor += time.Since(t)
		t = time.Now()
		jobStatus(b, host, env, ref)
		status += time.Since(t)
	}
	b.ReportMetric(float64(status)/float64(floor), "status/floor")
}

// finishedJob submits a job that ends at once and returns its reference.
func finishedJob(b *testing.B) ([]string, string) {
	env := home(b)
	spec := filepath.Join(b.TempDir(), "job.yaml")
	os.WriteFile(spec, []byte("kind: command\ncommand: [\"true\"]\n"), 0o644)
	submit := exec.Command(filepath.Join(bin, "neural-host"), "job", "submit", spec, "-p", "local", "--wait", "-o", "json")
	submit.Env = env
	out := runOrFail(b, submit)
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), `"ref": "`); ok {
			return env, strings.TrimSuffix(v, `",`)
		}
	}
	b.Fatalf("no ref in %s", out)
	return nil, ""
}

func jobStatus(b *testing.B, host string, env []string, ref string) {
	cmd := exec.Command(host, "job", "status", ref)
	cmd.Env = env
	if out := runOrFail(b, cmd); !strings.Contains(out, "succeeded") {
		b.Fatalf("unexpected output %q", out)
	}
}
