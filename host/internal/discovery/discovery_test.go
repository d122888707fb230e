package discovery

import (
	"os"
	"path/filepath"
	"testing"
)

func touch(t *testing.T, dir, name string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), nil, mode); err != nil {
		t.Fatal(err)
	}
}

func TestFind(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	touch(t, a, "neural-plugin-local", 0o755)
	touch(t, b, "neural-plugin-local", 0o755) // shadowed by a
	touch(t, b, "neural-plugin-sagemaker", 0o755)
	touch(t, b, "neural-plugin-notexec", 0o644)
	touch(t, b, "neural-plugin-x.sha256", 0o755)
	touch(t, b, "other", 0o755)

	got := Find([]string{a, b, filepath.Join(a, "missing")})
	want := []Plugin{{"local", filepath.Join(a, "neural-plugin-local")}, {"sagemaker", filepath.Join(b, "neural-plugin-sagemaker")}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if p, ok := Lookup([]string{a, b}, "sagemaker"); !ok || p.Path != want[1].Path {
		t.Errorf("Lookup = %v, %v", p, ok)
	}
	if _, ok := Lookup([]string{a, b}, "notexec"); ok {
		t.Error("Lookup found a non-executable file")
	}
}
