package discovery

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/host/internal/project"
	"github.com/neural-dsl/neural-host/host/internal/store"
	"github.com/neural-dsl/neural-host/sdk"
)

func touch(t *testing.T, dir, name string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("bin"), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// install puts a fake binary into a store without starting it.
func install(t *testing.T, s *store.Store, name, ver string) store.Installed {
	t.Helper()
	probe := func(context.Context, string, string) (sdk.Metadata, error) {
		return sdk.Metadata{Name: name, Version: ver, ProtocolVersion: sdk.ProtocolVersion}, nil
	}
	inst, err := s.Install(context.Background(), strings.NewReader("binary "+name+ver), "test", store.Expect{Name: name}, probe)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestResolveOrder(t *testing.T) {
	flat := t.TempDir()
	s := &store.Store{Dir: t.TempDir()}
	touch(t, flat, "neural-plugin-local", 0o755)
	touch(t, flat, "neural-plugin-flat", 0o755)
	touch(t, flat, "neural-plugin-notexec", 0o644)
	install(t, s, "local", "0.1.0")
	newest := install(t, s, "local", "0.10.0")
	old := install(t, s, "local", "0.9.0")
	r := &Resolver{Stores: []*store.Store{s}, SearchDirs: []string{flat}, DevOverrides: map[string]string{"dev": "/build/neural-plugin-dev"}}

	tests := []struct {
		name   string
		path   string
		source Source
		sha    string
	}{
		{"local", newest.Path, FromStore, newest.SHA256},
		{"flat", filepath.Join(flat, "neural-plugin-flat"), FromSearchPath, ""},
		{"dev", "/build/neural-plugin-dev", FromDevOverride, ""},
	}
	for _, tt := range tests {
		p, err := r.Resolve(tt.name)
		if err != nil || p.Path != tt.path || p.Source != tt.source || p.SHA256 != tt.sha {
			t.Errorf("Resolve(%s) = %+v, %v", tt.name, p, err)
		}
		if (tt.source != FromStore) != (p.Warning != "") {
			t.Errorf("Resolve(%s): warning %q", tt.name, p.Warning)
		}
	}
	var nie *NotInstalledError
	if _, err := r.Resolve("notexec"); !errors.As(err, &nie) {
		t.Errorf("non-executable file resolved: %v", err)
	}
	if got := strings.Join(r.Names(), ","); got != "dev,flat,local" {
		t.Errorf("Names = %s", got)
	}

	// A lock file pins a version and its hash.
	r.Lock = &project.Lock{Plugins: map[string]*project.Locked{"official/local": {Version: "0.9.0",
		Hashes: map[string]string{store.Platform(): project.Hash("feed")}}}}
	p, err := r.Resolve("local")
	if err != nil || p.Path != old.Path || p.SHA256 != "feed" || p.Source != FromLock {
		t.Errorf("locked: %+v, %v", p, err)
	}
	r.Lock.Plugins["official/local"].Version = "2.0.0"
	if _, err := r.Resolve("local"); !errors.As(err, &nie) || !strings.Contains(err.Error(), "pins version 2.0.0") {
		t.Errorf("missing locked version: %v", err)
	}
}

// A name that is not a platform name must never become a path: lexically
// "neural-plugin-../evil" under a search dir cleans to the dir's evil.
func TestResolveRefusesMalformedNames(t *testing.T) {
	flat := t.TempDir()
	touch(t, flat, "evil", 0o755)
	touch(t, flat, "neural-plugin-Evil", 0o755)
	touch(t, flat, "neural-plugin-a.b", 0o755)
	touch(t, flat, "neural-plugin-good", 0o755)
	r := &Resolver{Stores: []*store.Store{{Dir: t.TempDir()}}, SearchDirs: []string{flat},
		DevOverrides: map[string]string{"../evil": filepath.Join(flat, "evil")}}
	for _, name := range []string{"../evil", "../../../../proc/self/cwd/evil", "Evil", "a.b", "", "good/../../evil"} {
		p, err := r.Resolve(name)
		if !errors.Is(err, sdk.ErrInvalidArgument) || !strings.Contains(err.Error(), "platform") || p.Path != "" {
			t.Errorf("Resolve(%q) = %+v, %v; want an invalid-argument error naming platform and no path", name, p, err)
		}
	}
	if got := strings.Join(r.Names(), ","); got != "good" {
		t.Errorf("Names = %q, want only the well-formed name", got)
	}
}

// installIn puts a fake binary that declares namespace into a store.
func installIn(t *testing.T, s *store.Store, namespace, name, ver string) store.Installed {
	t.Helper()
	probe := func(context.Context, string, string) (sdk.Metadata, error) {
		return sdk.Metadata{Namespace: namespace, Name: name, Version: ver, ProtocolVersion: sdk.ProtocolVersion}, nil
	}
	inst, err := s.Install(context.Background(), strings.NewReader("binary "+namespace+name+ver), "test", store.Expect{Name: name}, probe)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestResolveAcrossNamespaces: a name in two namespaces resolves the same
// way every time: the lock's address, else official, else an error naming
// both third-party addresses.
func TestResolveAcrossNamespaces(t *testing.T) {
	user, site := &store.Store{Dir: t.TempDir()}, &store.Store{Dir: t.TempDir()}
	official := installIn(t, site, "", "both", "1.0.0")
	acmeBoth := installIn(t, user, "acme", "both", "9.0.0")
	acmeOnly := installIn(t, user, "acme", "solo", "1.0.0")
	installIn(t, user, "acme", "clash", "1.0.0")
	zetaClash := installIn(t, site, "zeta", "clash", "2.0.0")
	lockOf := func(addr string, inst store.Installed) *project.Lock {
		return &project.Lock{Plugins: map[string]*project.Locked{addr: {Version: inst.Version,
			Hashes: map[string]string{store.Platform(): project.Hash(inst.SHA256)}}}}
	}
	tests := []struct {
		name      string
		lock      *project.Lock
		platform  string
		want      string // path; empty wants an ambiguity
		ambiguous string
	}{
		{"official wins over a third party", nil, "both", official.Path, ""},
		{"one third-party namespace", nil, "solo", acmeOnly.Path, ""},
		{"two third-party namespaces", nil, "clash", "", "acme/clash and zeta/clash"},
		{"the lock's address wins over official", lockOf("acme/both", acmeBoth), "both", acmeBoth.Path, ""},
		{"the lock's address settles an ambiguity", lockOf("zeta/clash", zetaClash), "clash", zetaClash.Path, ""},
		{"a plain lock address is official", lockOf("both", official), "both", official.Path, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Resolver{Stores: []*store.Store{user, site}, Lock: tt.lock}
			p, err := r.Resolve(tt.platform)
			if tt.ambiguous == "" {
				if err != nil || p.Path != tt.want {
					t.Errorf("Resolve(%s) = %s, %v; want %s", tt.platform, p.Path, err, tt.want)
				}
				return
			}
			var amb *store.AmbiguousError
			if !errors.As(err, &amb) || !errors.Is(err, sdk.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.ambiguous) ||
				!strings.Contains(amb.Hint(), "neural.yaml") || !strings.Contains(amb.Hint(), "acme/"+tt.platform) || p.Path != "" {
				t.Errorf("Resolve(%s) = %+v, %v; want an ambiguity naming %s with a hint to pin one", tt.platform, p, err, tt.ambiguous)
			}
		})
	}
	if got := strings.Join((&Resolver{Stores: []*store.Store{user, site}}).Names(), ","); got != "both,clash,solo" {
		t.Errorf("Names = %s", got)
	}
}
