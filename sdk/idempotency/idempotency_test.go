package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

func TestToken(t *testing.T) {
	// The schemes the plugins used before this package, as they wrote
	// them: jobs on the platforms carry these tokens, so a change here
	// makes them unfindable after an upgrade.
	legacy := func(prefix string, n int) func(string) string {
		return func(key string) string {
			sum := sha256.Sum256([]byte(prefix + key))
			return hex.EncodeToString(sum[:n])
		}
	}
	tests := []struct {
		platform, key string
		n             int
		want          func(string) string
	}{
		{"local", "k1", 8, legacy("local:", 8)},
		{"sagemaker", "k1", 6, legacy("sagemaker:", 6)},
		{"databricks", "batch-7/row-2", 12, legacy("databricks:", 12)},
		{"vertex", "01J9Z", 16, legacy("vertex:", 16)},
	}
	for _, tt := range tests {
		got := Token(tt.platform, tt.key, tt.n)
		if want := tt.want(tt.key); got != want {
			t.Errorf("Token(%q, %q, %d) = %q, want %q", tt.platform, tt.key, tt.n, got, want)
		}
		if len(got) != 2*tt.n {
			t.Errorf("Token(%q, %q, %d) has %d hex digits, want %d", tt.platform, tt.key, tt.n, len(got), 2*tt.n)
		}
	}
	if a, b := Token("local", "", 8), Token("local", "", 8); a == b || len(a) != 16 {
		t.Errorf("two keyless tokens are %q and %q, want two different 16-digit tokens", a, b)
	}
	if Token("local", "k", 8) == Token("vertex", "k", 8) {
		t.Error("two platforms give the same token for one key")
	}
}

func TestCreate(t *testing.T) {
	transient := errors.New("connection reset")
	conflict := &sdk.Error{Kind: sdk.ErrConflict, Message: "exists"}
	unavailable := &sdk.Error{Kind: sdk.ErrUnavailable, Message: "lost"}
	invalid := &sdk.Error{Kind: sdk.ErrInvalidArgument, Message: "bad"}
	tests := []struct {
		name       string
		finds      []bool  // what each Find answers, in order
		creates    []error // what each Create answers, in order
		attempts   int
		retry      func(error) bool
		wantJob    string
		wantErr    error
		wantFinds  int
		wantCreate int
	}{
		{name: "found first", finds: []bool{true}, wantJob: "found", wantFinds: 1},
		{name: "created", finds: []bool{false}, creates: []error{nil}, wantJob: "created", wantFinds: 1, wantCreate: 1},
		{name: "conflict finds the winner", finds: []bool{false, true}, creates: []error{conflict}, wantJob: "found", wantFinds: 2, wantCreate: 1},
		{name: "lost answer finds the job", finds: []bool{false, true}, creates: []error{unavailable}, wantJob: "found", wantFinds: 2, wantCreate: 1},
		{name: "conflict with nothing found", finds: []bool{false, false}, creates: []error{conflict}, wantErr: conflict, wantFinds: 2, wantCreate: 1},
		{name: "invalid is not looked for", finds: []bool{false}, creates: []error{invalid}, wantErr: invalid, wantFinds: 1, wantCreate: 1},
		{name: "retried after a find", finds: []bool{false, false}, creates: []error{transient, nil}, attempts: 3,
			retry: func(err error) bool { return err == transient }, wantJob: "created", wantFinds: 2, wantCreate: 2},
		{name: "retry finds the first", finds: []bool{false, true}, creates: []error{transient}, attempts: 3,
			retry: func(err error) bool { return err == transient }, wantJob: "found", wantFinds: 2, wantCreate: 1},
		{name: "attempts run out", finds: []bool{false, false, false}, creates: []error{transient, transient}, attempts: 2,
			retry: func(err error) bool { return err == transient }, wantErr: transient, wantFinds: 2, wantCreate: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			finds, creates := 0, 0
			job, err := Create(context.Background(), Steps[string]{
				Find: func(context.Context) (string, bool, error) {
					finds++
					if tt.finds[finds-1] {
						return "found", true, nil
					}
					return "", false, nil
				},
				Create: func(context.Context) (string, error) {
					creates++
					if err := tt.creates[creates-1]; err != nil {
						return "", err
					}
					return "created", nil
				},
				Retry: tt.retry, Attempts: tt.attempts,
			})
			if job != tt.wantJob || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Create = %q, %v; want %q, %v", job, err, tt.wantJob, tt.wantErr)
			}
			if finds != tt.wantFinds || creates != tt.wantCreate {
				t.Errorf("made %d finds and %d creates, want %d and %d", finds, creates, tt.wantFinds, tt.wantCreate)
			}
		})
	}
}

func TestCreateWithoutFind(t *testing.T) {
	creates := 0
	_, err := Create(context.Background(), Steps[int]{Create: func(context.Context) (int, error) {
		creates++
		return 0, &sdk.Error{Kind: sdk.ErrConflict}
	}})
	if !errors.Is(err, sdk.ErrConflict) || creates != 1 {
		t.Errorf("Create = %v after %d creates, want the conflict after 1", err, creates)
	}
}

func TestCreateStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	transient := errors.New("reset")
	creates := 0
	_, err := Create(ctx, Steps[int]{
		Create:   func(context.Context) (int, error) { creates++; return 0, transient },
		Retry:    func(error) bool { return true },
		Attempts: 5, Backoff: 1 << 40,
	})
	if err != transient || creates != 1 {
		t.Errorf("Create = %v after %d creates, want the first error after 1", err, creates)
	}
}
