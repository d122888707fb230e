package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

func TestMetadata(t *testing.T) {
	m := New().Metadata()
	if m.Name != "vertex" || m.Version != version() || !m.Capabilities.LogFollow || !m.Capabilities.Plan {
		t.Errorf("metadata %+v", m)
	}
	secret := map[string]bool{}
	for _, f := range m.Config {
		secret[f.Key] = f.Secret
		if f.Description == "" {
			t.Errorf("setting %s has no description", f.Key)
		}
	}
	if !secret[keyAccessToken] || secret[keyProject] {
		t.Errorf("secret flags %v", secret)
	}
	envs := map[string]bool{}
	for _, f := range m.Config {
		for _, e := range f.EnvVars {
			envs[e] = true
		}
	}
	// The old connector's names and gcloud's own keep working.
	for _, e := range []string{"GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CORE_PROJECT", "CLOUDSDK_AI_REGION", "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM"} {
		if !envs[e] {
			t.Errorf("no setting reads %s", e)
		}
	}
}

func writeGcloud(t *testing.T, configs map[string]string, active string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "configurations"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range configs {
		if err := os.WriteFile(filepath.Join(dir, "configurations", "config_"+name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if active != "" {
		_ = os.WriteFile(filepath.Join(dir, "active_config"), []byte(active+"\n"), 0o644)
	}
	return dir
}

func TestResolveSettings(t *testing.T) {
	gcloud := writeGcloud(t, map[string]string{
		"default": "[core]\nproject = from-gcloud\n[ai]\nregion = europe-west4\n[api_endpoint_overrides]\naiplatform = https://europe-west4-aiplatform.example.com/\n",
		"work":    "[core]\nproject = work-project\n",
	}, "")
	adcDir := writeGcloud(t, nil, "")
	for _, f := range []string{"application_default_credentials.json", "key.json"} {
		_ = os.WriteFile(filepath.Join(adcDir, f), []byte(`{"type":"authorized_user"}`), 0o600)
	}
	tests := []struct {
		name string
		cfg  sdk.Config
		env  map[string]string
		want func(settings) bool
	}{
		{"defaults without gcloud", sdk.Config{}, map[string]string{"CLOUDSDK_CONFIG": t.TempDir()}, func(s settings) bool {
			return s.project == "" && s.location == "us-central1" && s.endpoint == "us-central1-aiplatform.googleapis.com:443" && s.pollInterval == 5*time.Second
		}},
		{"gcloud configuration", sdk.Config{}, map[string]string{"CLOUDSDK_CONFIG": gcloud}, func(s settings) bool {
			return s.project == "from-gcloud" && s.location == "europe-west4" && s.endpoint == "europe-west4-aiplatform.example.com:443"
		}},
		{"named gcloud configuration", sdk.Config{}, map[string]string{"CLOUDSDK_CONFIG": gcloud, "CLOUDSDK_ACTIVE_CONFIG_NAME": "work"}, func(s settings) bool {
			return s.project == "work-project" && s.location == "us-central1"
		}},
		{"gcloud environment overrides its file", sdk.Config{}, map[string]string{"CLOUDSDK_CONFIG": gcloud, "CLOUDSDK_CORE_PROJECT": "env-project"}, func(s settings) bool {
			return s.project == "env-project"
		}},
		{"settings override gcloud", sdk.Config{keyProject: "set-project", keyLocation: "asia-east1", keyEndpoint: "10.0.0.1:8443"}, map[string]string{"CLOUDSDK_CONFIG": gcloud}, func(s settings) bool {
			return s.project == "set-project" && s.location == "asia-east1" && s.endpoint == "10.0.0.1:8443" && s.artifactRegistryHost() == "asia-docker.pkg.dev"
		}},
		{"endpoint host gets a port", sdk.Config{keyEndpoint: "private.example.com", keyLoggingEndpoint: "https://logs.example.com/"}, nil, func(s settings) bool {
			return s.endpoint == "private.example.com:443" && s.loggingEndpoint == "logs.example.com:443" && s.apiHost() == "private.example.com"
		}},
		{"storage endpoint gets the API path", sdk.Config{keyStorageEndpoint: "http://127.0.0.1:9000"}, nil, func(s settings) bool {
			return s.storageEndpoint == "http://127.0.0.1:9000/storage/v1/"
		}},
		{"gcloud's application default credentials", sdk.Config{}, map[string]string{"CLOUDSDK_CONFIG": adcDir}, func(s settings) bool {
			return s.credentialsFile == filepath.Join(adcDir, "application_default_credentials.json")
		}},
		{"a key file wins over gcloud's login", sdk.Config{keyCredentialsFile: filepath.Join(adcDir, "key.json")}, map[string]string{"CLOUDSDK_CONFIG": adcDir}, func(s settings) bool {
			return s.credentialsFile == filepath.Join(adcDir, "key.json")
		}},
		{"staging bucket and prefix", sdk.Config{keyStagingBucket: "gs://b-1/a/b/"}, nil, func(s settings) bool {
			return s.stagingBucket == "b-1" && s.stagingPrefix == "a/b" && s.stagingPath("x") == "a/b/x"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == nil {
				env = map[string]string{"CLOUDSDK_CONFIG": t.TempDir()}
			}
			s, err := resolveSettings(tt.cfg, func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(s) {
				t.Errorf("settings %+v", s)
			}
		})
	}
}

func TestBadSettings(t *testing.T) {
	tests := []struct {
		key, value string
		kind       error
	}{
		{keyProject, "My Project", sdk.ErrInvalidArgument},
		{keyLocation, "mars", sdk.ErrInvalidArgument},
		{keyEndpoint, "https://x.example.com/v1/api", sdk.ErrInvalidArgument},
		{keyStorageEndpoint, "ftp://x", sdk.ErrInvalidArgument},
		{keyStagingBucket, "s3://bucket", sdk.ErrInvalidArgument},
		{keyStagingBucket, "gs://A_B", sdk.ErrInvalidArgument},
		{keyPollInterval, "0s", sdk.ErrInvalidArgument},
		{keyPollInterval, "soon", sdk.ErrInvalidArgument},
		{keyCredentialsFile, "/no/such/key.json", sdk.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			p := &Platform{getenv: isolatedEnv(t, nil)}
			err := p.Configure(context.Background(), sdk.Config{tt.key: tt.value})
			if se := wantKind(t, err, tt.kind, tt.key); se.Hint == "" {
				t.Errorf("no hint: %v", err)
			}
		})
	}
}

func TestCheckAuth(t *testing.T) {
	fs := startFakeSet(t)
	t.Run("service account", func(t *testing.T) {
		info, err := fs.platform(t).CheckAuth(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if info.Identity != fs.id.email || info.Account != testProject+" (us-central1)" {
			t.Errorf("identity %q account %q", info.Identity, info.Account)
		}
		if len(info.Diagnostics) != 4 {
			t.Fatalf("diagnostics %+v", info.Diagnostics)
		}
		for _, d := range info.Diagnostics {
			if !d.OK {
				t.Errorf("diagnostic %+v", d)
			}
		}
		if fs.id.exchanges.Load() == 0 {
			t.Error("no token was obtained from the token endpoint")
		}
	})
	t.Run("project from the key file", func(t *testing.T) {
		info, err := fs.platform(t, keyProject+"=").CheckAuth(testCtx(t))
		if err != nil || info.Account != testProject+" (us-central1)" {
			t.Errorf("account %q, %v", info.Account, err)
		}
	})
	t.Run("missing bucket", func(t *testing.T) {
		info, err := fs.platform(t, keyStagingBucket+"=gs://nope-bucket").CheckAuth(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		d := info.Diagnostics[len(info.Diagnostics)-1]
		if d.OK || d.Check != "staging bucket" || !strings.Contains(d.Hint, "gcloud storage buckets create gs://nope-bucket") {
			t.Errorf("bucket diagnostic %+v", d)
		}
	})
	t.Run("other project", func(t *testing.T) {
		info, err := fs.platform(t, keyProject+"=someone-else").CheckAuth(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if d := info.Diagnostics[2]; d.OK || !strings.Contains(d.Hint, "roles/aiplatform.user") {
			t.Errorf("vertex diagnostic %+v", d)
		}
	})
	t.Run("rejected access token stays secret", func(t *testing.T) {
		const token = "ya29.not-a-real-token-0123456789"
		p := fs.platform(t, keyAccessToken+"="+token)
		info, err := p.CheckAuth(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		d := info.Diagnostics[2]
		if d.OK || !strings.Contains(d.Hint, "gcloud auth application-default login") || strings.Contains(d.Message+d.Hint+info.Identity, token) {
			t.Errorf("diagnostic %+v, identity %q", d, info.Identity)
		}
		_, err = p.Submit(testCtx(t), commandSpec(t, "tok", "true", nil))
		wantKind(t, err, sdk.ErrUnauthenticated, "")
		if strings.Contains(err.Error(), token) {
			t.Errorf("the token leaked: %v", err)
		}
		plan, err := p.Plan(testCtx(t), commandSpec(t, "tok", "true", nil))
		for _, r := range plan.Requests {
			if err != nil || strings.Contains(r.Body+r.Target, token) {
				t.Errorf("the token is in the plan: %v", err)
			}
		}
	})
	t.Run("minted access token works", func(t *testing.T) {
		p := fs.platform(t, keyAccessToken+"="+mintToken(fs.id.secret), keyCredentialsFile+"=")
		if _, err := p.List(testCtx(t), sdk.ListRequest{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no credentials at all", func(t *testing.T) {
		// No key file, no gcloud login, and a metadata server that
		// refuses: Application Default Credentials find nothing usable.
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
		t.Setenv("HOME", t.TempDir())
		t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
		t.Setenv("GCE_METADATA_HOST", "127.0.0.1:1")
		p := fs.platform(t, keyCredentialsFile+"=")
		_, err := p.CheckAuth(testCtx(t))
		if se := wantKind(t, err, sdk.ErrUnauthenticated, ""); !strings.Contains(se.Hint, "gcloud auth application-default login") {
			t.Errorf("hint %q", se.Hint)
		}
	})
}
