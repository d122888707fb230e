// Package output is the CLI's view layer: every command's result is a named
// type here, rendered once per command by Printer.Show as JSON for scripts
// or as aligned, escaped tables for people; streaming commands (logs, wait,
// batch progress, transfers) have Printer methods that do the same per
// event. The JSON shapes are part of the CLI's contract, documented in
// docs/output.md and checked by shapes_test.go: fields are only ever added,
// never renamed.
//
// It does not decide anything about jobs or platforms: commands pass it
// what happened.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/neural-dsl/neural-host/sdk"
)

// Format is table or json.
type Format string

const (
	Table Format = "table"
	JSON  Format = "json"
)

// Printer writes results in one format.
type Printer struct {
	Format Format
	Out    io.Writer
	// Err receives notes for people (progress, warnings) in table format;
	// nothing is written there for JSON.
	Err io.Writer
	// Color enables ANSI colours in tables; false when NO_COLOR is set or
	// the output is not a terminal.
	Color bool
}

// View is a command's result: its exported fields are its JSON shape, and
// Human writes it for people.
type View interface {
	Human(p *Printer) error
}

// Show writes v in the printer's format.
func (p *Printer) Show(v View) error {
	if p.Format == JSON {
		return p.JSON(v)
	}
	return v.Human(p)
}

// Notef writes a note for people to Err, in table format only.
func (p *Printer) Notef(format string, args ...any) {
	if p.Format == JSON || p.Err == nil {
		return
	}
	fmt.Fprintf(p.Err, format, args...)
}

// JSON writes v as indented JSON.
func (p *Printer) JSON(v any) error {
	enc := json.NewEncoder(p.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Line writes one JSON object per line (for streams such as logs).
func (p *Printer) Line(v any) error { return json.NewEncoder(p.Out).Encode(v) }

// Table writes rows under a header, columns aligned. Every cell is escaped
// (see Escape), so a job name or a platform's message cannot drive the
// terminal; a STATE column is coloured by state when colour is on.
func (p *Printer) Table(header []string, rows [][]string) {
	tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	cells := make([]string, len(header))
	for _, r := range rows {
		cells = cells[:0]
		for i, c := range r {
			c = Escape(c)
			if i < len(header) && header[i] == "STATE" {
				c = p.colorState(c)
			}
			cells = append(cells, c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
}

// KV writes key/value pairs, one per line, keys aligned and values escaped;
// pairs with an empty value are left out.
func (p *Printer) KV(pairs [][2]string) {
	tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
	for _, kv := range pairs {
		if kv[1] == "" {
			continue
		}
		v := Escape(kv[1])
		if kv[0] == "State" {
			v = p.colorState(v)
		}
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], v)
	}
	tw.Flush()
}

// State returns a state name escaped and, when colour is on, coloured, for
// lines printed outside Table and KV.
func (p *Printer) State(s sdk.State) string { return p.colorState(Escape(string(s))) }

func (p *Printer) colorState(s string) string {
	if !p.Color {
		return s
	}
	code := map[sdk.State]string{sdk.StateSucceeded: "32", sdk.StateFailed: "31", sdk.StateCancelled: "33", sdk.StateRunning: "36"}[sdk.State(s)]
	if code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Escape returns s with everything that a terminal would act on instead of
// print written as a Go escape: C0 and C1 control characters (so ESC, CR,
// BEL, newline, tab), DEL, the Unicode controls that reorder text, and bytes
// that are not UTF-8. Text from plugins, platforms and jobs passes through
// it before it reaches a table, as terminal-safe tools such as git and
// systemd do, so that `\x1b]0;…` in a job name cannot retitle a terminal or
// hide a line. JSON output is not escaped: encoding/json quotes it already.
func Escape(s string) string { return escape(s, false) }

// EscapeText is Escape for multi-line text: it keeps newlines and tabs.
func EscapeText(s string) string { return escape(s, true) }

func escape(s string, keepLines bool) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r, keepLines) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r, keepLines):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func unsafeRune(r rune, keepLines bool) bool {
	switch {
	case keepLines && (r == '\n' || r == '\t'):
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == utf8.RuneError:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

// ColorWanted reports whether colour suits f.
func ColorWanted(f *os.File) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

// Time formats t for JSON: RFC 3339 in UTC, or empty when zero.
func Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
