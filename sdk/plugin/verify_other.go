//go:build !linux

package plugin

import (
	"os"
	"os/exec"
	"path/filepath"
)

// verifiedExe is a private copy of a plugin binary, made from the bytes
// that were hashed, in a directory only this user can write. Without
// /proc/self/fd there is no executing an open file, and a copy is what
// was hashed, byte for byte.
type verifiedExe struct {
	dir, path string
}

func openVerified(path string, want []byte) (_ *verifiedExe, err error) {
	src, err := openNonblocking(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dir, err := os.MkdirTemp("", "neural-plugin-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	copyPath := filepath.Join(dir, filepath.Base(path))
	dst, err := os.OpenFile(copyPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o500)
	if err != nil {
		return nil, err
	}
	_, err = hashStable(src, path, want, dst)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return &verifiedExe{dir: dir, path: copyPath}, nil
}

// prepare makes cmd execute the copy; its argv[0] stays the real path.
func (v *verifiedExe) prepare(cmd *exec.Cmd) error {
	cmd.Path = v.path
	return nil
}

// release removes the copy; the plugin has ended by then.
func (v *verifiedExe) release() { os.RemoveAll(v.dir) }
