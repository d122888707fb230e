package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ClientCredentials is a TokenSource for the OAuth2 client-credentials
// grant (RFC 6749 §4.4). It keeps one token and fetches the next before
// the current one expires, so that no request goes out with a token about
// to lapse; a token the platform refuses is dropped and fetched anew.
type ClientCredentials struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// EndpointParams are extra form values for the token endpoint, such as
	// an audience.
	EndpointParams map[string][]string
	// HTTPClient sends the token requests; nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// EarlyRefresh is how long before expiry a token is replaced; zero
	// means a minute.
	EarlyRefresh time.Duration

	mu    sync.Mutex
	token *oauth2.Token
	// issued are the latest access tokens, kept to scrub them from errors
	// after they were replaced.
	issued []string
	now    func() time.Time // tests move the clock
	config *clientcredentials.Config
}

func (cc *ClientCredentials) clock() time.Time {
	if cc.now != nil {
		return cc.now()
	}
	return time.Now()
}

// Token returns the cached token, or a new one when there is none or it
// expires within EarlyRefresh.
func (cc *ClientCredentials) Token(ctx context.Context) (string, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	early := cc.EarlyRefresh
	if early == 0 {
		early = time.Minute
	}
	if cc.token != nil && (cc.token.Expiry.IsZero() || cc.clock().Add(early).Before(cc.token.Expiry)) {
		return cc.token.AccessToken, nil
	}
	if cc.config == nil {
		cc.config = &clientcredentials.Config{ClientID: cc.ClientID, ClientSecret: cc.ClientSecret, TokenURL: cc.TokenURL,
			Scopes: cc.Scopes, EndpointParams: cc.EndpointParams}
	}
	hc := cc.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	t, err := cc.config.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
	if err != nil {
		return "", cc.tokenError(err)
	}
	if t.AccessToken == "" {
		return "", &sdk.Error{Kind: sdk.ErrUnauthenticated, Message: "the token endpoint " + cc.TokenURL + " returned no access token"}
	}
	cc.token = t
	cc.issued = append(cc.issued, t.AccessToken)
	if len(cc.issued) > 4 {
		cc.issued = cc.issued[1:]
	}
	return t.AccessToken, nil
}

// tokenError, called with cc.mu held, classifies a failed token request: refused credentials are
// unauthenticated, anything else may be a passing outage.
func (cc *ClientCredentials) tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		kind := KindOf(re.Response.StatusCode)
		if re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client" || re.ErrorCode == "invalid_grant" {
			kind = sdk.ErrUnauthenticated
		}
		msg := fmt.Sprintf("the token endpoint %s refused the client credentials: %d", cc.TokenURL, re.Response.StatusCode)
		if re.ErrorCode != "" {
			msg += " " + re.ErrorCode
		}
		if re.ErrorDescription != "" {
			msg += ": " + re.ErrorDescription
		}
		return &sdk.Error{Kind: kind, Message: Scrub(msg, cc.secretsLocked()...), Hint: "check the client id and secret"}
	}
	return &sdk.Error{Kind: sdk.ErrUnavailable, Message: Scrub("fetching a token from "+cc.TokenURL+": "+err.Error(), cc.secretsLocked()...)}
}

// Invalidate drops token if it is the cached one, so that a token already
// replaced by another request's refresh is not fetched a second time.
func (cc *ClientCredentials) Invalidate(token string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.token != nil && cc.token.AccessToken == token {
		cc.token = nil
	}
}

func (cc *ClientCredentials) secrets() []string {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.secretsLocked()
}

func (cc *ClientCredentials) secretsLocked() []string {
	return append([]string{cc.ClientSecret}, cc.issued...)
}
