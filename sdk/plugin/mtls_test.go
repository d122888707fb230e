package plugin

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

// handshake runs a TLS handshake between a client and a server config over
// loopback TCP, whose buffers let a side that fails send its alert without
// the other reading it, and returns each side's error.
func handshake(client, server *tls.Config) (clientErr, serverErr error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err, err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer s.Close()
		done <- tls.Server(s, server).Handshake()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err, <-done
	}
	defer c.Close()
	clientErr = tls.Client(c, client).Handshake()
	return clientErr, <-done
}

func mustCert(t *testing.T) tls.Certificate {
	t.Helper()
	c, err := newCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPinnedConfigsAuthenticateOnlyEachOther proves the exchange is mutual
// and pinned: the launch's two certificates handshake, and a third party
// with a certificate of its own is refused by either side.
func TestPinnedConfigsAuthenticateOnlyEachOther(t *testing.T) {
	host, plugin, stranger := mustCert(t), mustCert(t), mustCert(t)
	tests := []struct {
		name           string
		client, server *tls.Config
		wantOK         bool
	}{
		{"host to its plugin", pinnedConfig(host, plugin.Leaf), pinnedConfig(plugin, host.Leaf), true},
		{"stranger posing as the host", pinnedConfig(stranger, plugin.Leaf), pinnedConfig(plugin, host.Leaf), false},
		{"stranger posing as the plugin", pinnedConfig(host, plugin.Leaf), pinnedConfig(stranger, host.Leaf), false},
		{"client without a certificate", &tls.Config{RootCAs: pinnedConfig(host, plugin.Leaf).RootCAs, ServerName: "localhost"}, pinnedConfig(plugin, host.Leaf), false},
		{"host before the plugin's certificate is pinned", pinnedConfig(host, nil), pinnedConfig(plugin, host.Leaf), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cerr, serr := handshake(tt.client, tt.server)
			if got := cerr == nil && serr == nil; got != tt.wantOK {
				t.Errorf("handshake succeeded = %v, want %v (client: %v, server: %v)", got, tt.wantOK, cerr, serr)
			}
		})
	}
}

func TestNewCertificateIsFreshP256(t *testing.T) {
	a, b := mustCert(t), mustCert(t)
	key, ok := a.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Fatalf("key is %T on %v, want ECDSA P-256", a.PrivateKey, key.Curve)
	}
	if bytes.Equal(a.Certificate[0], b.Certificate[0]) || a.Leaf.SerialNumber.Cmp(b.Leaf.SerialNumber) == 0 {
		t.Error("two certificates are the same; each launch must get its own")
	}
}

func TestPluginTLSOnlyWhenTheHostAsks(t *testing.T) {
	hostConfig, env, err := hostCertificate()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	other, _, err := hostCertificate()
	if err != nil {
		t.Fatal(err)
	}
	otherPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.Certificates[0].Certificate[0]}))
	tests := []struct {
		name             string
		clientCert, line string
		wantOK           bool
	}{
		{"the host asks", vars[envClientCert], vars[envCertLine], true},
		{"AutoMTLS without the request", vars[envClientCert], "", false},
		{"a request left over for another certificate", otherPEM, vars[envCertLine], false},
		{"no host certificate", "", vars[envCertLine], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envClientCert, tt.clientCert)
			t.Setenv(envCertLine, tt.line)
			cfg, line, ok, err := pluginTLS()
			if err != nil || ok != tt.wantOK {
				t.Fatalf("pluginTLS() ok = %v, %v; want %v", ok, err, tt.wantOK)
			}
			if !ok {
				return
			}
			// The host pins what the line carries, and the two then
			// authenticate each other.
			r := newCertLineReader(io.NopCloser(strings.NewReader(line+"1|1|unix|/x|grpc|\n")), hostConfig)
			rest, err := io.ReadAll(r)
			if err != nil || string(rest) != "1|1|unix|/x|grpc|\n" {
				t.Fatalf("after the certificate line go-plugin reads %q, %v", rest, err)
			}
			if cerr, serr := handshake(hostConfig, cfg); cerr != nil || serr != nil {
				t.Fatalf("handshake: client %v, server %v", cerr, serr)
			}
		})
	}
}

func TestCertLineReader(t *testing.T) {
	plugin := mustCert(t)
	certLine := certLinePrefix + base64.RawStdEncoding.EncodeToString(plugin.Certificate[0]) + "\n"
	const handshakeLine = "1|1|unix|/tmp/plugin1|grpc|\n"
	tests := []struct {
		name, in, wantOut string
		wantErr           error
		wantPinned        bool
	}{
		{"certificate line, then the handshake", certLine + handshakeLine, handshakeLine, nil, true},
		{"an older plugin's handshake alone", handshakeLine, handshakeLine, nil, false},
		{"short output", "1|1\n", "1|1\n", nil, false},
		{"no output", "", "", nil, false},
		{"a line that is not a certificate", certLinePrefix + "bm90IGEgY2VydA\n" + handshakeLine, "", errCertLine, false},
		{"a line that is not base64", certLinePrefix + "!!\n" + handshakeLine, "", errCertLine, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := pinnedConfig(mustCert(t), nil)
			out, err := io.ReadAll(newCertLineReader(io.NopCloser(strings.NewReader(tt.in)), cfg))
			if !errors.Is(err, tt.wantErr) || string(out) != tt.wantOut {
				t.Fatalf("read %q, %v; want %q, %v", out, err, tt.wantOut, tt.wantErr)
			}
			if pinned := cfg.RootCAs != nil && cfg.ClientCAs != nil; pinned != tt.wantPinned {
				t.Fatalf("pinned = %v, want %v", pinned, tt.wantPinned)
			}
		})
	}
}
