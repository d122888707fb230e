package project

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
	"github.com/neural-dsl/neural-host/sdk"
)

// nobody owns the directories these tests need to be someone else's.
const nobody = 65534

// foreignDir returns a directory owned by another user than the one
// running the test: a chowned temporary directory when the test runs as
// root, else / (owned by root).
func foreignDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return "/"
	}
	dir := t.TempDir()
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatalf("chown %s: %v", dir, err)
	}
	return dir
}

func TestCheckOwner(t *testing.T) {
	own := t.TempDir()
	foreign := foreignDir(t)
	uid := os.Geteuid()
	for _, tc := range []struct {
		what string
		dir  string
		env  map[string]string
		safe bool
	}{
		{"your own directory", own, nil, true},
		{"another user's directory", foreign, nil, false},
		{"listed as safe", foreign, map[string]string{EnvSafeDirectories: "/elsewhere" + string(filepath.ListSeparator) + foreign + "/"}, true},
		{"another directory listed", foreign, map[string]string{EnvSafeDirectories: own}, false},
		{"every directory trusted", foreign, map[string]string{EnvSafeDirectories: "*"}, true},
		// git trusts the sudo user's repositories for root; no one else's.
		{"sudo from the owner", foreign, map[string]string{"SUDO_UID": "65534"}, uid == 0 && foreign != "/"},
		{"sudo from someone else", foreign, map[string]string{"SUDO_UID": "12345"}, false},
	} {
		t.Run(tc.what, func(t *testing.T) {
			err := checkOwner(tc.dir, func(k string) string { return tc.env[k] })
			if tc.safe {
				if err != nil {
					t.Fatalf("checkOwner(%s) = %v, want trusted", tc.dir, err)
				}
				return
			}
			var ue *UnsafeError
			if !errors.As(err, &ue) || !errors.Is(err, sdk.ErrInvalidArgument) || ue.Dir != tc.dir ||
				!strings.Contains(err.Error(), tc.dir) || !strings.Contains(ue.Hint(), EnvSafeDirectories) {
				t.Fatalf("checkOwner(%s) = %v, want an UnsafeError naming the directory with a hint", tc.dir, err)
			}
		})
	}
}

// TestFindRefusesAnotherUsersProject plants a neural.lock in a parent
// directory owned by another user, as anyone can in a shared /tmp.
func TestFindRefusesAnotherUsersProject(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can make a directory another user owns; TestCheckOwner covers the rule against / instead")
	}
	t.Setenv("SUDO_UID", "")
	t.Setenv(EnvSafeDirectories, "")
	proj := foreignDir(t)
	if err := os.WriteFile(filepath.Join(proj, LockFile), []byte("plugins: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(proj, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	_, ok, err := Find(work)
	var ue *UnsafeError
	if ok || !errors.As(err, &ue) || ue.Dir != proj {
		t.Fatalf("Find = %v, %v; want the project refused", ok, err)
	}
	t.Setenv(EnvSafeDirectories, proj)
	if p, ok, err := Find(work); !ok || err != nil || p.Dir != proj {
		t.Fatalf("Find with the project listed as safe = %+v, %v, %v", p, ok, err)
	}
}

func TestPluginNamesInProjectFiles(t *testing.T) {
	for _, tc := range []struct {
		file, body, want string
	}{
		{ConfigFile, "required_plugins:\n  local: \">= 0.1\"\n  acme/cloud: \"\"\n", ""},
		{ConfigFile, "required_plugins:\n  ../../evil: \">= 0.1\"\n", "required_plugins.../../evil"},
		{ConfigFile, "required_plugins:\n  Evil/cloud: \"\"\n", "not a plugin namespace"},
		{LockFile, "plugins:\n  official/local:\n    version: 0.1.0\n", ""},
		{LockFile, "plugins:\n  official/../../x:\n    version: 0.1.0\n", "plugins.official/../../x"},
		{LockFile, "plugins:\n  official/local:\n", "has no version"},
	} {
		p := Project{Dir: t.TempDir()}
		if err := os.WriteFile(filepath.Join(p.Dir, tc.file), []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		if tc.file == ConfigFile {
			_, err = p.Config()
		} else {
			_, err = p.Lock()
		}
		if (tc.want == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), tc.want) || !errors.Is(err, sdk.ErrInvalidArgument))) {
			t.Errorf("%s with\n%s: %v, want %q", tc.file, tc.body, err, tc.want)
		}
	}
}

func TestFindWalksUpToTheNearestProject(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b", "c")
	os.MkdirAll(deep, 0o755)
	tests := []struct {
		name  string
		file  string // created under root/a, "" for none
		found bool
	}{
		{"config file", ConfigFile, true},
		{"lock file alone", LockFile, true},
	}
	for _, tc := range tests {
		dir := filepath.Join(root, "a")
		os.WriteFile(filepath.Join(dir, tc.file), []byte("{}\n"), 0o644)
		p, ok, err := Find(deep)
		if err != nil || ok != tc.found || p.Dir != dir {
			t.Errorf("%s: Find = %+v, %v, %v; want %s", tc.name, p, ok, err, dir)
		}
		os.Remove(filepath.Join(dir, tc.file))
	}
	if _, ok, err := Find(t.TempDir()); ok || err != nil {
		t.Errorf("a directory without project files was found as one: %v", err)
	}
}

func TestConstraint(t *testing.T) {
	tests := []struct {
		in      string
		matches string
		want    bool
		fails   bool
	}{
		{"", "0.0.1", true, false},
		{">= 1.2, < 2.0", "1.9.0", true, false},
		{">= 1.2, < 2.0", "2.0.0", false, false},
		{"~> 1.2", "1.3.0", true, false},
		{"not a constraint", "", false, true},
	}
	for _, tc := range tests {
		c, err := Constraint(tc.in)
		if (err != nil) != tc.fails {
			t.Errorf("Constraint(%q) = %v, fails=%v", tc.in, err, tc.fails)
			continue
		}
		if tc.fails {
			continue
		}
		v := version.Must(version.NewVersion(tc.matches))
		if got := c == nil || c.Check(v); got != tc.want {
			t.Errorf("Constraint(%q).Check(%s) = %v, want %v", tc.in, tc.matches, got, tc.want)
		}
	}
}

func TestUpdateLockRoundTrips(t *testing.T) {
	p := Project{Dir: t.TempDir()}
	l, err := p.Lock()
	if err != nil || len(l.Plugins) != 0 {
		t.Fatalf("missing lock = %+v, %v; want an empty lock", l, err)
	}
	for _, ver := range []string{"1.0.0", "1.1.0"} {
		err := p.UpdateLock(func(l *Lock) error {
			l.Plugins[Address("local")] = &Locked{Version: ver, Constraint: "~> 1.0", Hashes: map[string]string{"linux_amd64": Hash("ab12")}}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	l, err = p.Lock()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		address, version string
		want             bool
	}{
		{"official/local", "1.1.0", true},
		{"official/local", "1.0.0", false},
		{"official/other", "1.1.0", false},
	}
	for _, tc := range tests {
		if got := l.Referenced(tc.address, tc.version); got != tc.want {
			t.Errorf("Referenced(%s, %s) = %v, want %v", tc.address, tc.version, got, tc.want)
		}
	}
	if got := l.Plugins["official/local"].Hashes["linux_amd64"]; got != "sha256:ab12" {
		t.Errorf("hash %q", got)
	}
	b, _ := os.ReadFile(filepath.Join(p.Dir, LockFile))
	if !strings.HasPrefix(string(b), "# neural.lock") {
		t.Errorf("the lock file lost its header:\n%s", b)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(p.Dir, ".neural.lock-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	refuse := errors.New("refused")
	if err := p.UpdateLock(func(*Lock) error { return refuse }); !errors.Is(err, refuse) {
		t.Errorf("UpdateLock = %v, want fn's error", err)
	}
}

func TestAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{{"local", "official/local"}, {"acme/local", "acme/local"}} {
		if got := Address(tc.in); got != tc.want {
			t.Errorf("Address(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
