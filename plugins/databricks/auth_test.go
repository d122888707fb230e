package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

func TestCheckAuth(t *testing.T) {
	f := newFake(t)
	profiles := filepath.Join(t.TempDir(), "databrickscfg")
	if err := os.WriteFile(profiles, []byte("[neural]\nhost = "+f.URL+"\ntoken = "+f.Token()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     sdk.Config
		auth    string
		account string
	}{
		{"personal access token", nil, "pat", f.URL},
		{"OAuth M2M", sdk.Config{"token": "", "client_id": f.ClientID(), "client_secret": f.ClientSecret()}, "oauth-m2m", f.URL},
		{"config file profile", sdk.Config{"host": "", "token": "", "config_file": profiles, "profile": "neural"}, "pat", f.URL},
		{"endpoint override", sdk.Config{"host": "https://dbc-0000.cloud.databricks.com", "endpoint": f.URL}, "pat", "https://dbc-0000.cloud.databricks.com"},
		{"endpoint alone", sdk.Config{"host": "", "endpoint": f.URL}, "pat", f.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.Requests("GET", "/api/2.0/preview/scim/v2/Me"))
			info, err := newPlatform(t, f, tt.cfg).CheckAuth(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if info.Identity != "neural@example.com" || info.Account != tt.account || len(info.Diagnostics) != 3 {
				t.Errorf("info %+v", info)
			}
			for _, d := range info.Diagnostics {
				if !d.OK {
					t.Errorf("diagnostic %+v", d)
				}
			}
			if !strings.Contains(info.Diagnostics[1].Message, tt.auth) {
				t.Errorf("auth type %q, want %s", info.Diagnostics[1].Message, tt.auth)
			}
			if after := len(f.Requests("GET", "/api/2.0/preview/scim/v2/Me")); after != before+1 {
				t.Errorf("the workspace saw %d Me requests", after-before)
			}
		})
	}
	if len(f.Requests("POST", "/oidc/v1/token")) == 0 {
		t.Error("OAuth M2M never asked for a token")
	}
}

func TestAuthFailures(t *testing.T) {
	f := newFake(t)
	const secret = "dapi-this-is-a-secret-token"
	tests := []struct {
		name string
		cfg  sdk.Config
		want string
	}{
		{"no credentials", sdk.Config{"token": ""}, "DATABRICKS_TOKEN"},
		{"no host", sdk.Config{"host": "", "token": ""}, "DATABRICKS_HOST"},
		{"rejected token", sdk.Config{"token": secret}, "DATABRICKS_TOKEN"},
		{"rejected client secret", sdk.Config{"token": "", "client_id": f.ClientID(), "client_secret": secret}, "DATABRICKS_CLIENT_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlatform(t, f, tt.cfg)
			_, err := p.CheckAuth(context.Background())
			var se *sdk.Error
			if !errors.Is(err, sdk.ErrUnauthenticated) || !errors.As(err, &se) || !strings.Contains(se.Hint, tt.want) {
				t.Fatalf("err %v, want unauthenticated with a hint naming %s", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the secret leaked: %v", err)
			}
			// Every call reports the same, without reaching further.
			if _, err := p.Status(context.Background(), "1"); !errors.Is(err, sdk.ErrUnauthenticated) {
				t.Errorf("status: %v", err)
			}
		})
	}
}

// TestUnreachableWorkspace: a workspace that cannot be reached is
// unavailable, which the host retries, not a bad request.
func TestUnreachableWorkspace(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	p := newPlatform(t, f, sdk.Config{"endpoint": "http://127.0.0.1:1", "host": "https://dbc-0000.cloud.databricks.com", "retry_timeout": "1s"})
	if _, err := p.Status(context.Background(), "1"); !errors.Is(err, sdk.ErrUnavailable) {
		t.Errorf("err %v, want unavailable", err)
	}
}
