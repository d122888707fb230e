package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
	"github.com/neural-dsl/neural-host/sdk"
)

func TestConfigureRejects(t *testing.T) {
	tests := []struct {
		key, value, field string
	}{
		{"region", "moon-base", "region"},
		{"role_arn", "SageMakerRole", "role_arn"},
		{"bucket", "s3://my-bucket", "bucket"},
		{"endpoint_url", "ftp://proxy", "endpoint_url"},
		{"s3_endpoint", "not a url", "s3_endpoint"},
		{"poll_interval", "0s", "poll_interval"},
		{"retry_max_backoff", "soon", "retry_max_backoff"},
		{"s3_force_path_style", "maybe", "s3_force_path_style"},
		{"access_key_id", "AKIAONLYTHEKEY", "secret_access_key"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			err := New().Configure(context.Background(), sdk.Config{tt.key: tt.value})
			if se := wantKind(t, err, sdk.ErrInvalidArgument); se.Field != tt.field || se.Hint == "" {
				t.Errorf("field %q hint %q", se.Field, se.Hint)
			}
		})
	}
}

func TestEndpointSettings(t *testing.T) {
	cfg := sdk.Config{"endpoint_url": "https://vpce.example/", "sagemaker_endpoint": "https://sm.example"}
	p := New()
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"sagemaker": "https://sm.example", "s3": "https://vpce.example", "logs": "https://vpce.example", "sts": "https://vpce.example"}
	if got := p.settings().endpoints; !reflect.DeepEqual(got, want) {
		t.Errorf("endpoints %v, want %v", got, want)
	}
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := p.settings().endpoints; len(got) != 0 {
		t.Errorf("endpoints %v despite AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", got)
	}
}

// TestSharedConfigProfiles: credentials and region come from the AWS
// config files as the aws CLI reads them, chosen by AWS_PROFILE or by the
// plugin's profile setting.
func TestSharedConfigProfiles(t *testing.T) {
	fake, _ := startFakeAWS(t, fakeaws.Options{Region: "eu-west-1"})
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	os.WriteFile(config, []byte("[default]\nregion = us-east-1\n\n[profile neural]\nregion = eu-west-1\n"), 0o600)
	os.WriteFile(creds, []byte("[neural]\naws_access_key_id = "+fake.AccessKey+"\naws_secret_access_key = "+fake.SecretKey+"\n"), 0o600)
	t.Setenv("AWS_CONFIG_FILE", config)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	endpoints := sdk.Config{"sts_endpoint": fake.STSURL, "sagemaker_endpoint": fake.SageMakerURL}
	check := func(t *testing.T, cfg sdk.Config) {
		t.Helper()
		p := New()
		if err := p.Configure(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		info, err := p.CheckAuth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.Account != fake.Account || p.aws.region != "eu-west-1" {
			t.Errorf("account %q region %q", info.Account, p.aws.region)
		}
	}
	t.Run("profile setting", func(t *testing.T) {
		cfg := sdk.Config{"profile": "neural"}
		for k, v := range endpoints {
			cfg[k] = v
		}
		check(t, cfg)
	})
	t.Run("AWS_PROFILE", func(t *testing.T) {
		t.Setenv("AWS_PROFILE", "neural")
		check(t, endpoints)
	})
	t.Run("missing profile", func(t *testing.T) {
		p := New()
		p.Configure(context.Background(), sdk.Config{"profile": "nope"})
		_, err := p.CheckAuth(context.Background())
		if se := wantKind(t, err, sdk.ErrInvalidArgument); se.Field != "profile" {
			t.Errorf("field %q", se.Field)
		}
	})
}

func TestNoRegion(t *testing.T) {
	p := New()
	p.Configure(context.Background(), sdk.Config{"role_arn": "arn:aws:iam::123456789012:role/R"})
	_, err := p.Status(context.Background(), "some-job")
	if se := wantKind(t, err, sdk.ErrInvalidArgument); se.Field != "region" || !strings.Contains(se.Hint, "AWS_REGION") {
		t.Errorf("%v", se)
	}
}

func TestCheckAuth(t *testing.T) {
	tests := []struct {
		name, role string
		roleOK     bool
	}{
		{"ready", "", true},
		{"no role", "-", false},
		{"role of another account", "arn:aws:iam::999999999999:role/Other", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, _ := startFakeAWS(t, fakeaws.Options{})
			cfg := settingsFor(fake)
			switch tt.role {
			case "-":
				delete(cfg, "role_arn")
			case "":
			default:
				cfg["role_arn"] = tt.role
			}
			p := New()
			p.Configure(context.Background(), cfg)
			info, err := p.CheckAuth(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if info.Identity != "arn:aws:iam::123456789012:user/neural-test" || info.Account != "123456789012" {
				t.Errorf("identity %q account %q", info.Identity, info.Account)
			}
			for _, d := range info.Diagnostics {
				if d.Check == "execution role" && (d.OK != tt.roleOK || (!d.OK && d.Hint == "")) {
					t.Errorf("role diagnostic %+v", d)
				}
			}
		})
	}
}

// TestSecretsStayHidden: the secret key and session token appear in no
// plan, error or setting listing.
func TestSecretsStayHidden(t *testing.T) {
	const secret, token = "SECRET-abcdefghijklmnop0123456789", "TOKEN-session-0123456789abcdef"
	for _, f := range New().Metadata().Config {
		if (f.Key == "secret_access_key" || f.Key == "session_token") != f.Secret {
			t.Errorf("%s: Secret=%v", f.Key, f.Secret)
		}
	}
	p := New()
	err := p.Configure(context.Background(), sdk.Config{"access_key_id": "AKIAHIDDEN0000000000", "secret_access_key": secret, "session_token": token,
		"region": "us-east-1", "role_arn": "arn:aws:iam::123456789012:role/R", "endpoint_url": "http://127.0.0.1:1", "retry_max_backoff": "1ms"})
	if err != nil {
		t.Fatal(err)
	}
	spec := pythonJob(t, "hidden", "k", "pass\n")
	plan, err := p.Plan(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{strings.Join(plan.Warnings, "\n")}
	for _, r := range plan.Requests {
		texts = append(texts, r.Body, r.Target)
	}
	for _, call := range []func() error{
		func() error { _, err := p.Submit(context.Background(), spec); return err },
		func() error { _, err := p.CheckAuth(context.Background()); return err },
		func() error {
			_, err := p.ListFiles(context.Background(), sdk.ListFilesRequest{URI: "s3://bucket-x/"})
			return err
		},
	} {
		err := call()
		if err == nil {
			t.Fatal("a call to a closed port succeeded")
		}
		wantKind(t, err, sdk.ErrUnavailable)
		texts = append(texts, err.Error())
	}
	for _, s := range texts {
		if strings.Contains(s, secret) || strings.Contains(s, token) {
			t.Errorf("secret shown in %q", s)
		}
	}
}

// TestSettingsFromEnvironment: a plugin configured without a host reads
// its settings' variables itself.
func TestSettingsFromEnvironment(t *testing.T) {
	t.Setenv("SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/FromEnv")
	t.Setenv("NEURAL_SAGEMAKER_POLL_INTERVAL", "75ms")
	p := New()
	if err := p.Configure(context.Background(), sdk.Config{"bucket": "given-bucket"}); err != nil {
		t.Fatal(err)
	}
	s := p.settings()
	if s.roleARN != "arn:aws:iam::123456789012:role/FromEnv" || s.pollInterval.String() != "75ms" || s.bucket != "given-bucket" {
		t.Errorf("settings %+v", s)
	}
	err := p.Configure(context.Background(), sdk.Config{"queue": "x"})
	if se := wantKind(t, err, sdk.ErrInvalidArgument); se.Field != "queue" {
		t.Errorf("field %q", se.Field)
	}
}
