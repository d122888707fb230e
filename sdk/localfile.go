package sdk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// OpenUpload opens the local file of an upload and returns its size. A
// missing file is ErrNotFound and anything but a regular file is
// ErrInvalidArgument, both naming the field "local".
func OpenUpload(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, &Error{Kind: ErrNotFound, Field: "local", Message: path + " does not exist"}
	}
	if err != nil {
		return nil, 0, &Error{Kind: ErrInvalidArgument, Field: "local", Message: err.Error()}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, &Error{Kind: ErrInvalidArgument, Field: "local", Message: err.Error()}
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, FieldError("local", path+" is not a regular file", "copy one file at a time")
	}
	return f, st.Size(), nil
}

// Download is a file being written beside its destination. Commit renames
// it into place, so a failed or interrupted transfer never leaves a
// truncated file where the user expects a whole one (the way rsync and
// curl --output with a temporary name behave).
type Download struct {
	*os.File
	// Path is where Commit puts the file.
	Path      string
	committed bool
}

// OpenDownload creates the temporary file of a download into local. When
// local is an existing directory the file lands in it under remoteName's
// last element, as cp does. Missing parent directories are created.
func OpenDownload(local, remoteName string) (*Download, error) {
	dst := local
	if st, err := os.Stat(dst); err == nil && st.IsDir() {
		base := path.Base(strings.TrimRight(filepath.ToSlash(remoteName), "/"))
		if base == "." || base == "/" || base == "" {
			return nil, FieldError("local", local+" is a directory", "name the file to write")
		}
		dst = filepath.Join(dst, base)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, fmt.Errorf("sdk: download to %s: %w", dst, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".part-")
	if err != nil {
		return nil, fmt.Errorf("sdk: download to %s: %w", dst, err)
	}
	return &Download{File: tmp, Path: dst}, nil
}

// Commit closes the temporary file and renames it to Path.
func (d *Download) Commit() error {
	if err := d.File.Close(); err != nil {
		return fmt.Errorf("sdk: download to %s: %w", d.Path, err)
	}
	if err := os.Rename(d.File.Name(), d.Path); err != nil {
		return fmt.Errorf("sdk: download to %s: %w", d.Path, err)
	}
	d.committed = true
	return nil
}

// Discard removes the temporary file unless Commit succeeded; deferring it
// right after OpenDownload cleans up every failure path.
func (d *Download) Discard() {
	if d.committed {
		return
	}
	d.File.Close()
	os.Remove(d.File.Name())
}
