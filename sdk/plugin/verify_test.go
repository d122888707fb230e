package plugin

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeDuring calls write on the first chunk hashStable copies out, that
// is while the file is being hashed.
type writeDuring struct {
	write func() error
	err   error
	done  bool
}

func (w *writeDuring) Write(p []byte) (int, error) {
	if !w.done {
		w.done = true
		w.err = w.write()
	}
	return len(p), nil
}

func TestHashStableRefusesAFileWrittenWhileHashed(t *testing.T) {
	content := bytes.Repeat([]byte("plugin"), 100_000)
	sum := sha256.Sum256(content)
	for _, tt := range []struct {
		name string
		// during changes the file at path while it is read.
		during func(path string) error
		// changed is whether the file must be refused as changed.
		changed bool
	}{
		{name: "untouched", during: func(string) error { return nil }},
		{name: "renamed away", during: func(path string) error { return os.Rename(path, path+".old") }},
		{name: "appended to", changed: true, during: func(path string) error {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("more"))
			return err
		}},
		// The bytes rewritten were read already; only the time shows it.
		{name: "rewritten in place", changed: true, during: func(path string) error {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := f.WriteAt(content[:6], 0); err != nil {
				return err
			}
			later := time.Now().Add(time.Hour)
			return os.Chtimes(path, later, later)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "neural-plugin-x")
			if err := os.WriteFile(path, content, 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			w := &writeDuring{write: func() error { return tt.during(path) }}
			_, err = hashStable(f, path, sum[:], w)
			if w.err != nil {
				t.Fatal(w.err)
			}
			var ce *ChecksumError
			refusedAsChanged := errors.As(err, &ce) && ce.Actual == nil && errors.Is(err, ErrChecksum)
			if refusedAsChanged != tt.changed || (!tt.changed && err != nil) {
				t.Errorf("hashStable() = %v; want refused as changed: %v", err, tt.changed)
			}
		})
	}
}
