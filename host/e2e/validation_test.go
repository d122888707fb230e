package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInputExitsTwoAndCallsNoPlugin feeds neural-host flags and files
// it must refuse before any plugin starts: exit 2, the field named with a
// hint, and the fake platform never started (it has no log file) nor
// configured (it creates calls.log when it is).
func TestBadInputExitsTwoAndCallsNoPlugin(t *testing.T) {
	const ok = "kind: command\ncommand: [train]\nresources:\n  max_runtime: 1h\n"
	oversize := ok + "# " + strings.Repeat("x", 1<<20) + "\n"
	tests := []struct {
		name  string
		spec  string // written as the job spec; {spec} in args is its path
		batch bool   // the file is a batch file: batch submit, not job submit
		args  []string
		want  []string
	}{
		{"max-cost NaN", ok, false, []string{"job", "submit", "{spec}", "-p", "fake", "--max-cost", "NaN"}, []string{"max-cost", "NaN"}},
		{"max-cost infinite", ok, false, []string{"job", "submit", "{spec}", "-p", "fake", "--max-cost", "+Inf"}, []string{"max-cost"}},
		{"negative start-timeout", ok, false, []string{"--start-timeout", "-1s", "job", "submit", "{spec}", "-p", "fake"}, []string{"start-timeout", "-1s"}},
		{"second YAML document", ok + "---\nkind: command\ncommand: [other]\n", false, []string{"job", "submit", "{spec}", "-p", "fake"}, []string{"spec", "second YAML document"}},
		{"oversize spec", oversize, false, []string{"job", "submit", "{spec}", "-p", "fake"}, []string{"spec", "1 MiB"}},
		{"oversize batch", "platform: fake\njobs:\n  - {kind: command, command: [x]}\n" + oversize, true, []string{"batch", "submit", "{spec}"}, []string{"batch", "1 MiB"}},
		{"fractional gpus", "kind: command\ncommand: [x]\nresources:\n  gpus: 1.5\n", false, []string{"job", "submit", "{spec}", "-p", "fake"}, []string{"resources.gpus", "want an integer"}},
		{"nodes past int32", "kind: command\ncommand: [x]\nresources:\n  nodes: 4294967298\n", false, []string{"job", "submit", "{spec}", "-p", "fake"}, []string{"resources.nodes", "2147483647"}},
		{"entrypoint escaping workdir", "kind: python\nentrypoint: sub/../../x.py\n", false, []string{"job", "submit", "{spec}", "-p", "fake"}, []string{"entrypoint", "inside workdir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFakeEnv(t)
			var path string
			if tt.batch {
				path = e.writeBatch(tt.spec)
			} else {
				path = e.writeSpec(tt.spec, map[string]string{})
			}
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "{spec}", path)
			}
			r := e.run(args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if !strings.Contains(r.stderr, "hint:") {
				t.Errorf("stderr has no hint:\n%s", r.stderr)
			}
			// The launcher opens a plugin's log file as it starts it.
			for _, f := range []string{filepath.Join(e.fakeDir(), "calls.log"), filepath.Join(e.root, "state", "neural", "logs", "fake.log")} {
				if _, err := os.Stat(f); !os.IsNotExist(err) {
					t.Errorf("the fake platform was started: %s exists", f)
				}
			}
		})
	}
}
