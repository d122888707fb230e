package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/neural-dsl/neural-host/sdk"
)

// CheckAuth asks STS who the credentials belong to, then reports whether
// the rest of what a submit needs is configured.
func (p *Platform) CheckAuth(ctx context.Context) (sdk.AuthInfo, error) {
	c, err := p.regional(ctx)
	if err != nil {
		return sdk.AuthInfo{}, err
	}
	out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return sdk.AuthInfo{}, awsError(err, "checking credentials with sts:GetCallerIdentity", "")
	}
	account := aws.ToString(out.Account)
	info := sdk.AuthInfo{Identity: aws.ToString(out.Arn), Account: account}
	diag := func(check string, ok bool, msg, hint string) {
		info.Diagnostics = append(info.Diagnostics, sdk.Diagnostic{Check: check, OK: ok, Message: msg, Hint: hint})
	}
	diag("credentials", true, "caller "+info.Identity+" in account "+account, "")
	diag("region", true, c.region, "")
	s := p.settings()
	switch role := s.roleARN; {
	case role == "":
		diag("execution role", false, "no SageMaker execution role is configured", "set SAGEMAKER_ROLE_ARN or platforms.sagemaker.role_arn to a role SageMaker can assume")
	case accountOf(role) != account:
		diag("execution role", false, role+" is in account "+accountOf(role)+", not "+account, "use an execution role of the account you submit from")
	default:
		diag("execution role", true, role, "")
	}
	if s.bucket != "" {
		diag("bucket", true, s.bucket, "")
	} else {
		diag("bucket", true, "sagemaker-"+c.region+"-"+account+" (SageMaker's default; created on first submit)", "")
	}
	return info, nil
}

// bucket is the configured bucket, else SageMaker's default bucket of the
// role's account, else of the caller's account.
func (p *Platform) bucket(ctx context.Context, c *clients) (string, error) {
	s := p.settings()
	if s.bucket != "" {
		return s.bucket, nil
	}
	if c.region == "" {
		return "", sdk.FieldError("region", "no AWS region is configured, so the default bucket is unknown", "set AWS_REGION, or platforms.sagemaker.bucket")
	}
	if s.roleARN != "" {
		return "sagemaker-" + c.region + "-" + accountOf(s.roleARN), nil
	}
	out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", awsError(err, "finding the account for the default bucket", "")
	}
	return "sagemaker-" + c.region + "-" + aws.ToString(out.Account), nil
}
