package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/databricks/databricks-sdk-go/client"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/service/files"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/serving"
)

// workspace holds the SDK service clients of one configured workspace.
type workspace struct {
	cfg *config.Config
	// api sends requests the service clients do not offer as such, such as
	// one page of a listing the SDK would follow to its end.
	api     *client.DatabricksClient
	jobs    *jobs.JobsAPI
	dbfs    *files.DbfsAPI
	files   *files.FilesAPI
	serving *serving.ServingEndpointsAPI
	me      *iam.CurrentUserAPI
}

// sdkConfig turns the plugin settings into an SDK configuration. Fields
// left empty are filled by the SDK's own loaders (environment, then the
// config file profile) when the configuration is resolved.
func (s settings) sdkConfig() (*config.Config, error) {
	c := &config.Config{
		Host: s.host, Token: s.token, ClientID: s.clientID, ClientSecret: s.clientSecret,
		Profile: s.profile, ConfigFile: s.configFile, AuthType: s.authType, ClusterID: s.clusterID,
		RateLimitPerSecond: s.rateLimit, RetryTimeoutSeconds: int(s.retryTimeout.Seconds()),
	}
	if s.endpoint != "" {
		target, err := endpointURL(s.endpoint)
		if err != nil {
			return nil, err
		}
		if c.Host == "" {
			// Without a separate workspace URL the endpoint is the workspace.
			c.Host = s.endpoint
		} else {
			c.HTTPTransport = &endpointTransport{target: target, base: http.DefaultTransport}
		}
	}
	return c, nil
}

// resolved returns the configuration as the SDK's loaders fill it, without
// any network call: used where only host or cluster id is needed.
func (s settings) resolved() *config.Config {
	c, err := s.sdkConfig()
	if err != nil {
		return &config.Config{}
	}
	for _, l := range []config.Loader{config.ConfigAttributes, config.ConfigFile} {
		_ = l.Configure(c)
	}
	return c
}

// client returns the workspace clients, building them on first use.
func (p *Platform) client() (*workspace, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.api != nil {
		return p.api, nil
	}
	cfg, err := p.cfg.sdkConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, p.cfg.authError(err)
	}
	p.api = &workspace{cfg: cfg, api: c, jobs: jobs.NewJobs(c), dbfs: files.NewDbfs(c), files: files.NewFiles(c),
		serving: serving.NewServingEndpoints(c), me: iam.NewCurrentUser(c)}
	return p.api, nil
}

// endpointURL checks an endpoint override.
func endpointURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) base URL", raw)
	}
	return u, nil
}

// endpointTransport sends every request to target, keeping the path, so
// that a proxy or private endpoint can front the workspace while host keeps
// naming it (for OAuth audiences and console links).
type endpointTransport struct {
	target *url.URL
	base   http.RoundTripper
}

func (t *endpointTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = t.target.Scheme, t.target.Host
	if prefix := strings.TrimSuffix(t.target.Path, "/"); prefix != "" {
		r.URL.Path = prefix + r.URL.Path
		if r.URL.RawPath != "" {
			r.URL.RawPath = prefix + r.URL.RawPath
		}
	}
	r.Host = t.target.Host
	return t.base.RoundTrip(r)
}

// cloudOf names the cloud a workspace runs on from its URL, as the
// Databricks SDK does; unknown hosts count as AWS.
func cloudOf(host string) string {
	h := strings.ToLower(host)
	switch {
	case strings.Contains(h, ".azuredatabricks.net") || strings.Contains(h, ".databricks.azure."):
		return "azure"
	case strings.Contains(h, ".gcp.databricks.com"):
		return "gcp"
	}
	return "aws"
}

// consoleBase is the workspace URL links point at.
func consoleBase(c *config.Config) string {
	h := strings.TrimSuffix(c.Host, "/")
	if h != "" && !strings.Contains(h, "://") {
		h = "https://" + h
	}
	return h
}
