// Package redact hides secret setting values in text the host prints or
// files: error messages, table cells, and plugins' log files. It is the only
// place that decides what a secret looks like in text.
//
// It does not find secrets on its own: the launcher adds each secret value
// it hands a plugin, and everything printed afterwards passes through.
package redact

import (
	"encoding/json"
	"io"
	"strings"
	"sync"
	"sync/atomic"
)

// Mask replaces every secret.
const Mask = "***"

// MinLen is the shortest value that is masked: a one- to three-character
// secret would blank ordinary letters all over the output and reveal itself
// by the gaps.
const MinLen = 4

// Secrets is the set of values to hide. The zero value hides nothing; it is
// safe for concurrent use, and String never waits for Add, so log writers
// on a plugin's goroutines cannot block on a command adding secrets.
type Secrets struct {
	mu     sync.Mutex
	values atomic.Pointer[[]string]
}

// Add records values to hide from now on.
func (s *Secrets) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []string
	if old := s.values.Load(); old != nil {
		all = append(all, *old...)
	}
	for _, v := range values {
		if len(v) >= MinLen {
			all = append(all, v)
		}
	}
	s.values.Store(&all)
}

// String returns text with every secret replaced by Mask, in plain form and
// in the escaped form JSON (and so a JSON log line) gives it.
func (s *Secrets) String(text string) string {
	if s == nil {
		return text
	}
	values := s.values.Load()
	if values == nil {
		return text
	}
	for _, sec := range *values {
		text = strings.ReplaceAll(text, sec, Mask)
		if esc, err := json.Marshal(sec); err == nil {
			text = strings.ReplaceAll(text, strings.Trim(string(esc), `"`), Mask)
		}
	}
	return text
}

// Writer returns a writer that redacts each Write before passing it to w.
// A secret split across two writes is not caught, so it suits writers fed
// whole lines, as a logger's output is.
func (s *Secrets) Writer(w io.Writer) io.Writer { return &writer{w: w, s: s} }

type writer struct {
	w io.Writer
	s *Secrets
}

func (r *writer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, r.s.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
