package sdk

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckWorkDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "train.py"), []byte("print(1)\n"), 0o644)
	file := filepath.Join(dir, "train.py")
	tests := []struct {
		name      string
		spec      JobSpec
		wantField string
	}{
		{"no workdir", JobSpec{Entrypoint: "train.py"}, ""},
		{"workdir and entrypoint", JobSpec{WorkDir: dir, Entrypoint: "train.py"}, ""},
		{"workdir only", JobSpec{WorkDir: dir}, ""},
		{"missing workdir", JobSpec{WorkDir: filepath.Join(dir, "nope")}, "workdir"},
		{"workdir is a file", JobSpec{WorkDir: file}, "workdir"},
		{"missing entrypoint", JobSpec{WorkDir: dir, Entrypoint: "eval.py"}, "entrypoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckWorkDir(tt.spec)
			var got string
			var e *Error
			if errors.As(err, &e) {
				got = e.Field
				if !errors.Is(err, ErrInvalidArgument) {
					t.Errorf("CheckWorkDir = %v, want an invalid-argument error", err)
				}
			} else if err != nil {
				t.Fatalf("CheckWorkDir = %v, want an *Error", err)
			}
			if got != tt.wantField {
				t.Errorf("CheckWorkDir field = %q, want %q", got, tt.wantField)
			}
		})
	}
}
