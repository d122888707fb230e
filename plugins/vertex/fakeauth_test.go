package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The fake Google identity: a service-account key whose token_uri points
// at a local OAuth2 token endpoint, which exchanges a signed JWT assertion
// for an access token the fake services accept (RFC 7523, as Google's
// token endpoint does). Access tokens are HMACs of a nonce under a secret
// shared with the fake storage process, so any fake can check them.

// tokenPrefix marks access tokens minted by the fake.
const tokenPrefix = "ya29.fake."

func mintToken(secret []byte) string {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	n := hex.EncodeToString(nonce[:])
	return tokenPrefix + n + "." + tokenMAC(secret, n)
}

func tokenMAC(secret []byte, nonce string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(nonce))
	return hex.EncodeToString(m.Sum(nil))
}

// validToken reports whether an Authorization header carries a token the
// fake minted.
func validToken(secret []byte, header string) bool {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return false
	}
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok {
		return false
	}
	nonce, mac, ok := strings.Cut(rest, ".")
	return ok && hmac.Equal([]byte(mac), []byte(tokenMAC(secret, nonce)))
}

// identity is the fake project's service account and token endpoint.
type identity struct {
	secret    []byte
	key       *rsa.PrivateKey
	keyID     string
	email     string
	project   string
	keyFile   string // service-account JSON
	tokenURL  string
	exchanges atomic.Int64
}

func newIdentity(t *testing.T, project string) *identity {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	id := &identity{secret: make([]byte, 32), key: key, keyID: "fake-key-1", project: project,
		email: "trainer@" + project + ".iam.gserviceaccount.com"}
	_, _ = rand.Read(id.secret)
	srv := httptest.NewServer(http.HandlerFunc(id.serveToken))
	t.Cleanup(srv.Close)
	id.tokenURL = srv.URL + "/token"
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	sa, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": project, "private_key_id": id.keyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": id.email, "client_id": "1234567890", "token_uri": id.tokenURL,
		"universe_domain": "googleapis.com",
	})
	id.keyFile = filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(id.keyFile, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	return id
}

// serveToken implements the JWT-bearer grant of oauth2.googleapis.com/token.
func (id *identity) serveToken(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, e, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": e, "error_description": desc})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/token" {
		fail(http.StatusNotFound, "not_found", "no such endpoint")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		fail(http.StatusBadRequest, "invalid_request", "content type must be application/x-www-form-urlencoded, got "+ct)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail(http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type")
		return
	}
	if err := id.checkAssertion(r.PostForm.Get("assertion")); err != "" {
		fail(http.StatusBadRequest, "invalid_grant", err)
		return
	}
	id.exchanges.Add(1)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": mintToken(id.secret), "token_type": "Bearer", "expires_in": 3600})
}

// checkAssertion verifies an RS256 JWT signed by the service account's key.
func (id *identity) checkAssertion(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "Invalid JWT: malformed"
	}
	var hdr struct{ Alg, Kid string }
	var claims struct {
		Iss, Aud, Scope string
		Exp, Iat        int64
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil {
		return "Invalid JWT: undecodable"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch {
	case hdr.Alg != "RS256" || hdr.Kid != id.keyID:
		return "Invalid JWT Signature: unknown key"
	case rsa.VerifyPKCS1v15(&id.key.PublicKey, crypto.SHA256, sum[:], sig) != nil:
		return "Invalid JWT Signature."
	case claims.Iss != id.email:
		return "Invalid issuer"
	case claims.Aud != id.tokenURL:
		return "Invalid JWT: audience must be the token URI"
	case !strings.Contains(claims.Scope, "https://www.googleapis.com/auth/"):
		return "Invalid OAuth scope or ID token audience provided."
	case time.Unix(claims.Exp, 0).Before(time.Now()):
		return "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe"
	}
	return ""
}

// authInterceptors reject gRPC calls without a token the fake minted, with
// the status Google's front end returns.
func authInterceptors(secret []byte) []grpc.ServerOption {
	check := func(ctx context.Context) error {
		md, _ := metadata.FromIncomingContext(ctx)
		if h := md.Get("authorization"); len(h) != 1 || !validToken(secret, h[0]) {
			return status.Error(codes.Unauthenticated, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		}
		return nil
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := check(ctx); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := check(ss.Context()); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
}

// testTLS is a certificate for 127.0.0.1 that the test process and the
// plugins it starts trust through SSL_CERT_FILE, as a user behind a
// TLS-inspecting proxy would.
type testTLS struct {
	cert   tls.Certificate
	caFile string
}

func newTestTLS(dir string) (*testTLS, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "neural vertex fake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	return &testTLS{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile: caFile}, nil
}
