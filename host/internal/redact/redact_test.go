package redact

import (
	"bytes"
	"sync"
	"testing"
)

func TestString(t *testing.T) {
	s := &Secrets{}
	s.Add("hunter22", "abc", `pa"ss\word`)
	tests := []struct{ in, want string }{
		{"token hunter22 rejected", "token *** rejected"},
		{"twice hunter22hunter22", "twice ******"},
		{"short abc stays", "short abc stays"},
		{`{"msg":"pa\"ss\\word"}`, `{"msg":"***"}`},
		{`plain pa"ss\word`, "plain ***"},
		{"nothing secret", "nothing secret"},
	}
	for _, tc := range tests {
		if got := s.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var none *Secrets
	if got := none.String("hunter22"); got != "hunter22" {
		t.Errorf("nil Secrets changed text: %q", got)
	}
}

func TestWriterRedactsAndReportsTheOriginalLength(t *testing.T) {
	var b bytes.Buffer
	s := &Secrets{}
	w := s.Writer(&b)
	line := []byte("before hunter22 added\n")
	if _, err := w.Write(line); err != nil {
		t.Fatal(err)
	}
	s.Add("hunter22")
	n, err := w.Write(line)
	if err != nil || n != len(line) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(line))
	}
	if got, want := b.String(), "before hunter22 added\nbefore *** added\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestConcurrentAddAndString(t *testing.T) {
	s := &Secrets{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); s.Add("secret-" + string(rune('a'+i))) }()
		go func() { defer wg.Done(); _ = s.String("secret-a secret-b") }()
	}
	wg.Wait()
	if got := s.String("secret-a secret-h"); got != "*** ***" {
		t.Errorf("after all adds: %q", got)
	}
}
