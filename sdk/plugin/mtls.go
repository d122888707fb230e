package plugin

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"time"
)

// The host and a plugin authenticate each other as go-plugin's AutoMTLS
// does: each side makes a fresh key pair and self-signed certificate per
// launch, keeps the private key in memory, and accepts exactly the other
// side's certificate. The host's certificate reaches the plugin in
// PLUGIN_CLIENT_CERT, as with AutoMTLS; the plugin's reaches the host over
// the plugin's stdout, the same private pipe AutoMTLS uses. What differs is
// the curve: ECDSA P-256 instead of the P-521 that go-plugin hard-codes.
// P-256 is the curve TLS implementations and the Web PKI use by default
// and gives 128-bit security; a P-521 key and its handshake signatures
// cost about 30 ms of a launch on a busy 2-core machine, P-256 under 1 ms.
//
// go-plugin sends the plugin's certificate back in its handshake line only
// when it made the certificate itself, so a plugin that makes its own
// prints it first on a line of its own, certLinePrefix and the DER in
// base64, and the host's runner takes that line out of the stream before
// go-plugin reads it. A plugin does so only when envCertLine holds the
// fingerprint of the PLUGIN_CLIENT_CERT it was given: a host that does not
// read the line (an older neural-host, a bare go-plugin client) never sets
// it for the certificate it sends, and go-plugin would refuse the line. A
// plugin that does not print it falls back to AutoMTLS's own exchange,
// which the host also accepts.
const (
	envClientCert  = "PLUGIN_CLIENT_CERT"
	envCertLine    = "NEURAL_PLUGIN_CERT_LINE"
	certLinePrefix = "neural-plugin-cert|"
)

// newCertificate makes a fresh key pair and a self-signed certificate for
// one launch, with go-plugin's AutoMTLS template (a CA for localhost, for
// client and server use) on P-256.
func newCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("plugin: generating a TLS key: %w", err)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("plugin: generating a TLS key: %w", err)
	}
	now := time.Now()
	template := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"neural-host"}},
		DNSNames:              []string{"localhost"},
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SerialNumber:          sn,
		NotBefore:             now.Add(-30 * time.Second),
		NotAfter:              now.Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("plugin: making a TLS certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("plugin: making a TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// pinnedConfig is the TLS configuration of either side: its own
// certificate, the peer's as the only root and client CA, and a client
// certificate required. With a nil peer, nothing verifies until the peer's
// certificate is added.
func pinnedConfig(own tls.Certificate, peer *x509.Certificate) *tls.Config {
	cfg := &tls.Config{
		Certificates: []tls.Certificate{own},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		ServerName:   "localhost",
	}
	if peer != nil {
		pin(cfg, peer)
	}
	return cfg
}

func pin(cfg *tls.Config, peer *x509.Certificate) {
	pool := x509.NewCertPool()
	pool.AddCert(peer)
	cfg.RootCAs, cfg.ClientCAs = pool, pool
}

// hostCertificate is the host's side of a launch: its certificate and TLS
// configuration, and the environment that hands the certificate to the
// plugin and asks for the plugin's on a line of its own.
func hostCertificate() (*tls.Config, []string, error) {
	own, err := newCertificate()
	if err != nil {
		return nil, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: own.Certificate[0]})
	env := []string{envClientCert + "=" + string(certPEM), envCertLine + "=" + fingerprint(own.Certificate[0])}
	return pinnedConfig(own, nil), env, nil
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// pluginTLS is the plugin's side, when the host asked for it: a TLS
// configuration that accepts only the host's certificate, and the line to
// print before the handshake. ok is false when the host did not ask (or
// sent no certificate), and the plugin then leaves mTLS to go-plugin.
func pluginTLS() (cfg *tls.Config, line string, ok bool, err error) {
	hostPEM, want := os.Getenv(envClientCert), os.Getenv(envCertLine)
	if hostPEM == "" || want == "" {
		return nil, "", false, nil
	}
	block, _ := pem.Decode([]byte(hostPEM))
	if block == nil || block.Type != "CERTIFICATE" || fingerprint(block.Bytes) != want {
		return nil, "", false, nil
	}
	host, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, "", false, fmt.Errorf("plugin: the host's TLS certificate: %w", err)
	}
	own, err := newCertificate()
	if err != nil {
		return nil, "", false, err
	}
	return pinnedConfig(own, host), certLinePrefix + base64.RawStdEncoding.EncodeToString(own.Certificate[0]) + "\n", true, nil
}

// errCertLine is a plugin's certificate line that does not hold a
// certificate.
var errCertLine = errors.New("plugin: the plugin's TLS certificate line does not hold a certificate")

// certLineReader is a plugin's stdout as go-plugin reads it, with the
// plugin's certificate line, if it printed one first, taken out and pinned
// in cfg. Everything else passes through unchanged.
type certLineReader struct {
	src   io.ReadCloser
	buf   *bufio.Reader
	cfg   *tls.Config
	first bool // the first line has been looked at
	err   error
}

func newCertLineReader(src io.ReadCloser, cfg *tls.Config) *certLineReader {
	return &certLineReader{src: src, buf: bufio.NewReader(src), cfg: cfg}
}

func (r *certLineReader) Read(p []byte) (int, error) {
	if !r.first {
		r.first = true
		// Peek rather than read, so that a first line that is not the
		// certificate's (an older plugin's handshake) stays in the stream.
		if head, _ := r.buf.Peek(len(certLinePrefix)); string(head) == certLinePrefix {
			line, err := r.buf.ReadString('\n')
			if err != nil {
				return 0, err
			}
			der, err := base64.RawStdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(line, certLinePrefix)))
			if err != nil {
				r.err = errCertLine
			} else if cert, err := x509.ParseCertificate(der); err != nil {
				r.err = errCertLine
			} else {
				// This runs on go-plugin's reading goroutine before it sees
				// the handshake line, hence before it dials with cfg.
				pin(r.cfg, cert)
			}
		}
	}
	if r.err != nil {
		return 0, r.err
	}
	return r.buf.Read(p)
}

func (r *certLineReader) Close() error { return r.src.Close() }
