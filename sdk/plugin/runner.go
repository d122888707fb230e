package plugin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"
)

// ErrChecksum is matched by a launch refused because the binary's sha256
// differs from the one expected.
var ErrChecksum = errors.New("plugin: binary checksum does not match")

// checkedRunner starts a plugin binary only once its sha256 is known to be
// the expected one. The hash is computed while go-plugin prepares the
// connection (certificates, sockets), instead of before it, so the check
// costs a launch almost nothing; nothing of the binary runs before it passes.
type checkedRunner struct {
	cmd            *exec.Cmd
	verified       <-chan error
	stdout, stderr io.ReadCloser
}

var _ runner.Runner = (*checkedRunner)(nil)

// hashFile starts hashing path and returns where the verdict will arrive.
func hashFile(path string, want []byte) <-chan error {
	ch := make(chan error, 1)
	go func() {
		f, err := os.Open(path)
		if err != nil {
			ch <- err
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			ch <- err
			return
		}
		if got := h.Sum(nil); subtle.ConstantTimeCompare(got, want) != 1 {
			ch <- fmt.Errorf("%w: %s has sha256 %s, want %s", ErrChecksum, path, hex.EncodeToString(got), hex.EncodeToString(want))
			return
		}
		ch <- nil
	}()
	return ch
}

// newRunner returns a RunnerFunc for go-plugin that runs path, in a
// process group of its own, with extra environment added. It stores the
// runner it makes in *made, so the caller can learn the process id.
func newRunner(path string, env []string, verified <-chan error, made **checkedRunner) func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error) {
	return func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
		cmd.Path, cmd.Args = path, []string{path}
		cmd.Env = append(cmd.Env, env...)
		// Its own process group, so that shutdown can kill everything the
		// plugin started and a terminal's Ctrl-C reaches only the host.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		r := &checkedRunner{cmd: cmd, verified: verified}
		var err error
		if r.stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
		if r.stderr, err = cmd.StderrPipe(); err != nil {
			return nil, err
		}
		*made = r
		return r, nil
	}
}

func (r *checkedRunner) Start(ctx context.Context) error {
	if r.verified != nil {
		select {
		case err := <-r.verified:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return r.cmd.Start()
}

func (r *checkedRunner) Wait(context.Context) error { return r.cmd.Wait() }

func (r *checkedRunner) Kill(context.Context) error {
	if r.cmd.Process == nil {
		return nil
	}
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (r *checkedRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *checkedRunner) Stderr() io.ReadCloser { return r.stderr }
func (r *checkedRunner) Name() string          { return r.cmd.Path }

func (r *checkedRunner) ID() string {
	if r.cmd.Process == nil {
		return ""
	}
	return strconv.Itoa(r.cmd.Process.Pid)
}

func (r *checkedRunner) Diagnose(context.Context) string {
	return "check that " + r.cmd.Path + " is a neural-host plugin built for this machine and that it does not write to stdout"
}

func (r *checkedRunner) PluginToHost(n, a string) (string, string, error) { return n, a, nil }
func (r *checkedRunner) HostToPlugin(n, a string) (string, string, error) { return n, a, nil }
