package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// Setting keys, as users write them under platforms.vertex in the CLI's
// config file.
const (
	keyProject         = "project"
	keyLocation        = "location"
	keyCredentialsFile = "credentials_file"
	keyAccessToken     = "access_token"
	keyStagingBucket   = "staging_bucket"
	keyServiceAccount  = "service_account"
	keyEndpoint        = "endpoint"
	keyStorageEndpoint = "storage_endpoint"
	keyLoggingEndpoint = "logging_endpoint"
	keyServingImage    = "serving_image"
	keyPollInterval    = "poll_interval"
)

// defaultLocation is used when neither the settings nor gcloud name one.
const defaultLocation = "us-central1"

// defaultPollInterval paces status polling while following logs, waiting
// for a cancel and waiting for long-running operations. Cloud Logging
// allows 60 reads a minute per project, so it stays above one second.
const defaultPollInterval = 5 * time.Second

func configFields() []sdk.ConfigField {
	return []sdk.ConfigField{
		{Key: keyProject, Description: "Google Cloud project ID (default: gcloud's core/project, then the credentials' project).",
			EnvVars: []string{"GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT", "GCLOUD_PROJECT"}},
		{Key: keyLocation, Description: "Vertex AI region (default: gcloud's ai/region, then " + defaultLocation + ").",
			EnvVars: []string{"GOOGLE_CLOUD_LOCATION", "CLOUDSDK_AI_REGION", "GOOGLE_CLOUD_REGION"}},
		{Key: keyCredentialsFile, Description: "Credentials JSON file (a service-account key, or any file gcloud writes); empty uses Application Default Credentials.",
			EnvVars: []string{"GOOGLE_APPLICATION_CREDENTIALS"}},
		{Key: keyAccessToken, Description: "OAuth2 access token to use instead of credentials, such as from 'gcloud auth print-access-token'.",
			Secret: true, EnvVars: []string{"GOOGLE_OAUTH_ACCESS_TOKEN"}},
		{Key: keyStagingBucket, Description: "gs://BUCKET[/PREFIX] holding job bundles and outputs; required to submit jobs.",
			EnvVars: []string{"NEURAL_VERTEX_STAGING_BUCKET"}},
		{Key: keyServiceAccount, Description: "Service account jobs run as (default: the Vertex AI custom code service agent).",
			EnvVars: []string{"NEURAL_VERTEX_SERVICE_ACCOUNT"}},
		{Key: keyEndpoint, Description: "Vertex AI API endpoint as host[:port] or URL (default: LOCATION-aiplatform.googleapis.com, or gcloud's api_endpoint_overrides/aiplatform).",
			EnvVars: []string{"NEURAL_VERTEX_ENDPOINT", "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM"}},
		{Key: keyStorageEndpoint, Description: "Cloud Storage JSON API URL (default: the library's, or gcloud's api_endpoint_overrides/storage).",
			EnvVars: []string{"NEURAL_VERTEX_STORAGE_ENDPOINT", "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE"}},
		{Key: keyLoggingEndpoint, Description: "Cloud Logging API endpoint as host[:port] or URL (default: logging.googleapis.com, or gcloud's api_endpoint_overrides/logging).",
			EnvVars: []string{"NEURAL_VERTEX_LOGGING_ENDPOINT", "CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING"}},
		{Key: keyServingImage, Description: "Serving container image for deployed models (default: the prebuilt TensorFlow 2 CPU prediction image).",
			EnvVars: []string{"NEURAL_VERTEX_SERVING_IMAGE"}},
		{Key: keyPollInterval, Description: "Interval between checks while following logs or waiting for an operation.",
			Default: defaultPollInterval.String(), EnvVars: []string{"NEURAL_VERTEX_POLL_INTERVAL"}},
	}
}

// settings are the resolved, checked settings of one plugin process.
type settings struct {
	// project is empty until resolved from the credentials.
	project  string
	location string
	// credentialsFile and accessToken are empty to use Application Default
	// Credentials.
	credentialsFile string
	accessToken     string
	// stagingBucket is empty when none is configured; stagingPrefix has no
	// leading or trailing slash and may be empty.
	stagingBucket  string
	stagingPrefix  string
	serviceAccount string
	// endpoint and loggingEndpoint are host:port; storageEndpoint is a URL.
	// Empty logging and storage endpoints use the libraries' defaults.
	endpoint        string
	storageEndpoint string
	loggingEndpoint string
	servingImage    string
	pollInterval    time.Duration
}

var (
	projectRe  = regexp.MustCompile(`^(([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})$`)
	locationRe = regexp.MustCompile(`^[a-z]+(-[a-z]+)+[0-9]+$`)
	bucketRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$`)
)

// resolveSettings checks cfg and fills the gaps from gcloud's configuration.
// It reads local files only.
func resolveSettings(cfg sdk.Config, getenv func(string) string) (settings, error) {
	g := loadGcloudProps(getenv)
	pick := func(key, prop string) string {
		if v := strings.TrimSpace(cfg[key]); v != "" {
			return v
		}
		if prop == "" {
			return ""
		}
		return g.get(prop)
	}
	s := settings{
		project:         pick(keyProject, "core/project"),
		location:        pick(keyLocation, "ai/region"),
		credentialsFile: pick(keyCredentialsFile, ""),
		accessToken:     pick(keyAccessToken, ""),
		serviceAccount:  pick(keyServiceAccount, ""),
		servingImage:    pick(keyServingImage, ""),
		pollInterval:    defaultPollInterval,
	}
	if s.location == "" {
		s.location = defaultLocation
	}
	if s.project != "" && !projectRe.MatchString(s.project) {
		return s, sdk.FieldError(keyProject, fmt.Sprintf("%q is not a Google Cloud project ID", s.project), "use the project ID (such as my-project-123), not its display name")
	}
	if !locationRe.MatchString(s.location) {
		return s, sdk.FieldError(keyLocation, fmt.Sprintf("%q is not a Vertex AI region", s.location), "use a region such as us-central1 or europe-west4")
	}
	if s.credentialsFile == "" && s.accessToken == "" && getenv("CLOUDSDK_CONFIG") != "" {
		// gcloud writes application-default credentials into its config
		// directory, which the Go library looks for only under $HOME.
		adc := filepath.Join(getenv("CLOUDSDK_CONFIG"), "application_default_credentials.json")
		if _, err := os.Stat(adc); err == nil {
			s.credentialsFile = adc
		}
	}
	if s.credentialsFile != "" {
		if _, err := os.Stat(s.credentialsFile); err != nil {
			return s, &sdk.Error{Kind: sdk.ErrUnauthenticated, Field: keyCredentialsFile, Message: "cannot read " + s.credentialsFile,
				Hint: "point GOOGLE_APPLICATION_CREDENTIALS at an existing key file, or unset it to use 'gcloud auth application-default login'"}
		}
	}
	if b := pick(keyStagingBucket, ""); b != "" {
		bucket, prefix, err := parseGCS(b)
		if err != nil || bucket == "" {
			return s, sdk.FieldError(keyStagingBucket, fmt.Sprintf("%q is not a gs://BUCKET[/PREFIX] location", b), "set it to a bucket you can write to, such as gs://my-bucket/neural")
		}
		s.stagingBucket, s.stagingPrefix = bucket, strings.Trim(prefix, "/")
	}
	var err error
	if s.endpoint, err = grpcEndpoint(keyEndpoint, pick(keyEndpoint, "api_endpoint_overrides/aiplatform")); err != nil {
		return s, err
	}
	if s.endpoint == "" {
		s.endpoint = s.location + "-aiplatform.googleapis.com:443"
	}
	if s.loggingEndpoint, err = grpcEndpoint(keyLoggingEndpoint, pick(keyLoggingEndpoint, "api_endpoint_overrides/logging")); err != nil {
		return s, err
	}
	if s.storageEndpoint, err = storageEndpoint(pick(keyStorageEndpoint, "api_endpoint_overrides/storage")); err != nil {
		return s, err
	}
	if err := cfg.Duration(keyPollInterval, time.Nanosecond, &s.pollInterval); err != nil {
		return s, err
	}
	return s, nil
}

// grpcEndpoint turns host, host:port or an https URL into host:port.
func grpcEndpoint(key, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	bad := sdk.FieldError(key, fmt.Sprintf("%q is not a host[:port] or https URL", v), "write it as us-central1-aiplatform.googleapis.com or https://HOST/")
	host := v
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return "", bad
		}
		host = u.Host
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "443")
	}
	if h, p, err := net.SplitHostPort(host); err != nil || h == "" || p == "" || strings.ContainsAny(h, "/ ") {
		return "", bad
	}
	return host, nil
}

// storageEndpoint turns a host or URL into the JSON API base URL the
// storage client expects.
func storageEndpoint(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if !strings.Contains(v, "://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", sdk.FieldError(keyStorageEndpoint, fmt.Sprintf("%q is not a URL", v), "write it as https://storage.googleapis.com/storage/v1/")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/storage/v1/"
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

// parseGCS splits gs://BUCKET/OBJECT (or a bare BUCKET[/OBJECT]) and checks
// the bucket name.
func parseGCS(uri string) (bucket, object string, err error) {
	rest := strings.TrimPrefix(uri, "gs://")
	if strings.Contains(rest, "://") {
		return "", "", fmt.Errorf("vertex: %q is not a gs:// URI", uri)
	}
	bucket, object, _ = strings.Cut(rest, "/")
	if !bucketRe.MatchString(bucket) || strings.Contains(bucket, "..") {
		return "", "", fmt.Errorf("vertex: %q is not a bucket name", bucket)
	}
	return bucket, object, nil
}

// parent is the resource name of the configured location.
func (s settings) parent() string { return "projects/" + s.project + "/locations/" + s.location }

// stagingPath joins parts under the staging prefix, as an object name.
func (s settings) stagingPath(parts ...string) string {
	if s.stagingPrefix != "" {
		parts = append([]string{s.stagingPrefix}, parts...)
	}
	return strings.Join(parts, "/")
}

// artifactRegistryHost is the multi-region registry of Google's prebuilt
// containers nearest the location.
func (s settings) artifactRegistryHost() string {
	switch {
	case strings.HasPrefix(s.location, "europe-"), strings.HasPrefix(s.location, "me-"), strings.HasPrefix(s.location, "africa-"):
		return "europe-docker.pkg.dev"
	case strings.HasPrefix(s.location, "asia-"), strings.HasPrefix(s.location, "australia-"):
		return "asia-docker.pkg.dev"
	}
	return "us-docker.pkg.dev"
}

// apiHost is the host users reach the REST API at, for URLs shown to them.
func (s settings) apiHost() string {
	h, p, err := net.SplitHostPort(s.endpoint)
	if err != nil || p == "443" {
		return strings.TrimSuffix(s.endpoint, ":443")
	}
	return net.JoinHostPort(h, p)
}
