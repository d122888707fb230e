package main

import (
	"context"
	"os"
	"sync"

	"github.com/neural-dsl/neural-host/sdk"
)

// Platform runs jobs as Vertex AI CustomJobs. Its methods are safe for
// concurrent use.
type Platform struct {
	mu     sync.Mutex
	cfg    settings
	conns  *conns
	getenv func(string) string
}

var (
	_ sdk.Platform     = (*Platform)(nil)
	_ sdk.FileTransfer = (*Platform)(nil)
	_ sdk.Deployer     = (*Platform)(nil)
	_ sdk.PriceCatalog = (*Platform)(nil)
)

// New returns a Platform with default settings; Configure replaces them.
func New() *Platform {
	p := &Platform{getenv: os.Getenv}
	if err := p.Configure(context.Background(), sdk.Config{}); err != nil {
		// A broken gcloud configuration must not stop the plugin from
		// starting: the host reports the error from its own Configure call.
		p.cfg = settings{location: defaultLocation, endpoint: defaultLocation + "-aiplatform.googleapis.com:443", pollInterval: defaultPollInterval}
		p.conns = newConns(p.cfg)
	}
	return p
}

func (p *Platform) Metadata() sdk.Metadata {
	return sdk.Metadata{
		Name:         "vertex",
		Version:      version(),
		Description:  "Runs jobs as Google Cloud Vertex AI custom jobs; files in Cloud Storage; models on Vertex AI endpoints.",
		Capabilities: sdk.Capabilities{LogFollow: true, Plan: true},
		Config:       configFields(),
		JobOptions:   jobOptions(),
	}
}

// Configure checks and stores the settings. It reads gcloud's local
// configuration but reaches no service.
func (p *Platform) Configure(_ context.Context, cfg sdk.Config) error {
	s, err := resolveSettings(cfg, p.getenv)
	if err != nil {
		return err
	}
	p.mu.Lock()
	old := p.conns
	p.cfg, p.conns = s, newConns(s)
	p.mu.Unlock()
	if old != nil {
		old.close()
	}
	return nil
}

// current returns the settings and the clients made for them.
func (p *Platform) current() (settings, *conns) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg, p.conns
}

// ready returns the settings with the project resolved, which may need the
// credentials, and the clients.
func (p *Platform) ready(ctx context.Context) (settings, *conns, error) {
	s, c := p.current()
	if s.project != "" {
		return s, c, nil
	}
	project, err := c.project(ctx)
	if err != nil {
		return s, c, err
	}
	s.project = project
	return s, c, nil
}
