package plugin

import (
	"fmt"
	"io"
	"os"
	"os/exec"
)

// verifiedExe is a plugin binary open for reading, hashed through that
// descriptor. The plugin is executed through the same descriptor, as
// /proc/self/fd/N, so it is the file that was hashed whatever is at its
// path by then.
//
// A copy in memory (a sealed memfd, as runc makes) would also rule out a
// write into this very file between the hash and the exec, but a plugin
// run from one finds /memfd:… as its own executable, and plugins start
// themselves again by that path (the local plugin's job supervisor does);
// a copy on disk would cost a write of the whole binary at every launch.
// Such a write needs write access to the file itself, is refused by the
// kernel once the plugin runs (ETXTBSY), and is looked for just before the
// start: a change of size or modification time since the hash began
// refuses the binary. What that leaves is a writer who also sets the
// modification time back, within the moment between that look and exec.
type verifiedExe struct {
	path string
	want []byte
	file *os.File
	stat os.FileInfo
}

func openVerified(path string, want []byte) (*verifiedExe, error) {
	f, err := openNonblocking(path)
	if err != nil {
		return nil, err
	}
	st, err := hashStable(f, path, want, io.Discard)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &verifiedExe{path: path, want: want, file: f, stat: st}, nil
}

// prepare makes cmd execute the verified file. The child gets it as one
// of its ExtraFiles, which os/exec places at a fixed descriptor number
// that nothing else in the child's set-up can reuse, and which stays open
// across exec, so that the interpreter of a #! script can read the script
// from /proc/self/fd/N too. A Go plugin marks it close-on-exec at start
// (see Serve), so that its own children do not inherit it.
func (v *verifiedExe) prepare(cmd *exec.Cmd) error {
	now, err := v.file.Stat()
	if err != nil {
		return err
	}
	if !unchanged(v.stat, now) {
		return &ChecksumError{Path: v.path, Expected: v.want}
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, v.file)
	cmd.Path = fmt.Sprintf("/proc/self/fd/%d", 2+len(cmd.ExtraFiles))
	return nil
}

func (v *verifiedExe) release() { v.file.Close() }
