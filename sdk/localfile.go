package sdk

import (
	"errors"
	"io/fs"
	"os"
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
