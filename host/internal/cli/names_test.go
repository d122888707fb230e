package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlatformNamesRefusedWhereTheyEnter runs every command that takes a
// platform name with one that is a path. Each must stop with exit 2 on the
// input that carried it, named as the user gave it, before discovery (the
// second line of defence) is reached.
func TestPlatformNamesRefusedWhereTheyEnter(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	for _, k := range []string{"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"} {
		t.Setenv(k, filepath.Join(root, k))
	}
	for _, k := range []string{"NEURAL_PLUGIN_PATH", "NEURAL_DEV_OVERRIDES", "NEURAL_CONFIG", "NEURAL_REATTACH_PLUGINS"} {
		t.Setenv(k, "")
	}
	spec := filepath.Join(root, "neural-job.yaml")
	batchFile := filepath.Join(root, "batch.yaml")
	for path, body := range map[string]string{
		spec:      "platform: local\nkind: command\ncommand: [x]\n",
		batchFile: "jobs:\n  - {kind: command, command: [x]}\n",
	} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const evil = "../../evil"
	for _, tc := range []struct {
		args  string
		field string
	}{
		{"job plan SPEC -p EVIL", "--platform: "},
		{"job submit SPEC --platform EVIL --yes", "--platform: "},
		{"job status EVIL:1", "job: "},
		{"job logs EVIL:1", "job: "},
		{"job wait local:1 EVIL:2", "job: "},
		{"job list -p EVIL", "--platform: "},
		{"job reconcile -p EVIL", "--platform: "},
		{"cost estimate SPEC -p EVIL", "--platform: "},
		{"cost compare SPEC --platforms local,EVIL", "--platforms: "},
		{"files ls -p EVIL", "--platform: "},
		{"endpoint list -p EVIL", "--platform: "},
		{"batch submit BATCH -p EVIL --yes", "--platform: "},
		{"platforms EVIL", "PLATFORM: "},
		{"plugins info EVIL", "PLATFORM: "},
		{"auth check local EVIL", "PLATFORM: "},
		{"auth configure EVIL", "PLATFORM: "},
		{"auth logout EVIL", "PLATFORM: "},
		{"plugins remove EVIL", "NAME: "},
		{"plugins remove local@../../../x", "VERSION: "},
		{"plugins new EVIL", "NAME: "},
		{"plugins install --mirror ROOT EVIL@1.0.0", "NAME: "},
	} {
		t.Run(tc.args, func(t *testing.T) {
			args := strings.Fields(strings.NewReplacer("SPEC", spec, "BATCH", batchFile, "ROOT", root, "EVIL", evil).Replace(tc.args))
			var out, errb bytes.Buffer
			code := Main("test", append([]string{"neural-host"}, args...), Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
			if code != ExitUsage || !strings.Contains(errb.String(), "error: "+tc.field) || !strings.Contains(errb.String(), "not a") {
				t.Errorf("exit %d, want %d with an error on %q\nstderr:\n%s", code, ExitUsage, tc.field, errb.String())
			}
		})
	}
	// Refused input creates nothing: no state, no plugin skeleton.
	if entries, _ := os.ReadDir(root); len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the commands left files behind: %v", names)
	}
}
