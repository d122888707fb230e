package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/neural-dsl/neural-host/sdk"
)

// clients are the AWS service clients of one configuration.
type clients struct {
	region string
	sm     *sagemaker.Client
	s3     *s3.Client
	logs   *cloudwatchlogs.Client
	sts    *sts.Client
}

// clients loads the AWS configuration on first use. Loading reads the
// environment and the shared config files but sends nothing.
func (p *Platform) clients(ctx context.Context) (*clients, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.aws != nil {
		return p.aws, nil
	}
	s := p.cfg
	opts := []func(*config.LoadOptions) error{config.WithAppID("neural-host")}
	if s.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.profile))
	}
	if s.region != "" {
		opts = append(opts, config.WithRegion(s.region))
	}
	// A profile chosen in the plugin's settings wins over keys, as an
	// explicit --profile does for the aws CLI.
	if s.accessKey != "" && s.profile == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(s.accessKey, s.secretKey, s.sessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		var missing config.SharedConfigProfileNotExistError
		if errors.As(err, &missing) {
			return nil, sdk.FieldError("profile", fmt.Sprintf("profile %q is not in the AWS config files", missing.Profile), "list profiles with 'aws configure list-profiles', or unset AWS_PROFILE")
		}
		return nil, &sdk.Error{Kind: sdk.ErrInvalidArgument, Message: "loading the AWS configuration: " + err.Error(), Hint: "check ~/.aws/config, ~/.aws/credentials and the AWS_* environment variables"}
	}
	backoff := func(r aws.Retryer) aws.Retryer {
		if s.retryMaxBackoff > 0 {
			return retry.AddWithMaxBackoffDelay(r, s.retryMaxBackoff)
		}
		return r
	}
	// endpoint keeps what the SDK resolved (AWS_ENDPOINT_URL_*, the
	// shared config's services section) unless a setting overrides it.
	endpoint := func(svc string, current *string) *string {
		if u := s.endpoints[svc]; u != "" {
			return aws.String(u)
		}
		return current
	}
	c := &clients{
		region: cfg.Region,
		sm: sagemaker.NewFromConfig(cfg, func(o *sagemaker.Options) {
			o.BaseEndpoint, o.Retryer = endpoint("sagemaker", o.BaseEndpoint), backoff(o.Retryer)
		}),
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint, o.Retryer = endpoint("s3", o.BaseEndpoint), backoff(o.Retryer)
			o.UsePathStyle = o.UsePathStyle || s.s3PathStyle
			// The plugin's stderr is the host's log of it, not a console.
			o.DisableLogOutputChecksumValidationSkipped = true
		}),
		logs: cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
			o.BaseEndpoint, o.Retryer = endpoint("logs", o.BaseEndpoint), backoff(o.Retryer)
		}),
		sts: sts.NewFromConfig(cfg, func(o *sts.Options) {
			o.BaseEndpoint, o.Retryer = endpoint("sts", o.BaseEndpoint), backoff(o.Retryer)
		}),
	}
	p.aws = c
	return c, nil
}

// regional returns the clients and fails with a hint when no region is
// configured anywhere.
func (p *Platform) regional(ctx context.Context) (*clients, error) {
	c, err := p.clients(ctx)
	if err != nil {
		return nil, err
	}
	if c.region == "" {
		return nil, sdk.FieldError("region", "no AWS region is configured", "set AWS_REGION, a region in your AWS profile, or platforms.sagemaker.region in the config file")
	}
	return c, nil
}
