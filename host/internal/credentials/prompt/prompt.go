// Package prompt asks a person for a platform's setting values, one field
// at a time, reading secret ones from the terminal without echo. It does not
// store what it reads (package credentials does) and never prints a secret
// value, not even the current one.
package prompt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Field is one setting to ask for.
type Field struct {
	Key         string
	Description string
	Required    bool
	Secret      bool
	// Default is the plugin's default; empty when it has none.
	Default string
	// Current is the value stored now; empty when none.
	Current string
	// EnvVars are the variables that override the stored value.
	EnvVars []string
}

// Asker asks for values.
type Asker struct {
	// In reads answers to plain fields.
	In *bufio.Reader
	// Out receives the questions.
	Out io.Writer
	// ReadSecret reads one answer without echo; nil reads from In.
	ReadSecret func(ctx context.Context) (string, error)
}

// Ask asks for each field in turn and returns the values to store: an
// empty answer keeps the current value. A required field with no value,
// current or default, is asked again.
func (a *Asker) Ask(ctx context.Context, fields []Field) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range fields {
		for {
			fmt.Fprint(a.Out, question(f))
			var answer string
			var err error
			if f.Secret && a.ReadSecret != nil {
				answer, err = a.ReadSecret(ctx)
			} else {
				answer, err = a.In.ReadString('\n')
				if errors.Is(err, io.EOF) && answer != "" {
					err = nil
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					return nil, fmt.Errorf("prompt: input ended before %s was answered", f.Key)
				}
				return nil, err
			}
			answer = strings.TrimRight(answer, "\r\n")
			if answer == "" {
				answer = f.Current
			}
			if answer == "" && f.Required && f.Default == "" {
				fmt.Fprintf(a.Out, "  %s is required.\n", f.Key)
				continue
			}
			if answer != "" {
				out[f.Key] = answer
			}
			break
		}
	}
	return out, nil
}

func question(f Field) string {
	var b strings.Builder
	b.WriteString(f.Key)
	if f.Description != "" {
		fmt.Fprintf(&b, " (%s)", strings.TrimSuffix(f.Description, "."))
	}
	var notes []string
	if f.Required {
		notes = append(notes, "required")
	}
	if f.Secret {
		notes = append(notes, "secret, not echoed")
	}
	switch {
	case f.Current != "" && f.Secret:
		notes = append(notes, "Enter keeps the stored value")
	case f.Current != "":
		notes = append(notes, "Enter keeps "+f.Current)
	case f.Default != "":
		notes = append(notes, "default "+f.Default)
	}
	if len(f.EnvVars) > 0 {
		notes = append(notes, "$"+f.EnvVars[0]+" overrides it")
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(notes, "; "))
	}
	b.WriteString(": ")
	return b.String()
}

// Terminal returns a ReadSecret that reads a line from tty with echo
// turned off, and restores the terminal when the line is read or ctx
// ends. It fails when tty is not a terminal.
func Terminal(tty *os.File, out io.Writer) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		fd := int(tty.Fd())
		restore, err := noEcho(fd)
		if err != nil {
			return "", fmt.Errorf("prompt: cannot turn off echo on the terminal: %w", err)
		}
		type line struct {
			s   string
			err error
		}
		done := make(chan line, 1)
		go func() {
			// Byte by byte, so nothing past the newline is taken from
			// the terminal's queue.
			var b strings.Builder
			var c [1]byte
			for {
				n, err := tty.Read(c[:])
				if n == 1 && c[0] != '\n' {
					b.WriteByte(c[0])
				}
				if err != nil || (n == 1 && c[0] == '\n') {
					done <- line{b.String(), err}
					return
				}
			}
		}()
		select {
		case l := <-done:
			restore()
			fmt.Fprintln(out)
			return l.s, l.err
		case <-ctx.Done():
			restore()
			fmt.Fprintln(out)
			return "", ctx.Err()
		}
	}
}
