// Package credentials keeps the platform settings a user enters with
// 'neural-host auth configure' in one YAML file,
// $XDG_CONFIG_HOME/neural/credentials. The file is created with mode 0600
// from the start and every change replaces it atomically (a private
// temporary file in the same directory, fsync, rename), so no reader ever
// sees a partial file and no moment exists when it is readable by others.
// It is never chmod-ed.
//
// The package stores values; it does not decide precedence between the
// environment, this file and the config file (package settings does), and
// it does not check keys against a plugin's schema (its caller does).
package credentials

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/neural-dsl/neural-host/host/internal/flock"
	"gopkg.in/yaml.v3"
)

// FileName is the credentials file's name in the config directory.
const FileName = "credentials"

// File is the credentials file's content.
type File struct {
	// Platforms maps a platform name to its setting values; nil when the
	// file has none.
	Platforms map[string]map[string]string `yaml:"platforms"`
}

const header = "# Platform settings written by 'neural-host auth configure'. Keep this file private (mode 0600).\n"

// Load reads the file at path; a missing file is an empty one.
func Load(path string) (File, error) {
	var f File
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("credentials: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	// The message names the file and the line but never quotes the value.
	if err := dec.Decode(&f); err != nil && err.Error() != "EOF" {
		return f, fmt.Errorf("credentials: %s is not a valid credentials file; fix or remove it (%s)", path, syntaxOnly(err))
	}
	return f, nil
}

// syntaxOnly keeps the line numbers of a YAML error and drops anything that
// could quote a value.
func syntaxOnly(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%d wrong types or unknown keys", len(te.Errors))
	}
	var line int
	if _, scanErr := fmt.Sscanf(err.Error(), "yaml: line %d:", &line); scanErr == nil {
		return fmt.Sprintf("syntax error at line %d", line)
	}
	return "syntax error"
}

// Loose reports whether the file at path can be read by anyone but its
// owner; false when it does not exist.
func Loose(path string) (os.FileMode, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	return st.Mode().Perm(), st.Mode().Perm()&0o077 != 0
}

// Update applies change to the file at path under a lock on its directory,
// so concurrent updates from several processes are not lost, and writes
// the result atomically.
func Update(path string, change func(*File) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	unlock, err := flock.Dir(dir)
	if err != nil {
		return fmt.Errorf("credentials: locking %s: %w", dir, err)
	}
	defer unlock()
	f, err := Load(path)
	if err != nil {
		return err
	}
	if err := change(&f); err != nil {
		return err
	}
	for name, vals := range f.Platforms {
		if len(vals) == 0 {
			delete(f.Platforms, name)
		}
	}
	return write(path, f)
}

// write replaces path with f's content. The temporary file is opened with
// mode 0600 by the same call that creates it.
func write(path string, f File) error {
	body, err := yaml.Marshal(f)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	var suffix [8]byte
	_, _ = rand.Read(suffix[:])
	tmp := filepath.Join(filepath.Dir(path), "."+FileName+"-"+hex.EncodeToString(suffix[:]))
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	_, err = out.Write(append([]byte(header), body...))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("credentials: writing %s: %w", path, err)
	}
	// The rename is durable once the directory entry is.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
