//go:build linux

// Tests that need a pseudo-terminal or inotify, which these helpers reach
// through Linux's interfaces.

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ptyRun is a command on a pseudo-terminal, as a person at a shell runs it.
type ptyRun struct {
	cmd    *exec.Cmd
	master *os.File
	mu     sync.Mutex
	out    strings.Builder
	done   chan struct{}
}

func startPTY(t *testing.T, cmd *exec.Cmd) *ptyRun {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	p := &ptyRun{cmd: cmd, master: master, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); master.Close() })
	return p
}

func (p *ptyRun) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// wait polls until the screen shows s.
func (p *ptyRun) wait(t *testing.T, s string) {
	t.Helper()
	eventually(t, 20*time.Second, fmt.Sprintf("%q on the terminal (so far: %q)", s, p.output()), func() bool { return strings.Contains(p.output(), s) })
}

func (p *ptyRun) send(t *testing.T, line string) {
	t.Helper()
	if _, err := p.master.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
}

// exit waits for the command and returns its exit code.
func (p *ptyRun) exit(t *testing.T) int {
	t.Helper()
	err := p.cmd.Wait()
	<-p.done
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

type authRow struct {
	Platform string `json:"platform"`
	Status   string `json:"status"`
	Identity string `json:"identity"`
	Message  string `json:"message"`
	Hint     string `json:"hint"`
}

func (e *env) authCheck(platform string) (authRow, int) {
	e.t.Helper()
	r := e.run("auth", "check", platform, "-o", "json")
	var rows []authRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 1 {
		e.t.Fatalf("auth check: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	return rows[0], r.code
}

func TestAuthConfigureCheckLogout(t *testing.T) {
	e := newFakeEnv(t)
	withoutFakeEnv(e)
	row, code := e.authCheck("fake")
	if code != 3 || row.Status != "not configured" || !strings.Contains(row.Hint, "neural-host auth configure fake") {
		t.Fatalf("before configure: exit %d %+v", code, row)
	}
	r := e.configure("fake", "dir="+e.fakeDir()+"\napi_key=k1\naccount=stored\n", "-o", "json")
	if r.code != 0 || strings.Contains(r.stdout, "k1") {
		t.Fatalf("configure: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	keysOf(t, "auth configure", r.stdout, "platform", "path", "keys", "overridden_by_env")
	if row, code = e.authCheck("fake"); code != 0 || row.Status != "ok" || row.Identity != "tester@stored" {
		t.Fatalf("after configure: exit %d %+v", code, row)
	}
	// The platform's environment variable overrides the stored value,
	// which overrides the config file.
	os.WriteFile(filepath.Join(e.root, "config", "neural", "config.yaml"), []byte("platforms:\n  fake:\n    account: fromconfig\n"), 0o644)
	if row, _ = e.authCheck("fake"); row.Identity != "tester@stored" {
		t.Errorf("credentials vs config file: %+v", row)
	}
	saved := e.extra
	e.extra = append(append([]string(nil), e.extra...), "FAKEPLATFORM_ACCOUNT=fromenv")
	if row, _ = e.authCheck("fake"); row.Identity != "tester@fromenv" {
		t.Errorf("environment vs credentials: %+v", row)
	}
	e.extra = saved
	e.configure("fake", "", "--unset", "account")
	if row, _ = e.authCheck("fake"); row.Identity != "tester@fromconfig" {
		t.Errorf("after --unset: %+v", row)
	}
	// Bad input changes nothing and names the key.
	before, _ := os.ReadFile(e.credentialsPath())
	r = e.configure("fake", "api_kee=typo\n")
	after, _ := os.ReadFile(e.credentialsPath())
	if r.code != 2 || !strings.Contains(r.stderr, "fake.api_kee") || !strings.Contains(r.stderr, "api_key") || string(before) != string(after) {
		t.Errorf("unknown key: exit %d %s", r.code, r.stderr)
	}
	if r := e.run("auth", "configure", "fake"); r.code != 2 || !strings.Contains(r.stderr, "--stdin") {
		t.Errorf("no terminal and no values: exit %d %s", r.code, r.stderr)
	}
	var out struct {
		Removed bool `json:"removed"`
	}
	logout := e.ok("auth", "logout", "fake", "-o", "json")
	keysOf(t, "auth logout", logout, "platform", "path", "removed")
	if json.Unmarshal([]byte(logout), &out); !out.Removed {
		t.Error("logout removed nothing")
	}
	if row, code = e.authCheck("fake"); code != 3 || row.Status != "not configured" {
		t.Errorf("after logout: exit %d %+v", code, row)
	}
	e.json(&out, "auth", "logout", "fake")
	if out.Removed {
		t.Error("a second logout removed something")
	}
}

// TestCredentialsFileIsNeverReadable watches the config directory while
// the file is created, changed and emptied. With a umask that masks
// nothing, a file created with a looser mode would stay looser unless
// chmod-ed, and a chmod is an IN_ATTRIB event: so a final mode of 0600 and
// no IN_ATTRIB event mean every file there was 0600 from its creation.
func TestCredentialsFileIsNeverReadable(t *testing.T) {
	e := newFakeEnv(t)
	withoutFakeEnv(e)
	dir := filepath.Dir(e.credentialsPath())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_ATTRIB|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	for _, step := range []string{"dir=" + e.fakeDir() + "\napi_key=k1\n", "client_secret=s2\n", "api_key=k3\n"} {
		if r := e.configure("fake", step); r.code != 0 {
			t.Fatalf("configure: exit %d %s", r.code, r.stderr)
		}
		if st, err := os.Stat(e.credentialsPath()); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("credentials file: %v %v", st.Mode(), err)
		}
	}
	e.ok("auth", "logout", "fake")
	syscall.Umask(old)
	var created, attrib []string
	buf := make([]byte, 1<<16)
	n, _ := unix.Read(fd, buf)
	for off := 0; off+unix.SizeofInotifyEvent <= n; {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
		switch {
		case ev.Mask&unix.IN_ATTRIB != 0:
			attrib = append(attrib, name)
		case ev.Mask&unix.IN_CREATE != 0:
			created = append(created, name)
		}
		off += unix.SizeofInotifyEvent + int(ev.Len)
	}
	if len(created) < 4 {
		t.Errorf("saw %d files created, want one per write: %v", len(created), created)
	}
	if len(attrib) > 0 {
		t.Errorf("permissions changed after creation on %v", attrib)
	}
	if st, err := os.Stat(e.credentialsPath()); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("final credentials file: %v %v", st, err)
	}
}

func TestAuthConfigurePromptsWithoutEchoingSecrets(t *testing.T) {
	e := newFakeEnv(t)
	withoutFakeEnv(e)
	const secret = "typed-secret-31337"
	p := startPTY(t, e.command("auth", "configure", "fake"))
	p.wait(t, "dir (")
	p.send(t, e.fakeDir())
	p.wait(t, "api_key (")
	p.send(t, secret)
	p.wait(t, "client_secret (")
	p.send(t, "")
	p.wait(t, "account (")
	p.send(t, "")
	if code := p.exit(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.output())
	}
	screen := p.output()
	if !strings.Contains(screen, e.fakeDir()) {
		t.Errorf("a plain answer was not echoed:\n%s", screen)
	}
	if strings.Contains(screen, secret) {
		t.Errorf("the secret was echoed:\n%s", screen)
	}
	b, _ := os.ReadFile(e.credentialsPath())
	if !strings.Contains(string(b), secret) || strings.Contains(string(b), "client_secret") {
		t.Errorf("stored:\n%s", b)
	}
	if row, code := e.authCheck("fake"); code != 0 || row.Identity != "tester@fake-account" {
		t.Errorf("auth check: exit %d %+v", code, row)
	}
}

func TestBatchBarsOnATerminal(t *testing.T) {
	e := newFakeEnv(t)
	path := e.writeBatch("id: bars\nplatform: fake\nbase: {kind: command, command: [train]}\nmatrix:\n  env.SEED: [" + seq(5) + "]\n")
	p := startPTY(t, e.command("batch", "submit", path, "--yes"))
	p.wait(t, "Batch bars: 5 submitted")
	out := p.output()
	// Redrawn in place: the cursor moves back up over the bar.
	if !strings.Contains(out, "\x1b[1A") || !strings.Contains(out, "] 5/5") || !strings.Contains(out, strings.Repeat("#", 30)) {
		t.Errorf("terminal progress:\n%q", out)
	}
	if strings.Contains(out, "[1/5]") {
		t.Errorf("plain progress lines on a terminal:\n%q", out)
	}
}
