package sdk

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenUpload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "model.bin")
	os.WriteFile(file, []byte("12345"), 0o644)
	tests := []struct {
		path string
		kind error
		size int64
	}{
		{file, nil, 5},
		{filepath.Join(dir, "missing"), ErrNotFound, 0},
		{dir, ErrInvalidArgument, 0},
	}
	for _, tt := range tests {
		f, size, err := OpenUpload(tt.path)
		if tt.kind == nil {
			if err != nil || size != tt.size {
				t.Errorf("OpenUpload(%s) = %d, %v", tt.path, size, err)
			}
			f.Close()
			continue
		}
		var e *Error
		if !errors.Is(err, tt.kind) || !errors.As(err, &e) || e.Field != "local" || f != nil {
			t.Errorf("OpenUpload(%s) = %v, want %v on field local", tt.path, err, tt.kind)
		}
	}
}

func TestOpenDownload(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name       string
		local      string
		remoteName string
		commit     bool
		wantPath   string
	}{
		{"file path", filepath.Join(dir, "a.bin"), "bucket/x.bin", true, filepath.Join(dir, "a.bin")},
		{"into directory", dir, "bucket/x.bin", true, filepath.Join(dir, "x.bin")},
		{"missing parents", filepath.Join(dir, "p", "q", "b.bin"), "x.bin", true, filepath.Join(dir, "p", "q", "b.bin")},
		{"discarded", filepath.Join(dir, "c.bin"), "x.bin", false, filepath.Join(dir, "c.bin")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := OpenDownload(tt.local, tt.remoteName)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Discard()
			if d.Path != tt.wantPath {
				t.Errorf("Path = %s, want %s", d.Path, tt.wantPath)
			}
			d.WriteString("data")
			if _, err := os.Stat(tt.wantPath); err == nil {
				t.Errorf("%s exists before Commit", tt.wantPath)
			}
			if tt.commit {
				if err := d.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			d.Discard()
			b, err := os.ReadFile(tt.wantPath)
			if got := err == nil && string(b) == "data"; got != tt.commit {
				t.Errorf("file written = %v (%v), want %v", got, err, tt.commit)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(tt.wantPath), ".*.part-*")); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
	if _, err := OpenDownload(dir, ""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("OpenDownload(dir, empty name) = %v, want invalid argument", err)
	}
}
