package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// Platform runs jobs on a Databricks workspace.
type Platform struct {
	mu  sync.Mutex
	cfg settings
	// api is built on first use from cfg, so that Configure never reaches
	// the workspace; nil until then and after every Configure.
	api *workspace
}

var (
	_ sdk.Platform     = (*Platform)(nil)
	_ sdk.FileTransfer = (*Platform)(nil)
	_ sdk.Deployer     = (*Platform)(nil)
	_ sdk.PriceCatalog = (*Platform)(nil)
)

// Compute kinds a job can run on.
const (
	computeNew        = "new"
	computeExisting   = "existing"
	computeServerless = "serverless"
)

// settings are the resolved plugin settings. Empty strings leave the value
// to the Databricks SDK's own configuration chain.
type settings struct {
	host, token, clientID, clientSecret string
	profile, configFile, authType       string
	// endpoint, when set, receives every API request in place of host.
	endpoint string
	// clusterID is the existing cluster jobs run on; empty creates a
	// cluster per job unless compute says otherwise.
	clusterID string
	// compute is new, existing or serverless; empty picks existing when a
	// cluster id is known and new otherwise.
	compute string
	// stagingDir is where bundles, launchers, outputs and cluster logs go.
	stagingDir   string
	sparkVersion string
	nodeType     string
	// pollInterval paces log following and waits; never zero.
	pollInterval time.Duration
	// waitTimeout bounds cancel and deploy waits; never zero.
	waitTimeout time.Duration
	// rateLimit is requests per second; zero keeps the SDK's default.
	rateLimit int
	// retryTimeout bounds the SDK's retries of one request; zero keeps the
	// SDK's default of five minutes.
	retryTimeout time.Duration
}

const defaultStagingDir = "dbfs:/FileStore/neural-host"

// New returns a Platform with default settings; Configure replaces them.
func New() *Platform {
	p := &Platform{}
	_ = p.Configure(context.Background(), sdk.Config{})
	return p
}

func (p *Platform) Metadata() sdk.Metadata {
	return sdk.Metadata{
		Name:         "databricks",
		Version:      version(),
		Description:  "Runs jobs as Databricks one-time runs; DBFS and volume files; Model Serving endpoints.",
		Capabilities: sdk.Capabilities{LogFollow: true, Plan: true},
		Config: []sdk.ConfigField{
			{Key: "host", Description: "Workspace URL, such as https://dbc-1234.cloud.databricks.com (default: the SDK's configuration chain).", EnvVars: []string{"DATABRICKS_HOST"}},
			{Key: "token", Description: "Personal access token.", Secret: true, EnvVars: []string{"DATABRICKS_TOKEN"}},
			{Key: "client_id", Description: "OAuth M2M service principal client id.", EnvVars: []string{"DATABRICKS_CLIENT_ID"}},
			{Key: "client_secret", Description: "OAuth M2M service principal secret.", Secret: true, EnvVars: []string{"DATABRICKS_CLIENT_SECRET"}},
			{Key: "profile", Description: "Profile in the Databricks config file.", EnvVars: []string{"DATABRICKS_CONFIG_PROFILE"}},
			{Key: "config_file", Description: "Databricks config file (default: ~/.databrickscfg).", EnvVars: []string{"DATABRICKS_CONFIG_FILE"}},
			{Key: "auth_type", Description: "Force one Databricks auth type, such as pat or oauth-m2m.", EnvVars: []string{"DATABRICKS_AUTH_TYPE"}},
			{Key: "endpoint", Description: "Base URL that receives API requests instead of host (a proxy or private endpoint).", EnvVars: []string{"NEURAL_DATABRICKS_ENDPOINT"}},
			{Key: "cluster_id", Description: "Existing cluster to run jobs on (default: a new cluster per job).", EnvVars: []string{"DATABRICKS_CLUSTER_ID"}},
			{Key: "default_compute", Description: "new, existing or serverless (default: existing when cluster_id is set, else new).", EnvVars: []string{"NEURAL_DATABRICKS_COMPUTE"}},
			{Key: "staging_dir", Description: "DBFS path or /Volumes/... directory for bundles, outputs and logs.", Default: defaultStagingDir, EnvVars: []string{"NEURAL_DATABRICKS_STAGING_DIR"}},
			{Key: "default_spark_version", Description: "Databricks Runtime for new clusters (default: 15.4 LTS ML, GPU build when GPUs are asked for).", EnvVars: []string{"NEURAL_DATABRICKS_SPARK_VERSION"}},
			{Key: "default_node_type", Description: "Node type for new clusters when the job names none (default: chosen from the job's resources).", EnvVars: []string{"NEURAL_DATABRICKS_NODE_TYPE"}},
			{Key: "poll_interval", Description: "How often followed logs and waits poll the workspace.", Default: "5s", EnvVars: []string{"NEURAL_DATABRICKS_POLL_INTERVAL"}},
			{Key: "wait_timeout", Description: "How long cancel and deploy wait for the workspace.", Default: "20m", EnvVars: []string{"NEURAL_DATABRICKS_WAIT_TIMEOUT"}},
			{Key: "rate_limit", Description: "Most API requests per second (default: the SDK's 15).", EnvVars: []string{"DATABRICKS_RATE_LIMIT"}},
			{Key: "retry_timeout", Description: "How long one request is retried on throttling and transient failures (default: the SDK's 5m).", EnvVars: []string{"NEURAL_DATABRICKS_RETRY_TIMEOUT"}},
		},
		JobOptions: []sdk.ConfigField{
			{Key: "compute", Description: "new, existing or serverless"},
			{Key: "existing_cluster_id", Description: "existing cluster to run on (implies compute: existing)"},
			{Key: "spark_version", Description: "Databricks Runtime of the new cluster"},
			{Key: "node_type_id", Description: "node type of the new cluster's workers and driver"},
			{Key: "driver_node_type_id", Description: "node type of the new cluster's driver"},
			{Key: "policy_id", Description: "cluster policy applied to the new cluster"},
			{Key: "instance_pool_id", Description: "instance pool the new cluster's nodes come from"},
		},
	}
}

func (p *Platform) Configure(_ context.Context, cfg sdk.Config) error {
	s := settings{
		host: strings.TrimSpace(cfg["host"]), token: cfg["token"], clientID: cfg["client_id"], clientSecret: cfg["client_secret"],
		profile: cfg["profile"], configFile: cfg["config_file"], authType: cfg["auth_type"],
		endpoint: strings.TrimSpace(cfg["endpoint"]), clusterID: strings.TrimSpace(cfg["cluster_id"]),
		compute: strings.ToLower(strings.TrimSpace(cfg["default_compute"])), stagingDir: strings.TrimSpace(cfg["staging_dir"]),
		sparkVersion: strings.TrimSpace(cfg["default_spark_version"]), nodeType: strings.TrimSpace(cfg["default_node_type"]),
		pollInterval: 5 * time.Second, waitTimeout: 20 * time.Minute,
	}
	if s.stagingDir == "" {
		s.stagingDir = defaultStagingDir
	}
	if _, err := parseLocation(s.stagingDir); err != nil {
		return sdk.FieldError("staging_dir", fmt.Sprintf("%q is not a DBFS or volume directory", s.stagingDir), "use dbfs:/path or /Volumes/catalog/schema/volume/path")
	}
	switch s.compute {
	case "", computeNew, computeExisting, computeServerless:
	default:
		return sdk.FieldError("default_compute", fmt.Sprintf("%q is not a compute kind", s.compute), "set default_compute to new, existing or serverless")
	}
	for _, err := range []error{
		cfg.Duration("poll_interval", time.Nanosecond, &s.pollInterval),
		cfg.Duration("wait_timeout", time.Nanosecond, &s.waitTimeout),
		cfg.Duration("retry_timeout", time.Second, &s.retryTimeout),
	} {
		if err != nil {
			return err
		}
	}
	if v := cfg["rate_limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return sdk.FieldError("rate_limit", fmt.Sprintf("%q is not a positive number", v), "set rate_limit to requests per second, such as 15")
		}
		s.rateLimit = n
	}
	if s.endpoint != "" {
		if _, err := endpointURL(s.endpoint); err != nil {
			return sdk.FieldError("endpoint", err.Error(), "give a base URL such as https://proxy.example.com")
		}
	}
	p.mu.Lock()
	p.cfg, p.api = s, nil
	p.mu.Unlock()
	return nil
}

func (p *Platform) settings() settings {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}
