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
	foreign := filepath.Join(s.Dir, sdk.DefaultNamespace, "local", "notes")
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
	if err != nil || strings.Join(removed, ",") != filepath.Join(sdk.DefaultNamespace, "local", "0.1.0") {
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
	stray := filepath.Join(s.Dir, sdk.DefaultNamespace, "local", "..stray")
	if err := os.MkdirAll(stray, 0o755); err != nil {
		t.Fatal(err)
	}
	removed, err := s.Prune(func(_, ver string) bool { return ver == "0.2.0" })
	if err != nil || strings.Join(removed, ",") != filepath.Join(sdk.DefaultNamespace, "local", "0.1.0") {
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
	dir := filepath.Join(s.Dir, sdk.DefaultNamespace, "evil", "1.0.0", Platform())
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

// installIn installs a fake plugin that declares namespace ("" declares
// none).
func installIn(t *testing.T, s *Store, namespace, name, ver string) Installed {
	t.Helper()
	probe := func(context.Context, string, string) (sdk.Metadata, error) {
		return sdk.Metadata{Namespace: namespace, Name: name, Version: ver, ProtocolVersion: sdk.ProtocolVersion}, nil
	}
	inst, err := s.Install(context.Background(), strings.NewReader("binary "+namespace+name+ver), "test", Expect{Name: name}, probe)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestInstallUnderDeclaredNamespace(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	tests := []struct {
		namespace, want string
	}{
		{"", sdk.DefaultNamespace},
		{"acme", "acme"},
		{sdk.DefaultNamespace, sdk.DefaultNamespace},
	}
	for _, tt := range tests {
		inst := installIn(t, s, tt.namespace, "tool", "1.0.0")
		wantPath := filepath.Join(s.Dir, tt.want, "tool", "1.0.0", Platform(), BinaryPrefix+"tool")
		if inst.Namespace != tt.want || inst.Address() != tt.want+"/tool" || inst.Path != wantPath {
			t.Errorf("declared %q: installed %s at %s, want %s/tool at %s", tt.namespace, inst.Address(), inst.Path, tt.want, wantPath)
		}
		if _, err := os.Stat(inst.Path); err != nil {
			t.Errorf("declared %q: %v", tt.namespace, err)
		}
	}
}

func TestInstallRefusesBadNamespace(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	for _, ns := range []string{"..", "../x", "Acme", "a/b", "a_b"} {
		probe := func(context.Context, string, string) (sdk.Metadata, error) {
			return sdk.Metadata{Namespace: ns, Name: "tool", Version: "1.0.0", ProtocolVersion: sdk.ProtocolVersion}, nil
		}
		_, err := s.Install(context.Background(), strings.NewReader("bin"), "test", Expect{}, probe)
		var ie *InstallError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "invalid namespace") {
			t.Errorf("namespace %q: Install = %v, want a refusal naming the namespace", ns, err)
		}
	}
	if entries, _ := os.ReadDir(s.Dir); len(entries) != 0 {
		t.Errorf("refused installs left %v", entries)
	}
}

func TestListAndFindAcrossNamespaces(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	installIn(t, s, "zeta", "tool", "3.0.0")
	installIn(t, s, "acme", "tool", "2.0.0")
	official := installIn(t, s, "", "tool", "1.0.0")
	acmeOld := installIn(t, s, "acme", "tool", "1.5.0")
	installIn(t, s, "acme", "other", "1.0.0")
	all, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range all {
		got = append(got, p.Address()+"@"+p.Version)
	}
	want := "acme/other@1.0.0 official/tool@1.0.0 acme/tool@2.0.0 acme/tool@1.5.0 zeta/tool@3.0.0"
	if strings.Join(got, " ") != want {
		t.Errorf("List = %v, want %s", got, want)
	}
	if got := strings.Join(s.Namespaces("tool"), ","); got != "official,acme,zeta" {
		t.Errorf("Namespaces(tool) = %s, want official,acme,zeta", got)
	}
	for _, tt := range []struct {
		namespace, exact string
		want             Installed
		found            bool
	}{
		{"official", "", official, true},
		{"acme", "1.5.0", acmeOld, true},
		{"acme", "3.0.0", Installed{}, false},
		{"nobody", "", Installed{}, false},
	} {
		p, ok := s.Find(tt.namespace, "tool", nil, tt.exact)
		if ok != tt.found || p.Path != tt.want.Path {
			t.Errorf("Find(%s, tool, %q) = %s, %v; want %s, %v", tt.namespace, tt.exact, p.Path, ok, tt.want.Path, tt.found)
		}
	}
}

func TestRemoveAcrossNamespaces(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	installIn(t, s, "", "tool", "1.0.0")
	installIn(t, s, "acme", "tool", "1.0.0")
	installIn(t, s, "acme", "solo", "1.0.0")

	// A plain name in two namespaces names neither: nothing is removed.
	removed, err := s.Remove("tool", "")
	var amb *AmbiguousError
	if !errors.As(err, &amb) || !errors.Is(err, sdk.ErrInvalidArgument) || len(removed) != 0 ||
		!strings.Contains(err.Error(), "official/tool and acme/tool") || !strings.Contains(amb.Hint(), "NAMESPACE/NAME") {
		t.Fatalf("Remove(tool) = %v, %v; want an ambiguity naming both", removed, err)
	}
	tests := []struct {
		address, want string
	}{
		{"acme/tool", filepath.Join("acme", "tool", "1.0.0")},
		{"tool", filepath.Join("official", "tool", "1.0.0")}, // now in one namespace only
		{"solo", filepath.Join("acme", "solo", "1.0.0")},
	}
	for _, tt := range tests {
		removed, err := s.Remove(tt.address, "")
		if err != nil || strings.Join(removed, ",") != tt.want {
			t.Errorf("Remove(%s) = %v, %v; want %s", tt.address, removed, err, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "acme")); !IsNotExist(err) {
		t.Errorf("the emptied namespace acme is still there: %v", err)
	}
	if _, err := s.Remove("../tool", ""); !errors.Is(err, sdk.ErrInvalidArgument) {
		t.Errorf("Remove(../tool) = %v, want an invalid namespace", err)
	}
}

func TestPruneAcrossNamespaces(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	installIn(t, s, "", "tool", "1.0.0")
	installIn(t, s, "acme", "tool", "1.0.0")
	installIn(t, s, "acme", "tool", "2.0.0")
	var asked []string
	removed, err := s.Prune(func(addr, ver string) bool {
		asked = append(asked, addr+"@"+ver)
		return addr != "acme/tool" || ver == "2.0.0"
	})
	if err != nil || strings.Join(removed, ",") != filepath.Join("acme", "tool", "1.0.0") {
		t.Fatalf("Prune = %v, %v", removed, err)
	}
	if got := strings.Join(asked, " "); got != "acme/tool@1.0.0 acme/tool@2.0.0 official/tool@1.0.0" {
		t.Errorf("Prune asked about %s", got)
	}
}
