package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsNeverLeak plants a canary in every secret setting of the fake
// platform, one stored with auth configure and one given through the
// platform's environment variable, and makes the plugin quote them in its
// errors and debug logs, as a careless SDK would. No output, error, log
// file, plugin log or index may contain them, at debug and trace level.
func TestSecretsNeverLeak(t *testing.T) {
	const stored, fromEnv = "reject-canary-5f1e0c9d7a", "canary-env-8b2d4e6f13"
	e := newFakeEnv(t)
	withoutFakeEnv(e)
	if r := e.configure("fake", "dir="+e.fakeDir()+"\napi_key="+stored+"\n", "-o", "json"); r.code != 0 {
		t.Fatalf("configure: exit %d %s", r.code, r.stderr)
	}
	e.extra = append(e.extra, "FAKEPLATFORM_ECHO_SECRETS=1", "FAKEPLATFORM_CLIENT_SECRET="+fromEnv)
	failing := commandSpec(e, "options: {fail: submit}\n")
	batch := e.writeBatch("id: leaky\nplatform: fake\nbase: {kind: command, command: [train]}\nmatrix:\n  options.fail: [submit, run]\n")
	var outputs []string
	var redacted bool
	for _, level := range []string{"debug", "trace"} {
		for _, args := range [][]string{
			{"auth", "check", "fake"},
			{"auth", "check"},
			{"job", "submit", failing, "-p", "fake"},
			{"job", "submit", commandSpec(e, ""), "-p", "fake"},
			{"batch", "submit", batch},
			{"batch", "status", "leaky"},
			{"job", "list", "--all"},
			{"job", "reconcile"},
			{"platforms", "fake"},
			{"job", "plan", failing, "-p", "fake"},
		} {
			for _, format := range []string{"table", "json"} {
				r := e.run(append(args, "--log-level", level, "-o", format)...)
				outputs = append(outputs, r.stdout, r.stderr)
				redacted = redacted || strings.Contains(r.stdout+r.stderr, "***")
			}
		}
	}
	if !redacted {
		t.Fatal("no output was redacted: the fake platform did not quote its secrets, so this test proves nothing")
	}
	for _, out := range outputs {
		for _, canary := range []string{stored, fromEnv} {
			if strings.Contains(out, canary) {
				t.Errorf("output quotes a secret:\n%s", out)
			}
		}
	}
	pluginLog, err := os.ReadFile(filepath.Join(e.root, "state", "neural", "logs", "fake.log"))
	if err != nil || !bytes.Contains(pluginLog, []byte(`"api_key":"***"`)) {
		t.Errorf("the plugin's debug log does not show a redacted key (%v)", err)
	}
	// Every file under the user's directories, but the credentials file
	// that is meant to hold the stored secret.
	filepath.WalkDir(e.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == e.credentialsPath() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, canary := range []string{stored, fromEnv} {
			if bytes.Contains(b, []byte(canary)) {
				t.Errorf("%s contains a secret", strings.TrimPrefix(path, e.root))
			}
		}
		return nil
	})
}

func (e *env) credentialsPath() string {
	return filepath.Join(e.root, "config", "neural", "credentials")
}

// configure runs auth configure with KEY=VALUE lines on stdin.
func (e *env) configure(platform, lines string, args ...string) run {
	e.t.Helper()
	cmd := e.command(append([]string{"auth", "configure", platform, "--stdin"}, args...)...)
	cmd.Stdin = strings.NewReader(lines)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := run{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// withoutFakeEnv drops the fake platform's settings from the environment,
// so that only stored credentials configure it.
func withoutFakeEnv(e *env) {
	var keep []string
	for _, kv := range e.extra {
		if !strings.HasPrefix(kv, "FAKEPLATFORM_DIR=") && !strings.HasPrefix(kv, "FAKEPLATFORM_API_KEY=") {
			keep = append(keep, kv)
		}
	}
	e.extra = keep
}
