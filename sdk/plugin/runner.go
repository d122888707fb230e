package plugin

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"
)

// outputGrace bounds how long a plugin's stdout and stderr may stay open
// once its process group is gone. Only a descendant that left the group can
// still hold them then, and it may do so forever; go-plugin waits for the
// end of both pipes before it counts the plugin as exited.
const outputGrace = 250 * time.Millisecond

// checkedRunner runs a plugin binary, in a process group of its own, for
// go-plugin. With a checksum expected, it starts the binary only once the
// bytes it is about to execute are known to be the expected ones. The hash
// is computed while go-plugin prepares the connection (certificates,
// sockets), instead of before it, so the check costs a launch almost
// nothing; nothing of the binary runs before it passes.
//
// When the plugin process exits, the runner kills what is left of its
// group and closes its output pipes after at most outputGrace, so that
// neither go-plugin nor the host waits on a child the plugin left behind.
type checkedRunner struct {
	cmd            *exec.Cmd
	path           string
	binary         *pendingBinary // nil when no checksum is expected
	stdout, stderr *outputPipe
	// tls, when set, receives the certificate the plugin prints before
	// its handshake line; see mtls.go.
	tls       *tls.Config
	handshake io.ReadCloser // what go-plugin reads: stdout, less that line

	// exited is closed once the process is reaped and its pipes closed;
	// waitErr is then its exit status.
	exited  chan struct{}
	waitErr error
	// killed is set when Kill found the process still running.
	killed atomic.Bool
	// leftovers is set when processes of the group outlived the plugin.
	leftovers atomic.Bool
}

var _ runner.Runner = (*checkedRunner)(nil)

// newRunner returns a RunnerFunc for go-plugin that runs path with extra
// environment added. It stores the runner it makes in *made, so the caller
// can learn the process id and how the process ended.
func newRunner(path string, env []string, binary *pendingBinary, tlsConfig *tls.Config, made **checkedRunner) func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error) {
	return func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
		// argv[0] is the path the user knows, whatever is executed, so
		// that ps shows it and a plugin can take its name from it.
		cmd.Path, cmd.Args = path, []string{path}
		cmd.Env = append(cmd.Env, env...)
		// Its own process group, so that shutdown can kill everything the
		// plugin started and a terminal's Ctrl-C reaches only the host.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		r := &checkedRunner{cmd: cmd, path: path, binary: binary, tls: tlsConfig, exited: make(chan struct{})}
		*made = r
		return r, nil
	}
}

func (r *checkedRunner) Start(ctx context.Context) error {
	if r.binary != nil {
		exe, err := r.binary.await(ctx)
		if err != nil {
			return err
		}
		if err := exe.prepare(r.cmd); err != nil {
			return err
		}
	}
	// Pipes of the runner's own rather than cmd.StdoutPipe: exec.Cmd.Wait
	// closes those as soon as the process is reaped, dropping what the
	// plugin wrote last, while a child holding them would keep go-plugin
	// reading forever. Here they are closed once read to their end, or
	// after outputGrace.
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		return err
	}
	stderr, stderrW, err := os.Pipe()
	if err != nil {
		stdout.Close()
		stdoutW.Close()
		return err
	}
	r.cmd.Stdout, r.cmd.Stderr = stdoutW, stderrW
	err = r.cmd.Start()
	stdoutW.Close()
	stderrW.Close()
	if err != nil {
		stdout.Close()
		stderr.Close()
		return err
	}
	r.stdout, r.stderr = newOutputPipe(stdout), newOutputPipe(stderr)
	r.handshake = r.stdout
	if r.tls != nil {
		r.handshake = newCertLineReader(r.stdout, r.tls)
	}
	groups.add(r.cmd.Process.Pid)
	go r.reap()
	return nil
}

// reap waits for the plugin process to exit, kills what is left of its
// group, and closes its output pipes.
func (r *checkedRunner) reap() {
	pid := r.cmd.Process.Pid
	// Where the exit can be seen before the process is reaped, the group
	// is killed while the zombie still holds its id, which therefore
	// cannot have been reused by an unrelated group.
	unreaped := awaitExit(pid) == nil
	if unreaped {
		r.endGroup(pid)
	}
	err := r.cmd.Wait()
	if !unreaped {
		r.endGroup(pid)
	}
	r.binary.release()
	timer := time.NewTimer(outputGrace)
	defer timer.Stop()
	expired := false
	for _, p := range []*outputPipe{r.stdout, r.stderr} {
		if !expired {
			select {
			case <-p.eof:
			case <-timer.C:
				expired = true
			}
		}
		p.Close()
	}
	r.waitErr = err
	close(r.exited)
}

// endGroup kills every process left in the plugin's group, noting whether
// there were any.
func (r *checkedRunner) endGroup(pgid int) {
	r.leftovers.Store(syscall.Kill(-pgid, 0) == nil && groupHasLive(pgid))
	groups.end(pgid)
}

func (r *checkedRunner) Wait(context.Context) error {
	<-r.exited
	return r.waitErr
}

// Kill kills the plugin's whole process group, so that a child holding
// its output cannot outlive it.
func (r *checkedRunner) Kill(context.Context) error {
	if r.cmd.Process == nil {
		return nil
	}
	if groups.kill(r.cmd.Process.Pid) {
		r.killed.Store(true)
	}
	// The plugin may have moved itself to another group.
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (r *checkedRunner) Stdout() io.ReadCloser { return r.handshake }
func (r *checkedRunner) Stderr() io.ReadCloser { return r.stderr }
func (r *checkedRunner) Name() string          { return r.path }

func (r *checkedRunner) ID() string {
	if r.cmd.Process == nil {
		return ""
	}
	return strconv.Itoa(r.cmd.Process.Pid)
}

func (r *checkedRunner) Diagnose(context.Context) string {
	return "check that " + r.path + " is a neural-host plugin built for this machine and that it does not write to stdout"
}

func (r *checkedRunner) PluginToHost(n, a string) (string, string, error) { return n, a, nil }
func (r *checkedRunner) HostToPlugin(n, a string) (string, string, error) { return n, a, nil }

// outputPipe is the read end of a plugin's stdout or stderr. Once it is
// closed, a Read reports io.EOF rather than an error, since go-plugin takes
// the end of these pipes for the end of the plugin's output and logs any
// other error.
type outputPipe struct {
	f      *os.File
	eof    chan struct{} // closed when a Read has reached the end
	once   sync.Once
	closed atomic.Bool
}

func newOutputPipe(f *os.File) *outputPipe { return &outputPipe{f: f, eof: make(chan struct{})} }

func (p *outputPipe) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	if err != nil && (err == io.EOF || p.closed.Load()) {
		p.once.Do(func() { close(p.eof) })
		return n, io.EOF
	}
	return n, err
}

func (p *outputPipe) Close() error {
	p.closed.Store(true)
	return p.f.Close()
}

// groups is the process group of every plugin this process started and
// has not reaped, for KillAll.
var groups = &groupSet{live: map[int]bool{}}

type groupSet struct {
	mu   sync.Mutex
	live map[int]bool
}

func (s *groupSet) add(pgid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live[pgid] = true
}

// kill kills group pgid if its leader has not been reaped, and reports
// whether it did. A reaped leader's id may belong to someone else by now.
func (s *groupSet) kill(pgid int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.live[pgid] {
		return false
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return true
}

// end kills group pgid and forgets it.
func (s *groupSet) end(pgid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	delete(s.live, pgid)
}

// KillAll kills the process group of every plugin this process started
// and has not yet reaped, and returns at once: it waits for nothing. It is
// for a host that must exit now, on a second Ctrl-C or a shutdown that is
// stuck, as go-plugin's CleanupClients is for Terraform; Conn.Close is the
// orderly way. Plugins that outlive their host end themselves too, but only
// within a second.
func KillAll() {
	groups.mu.Lock()
	defer groups.mu.Unlock()
	for pgid := range groups.live {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}
