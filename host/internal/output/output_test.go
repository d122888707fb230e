package output

import (
	"bytes"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain name", "plain name"},
		{"héllo wörld ✓", "héllo wörld ✓"},
		{"\x1b]0;pwned\a", `\x1b]0;pwned\a`},
		{"a\x1b[2Jb", `a\x1b[2Jb`},
		{"line\nnext\ttab\rcr", `line\nnext\ttab\rcr`},
		{"del\x7f", `del\x7f`},
		{"c1\u009bm", `c1\u009bm`},
		{"bidi\u202egnp.exe", `bidi\u202egnp.exe`},
		{"bad\xffutf8", `bad\xffutf8`},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got, want := EscapeText("one\n\ttwo\x1b[A"), "one\n\ttwo\\x1b[A"; got != want {
		t.Errorf("EscapeText = %q, want %q", got, want)
	}
}

func TestTableEscapesCellsAndColoursStates(t *testing.T) {
	for _, tc := range []struct {
		color bool
		want  []string
		never string
	}{
		{false, []string{`evil\x1b]0;x\a`, "succeeded"}, "\x1b"},
		{true, []string{`evil\x1b]0;x\a`, "\x1b[32msucceeded\x1b[0m"}, "\x1b]"},
	} {
		var b bytes.Buffer
		p := Printer{Out: &b, Color: tc.color}
		p.Table([]string{"NAME", "STATE"}, [][]string{{"evil\x1b]0;x\a", "succeeded"}})
		p.KV([][2]string{{"Reason", "r\x1b[8mhidden"}, {"State", "succeeded"}})
		out := b.String()
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("color=%v: output lacks %q:\n%q", tc.color, w, out)
			}
		}
		if strings.Contains(out, tc.never) {
			t.Errorf("color=%v: output contains %q:\n%q", tc.color, tc.never, out)
		}
		if !strings.Contains(out, `r\x1b[8mhidden`) {
			t.Errorf("color=%v: KV did not escape its value:\n%q", tc.color, out)
		}
	}
	var b bytes.Buffer
	p := Printer{Out: &b, Color: true}
	if got := p.State(sdk.State("\x1b]0;t\a")); strings.ContainsRune(got, '\a') {
		t.Errorf("State passed a control character through: %q", got)
	}
}
