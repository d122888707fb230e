package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

func TestArgv(t *testing.T) {
	tests := []struct {
		spec sdk.JobSpec
		want string
	}{
		{sdk.JobSpec{Kind: sdk.KindPython, Entrypoint: "train.py", Args: []string{"--lr", "0.1"}}, "py train.py --lr 0.1"},
		{sdk.JobSpec{Kind: sdk.KindDSL, Entrypoint: "m.neural"}, "py " + FileName},
		{sdk.JobSpec{Kind: sdk.KindCommand, Command: []string{"sh", "-c", "true"}}, "sh -c true"},
	}
	for _, tt := range tests {
		if got := strings.Join(Argv(tt.spec, "py"), " "); got != tt.want {
			t.Errorf("Argv(%v) = %q, want %q", tt.spec.Kind, got, tt.want)
		}
	}
}

// TestScriptRunsNeural runs the generated runner against a stand-in neural
// CLI that records its arguments, proving the runner compiles and runs.
func TestScriptRunsNeural(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is required for this test")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	log := filepath.Join(dir, "calls.log")
	fake := "#!/bin/sh\necho \"$@\" >> " + log + "\nif [ \"$1\" = compile ]; then echo 'print(1)' > \"$6\"; fi\n"
	os.WriteFile(filepath.Join(bin, "neural"), []byte(fake), 0o755)
	os.WriteFile(filepath.Join(dir, "m.neural"), []byte("network N {}"), 0o644)
	os.WriteFile(filepath.Join(dir, FileName), Script(Config{Model: "m.neural", Backend: "pytorch", Dataset: "MNIST"}), 0o644)

	cmd := exec.Command(python, FileName)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), EnvOutputDir+"="+filepath.Join(dir, "out"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("runner failed: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(calls)), "\n")
	compiled := filepath.Join(dir, "out", "model_pytorch.py")
	want := []string{
		"compile " + filepath.Join(dir, "m.neural") + " --backend pytorch --output " + compiled + " --dataset MNIST",
		"run " + compiled,
	}
	if len(lines) != 2 || lines[0] != want[0] || lines[1] != want[1] {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestScriptWithoutNeural(t *testing.T) {
	// Resolve the real interpreter: python3 on PATH may be a shim that
	// itself needs PATH.
	exe, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal("python3 is required for this test")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), Script(Config{Model: "m.neural"}), 0o644)
	cmd := exec.Command(strings.TrimSpace(string(exe)), FileName)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/nonexistent", EnvOutputDir + "=" + dir}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 127 {
		t.Fatalf("want exit 127, got %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "pip install neural-dsl") {
		t.Fatalf("missing install hint:\n%s", out)
	}
}

func TestParseMetrics(t *testing.T) {
	got, err := ParseMetrics([]byte(`{"loss": 0.5, "val": {"acc": 0.9, "note": "x"}, "epochs": 3, "tags": [1]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"loss": 0.5, "val.acc": 0.9, "epochs": 3}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, err := ParseMetrics([]byte(`[1]`)); err == nil {
		t.Error("a JSON array was taken for metrics")
	}
}
