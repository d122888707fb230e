package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

// fakeProbe reports metadata without starting anything.
func fakeProbe(name, ver string) Probe {
	return func(context.Context, string, string) (sdk.Metadata, error) {
		return sdk.Metadata{Name: name, Version: ver, ProtocolVersion: sdk.ProtocolVersion}, nil
	}
}

func installFake(t *testing.T, s *Store, name, ver string) Installed {
	t.Helper()
	inst, err := s.Install(context.Background(), strings.NewReader("binary "+name+ver), "test", Expect{Name: name}, fakeProbe(name, ver))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestValidVersion(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"0.1.0", true},
		{"1.2.3-rc.1", true},
		{"1.2.3+build.5", true},
		{"v1.2.3", true},
		{"", false},
		{"1.2", false},
		{"1", false},
		{"..", false},
		{"../../../x", false},
		{"1.2.3/../..", false},
		{"1.2.3-..", false},
		{"1.2.3-a..b", false},
		{"*", false},
		{"1.2.*", false},
		{"1.2.3 ", false},
		{"1.2.3-" + strings.Repeat("a", 60), false},
	} {
		if got := ValidVersion(tc.v); got != tc.want {
			t.Errorf("ValidVersion(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

// TestRemoveStaysInStore: names and versions given to remove are checked
// against the rules, and only directories the store lists are deleted.
func TestRemoveStaysInStore(t *testing.T) {
	root := t.TempDir()
	s := &Store{Dir: filepath.Join(root, "data", "neural", "plugins")}
	installFake(t, s, "local", "0.1.0")
	installFake(t, s, "other", "1.0.0")
	// What the paths below would reach as glob patterns: DIR/*/local/../../../x
	// is DIR/../x, and DIR/*/../../* is every sibling of DIR.
	victims := []string{filepath.Join(s.Dir, "..", "x"), filepath.Join(s.Dir, "..", "keep")}
	for _, v := range victims {
		if err := os.MkdirAll(v, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A directory in the store that is not an install is not the store's.
	foreign := filepath.Join(s.Dir, Namespace, "local", "notes")
	if err := os.MkdirAll(foreign, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, ver, field string }{
		{"local", "../../../x", "VERSION"},
		{"local", "../../../../x", "VERSION"},
		{"local", "*", "VERSION"},
		{"..", "", "NAME"},
		{"../..", "", "NAME"},
		{"*", "", "NAME"},
		{"local/../other", "", "NAME"},
	} {
		removed, err := s.Remove(tc.name, tc.ver)
		var se *sdk.Error
		if !errors.As(err, &se) || se.Field != tc.field || !errors.Is(err, sdk.ErrInvalidArgument) || len(removed) != 0 {
			t.Errorf("Remove(%q, %q) = %v, %v; want an invalid-argument error on %s", tc.name, tc.ver, removed, err, tc.field)
		}
	}
	for _, v := range victims {
		if _, err := os.Stat(v); err != nil {
			t.Errorf("%s outside the store is gone: %v", v, err)
		}
	}
	removed, err := s.Remove("local", "")
	if err != nil || strings.Join(removed, ",") != filepath.Join(Namespace, "local", "0.1.0") {
		t.Fatalf("Remove(local) = %v, %v", removed, err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("a directory that is not an install was removed: %v", err)
	}
	if all, _ := s.List(); len(all) != 1 || all[0].Name != "other" {
		t.Errorf("after remove: %+v", all)
	}
}

func TestPruneRemovesOnlyListedInstalls(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	installFake(t, s, "local", "0.1.0")
	installFake(t, s, "local", "0.2.0")
	stray := filepath.Join(s.Dir, Namespace, "local", "..stray")
	if err := os.MkdirAll(stray, 0o755); err != nil {
		t.Fatal(err)
	}
	removed, err := s.Prune(func(_, ver string) bool { return ver == "0.2.0" })
	if err != nil || strings.Join(removed, ",") != filepath.Join(Namespace, "local", "0.1.0") {
		t.Fatalf("Prune = %v, %v", removed, err)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("prune removed a directory that is not an install: %v", err)
	}
}

// endless is an archive member or file that never ends; read counts what
// was taken from it.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	clear(p)
	e.read += int64(len(p))
	return len(p), nil
}

func TestInstallCapsSize(t *testing.T) {
	defer func(old int64) { maxBinarySize = old }(maxBinarySize)
	maxBinarySize = 1 << 20
	s := &Store{Dir: t.TempDir()}
	src := &endless{}
	probed := false
	probe := func(context.Context, string, string) (sdk.Metadata, error) { probed = true; return sdk.Metadata{}, nil }
	_, err := s.Install(context.Background(), src, "huge", Expect{}, probe)
	var ie *InstallError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "more than the 1 MiB") {
		t.Fatalf("Install = %v, want a refusal naming the limit", err)
	}
	// What was staged is at most what was read.
	if src.read > maxBinarySize+1 {
		t.Errorf("read %d bytes, more than the %d limit allows", src.read, maxBinarySize)
	}
	if probed {
		t.Error("an oversized binary was started")
	}
	if left, _ := filepath.Glob(filepath.Join(s.Dir, ".install-*")); len(left) > 0 {
		t.Errorf("staging left behind: %v", left)
	}
}

func TestListIgnoresForeignManifests(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	good := installFake(t, s, "local", "0.1.0")
	// A manifest whose name disagrees with its directory would point the
	// binary's path elsewhere.
	dir := filepath.Join(s.Dir, Namespace, "evil", "1.0.0", Platform())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := `{"namespace":"official","name":"../../../../x","version":"1.0.0","platform":"` + Platform() + `"}`
	if err := os.WriteFile(filepath.Join(dir, manifestFile), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	all, err := s.List()
	if err != nil || len(all) != 1 || all[0].Path != good.Path {
		t.Errorf("List = %+v, %v; want only the real install", all, err)
	}
}
