package main

import (
	"context"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

// Names the fakes answer to.
const (
	testProject  = "neural-test-project"
	testLocation = "us-central1"
	testBucket   = "neural-staging"
	testStaging  = "gs://" + testBucket + "/runs"
)

// fakeSet is a running fake Google Cloud: Vertex AI and Cloud Logging over
// TLS, Cloud Storage, and an OAuth2 token endpoint.
type fakeSet struct {
	f   *fake
	id  *identity
	gcs *gcsClient
	// env points a freshly started plugin binary at the fakes; cfg does the
	// same for a Platform in this process.
	env []string
	cfg sdk.Config
}

func startFakeSet(t *testing.T) *fakeSet {
	t.Helper()
	id := newIdentity(t, testProject)
	gcsURL := startGCS(t, id.secret, testBucket, "neural-models")
	f := newFake(testProject, testLocation)
	f.gcs = &gcsClient{base: gcsURL, secret: id.secret}
	f.work = t.TempDir()
	addr := f.serve(t, testCert, id.secret)
	fs := &fakeSet{f: f, id: id, gcs: f.gcs}
	fs.cfg = sdk.Config{
		keyProject: testProject, keyLocation: testLocation, keyCredentialsFile: id.keyFile,
		keyEndpoint: addr, keyLoggingEndpoint: addr, keyStorageEndpoint: gcsURL,
		keyStagingBucket: testStaging, keyPollInterval: "20ms",
	}
	fs.env = []string{
		"GOOGLE_APPLICATION_CREDENTIALS=" + id.keyFile,
		"GOOGLE_CLOUD_PROJECT=" + testProject,
		"GOOGLE_CLOUD_LOCATION=" + testLocation,
		"NEURAL_VERTEX_ENDPOINT=" + addr,
		"NEURAL_VERTEX_LOGGING_ENDPOINT=" + addr,
		"NEURAL_VERTEX_STORAGE_ENDPOINT=" + gcsURL,
		"NEURAL_VERTEX_STAGING_BUCKET=" + testStaging,
		"NEURAL_VERTEX_POLL_INTERVAL=20ms",
		// The fakes' certificate; the plugin trusts it as Go trusts any
		// private CA.
		"SSL_CERT_FILE=" + testCert.caFile,
		// Keep the developer's own gcloud settings out of the test.
		"CLOUDSDK_CONFIG=" + t.TempDir(),
	}
	return fs
}

// startFakes starts every fake the plugin talks to and returns the
// environment that points a freshly started plugin binary at them.
func startFakes(t *testing.T) (env []string) {
	return startFakeSet(t).env
}

// platform returns a configured in-process Platform with the fakes' cfg
// changed by edits, isolated from the developer's gcloud settings.
func (fs *fakeSet) platform(t *testing.T, edits ...string) *Platform {
	t.Helper()
	cfg := sdk.Config{}
	for k, v := range fs.cfg {
		cfg[k] = v
	}
	for _, e := range edits {
		k, v, _ := strings.Cut(e, "=")
		cfg[k] = v
	}
	p := &Platform{getenv: isolatedEnv(t, nil)}
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return p
}

// isolatedEnv is a getenv that sees only vars and an empty gcloud config.
func isolatedEnv(t *testing.T, vars map[string]string) func(string) string {
	dir := t.TempDir()
	return func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		if k == "CLOUDSDK_CONFIG" {
			return dir
		}
		return ""
	}
}
