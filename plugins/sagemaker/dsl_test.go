package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/runner"
)

// TestDSLJobBundle: a DSL job ships the model, the runner that installs
// neural-dsl and compiles it, and the launcher, and runs on the backend's
// framework container.
func TestDSLJobBundle(t *testing.T) {
	tests := []struct {
		backend sdk.Backend
		image   string
	}{
		{"", "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-training:2.14.1-gpu-py310"},
		{sdk.BackendPyTorch, "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5.1-gpu-py311"},
	}
	for _, tt := range tests {
		t.Run(string(tt.backend), func(t *testing.T) {
			// The job never starts: it would install neural-dsl.
			p, fake := newPlatform(t, fakeaws.Options{StartDelay: time.Hour})
			spec := sdk.JobSpec{Name: "mnist", Kind: sdk.KindDSL, Entrypoint: "mnist.neural", IdempotencyKey: "k",
				WorkDir:   workdir(t, map[string]string{"mnist.neural": "network MNIST {}\n", ".neuralignore": "*.ckpt\n", "old.ckpt": "x"}),
				DSL:       sdk.DSLOptions{Backend: tt.backend, Dataset: "MNIST", NeuralVersion: "0.3.0"},
				Resources: sdk.Resources{GPUs: 1, GPUType: "T4"}}
			st, err := p.Submit(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := fake.SageMaker.Request(st.ID)
			var req struct {
				AlgorithmSpecification struct{ TrainingImage string }
				ResourceConfig         struct{ InstanceType string }
			}
			json.Unmarshal(b, &req)
			if req.AlgorithmSpecification.TrainingImage != tt.image || req.ResourceConfig.InstanceType != "ml.g4dn.xlarge" {
				t.Errorf("image %s on %s", req.AlgorithmSpecification.TrainingImage, req.ResourceConfig.InstanceType)
			}
			obj, err := fake.S3.GetObject("sagemaker-us-east-1-123456789012", "neural/"+st.ID+"/source/sourcedir.tar.gz", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer obj.Contents.Close()
			zr, err := gzip.NewReader(obj.Contents)
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{}
			tr := tar.NewReader(zr)
			for {
				hdr, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(tr)
				files[hdr.Name] = string(body)
			}
			var names []string
			for n := range files {
				names = append(names, n)
			}
			sort.Strings(names)
			if strings.Join(names, " ") != ".neuralignore _neural_runner.py _neural_sagemaker.py mnist.neural" {
				t.Errorf("bundle holds %v", names)
			}
			runnerCfg := files[runner.FileName]
			if !strings.Contains(runnerCfg, `"Install": true`) || !strings.Contains(runnerCfg, `"NeuralVersion": "0.3.0"`) || !strings.Contains(runnerCfg, `"Dataset": "MNIST"`) {
				t.Errorf("runner config:\n%s", runnerCfg)
			}
			if !strings.Contains(files[launcherName], `"--","@python","_neural_runner.py"]`) {
				t.Errorf("launcher:\n%s", files[launcherName])
			}
		})
	}
}
