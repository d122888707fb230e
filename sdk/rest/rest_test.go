package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

const (
	clientSecret = "cs-5f1e9b7d"
	apiKey       = "key-77aa31c0"
)

// platform is a stand-in API: each request to a path takes the next of its
// scripted answers (the last repeats), and every request is recorded.
type platform struct {
	t       *testing.T
	mu      sync.Mutex
	answers map[string][]answer
	got     []string // "METHOD PATH AUTHORIZATION"
	tokens  int      // access tokens issued
	expiry  int      // expires_in of issued tokens
}

type answer struct {
	status int
	header map[string]string
	body   string
}

func (p *platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.URL.Path == "/oauth/token" {
		if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "client_credentials" {
			http.Error(w, "bad grant", http.StatusBadRequest)
			return
		}
		if id, secret, _ := r.BasicAuth(); id != "client" || secret != clientSecret {
			if r.Form.Get("client_secret") != clientSecret {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprintf(w, `{"error":"invalid_client","error_description":"unknown client secret %s"}`, r.Form.Get("client_secret")+secret)
				return
			}
		}
		p.tokens++
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("at-%d-0123", p.tokens), "token_type": "bearer", "expires_in": p.expiry})
		return
	}
	key := r.Method + " " + r.URL.Path
	p.got = append(p.got, key+" "+r.Header.Get("Authorization"))
	as := p.answers[key]
	if len(as) == 0 {
		http.NotFound(w, r)
		return
	}
	a := as[0]
	if len(as) > 1 {
		p.answers[key] = as[1:]
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	body := strings.ReplaceAll(a.body, "$AUTH", r.Header.Get("Authorization")+" "+r.Header.Get("X-Api-Key"))
	w.WriteHeader(a.status)
	fmt.Fprint(w, body)
}

func (p *platform) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

// newClient returns a client of a fresh stand-in and the waits it slept.
func newClient(t *testing.T, answers map[string][]answer, auth bool) (*Client, *platform, *[]time.Duration) {
	p := &platform{t: t, answers: answers, expiry: 3600}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	opts := Options{Platform: "acme", BaseURL: srv.URL + "/v1", Header: http.Header{"X-Api-Key": {apiKey}}, MaxRetryWait: 5 * time.Second}
	if auth {
		opts.Auth = &ClientCredentials{TokenURL: srv.URL + "/oauth/token", ClientID: "client", ClientSecret: clientSecret}
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	return c, p, &waits
}

func TestRetries(t *testing.T) {
	unavailable := answer{status: 503, header: map[string]string{"Retry-After": "2"}, body: "busy"}
	ok := answer{status: 200, body: `{"id":"j1"}`}
	tests := []struct {
		name      string
		req       Request
		answers   []answer
		wantTries int
		wantWaits []time.Duration // nil: only counted
		wantKind  error           // nil: success
	}{
		{"GET retried after Retry-After", Request{Method: "GET", Path: "jobs/j1"}, []answer{unavailable, ok}, 2, []time.Duration{2 * time.Second}, nil},
		{"POST not retried", Request{Method: "POST", Path: "jobs"}, []answer{unavailable, ok}, 1, []time.Duration{}, sdk.ErrUnavailable},
		{"idempotent POST retried", Request{Method: "POST", Path: "jobs", Idempotent: true}, []answer{unavailable, ok}, 2, []time.Duration{2 * time.Second}, nil},
		{"Retry-After past MaxRetryWait ends retries", Request{Method: "GET", Path: "jobs/j1"},
			[]answer{{status: 429, header: map[string]string{"Retry-After": "3600"}}, ok}, 1, []time.Duration{}, sdk.ErrRateLimited},
		{"attempts bounded", Request{Method: "DELETE", Path: "jobs/j1"}, []answer{{status: 502}}, 4, nil, sdk.ErrUnavailable},
		{"client error not retried", Request{Method: "GET", Path: "jobs/j1"}, []answer{{status: 404, body: `{"message":"no job j1"}`}, ok}, 1, []time.Duration{}, sdk.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.req.Method + " /v1/" + tt.req.Path
			c, p, waits := newClient(t, map[string][]answer{key: tt.answers}, false)
			var out struct{ ID string }
			err := c.Do(context.Background(), tt.req, &out)
			if got := len(p.requests()); got != tt.wantTries {
				t.Errorf("%d tries, want %d", got, tt.wantTries)
			}
			if tt.wantWaits != nil && !slices.Equal(*waits, tt.wantWaits) {
				t.Errorf("waits %v, want %v", *waits, tt.wantWaits)
			}
			switch {
			case tt.wantKind == nil && (err != nil || out.ID != "j1"):
				t.Errorf("got %+v, %v; want j1", out, err)
			case tt.wantKind != nil && !errors.Is(err, tt.wantKind):
				t.Errorf("err = %v, want kind %v", err, tt.wantKind)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		status int
		want   error
	}{
		{400, sdk.ErrInvalidArgument}, {401, sdk.ErrUnauthenticated}, {403, sdk.ErrPermissionDenied}, {404, sdk.ErrNotFound},
		{409, sdk.ErrConflict}, {422, sdk.ErrInvalidArgument}, {429, sdk.ErrRateLimited}, {501, sdk.ErrUnsupported},
		{503, sdk.ErrUnavailable}, {200, nil}, {418, nil},
	}
	for _, tt := range tests {
		if got := KindOf(tt.status); got != tt.want {
			t.Errorf("KindOf(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestErrorsScrubSecrets(t *testing.T) {
	// A careless API echoes the credentials it was sent.
	c, _, _ := newClient(t, map[string][]answer{"GET /v1/jobs/j1": {{status: 403, body: `{"message":"token $AUTH may not read j1"}`}}}, true)
	err := c.Get(context.Background(), "jobs/j1", nil, nil)
	var se *StatusError
	if !errors.Is(err, sdk.ErrPermissionDenied) || !errors.As(err, &se) {
		t.Fatalf("err = %v, want a permission-denied StatusError", err)
	}
	for _, secret := range []string{"at-1-0123", apiKey, clientSecret} {
		if strings.Contains(err.Error(), secret) || strings.Contains(se.Body, secret) {
			t.Errorf("error quotes %s: %v", secret, err)
		}
	}
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("error %q does not show where a secret was", err)
	}
}

func TestClientCredentials(t *testing.T) {
	t.Run("token reused, refreshed before expiry", func(t *testing.T) {
		c, p, _ := newClient(t, map[string][]answer{"GET /v1/jobs": {{status: 200, body: "{}"}}}, true)
		p.expiry = 120
		now := time.Now()
		cc := c.opts.Auth.(*ClientCredentials)
		cc.now = func() time.Time { return now }
		for i := 0; i < 2; i++ {
			if err := c.Get(context.Background(), "jobs", nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(61 * time.Second) // within a minute of expiry
		if err := c.Get(context.Background(), "jobs", nil, nil); err != nil {
			t.Fatal(err)
		}
		want := []string{"GET /v1/jobs Bearer at-1-0123", "GET /v1/jobs Bearer at-1-0123", "GET /v1/jobs Bearer at-2-0123"}
		if got := p.requests(); !slices.Equal(got, want) {
			t.Errorf("requests %q, want %q", got, want)
		}
	})
	t.Run("401 refreshes once", func(t *testing.T) {
		c, p, _ := newClient(t, map[string][]answer{"POST /v1/jobs": {{status: 401}, {status: 201, body: `{"id":"j1"}`}}}, true)
		if err := c.Post(context.Background(), "jobs", map[string]string{"name": "a"}, nil); err != nil {
			t.Fatal(err)
		}
		want := []string{"POST /v1/jobs Bearer at-1-0123", "POST /v1/jobs Bearer at-2-0123"}
		if got := p.requests(); !slices.Equal(got, want) {
			t.Errorf("requests %q, want %q", got, want)
		}
	})
	t.Run("401 twice is unauthenticated", func(t *testing.T) {
		c, p, _ := newClient(t, map[string][]answer{"GET /v1/jobs": {{status: 401}}}, true)
		if err := c.Get(context.Background(), "jobs", nil, nil); !errors.Is(err, sdk.ErrUnauthenticated) {
			t.Errorf("err = %v, want unauthenticated", err)
		}
		if got := len(p.requests()); got != 2 {
			t.Errorf("%d requests, want 2", got)
		}
	})
	t.Run("refused secret", func(t *testing.T) {
		c, _, _ := newClient(t, nil, true)
		c.opts.Auth.(*ClientCredentials).ClientSecret = "wrong-secret-1"
		err := c.Get(context.Background(), "jobs", nil, nil)
		if !errors.Is(err, sdk.ErrUnauthenticated) || strings.Contains(err.Error(), "wrong-secret-1") {
			t.Errorf("err = %v, want unauthenticated without the secret", err)
		}
	})
}

func TestPagers(t *testing.T) {
	pages := map[string]CursorPage[int]{"": {Items: []int{1, 2}, Next: "b"}, "b": {Items: []int{3}, Next: "c"}, "c": {Items: []int{4}}}
	var got []int
	for v, err := range Cursor(context.Background(), "", func(_ context.Context, cur string) (CursorPage[int], error) { return pages[cur], nil }) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if !slices.Equal(got, []int{1, 2, 3, 4}) {
		t.Errorf("cursor walk %v", got)
	}
	var err error
	for _, err = range Cursor(context.Background(), "", func(_ context.Context, cur string) (CursorPage[int], error) {
		return CursorPage[int]{Items: []int{1}, Next: "same"}, nil
	}) {
	}
	if err == nil || !strings.Contains(err.Error(), `cursor "same" twice`) {
		t.Errorf("a repeating cursor ended with %v", err)
	}
	items := []string{"a", "b", "c", "d", "e"}
	var offsets []int
	var letters []string
	for v, err := range Offset(context.Background(), 0, 2, func(_ context.Context, off, lim int) ([]string, error) {
		offsets = append(offsets, off)
		return items[off:min(off+lim, len(items))], nil
	}) {
		if err != nil {
			t.Fatal(err)
		}
		letters = append(letters, v)
	}
	if !slices.Equal(letters, items) || !slices.Equal(offsets, []int{0, 2, 4}) {
		t.Errorf("offset walk %v at offsets %v", letters, offsets)
	}
}

func TestNewRefusesRelativeURL(t *testing.T) {
	if _, err := New(Options{BaseURL: "api/v1"}); !errors.Is(err, sdk.ErrInvalidArgument) || !strings.Contains(err.Error(), "base_url") {
		t.Errorf("New = %v, want invalid base_url", err)
	}
}
