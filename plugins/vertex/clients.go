package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/logging/logadmin"
	"cloud.google.com/go/storage"
	"github.com/neural-dsl/neural-host/sdk"
	"google.golang.org/api/option"
)

// cloudPlatformScope covers Vertex AI, Cloud Storage and Cloud Logging.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// hintLogin is the hint for every missing or rejected credential.
const hintLogin = "run 'gcloud auth application-default login', or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file"

// conns holds one set of credentials and the clients built on them, made
// on first use so that Configure and Plan reach no service.
type conns struct {
	s  settings
	mu sync.Mutex
	// creds is shared by every client, so that one token serves them all
	// and CheckAuth reports the identity the other calls use.
	creds     *auth.Credentials
	jobs      *aiplatform.JobClient
	models    *aiplatform.ModelClient
	endpoints *aiplatform.EndpointClient
	gcs       *storage.Client
	logs      *logadmin.Client
}

func newConns(s settings) *conns { return &conns{s: s} }

// staticToken serves an access token the user obtained elsewhere.
type staticToken string

func (t staticToken) Token(context.Context) (*auth.Token, error) {
	return &auth.Token{Value: string(t), Type: "Bearer"}, nil
}

// credentials resolves the credentials: the access token, else the named
// file, else Application Default Credentials.
func (c *conns) credentials() (*auth.Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.creds != nil {
		return c.creds, nil
	}
	opts := &credentials.DetectOptions{Scopes: []string{cloudPlatformScope}}
	var creds *auth.Credentials
	var err error
	switch {
	case c.s.accessToken != "":
		creds = auth.NewCredentials(&auth.CredentialsOptions{TokenProvider: staticToken(c.s.accessToken)})
	case c.s.credentialsFile != "":
		var t string
		t, err = credentialsType(c.s.credentialsFile)
		if err == nil {
			creds, err = credentials.NewCredentialsFromFile(credentials.CredType(t), c.s.credentialsFile, opts)
		}
	default:
		creds, err = credentials.DetectDefault(opts)
	}
	if err != nil {
		return nil, &sdk.Error{Kind: sdk.ErrUnauthenticated, Message: "no usable Google Cloud credentials: " + err.Error(), Hint: hintLogin}
	}
	c.creds = creds
	return creds, nil
}

// credentialsType reads the "type" member of a credentials file.
func credentialsType(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &f); err != nil || f.Type == "" {
		return "", fmt.Errorf("%s is not a Google credentials JSON file", path)
	}
	return f.Type, nil
}

// project is the configured project, else the credentials' own.
func (c *conns) project(ctx context.Context) (string, error) {
	if c.s.project != "" {
		return c.s.project, nil
	}
	creds, err := c.credentials()
	if err != nil {
		return "", err
	}
	if p, err := creds.ProjectID(ctx); err == nil && p != "" {
		return p, nil
	}
	return "", sdk.FieldError(keyProject, "no Google Cloud project is set and the credentials name none",
		"set GOOGLE_CLOUD_PROJECT, or run 'gcloud config set project PROJECT_ID'")
}

func (c *conns) options(endpoint string) ([]option.ClientOption, error) {
	creds, err := c.credentials()
	if err != nil {
		return nil, err
	}
	opts := []option.ClientOption{option.WithAuthCredentials(creds), option.WithUserAgent("neural-plugin-vertex/" + version())}
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(endpoint))
	}
	return opts, nil
}

// client returns *slot, making it with mk on first use.
func client[T any](c *conns, slot *T, endpoint string, mk func(context.Context, ...option.ClientOption) (T, error)) (T, error) {
	var zero T
	opts, err := c.options(endpoint)
	if err != nil {
		return zero, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if any(*slot) != any(zero) {
		return *slot, nil
	}
	// The clients outlive the call that first needs them.
	v, err := mk(context.Background(), opts...)
	if err != nil {
		return zero, fmt.Errorf("vertex: connecting to %s: %w", endpoint, err)
	}
	*slot = v
	return v, nil
}

func (c *conns) jobClient() (*aiplatform.JobClient, error) {
	return client(c, &c.jobs, c.s.endpoint, aiplatform.NewJobClient)
}

func (c *conns) modelClient() (*aiplatform.ModelClient, error) {
	return client(c, &c.models, c.s.endpoint, aiplatform.NewModelClient)
}

func (c *conns) endpointClient() (*aiplatform.EndpointClient, error) {
	return client(c, &c.endpoints, c.s.endpoint, aiplatform.NewEndpointClient)
}

func (c *conns) storageClient() (*storage.Client, error) {
	return client(c, &c.gcs, c.s.storageEndpoint, storage.NewClient)
}

func (c *conns) logClient(project string) (*logadmin.Client, error) {
	return client(c, &c.logs, c.s.loggingEndpoint, func(ctx context.Context, opts ...option.ClientOption) (*logadmin.Client, error) {
		return logadmin.NewClient(ctx, project, opts...)
	})
}

func (c *conns) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.jobs != nil {
		_ = c.jobs.Close()
	}
	if c.models != nil {
		_ = c.models.Close()
	}
	if c.endpoints != nil {
		_ = c.endpoints.Close()
	}
	if c.gcs != nil {
		_ = c.gcs.Close()
	}
	if c.logs != nil {
		_ = c.logs.Close()
	}
}
