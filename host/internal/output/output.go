// Package output renders command results as aligned tables for people or
// as JSON for scripts. The JSON shapes are part of the CLI's contract and
// documented in docs/output.md: fields are only ever added, never renamed.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

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
	// Color enables ANSI colours in tables; false when NO_COLOR is set or
	// the output is not a terminal.
	Color bool
}

// JSON writes v as indented JSON.
func (p *Printer) JSON(v any) error {
	enc := json.NewEncoder(p.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Line writes one JSON object per line (for streams such as logs).
func (p *Printer) Line(v any) error { return json.NewEncoder(p.Out).Encode(v) }

// Table writes rows under a header, columns aligned.
func (p *Printer) Table(header []string, rows [][]string) {
	tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// KV writes key/value pairs, one per line, keys aligned.
func (p *Printer) KV(pairs [][2]string) {
	tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
	for _, kv := range pairs {
		if kv[1] != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
		}
	}
	tw.Flush()
}

// State colours a state name for tables.
func (p *Printer) State(s sdk.State) string {
	if !p.Color {
		return string(s)
	}
	code := map[sdk.State]string{sdk.StateSucceeded: "32", sdk.StateFailed: "31", sdk.StateCancelled: "33", sdk.StateRunning: "36"}[s]
	if code == "" {
		return string(s)
	}
	return "\x1b[" + code + "m" + string(s) + "\x1b[0m"
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

// Ago formats t for tables.
func Ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// SortedKeys returns m's keys in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
