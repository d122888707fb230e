package plugin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// ErrChecksum is matched by a launch refused because the binary's sha256
// differs from the one expected.
var ErrChecksum = errors.New("plugin: binary checksum does not match")

// ChecksumError is a launch refused because of the binary's checksum. It
// matches ErrChecksum.
type ChecksumError struct {
	// Path is the binary.
	Path string
	// Expected is the sha256 the binary had to have.
	Expected []byte
	// Actual is the sha256 of the bytes read; nil when the file changed
	// while it was being verified, which refuses it whatever its hash.
	Actual []byte
}

func (e *ChecksumError) Error() string {
	if e.Actual == nil {
		return fmt.Sprintf("%v: %s changed while it was being verified", ErrChecksum, e.Path)
	}
	return fmt.Sprintf("%v: %s has sha256 %x, want %x", ErrChecksum, e.Path, e.Actual, e.Expected)
}

func (e *ChecksumError) Unwrap() error { return ErrChecksum }

// pendingBinary is a plugin binary being verified in the background. The
// file is read once, and what is executed is what was read: an open file
// on Linux (see verify_linux.go), a private copy elsewhere. Its path is not
// looked up again, so swapping another file in cannot get that one run.
type pendingBinary struct {
	done     chan struct{}
	exe      *verifiedExe // set before done is closed; nil on error
	err      error
	released sync.Once
}

// verifyBinary starts verifying the binary at path against want.
func verifyBinary(path string, want []byte) *pendingBinary {
	b := &pendingBinary{done: make(chan struct{})}
	go func() {
		defer close(b.done)
		b.exe, b.err = openVerified(path, want)
	}()
	return b
}

// await returns the verified binary, or why it is refused.
func (b *pendingBinary) await(ctx context.Context) (*verifiedExe, error) {
	select {
	case <-b.done:
		return b.exe, b.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release frees what verification holds, once the process executed from
// it has ended or will never start. A nil *pendingBinary holds nothing.
func (b *pendingBinary) release() {
	if b == nil {
		return
	}
	<-b.done
	b.released.Do(func() {
		if b.exe != nil {
			b.exe.release()
		}
	})
}

// openNonblocking opens path for reading without blocking: a FIFO put in
// a binary's place would otherwise hold the open until someone writes to
// it. Reads from a regular file block all the same.
func openNonblocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// hashStable hashes what it reads of f, from the start, into copyTo as
// well, and checks the sum against want. A file written to while it is
// read is refused: bytes already read may no longer be what the file
// holds.
func hashStable(f *os.File, path string, want []byte, copyTo io.Writer) (os.FileInfo, error) {
	before, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("plugin: %s is not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(h, copyTo), f); err != nil {
		return nil, err
	}
	after, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !unchanged(before, after) {
		return nil, &ChecksumError{Path: path, Expected: want}
	}
	if got := h.Sum(nil); subtle.ConstantTimeCompare(got, want) != 1 {
		return nil, &ChecksumError{Path: path, Expected: want, Actual: got}
	}
	return before, nil
}

// unchanged reports whether two stats of one open file show no write in
// between: a write moves the modification time, and a truncation the size.
// The change time would also catch a writer who sets the modification time
// back, but it moves with every link, rename and chmod too, and a plugin
// being installed or swapped by rename does not change the file open here.
func unchanged(a, b os.FileInfo) bool {
	return a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
