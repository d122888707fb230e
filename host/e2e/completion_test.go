package e2e

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestCompletionScripts(t *testing.T) {
	e := newEnv(t)
	for shell, want := range map[string]string{
		"bash": "complete -o bashdefault -o default -F _neural_host_complete neural-host",
		"zsh":  "compdef _neural_host neural-host",
		"fish": "complete -c neural-host",
	} {
		script := e.ok("completion", shell)
		if !strings.Contains(script, want) {
			t.Errorf("%s script lacks %q", shell, want)
		}
		var v struct {
			Shell  string `json:"shell"`
			Script string `json:"script"`
		}
		if err := json.Unmarshal([]byte(e.ok("completion", shell, "-o", "json")), &v); err != nil || v.Shell != shell || v.Script != script {
			t.Errorf("%s -o json: %+v %v", shell, v.Shell, err)
		}
	}
	if !strings.Contains(e.ok("completion", "fish"), "batch") {
		t.Error("the fish script does not know the batch command")
	}
	if r := e.run("completion", "tcsh"); r.code != 2 || !strings.Contains(r.stderr, "bash, zsh and fish") {
		t.Errorf("unknown shell: exit %d %s", r.code, r.stderr)
	}
}

// TestBashCompletes loads the bash script into a real bash and completes
// partial command lines, as pressing Tab does.
func TestBashCompletes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed for this test")
	}
	e := newEnv(t)
	e.extra = append(e.extra, "PATH="+binDir+":/usr/bin:/bin")
	tests := []struct {
		words string // the command line, the last word being completed
		want  []string
	}{
		{"neural-host ba", []string{"batch"}},
		{"neural-host batch s", []string{"submit", "status"}},
		{"neural-host auth c", []string{"check", "configure"}},
		{"neural-host batch submit --par", []string{"--parallel"}},
		{"neural-host job rec", []string{"reconcile"}},
	}
	for _, tt := range tests {
		t.Run(tt.words, func(t *testing.T) {
			words := strings.Split(tt.words, " ")
			script := `source <(neural-host completion bash)
COMP_WORDS=(` + strings.Join(quoteAll(words), " ") + `)
COMP_CWORD=` + itoa(len(words)-1) + `
_neural_host_complete
printf '%s\n' "${COMPREPLY[@]}"`
			cmd := exec.Command(bash, "-c", script)
			cmd.Env = e.environ()
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("bash: %v", err)
			}
			got := strings.Fields(string(out))
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("completions %v, want %v", got, tt.want)
			}
		})
	}
}

func quoteAll(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = "'" + w + "'"
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
