package project

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
