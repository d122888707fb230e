package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// Platform runs jobs on Amazon SageMaker.
type Platform struct {
	mu  sync.Mutex
	cfg settings
	// aws holds the clients built from cfg on first use; nil until then.
	aws *clients
}

var (
	_ sdk.Platform     = (*Platform)(nil)
	_ sdk.FileTransfer = (*Platform)(nil)
	_ sdk.Deployer     = (*Platform)(nil)
	_ sdk.PriceCatalog = (*Platform)(nil)
)

// settings are the resolved plugin settings. Empty strings leave the choice
// to the AWS SDK's own configuration chain.
type settings struct {
	profile      string
	region       string
	accessKey    string
	secretKey    string
	sessionToken string
	roleARN      string
	// bucket is the S3 bucket for bundles and outputs; empty means
	// sagemaker-REGION-ACCOUNT, SageMaker's own default bucket.
	bucket string
	// endpoints maps a service ("sagemaker", "s3", "logs", "sts") to a base
	// URL; a missing service uses the SDK's resolution.
	endpoints   map[string]string
	s3PathStyle bool
	// pollInterval paces log following and endpoint waits; never zero.
	pollInterval time.Duration
	// retryMaxBackoff caps the SDK retryer's backoff; zero keeps the SDK's.
	retryMaxBackoff time.Duration
	// logPageSize bounds each GetLogEvents page; zero lets CloudWatch choose.
	logPageSize int32
}

// defaultPollInterval is how often a followed log or a deploy is checked.
const defaultPollInterval = 10 * time.Second

// New returns a Platform with default settings; Configure replaces them.
func New() *Platform {
	return &Platform{cfg: settings{pollInterval: defaultPollInterval}}
}

func (p *Platform) Metadata() sdk.Metadata {
	return sdk.Metadata{
		Name:         "sagemaker",
		Version:      version(),
		Description:  "Amazon SageMaker training jobs, CloudWatch logs, S3 files and real-time endpoints.",
		Capabilities: sdk.Capabilities{LogFollow: true, Plan: true},
		Config: []sdk.ConfigField{
			{Key: "role_arn", Description: "IAM execution role SageMaker assumes for jobs and models (required to submit and deploy).", EnvVars: []string{"SAGEMAKER_ROLE_ARN", "NEURAL_SAGEMAKER_ROLE_ARN"}},
			{Key: "region", Description: "AWS region; default: the SDK's chain (AWS_REGION, the profile's region).", EnvVars: []string{"AWS_REGION", "AWS_DEFAULT_REGION"}},
			{Key: "profile", Description: "Named profile from the shared AWS config files; overrides AWS_PROFILE and wins over access keys, as 'aws --profile' does."},
			{Key: "access_key_id", Description: "Static access key id; default: the SDK's credential chain.", EnvVars: []string{"AWS_ACCESS_KEY_ID"}},
			{Key: "secret_access_key", Description: "Secret for access_key_id.", Secret: true, EnvVars: []string{"AWS_SECRET_ACCESS_KEY"}},
			{Key: "session_token", Description: "Session token for temporary access keys.", Secret: true, EnvVars: []string{"AWS_SESSION_TOKEN"}},
			{Key: "bucket", Description: "S3 bucket for job bundles and outputs (default: sagemaker-REGION-ACCOUNT, created when missing).", EnvVars: []string{"NEURAL_SAGEMAKER_BUCKET"}},
			{Key: "endpoint_url", Description: "Base URL for every AWS service the plugin calls (proxies, VPC endpoints, test servers).", EnvVars: []string{"AWS_ENDPOINT_URL"}},
			{Key: "sagemaker_endpoint", Description: "Base URL of the SageMaker API; overrides endpoint_url.", EnvVars: []string{"AWS_ENDPOINT_URL_SAGEMAKER"}},
			{Key: "s3_endpoint", Description: "Base URL of S3; overrides endpoint_url.", EnvVars: []string{"AWS_ENDPOINT_URL_S3"}},
			{Key: "logs_endpoint", Description: "Base URL of CloudWatch Logs; overrides endpoint_url.", EnvVars: []string{"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"}},
			{Key: "sts_endpoint", Description: "Base URL of STS; overrides endpoint_url.", EnvVars: []string{"AWS_ENDPOINT_URL_STS"}},
			{Key: "s3_force_path_style", Description: "Address buckets as https://host/bucket instead of https://bucket.host (for S3-compatible proxies).", Default: "false", EnvVars: []string{"NEURAL_SAGEMAKER_S3_PATH_STYLE"}},
			{Key: "poll_interval", Description: "How often followed logs and endpoint deployments are checked.", Default: defaultPollInterval.String(), EnvVars: []string{"NEURAL_SAGEMAKER_POLL_INTERVAL"}},
			{Key: "retry_max_backoff", Description: "Longest wait between the SDK's retries of a throttled or failed call (default: the SDK's 20s).", EnvVars: []string{"NEURAL_SAGEMAKER_RETRY_MAX_BACKOFF"}},
		},
		JobOptions: []sdk.ConfigField{
			{Key: "framework", Description: "Deep Learning Container to run in: pytorch or tensorflow (default: the dsl backend, else pytorch)."},
			{Key: "framework_version", Description: "Framework version of the container (default: the newest in the plugin's table)."},
			{Key: "image", Description: "Training image URI to use instead of a framework container; it must run SageMaker script mode."},
			{Key: "max_wait", Description: "Spot jobs: how long to wait for capacity and run, at least max_runtime (default: twice max_runtime)."},
			{Key: "subnets", Description: "Comma-separated VPC subnet ids to run the job in; needs security_groups."},
			{Key: "security_groups", Description: "Comma-separated VPC security group ids; needs subnets."},
		},
	}
}

var (
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	roleARNPattern = regexp.MustCompile(`^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	bucketPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$`)
)

// Configure takes the settings the host resolved. A setting missing from
// cfg is looked up in its environment variables and default as the host
// would, so a plugin started without a host resolves them the same way.
func (p *Platform) Configure(_ context.Context, given sdk.Config) error {
	cfg := sdk.Config{}
	for _, f := range p.Metadata().Config {
		v := given[f.Key]
		for _, env := range f.EnvVars {
			if v != "" {
				break
			}
			v = os.Getenv(env)
		}
		if v == "" {
			v = f.Default
		}
		cfg[f.Key] = v
	}
	for k := range given {
		if _, ok := cfg[k]; !ok {
			return sdk.FieldError(k, "is not a setting of platform sagemaker", "see 'neural-host platforms sagemaker' for its settings")
		}
	}
	s := settings{
		profile: cfg["profile"], region: cfg["region"], accessKey: cfg["access_key_id"],
		secretKey: cfg["secret_access_key"], sessionToken: cfg["session_token"],
		roleARN: cfg["role_arn"], bucket: cfg["bucket"], endpoints: map[string]string{},
		pollInterval: defaultPollInterval,
	}
	if s.region != "" && !regionPattern.MatchString(s.region) {
		return sdk.FieldError("region", fmt.Sprintf("%q is not an AWS region", s.region), "use a region code such as us-east-1")
	}
	if s.roleARN != "" && !roleARNPattern.MatchString(s.roleARN) {
		return sdk.FieldError("role_arn", fmt.Sprintf("%q is not an IAM role ARN", s.roleARN), "use the role's ARN, such as arn:aws:iam::123456789012:role/SageMakerExecution")
	}
	if s.bucket != "" && !bucketPattern.MatchString(s.bucket) {
		return sdk.FieldError("bucket", fmt.Sprintf("%q is not an S3 bucket name", s.bucket), "use the bucket's name only, without s3:// or a path")
	}
	if (s.accessKey == "") != (s.secretKey == "") {
		return sdk.FieldError("secret_access_key", "access_key_id and secret_access_key must be set together", "set both (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or neither to use a profile or role")
	}
	// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS makes every AWS tool ignore
	// configured endpoints; the plugin's endpoint settings are configured
	// endpoints too.
	ignore, _ := strconv.ParseBool(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
	for _, svc := range []string{"sagemaker", "s3", "logs", "sts"} {
		key := svc + "_endpoint"
		v := cfg[key]
		if v == "" {
			key, v = "endpoint_url", cfg["endpoint_url"]
		}
		if v == "" || ignore {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return sdk.FieldError(key, fmt.Sprintf("%q is not an http(s) URL", v), "give a base URL such as https://api.sagemaker.us-east-1.amazonaws.com")
		}
		s.endpoints[svc] = strings.TrimRight(v, "/")
	}
	if v := cfg["s3_force_path_style"]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return sdk.FieldError("s3_force_path_style", fmt.Sprintf("%q is not true or false", v), "set true or false")
		}
		s.s3PathStyle = b
	}
	for _, err := range []error{
		cfg.Duration("poll_interval", time.Nanosecond, &s.pollInterval),
		cfg.Duration("retry_max_backoff", time.Nanosecond, &s.retryMaxBackoff),
	} {
		if err != nil {
			return err
		}
	}
	p.mu.Lock()
	p.cfg, p.aws = s, nil
	p.mu.Unlock()
	return nil
}

func (p *Platform) settings() settings {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}
