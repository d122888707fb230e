package plugin_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"testing"

	"github.com/neural-dsl/neural-host/sdk/plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
)

// TestLaunchSpeaksMutualTLSOnP256 proves that a launched plugin made its
// own P-256 certificate, not go-plugin's P-521 one, and that the host
// verified it: the connection is TLS with a verified chain to that
// certificate alone.
func TestLaunchSpeaksMutualTLSOnP256(t *testing.T) {
	conn, err := plugin.Launch(context.Background(), plugin.LaunchConfig{Name: "testplugin", Path: testPlugin})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var p peer.Peer
	if _, err := grpc_health_v1.NewHealthClient(conn.ClientConn()).Check(context.Background(),
		&grpc_health_v1.HealthCheckRequest{Service: "plugin"}, grpc.Peer(&p)); err != nil {
		t.Fatal(err)
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		t.Fatalf("the connection's auth is %T, want TLS", p.AuthInfo)
	}
	certs := info.State.PeerCertificates
	if len(certs) != 1 || len(info.State.VerifiedChains) != 1 || len(info.State.VerifiedChains[0]) != 1 {
		t.Fatalf("peer certificates %d, verified chains %v; want the plugin's one certificate, verified", len(certs), info.State.VerifiedChains)
	}
	key, ok := certs[0].PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Fatalf("the plugin's key is %T, want ECDSA P-256", certs[0].PublicKey)
	}
}
