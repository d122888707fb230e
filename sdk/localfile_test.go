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
