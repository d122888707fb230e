package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
	"github.com/neural-dsl/neural-host/sdk"
)

// signedRequest sends body to a stand-in, signed like the SDK signs it
// unless secret is empty.
func signedRequest(t *testing.T, fake *fakeaws.Env, url, service, target, contentType, secret string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if secret != "" {
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: fake.AccessKey, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, fake.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Type string `json:"__type"`
	}
	json.Unmarshal(b, &e)
	if e.Type == "" {
		e.Type = string(b)
	}
	return resp.StatusCode, e.Type
}

// TestStandInsRefuseWhatAWSRefuses checks the stand-ins themselves: a test
// server that accepted anything would prove nothing about the plugin.
func TestStandInsRefuseWhatAWSRefuses(t *testing.T) {
	fake, _ := startFakeAWS(t, fakeaws.Options{})
	valid := map[string]any{
		"TrainingJobName": "ok-name", "RoleArn": fake.RoleARN,
		"AlgorithmSpecification": map[string]any{"TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5.1-cpu-py311", "TrainingInputMode": "File"},
		"OutputDataConfig":       map[string]any{"S3OutputPath": "s3://b/p"},
		"ResourceConfig":         map[string]any{"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
	}
	with := func(edit func(map[string]any)) []byte {
		b, _ := json.Marshal(valid)
		var m map[string]any
		json.Unmarshal(b, &m)
		edit(m)
		b, _ = json.Marshal(m)
		return b
	}
	const target, ct = "SageMaker.CreateTrainingJob", "application/x-amz-json-1.1"
	tests := []struct {
		name, target, ct, secret string
		body                     []byte
		status                   int
		code                     string
	}{
		{"unsigned", target, ct, "", with(func(map[string]any) {}), 400, "MissingAuthenticationToken"},
		{"wrong secret", target, ct, "not-the-secret", with(func(map[string]any) {}), 400, "InvalidSignatureException"},
		{"wrong content type", target, "application/json", fake.SecretKey, with(func(map[string]any) {}), 400, "UnknownOperationException"},
		{"unknown operation", "SageMaker.LaunchRocket", ct, fake.SecretKey, []byte("{}"), 400, "UnknownOperationException"},
		{"name pattern", target, ct, fake.SecretKey, with(func(m map[string]any) { m["TrainingJobName"] = "bad_name" }), 400, "ValidationException"},
		{"name length", target, ct, fake.SecretKey, with(func(m map[string]any) { m["TrainingJobName"] = strings.Repeat("a", 64) }), 400, "ValidationException"},
		{"missing role", target, ct, fake.SecretKey, with(func(m map[string]any) { delete(m, "RoleArn") }), 400, "ValidationException"},
		{"unknown instance type", target, ct, fake.SecretKey, with(func(m map[string]any) { m["ResourceConfig"].(map[string]any)["InstanceType"] = "ml.z9.huge" }), 400, "ValidationException"},
		{"wrong type", target, ct, fake.SecretKey, with(func(m map[string]any) { m["ResourceConfig"].(map[string]any)["InstanceCount"] = "one" }), 400, "SerializationException"},
		{"spot without max wait", target, ct, fake.SecretKey, with(func(m map[string]any) { m["EnableManagedSpotTraining"] = true }), 400, "ValidationException"},
		{"image not in ECR", target, ct, fake.SecretKey, with(func(m map[string]any) {
			m["AlgorithmSpecification"].(map[string]any)["TrainingImage"] = "docker.io/library/python:3"
		}), 400, "ValidationException"},
		{"role of another account", target, ct, fake.SecretKey, with(func(m map[string]any) { m["RoleArn"] = "arn:aws:iam::999999999999:role/X" }), 400, "ValidationException"},
		{"valid", target, ct, fake.SecretKey, with(func(map[string]any) {}), 200, ""},
		{"duplicate name", target, ct, fake.SecretKey, with(func(map[string]any) {}), 400, "ResourceInUse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := signedRequest(t, fake, fake.SageMakerURL, "sagemaker", tt.target, tt.ct, tt.secret, tt.body)
			if status != tt.status || (tt.code != "" && code != tt.code) {
				t.Errorf("got %d %s, want %d %s", status, code, tt.status, tt.code)
			}
		})
	}
	// Signatures are scoped to one service.
	if status, code := signedRequest(t, fake, fake.LogsURL, "sagemaker", "Logs_20140328.GetLogEvents", "application/x-amz-json-1.1", fake.SecretKey, []byte(`{"logStreamName":"x","logGroupName":"g"}`)); status != 400 || code != "InvalidSignatureException" {
		t.Errorf("logs signed for sagemaker: %d %s", status, code)
	}
	resp, err := http.Get(fake.S3URL + "/some-bucket/key")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("unsigned S3 GET: %d", resp.StatusCode)
	}
}

// TestBadCredentials: the plugin reports refused credentials as
// unauthenticated, with a hint and without the secret.
func TestBadCredentials(t *testing.T) {
	tests := []struct{ name, key, secret string }{
		{"unknown key", "AKIAUNKNOWN000000000", "whatever-secret-value"},
		{"wrong secret", "", "wrong-secret-value-0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, _ := startFakeAWS(t, fakeaws.Options{})
			cfg := settingsFor(fake)
			if tt.key != "" {
				cfg["access_key_id"] = tt.key
			}
			cfg["secret_access_key"] = tt.secret
			p := New()
			if err := p.Configure(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			c, err := p.clients(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for name, call := range map[string]func() error{
				"auth":   func() error { _, err := p.CheckAuth(ctx); return err },
				"status": func() error { _, err := p.Status(ctx, "some-job"); return err },
				"files":  func() error { _, err := p.ListFiles(ctx, sdk.ListFilesRequest{URI: "s3://bucket/"}); return err },
				"logs":   func() error { _, err := logStreams(ctx, c, "some-job"); return err },
			} {
				err := call()
				se := wantKind(t, err, sdk.ErrUnauthenticated)
				if se.Hint == "" || strings.Contains(err.Error(), tt.secret) {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
}
