package credentials

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func TestUpdateWritesPrivateFile(t *testing.T) {
	// A permissive umask shows that 0600 comes from the create call itself.
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "config", FileName)
	err := Update(path, func(f *File) error {
		f.Platforms = map[string]map[string]string{"fake": {"api_key": "k1", "account": "a"}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if mode, loose := Loose(path); loose || mode != 0o600 {
		t.Fatalf("mode %v", mode)
	}
	st, _ := os.Stat(filepath.Dir(path))
	if st.Mode().Perm() != 0o700 {
		t.Errorf("config dir mode %v", st.Mode().Perm())
	}
	f, err := Load(path)
	if err != nil || f.Platforms["fake"]["api_key"] != "k1" {
		t.Fatalf("Load = %+v, %v", f, err)
	}
	// Removing a platform's last value removes the platform.
	if err := Update(path, func(f *File) error {
		delete(f.Platforms["fake"], "api_key")
		delete(f.Platforms["fake"], "account")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "fake") {
		t.Errorf("empty platform kept:\n%s", b)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestConcurrentUpdatesKeepEveryValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := Update(path, func(f *File) error {
				if f.Platforms == nil {
					f.Platforms = map[string]map[string]string{}
				}
				f.Platforms[fmt.Sprintf("p%d", i)] = map[string]string{"k": "v"}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	f, err := Load(path)
	if err != nil || len(f.Platforms) != 20 {
		t.Fatalf("%d platforms after 20 concurrent updates (%v)", len(f.Platforms), err)
	}
}

func TestLoadErrorsQuoteNoValue(t *testing.T) {
	tests := map[string]string{
		"syntax":      "platforms:\n  fake:\n    api_key: \"canary-s3cret\n",
		"wrong type":  "platforms:\n  fake: canary-s3cret\n",
		"unknown key": "canary-s3cret: 1\n",
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			os.WriteFile(path, []byte(body), 0o600)
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v", err)
			}
			if strings.Contains(err.Error(), "canary") {
				t.Errorf("error quotes the file's content: %v", err)
			}
		})
	}
	if f, err := Load(filepath.Join(t.TempDir(), "missing")); err != nil || f.Platforms != nil {
		t.Errorf("missing file: %+v %v", f, err)
	}
}

func TestLoose(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	os.WriteFile(path, nil, 0o600)
	os.Chmod(path, 0o644) // a file a user copied in, not one this package wrote
	if mode, loose := Loose(path); !loose || mode != 0o644 {
		t.Errorf("Loose = %v %v", mode, loose)
	}
}
