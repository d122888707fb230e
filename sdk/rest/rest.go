// Package rest is a small JSON-over-HTTP client for plugins of platforms
// that ship no official Go SDK (Paperspace, Run:ai and the like). It sends
// JSON requests with a bearer token from a TokenSource (ClientCredentials
// implements the OAuth2 client-credentials flow), retries what is safe to
// retry with Retry-After-aware backoff, turns HTTP statuses into the SDK's
// error kinds, scrubs secrets from every error it returns, and walks
// cursor and offset paginated listings.
//
// It does not model any platform's API, follow redirects to other hosts
// with the token (net/http drops Authorization on such redirects), stream
// request bodies, or retry a POST or PATCH unless the request says it is
// idempotent: a retried create that had reached the platform would start a
// second job.
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// TokenSource gives the bearer token for a request.
type TokenSource interface {
	// Token returns a valid token, fetching a new one when needed.
	Token(ctx context.Context) (string, error)
	// Invalidate drops a token the platform refused (401), so that the next
	// Token fetches a new one.
	Invalidate(token string)
}

// Options configure a Client.
type Options struct {
	// Platform names the platform in error messages, such as "paperspace".
	Platform string
	// BaseURL is prefixed to every request path, such as
	// "https://api.example.com/v1".
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a 60 s timeout.
	HTTPClient *http.Client
	// Auth supplies the bearer token; nil sends none.
	Auth TokenSource
	// Header is added to every request, such as an API key header. Values
	// are scrubbed from errors like Secrets.
	Header http.Header
	// Secrets are scrubbed from every error message, beside the token and
	// the Header values.
	Secrets []string
	// MaxAttempts bounds the tries of a retryable request; zero means 4.
	MaxAttempts int
	// MaxRetryWait bounds the wait before one retry, whatever Retry-After
	// asks; zero means 30 seconds. A longer Retry-After ends the retries.
	MaxRetryWait time.Duration
	// UserAgent is sent with every request; empty means "neural-host-plugin".
	UserAgent string
}

// Client sends JSON requests to one platform's API.
type Client struct {
	opts Options
	base *url.URL
	http *http.Client
	// sleep waits between tries; tests replace it to observe the waits.
	sleep func(ctx context.Context, d time.Duration) error
}

// New checks opts and returns a Client.
func New(opts Options) (*Client, error) {
	base, err := url.Parse(opts.BaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, sdk.FieldError("base_url", fmt.Sprintf("%q is not an absolute URL", opts.BaseURL), "set it to the API's address, such as https://api.example.com/v1")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 4
	}
	if opts.MaxRetryWait <= 0 {
		opts.MaxRetryWait = 30 * time.Second
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "neural-host-plugin"
	}
	if opts.Platform == "" {
		opts.Platform = "rest"
	}
	return &Client{opts: opts, base: base, http: opts.HTTPClient, sleep: sleepCtx}, nil
}

// Request is one API call.
type Request struct {
	Method string
	// Path is joined to the BaseURL; it may carry no query.
	Path  string
	Query url.Values
	// Body is sent as JSON; nil sends no body.
	Body any
	// Idempotent marks a POST or PATCH as safe to send again, as when the
	// platform deduplicates it by a client token. GET, HEAD, PUT, DELETE and
	// OPTIONS are idempotent by definition.
	Idempotent bool
	Header     http.Header
}

func (r *Request) retryable() bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return r.Idempotent
}

// StatusError is an API call the platform answered with an error status.
// It unwraps to the SDK error kind of the status, so errors.Is(err,
// sdk.ErrNotFound) holds for a 404.
type StatusError struct {
	Platform   string
	Method     string
	Path       string
	StatusCode int
	// Body is the start of the response body, secrets scrubbed.
	Body string
	Kind error
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s: %s %s: %d %s", e.Platform, e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

func (e *StatusError) Unwrap() error { return e.Kind }

// KindOf maps an HTTP status to the SDK's error kind; nil for a status
// that is no error or has no kind.
func KindOf(status int) error {
	switch {
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		return sdk.ErrInvalidArgument
	case status == http.StatusUnauthorized:
		return sdk.ErrUnauthenticated
	case status == http.StatusForbidden:
		return sdk.ErrPermissionDenied
	case status == http.StatusNotFound, status == http.StatusGone:
		return sdk.ErrNotFound
	case status == http.StatusConflict, status == http.StatusPreconditionFailed:
		return sdk.ErrConflict
	case status == http.StatusTooManyRequests:
		return sdk.ErrRateLimited
	case status == http.StatusNotImplemented:
		return sdk.ErrUnsupported
	case status == http.StatusBadGateway, status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout,
		status == http.StatusInternalServerError, status == http.StatusRequestTimeout:
		return sdk.ErrUnavailable
	}
	return nil
}

// transient reports whether a status may clear up on its own.
func transient(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// maxErrorBody bounds the part of an error response kept in the error.
const maxErrorBody = 1 << 10

// maxBody bounds a response body decoded into out.
const maxBody = 64 << 20

// Get sends a GET and decodes the JSON answer into out (nil discards it).
func (c *Client) Get(ctx context.Context, path string, query url.Values, out any) error {
	return c.Do(ctx, Request{Method: http.MethodGet, Path: path, Query: query}, out)
}

// Post sends body as a POST, which is not retried, and decodes the answer.
func (c *Client) Post(ctx context.Context, path string, body, out any) error {
	return c.Do(ctx, Request{Method: http.MethodPost, Path: path, Body: body}, out)
}

// Delete sends a DELETE and decodes the answer into out (nil discards it).
func (c *Client) Delete(ctx context.Context, path string, out any) error {
	return c.Do(ctx, Request{Method: http.MethodDelete, Path: path}, out)
}

// Do sends req, retrying a retryable one on transient statuses and network
// errors, and decodes a 2xx JSON answer into out (nil discards it). A 401
// makes the token source drop its token and the request is sent once more
// with a fresh one, whatever its method: the platform refused it before
// acting on it.
func (c *Client) Do(ctx context.Context, req Request, out any) error {
	err := c.do(ctx, req, out)
	if err != nil {
		return &scrubbedError{msg: c.scrub(err.Error()), err: err}
	}
	return nil
}

func (c *Client) do(ctx context.Context, req Request, out any) error {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = json.Marshal(req.Body); err != nil {
			return fmt.Errorf("%s: encoding the %s %s request: %w", c.opts.Platform, req.Method, req.Path, err)
		}
	}
	u := c.base.JoinPath(req.Path)
	u.RawQuery = req.Query.Encode()
	reauthed := false
	for attempt := 1; ; attempt++ {
		token, err := c.token(ctx)
		if err != nil {
			return err
		}
		resp, err := c.send(ctx, req, u, body, token)
		if err != nil {
			if ctx.Err() != nil || !req.retryable() || attempt >= c.opts.MaxAttempts {
				return fmt.Errorf("%s: %s %s: %w", c.opts.Platform, req.Method, req.Path, errors.Join(sdk.ErrUnavailable, err))
			}
			if err := c.sleep(ctx, backoff(attempt)); err != nil {
				return err
			}
			continue
		}
		if resp.StatusCode/100 == 2 {
			defer resp.Body.Close()
			if out == nil || resp.StatusCode == http.StatusNoContent {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
				return nil
			}
			if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("%s: %s %s: decoding the answer: %w", c.opts.Platform, req.Method, req.Path, err)
			}
			return nil
		}
		errBody, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		serr := &StatusError{Platform: c.opts.Platform, Method: req.Method, Path: req.Path, StatusCode: resp.StatusCode,
			Body: c.scrub(strings.TrimSpace(string(errBody))), Kind: KindOf(resp.StatusCode)}
		if resp.StatusCode == http.StatusUnauthorized && c.opts.Auth != nil && !reauthed {
			reauthed = true
			c.opts.Auth.Invalidate(token)
			attempt-- // a refused token is no try of the request
			continue
		}
		if !transient(resp.StatusCode) || !req.retryable() || attempt >= c.opts.MaxAttempts {
			return serr
		}
		wait := backoff(attempt)
		if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if ra > c.opts.MaxRetryWait {
				return serr
			}
			wait = ra
		}
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func (c *Client) token(ctx context.Context) (string, error) {
	if c.opts.Auth == nil {
		return "", nil
	}
	t, err := c.opts.Auth.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("%s: getting an access token: %w", c.opts.Platform, err)
	}
	return t, nil
}

func (c *Client) send(ctx context.Context, req Request, u *url.URL, body []byte, token string) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, u.String(), r)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.opts.Header {
		hr.Header[k] = vs
	}
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", c.opts.UserAgent)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	return c.http.Do(hr)
}

// backoff is the wait before try attempt+1 when the platform names none:
// exponential from 250 ms with full jitter, as AWS's SDKs do.
func backoff(attempt int) time.Duration {
	ceiling := min(250*time.Millisecond<<(attempt-1), 8*time.Second)
	return time.Duration(rand.Int64N(int64(ceiling))) + time.Millisecond
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// scrub replaces every secret the client knows in s.
func (c *Client) scrub(s string) string {
	secrets := append([]string(nil), c.opts.Secrets...)
	for _, vs := range c.opts.Header {
		secrets = append(secrets, vs...)
	}
	if sc, ok := c.opts.Auth.(interface{ secrets() []string }); ok {
		secrets = append(secrets, sc.secrets()...)
	}
	return Scrub(s, secrets...)
}

// Scrub replaces each of secrets in s with [REDACTED]; empty secrets and
// ones shorter than 4 bytes, which would turn up in unrelated text, are
// left alone.
func Scrub(s string, secrets ...string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[REDACTED]")
			if q := url.QueryEscape(v); q != v {
				s = strings.ReplaceAll(s, q, "[REDACTED]")
			}
		}
	}
	return s
}

// scrubbedError carries a scrubbed message and the original chain, so that
// errors.Is and errors.As see the kind and the StatusError.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
