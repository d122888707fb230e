package prompt

import (
	"bufio"
	"context"
	"strings"
	"testing"
)

func TestAsk(t *testing.T) {
	fields := []Field{
		{Key: "host", Required: true, Description: "Workspace URL.", EnvVars: []string{"X_HOST"}},
		{Key: "token", Secret: true, Required: true, Current: "old-token"},
		{Key: "region", Default: "eu"},
		{Key: "profile", Current: "dev"},
	}
	var out strings.Builder
	var secretsAsked int
	a := &Asker{
		// The first empty line is refused: host is required.
		In:  bufio.NewReader(strings.NewReader("\nhttps://h\n\n\n")),
		Out: &out,
		ReadSecret: func(context.Context) (string, error) {
			secretsAsked++
			return "", nil // keep the stored token
		},
	}
	got, err := a.Ask(context.Background(), fields)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"host": "https://h", "token": "old-token", "profile": "dev"}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if secretsAsked != 1 {
		t.Errorf("secret read %d times", secretsAsked)
	}
	q := out.String()
	for _, s := range []string{"host is required", "Workspace URL", "$X_HOST overrides it", "secret, not echoed", "default eu", "Enter keeps dev"} {
		if !strings.Contains(q, s) {
			t.Errorf("questions lack %q:\n%s", s, q)
		}
	}
	if strings.Contains(q, "old-token") {
		t.Errorf("a stored secret was printed:\n%s", q)
	}
}

func TestAskInputEnds(t *testing.T) {
	a := &Asker{In: bufio.NewReader(strings.NewReader("")), Out: &strings.Builder{}}
	_, err := a.Ask(context.Background(), []Field{{Key: "host", Required: true}})
	if err == nil || !strings.Contains(err.Error(), "host") {
		t.Errorf("err = %v", err)
	}
}
