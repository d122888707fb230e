package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/auth"
	"cloud.google.com/go/compute/metadata"
	"github.com/neural-dsl/neural-host/sdk"
	"google.golang.org/api/iterator"
)

// CheckAuth resolves the credentials, obtains a token, and makes one
// cheap call to Vertex AI and, when one is set, to the staging bucket, so
// that each part of the setup is reported separately.
func (p *Platform) CheckAuth(ctx context.Context) (sdk.AuthInfo, error) {
	s, c := p.current()
	creds, err := c.credentials()
	if err != nil {
		return sdk.AuthInfo{}, err
	}
	if _, err := creds.Token(ctx); err != nil {
		return sdk.AuthInfo{}, &sdk.Error{Kind: sdk.ErrUnauthenticated, Message: "the credentials give no token: " + err.Error(), Hint: hintLogin}
	}
	info := sdk.AuthInfo{Identity: principal(ctx, s, creds)}
	info.Diagnostics = append(info.Diagnostics, sdk.Diagnostic{Check: "credentials", OK: true, Message: info.Identity})
	s, c, err = p.ready(ctx)
	if err != nil {
		info.Diagnostics = append(info.Diagnostics, failed("project", err))
		return info, nil
	}
	info.Account = s.project + " (" + s.location + ")"
	info.Diagnostics = append(info.Diagnostics, sdk.Diagnostic{Check: "project", OK: true, Message: s.project})
	info.Diagnostics = append(info.Diagnostics, p.probeVertex(ctx, s, c))
	info.Diagnostics = append(info.Diagnostics, p.probeBucket(ctx, s, c))
	return info, nil
}

func failed(check string, err error) sdk.Diagnostic {
	d := sdk.Diagnostic{Check: check, Message: err.Error()}
	var se *sdk.Error
	if errors.As(err, &se) {
		d.Message, d.Hint = se.Message, se.Hint
	}
	return d
}

func (p *Platform) probeVertex(ctx context.Context, s settings, c *conns) sdk.Diagnostic {
	const check = "vertex ai"
	jobs, err := c.jobClient()
	if err != nil {
		return failed(check, err)
	}
	it := jobs.ListCustomJobs(ctx, &aiplatformpb.ListCustomJobsRequest{Parent: s.parent(), PageSize: 1})
	if _, err := it.Next(); err != nil && !errors.Is(err, iterator.Done) {
		return failed(check, apiError(err, "ListCustomJobs", ""))
	}
	return sdk.Diagnostic{Check: check, OK: true, Message: "custom jobs readable at " + s.endpoint}
}

func (p *Platform) probeBucket(ctx context.Context, s settings, c *conns) sdk.Diagnostic {
	const check = "staging bucket"
	if s.stagingBucket == "" {
		return sdk.Diagnostic{Check: check, Message: "not set; jobs cannot be submitted",
			Hint: "set NEURAL_VERTEX_STAGING_BUCKET to gs://BUCKET[/PREFIX] in " + s.location}
	}
	gcs, err := c.storageClient()
	if err != nil {
		return failed(check, err)
	}
	attrs, err := gcs.Bucket(s.stagingBucket).Attrs(ctx)
	if err != nil {
		return failed(check, apiError(err, "gs://"+s.stagingBucket, "create it with 'gcloud storage buckets create gs://"+s.stagingBucket+" --location "+s.location+"'"))
	}
	d := sdk.Diagnostic{Check: check, OK: true, Message: "gs://" + s.stagingBucket + " in " + strings.ToLower(attrs.Location)}
	if loc := strings.ToLower(attrs.Location); loc != s.location && !strings.HasPrefix(s.location, loc) {
		d.Hint = "the bucket is not in " + s.location + "; jobs read it across regions"
	}
	return d
}

// principal names who the credentials act as, as far as they say.
func principal(ctx context.Context, s settings, creds *auth.Credentials) string {
	if s.accessToken != "" {
		return "access token (GOOGLE_OAUTH_ACCESS_TOKEN)"
	}
	var f struct {
		Type          string `json:"type"`
		ClientEmail   string `json:"client_email"`
		Impersonation string `json:"service_account_impersonation_url"`
		Audience      string `json:"audience"`
	}
	if b := creds.JSON(); len(b) > 0 && json.Unmarshal(b, &f) == nil {
		switch {
		case f.Impersonation != "":
			email := f.Impersonation[strings.LastIndex(f.Impersonation, "/")+1:]
			return strings.TrimSuffix(email, ":generateAccessToken") + " (impersonated)"
		case f.ClientEmail != "":
			return f.ClientEmail
		case f.Type == "authorized_user":
			return "user credentials from 'gcloud auth application-default login'"
		case f.Type == "external_account":
			return "workload identity federation (" + f.Audience + ")"
		}
		return f.Type + " credentials"
	}
	if email, err := metadata.EmailWithContext(ctx, "default"); err == nil && email != "" {
		return email + " (metadata server)"
	}
	return "application default credentials"
}
