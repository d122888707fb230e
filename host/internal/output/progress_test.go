package output

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

func TestBarsDrawInPlace(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	b := NewBars(w, map[string]int{"local": 2, "fake": 1})
	b.Done("local", false, "ok")
	b.Done("fake", true, "fake job 3 failed: quota")
	b.Done("local", false, "ok")
	b.Stop()
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "fake job 3 failed: quota\n") {
		t.Errorf("the failure was not printed:\n%q", out)
	}
	if !strings.Contains(out, "\x1b[3A") {
		t.Errorf("bars were not redrawn in place (three lines up):\n%q", out)
	}
	final := out[strings.LastIndex(out, "\x1b[J")+len("\x1b[J"):]
	for _, want := range []string{"local [" + strings.Repeat("#", 30) + "] 2/2", "fake  [" + strings.Repeat("#", 30) + "] 1/1  1 failed", "all   [" + strings.Repeat("#", 30) + "] 3/3  1 failed"} {
		if !strings.Contains(final, want) {
			t.Errorf("final frame lacks %q:\n%s", want, final)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestLines(t *testing.T) {
	var buf bytes.Buffer
	l := &Lines{W: &buf, Total: 2}
	l.Done("p", false, "submitted p:1")
	l.Done("p", true, "failed")
	l.Stop()
	if buf.String() != "[1/2] submitted p:1\n[2/2] failed\n" {
		t.Errorf("%q", buf.String())
	}
}
