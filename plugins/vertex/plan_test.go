package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/neural-dsl/neural-host/sdk"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// jobRequest is the CustomJob the fake stored for name.
func (f *fake) jobRequest(name string) *aiplatformpb.CustomJob {
	f.mu.Lock()
	defer f.mu.Unlock()
	return proto.Clone(f.jobs[name].job).(*aiplatformpb.CustomJob)
}

func (f *fake) totalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

func TestPlanIsWhatSubmitSends(t *testing.T) {
	fs := startFakeSet(t)
	fs.f.manual = true
	p := fs.platform(t)
	spec := sdk.JobSpec{
		Name: "mnist", Kind: sdk.KindDSL, Entrypoint: "mnist.neural",
		WorkDir: workdir(t, map[string]string{"mnist.neural": "network M {}\n"}),
		DSL:     sdk.DSLOptions{Backend: sdk.BackendPyTorch, Dataset: "MNIST"},
		Env:     map[string]string{"B": "2", "A": "1"}, Labels: map[string]string{"team": "vision"},
		Resources:      sdk.Resources{GPUType: "T4", GPUs: 1, MaxRuntime: 2 * time.Hour, Nodes: 2, DiskGB: 200},
		IdempotencyKey: "plan-1",
	}
	plan, err := p.Plan(testCtx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	if n := fs.f.totalCalls(); n != 0 {
		t.Fatalf("plan made %d API calls", n)
	}
	if objs, _ := fs.gcs.list(testBucket, ""); len(objs) != 0 {
		t.Fatalf("plan wrote %v", objs)
	}
	var ops []string
	for _, r := range plan.Requests {
		ops = append(ops, r.Operation)
		if !json.Valid([]byte(r.Body)) {
			t.Errorf("%s body is not JSON:\n%s", r.Operation, r.Body)
		}
	}
	if len(ops) != 3 || ops[0] != "ListCustomJobs" || !strings.HasPrefix(ops[1], "storage.objects.insert") || ops[2] != "CreateCustomJob" {
		t.Fatalf("operations %v", ops)
	}
	if !strings.Contains(plan.Requests[0].Target, "labels."+keyLabel) || plan.Requests[2].Target != "https://127.0.0.1:"+strings.Split(fs.cfg[keyEndpoint], ":")[1]+"/v1/projects/"+testProject+"/locations/"+testLocation+"/customJobs" {
		t.Errorf("targets %q, %q", plan.Requests[0].Target, plan.Requests[2].Target)
	}
	var planned aiplatformpb.CreateCustomJobRequest
	if err := protojson.Unmarshal([]byte(plan.Requests[2].Body), &planned); err != nil {
		t.Fatal(err)
	}
	st, err := p.Submit(testCtx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	sent := fs.f.jobRequest(st.Attributes["resource"])
	sent.Name, sent.State, sent.CreateTime, sent.UpdateTime = "", 0, nil, nil
	if !proto.Equal(planned.GetCustomJob(), sent) {
		t.Fatalf("planned:\n%s\nsent:\n%s", render(planned.GetCustomJob()), render(sent))
	}
	// The plan names the upload Submit made.
	var upload struct{ Name, SHA256 string }
	_ = json.Unmarshal([]byte(plan.Requests[1].Body), &upload)
	if b, err := fs.gcs.read(testBucket, upload.Name); err != nil || len(b) == 0 || !strings.Contains(upload.Name, upload.SHA256) {
		t.Errorf("bundle %q: %d bytes, %v", upload.Name, len(b), err)
	}
	pool := planned.GetCustomJob().GetJobSpec().GetWorkerPoolSpecs()
	c := pool[0].GetContainerSpec()
	checks := []struct {
		what string
		ok   bool
	}{
		{"two pools, primary of one replica", len(pool) == 2 && pool[0].GetReplicaCount() == 1 && pool[1].GetReplicaCount() == 1},
		{"T4 on the cheapest N1 machine", pool[0].GetMachineSpec().GetMachineType() == "n1-standard-4" &&
			pool[0].GetMachineSpec().GetAcceleratorType() == aiplatformpb.AcceleratorType_NVIDIA_TESLA_T4 && pool[0].GetMachineSpec().GetAcceleratorCount() == 1},
		{"pytorch GPU image", c.GetImageUri() == "us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest"},
		{"runner argv", strings.Join(c.GetArgs(), " ") == "python3 _neural_runner.py"},
		{"env sorted then plugin's", len(c.GetEnv()) == 4 && c.GetEnv()[0].GetName() == "A" && c.GetEnv()[2].GetName() == "NEURAL_OUTPUT_DIR" &&
			c.GetEnv()[2].GetValue() == "/gcs/"+testBucket+"/runs/neural/jobs/"+hashKey("plan-1") && c.GetEnv()[3].GetName() == envBundle},
		{"timeout", planned.GetCustomJob().GetJobSpec().GetScheduling().GetTimeout().AsDuration() == 2*time.Hour},
		{"disk", pool[0].GetDiskSpec().GetBootDiskSizeGb() == 200 && pool[0].GetDiskSpec().GetBootDiskType() == "pd-ssd"},
		{"labels", planned.GetCustomJob().GetLabels()["team"] == "vision" && planned.GetCustomJob().GetLabels()[keyLabel] == hashKey("plan-1")},
		{"output dir", planned.GetCustomJob().GetJobSpec().GetBaseOutputDirectory().GetOutputUriPrefix() == "gs://"+testBucket+"/runs/neural/jobs/"+hashKey("plan-1")+"/"},
		{"instance type", plan.InstanceType == "n1-standard-4"},
		{"price of two replicas", plan.HourlyPrice.Known && math.Abs(plan.HourlyPrice.USDPerHour-2*(0.2185+0.4025)) < 1e-9 &&
			plan.HourlyPrice.AsOf != "" && strings.Contains(plan.HourlyPrice.Source, "NVIDIA_TESLA_T4")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: wrong in\n%s", c.what, plan.Requests[2].Body)
		}
	}
}

func TestPlanPrices(t *testing.T) {
	fs := startFakeSet(t)
	p := fs.platform(t)
	tests := []struct {
		name  string
		res   sdk.Resources
		known bool
		usd   float64
		warn  string
	}{
		{"default cpu", sdk.Resources{}, true, 0.1541, ""},
		{"cpus pick a bigger machine", sdk.Resources{CPUs: 6}, true, 0.3082, ""},
		{"a100 fixed machine", sdk.Resources{GPUType: "A100", GPUs: 1}, true, 4.2247, ""},
		{"t4 attaches to n1, not e2", sdk.Resources{GPUType: "T4", GPUs: 1}, true, 0.2185 + 0.4025, ""},
		{"explicit machine with a gpu", sdk.Resources{InstanceType: "n1-standard-8", GPUType: "T4", GPUs: 1}, true, 0.4370 + 0.4025, ""},
		{"spot is unknown", sdk.Resources{Spot: true}, false, 0, "spot"},
		{"unpriced machine", sdk.Resources{InstanceType: "c2-standard-60"}, false, 0, "c2-standard-60"},
		{"unpriced gpu", sdk.Resources{GPUType: "H100", GPUs: 8}, false, 0, "a3-highgpu-8g"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := commandSpec(t, "price", "true", nil)
			spec.Resources = tt.res
			plan, err := p.Plan(testCtx(t), spec)
			if err != nil {
				t.Fatal(err)
			}
			h := plan.HourlyPrice
			if h.Known != tt.known || math.Abs(h.USDPerHour-tt.usd) > 1e-9 {
				t.Errorf("price %+v, want known=%v %v", h, tt.known, tt.usd)
			}
			if tt.warn != "" && !strings.Contains(strings.Join(plan.Warnings, "\n"), tt.warn) {
				t.Errorf("warnings %q lack %q", plan.Warnings, tt.warn)
			}
		})
	}
}

func TestBadInputSendsNothing(t *testing.T) {
	fs := startFakeSet(t)
	tests := []struct {
		name  string
		edit  func(*sdk.JobSpec)
		cfg   []string
		field string
	}{
		{"unknown gpu", func(s *sdk.JobSpec) { s.Resources.GPUType, s.Resources.GPUs = "Z9", 1 }, nil, "resources.gpu_type"},
		{"gpu count", func(s *sdk.JobSpec) { s.Resources.GPUType, s.Resources.GPUs = "T4", 3 }, nil, "resources.gpus"},
		{"gpus without type", func(s *sdk.JobSpec) { s.Resources.GPUs = 1 }, nil, "resources.gpu_type"},
		{"machine type", func(s *sdk.JobSpec) { s.Resources.InstanceType = "Big Box" }, nil, "resources.instance_type"},
		{"machine and gpu disagree", func(s *sdk.JobSpec) {
			s.Resources.InstanceType, s.Resources.GPUType, s.Resources.GPUs = "a2-highgpu-1g", "A100", 2
		}, nil, "resources.instance_type"},
		{"l4 on n1", func(s *sdk.JobSpec) {
			s.Resources.InstanceType, s.Resources.GPUType, s.Resources.GPUs = "n1-standard-8", "L4", 1
		}, nil, "resources.instance_type"},
		{"t4 on n2", func(s *sdk.JobSpec) {
			s.Resources.InstanceType, s.Resources.GPUType, s.Resources.GPUs = "n2-standard-8", "T4", 1
		}, nil, "resources.instance_type"},
		{"too much memory", func(s *sdk.JobSpec) { s.Resources.MemoryGB = 4000 }, nil, "resources.cpus"},
		{"label key", func(s *sdk.JobSpec) { s.Labels = map[string]string{"Team": "a"} }, nil, "labels.Team"},
		{"label value", func(s *sdk.JobSpec) { s.Labels = map[string]string{"team": "A B"} }, nil, "labels.team"},
		{"reserved label", func(s *sdk.JobSpec) { s.Labels = map[string]string{keyLabel: "x"} }, nil, "labels." + keyLabel},
		{"env name", func(s *sdk.JobSpec) { s.Env = map[string]string{"BAD-NAME": "1"} }, nil, "env.BAD-NAME"},
		{"reserved env", func(s *sdk.JobSpec) { s.Env = map[string]string{"NEURAL_OUTPUT_DIR": "/x"} }, nil, "env.NEURAL_OUTPUT_DIR"},
		{"small disk", func(s *sdk.JobSpec) { s.Resources.DiskGB = 50 }, nil, "resources.disk_gb"},
		{"disk type", func(s *sdk.JobSpec) { s.Options = map[string]string{optBootDiskType: "ssd"} }, nil, "options.boot_disk_type"},
		{"network", func(s *sdk.JobSpec) { s.Options = map[string]string{optNetwork: "default"} }, nil, "options.network"},
		{"service account", func(s *sdk.JobSpec) { s.Options = map[string]string{optRunAs: "me"} }, nil, "options.run_as"},
		{"long name", func(s *sdk.JobSpec) { s.Name = strings.Repeat("n", 129) }, nil, "name"},
		{"python without workdir", func(s *sdk.JobSpec) { s.Kind, s.Entrypoint, s.WorkDir = sdk.KindPython, "a.py", "" }, nil, "workdir"},
		{"missing entrypoint file", func(s *sdk.JobSpec) { s.Kind, s.Entrypoint = sdk.KindPython, "nope.py" }, nil, "entrypoint"},
		{"common validation", func(s *sdk.JobSpec) { s.Resources.GPUs = -1 }, nil, "resources.gpus"},
		{"no staging bucket", func(*sdk.JobSpec) {}, []string{keyStagingBucket + "="}, keyStagingBucket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fs.platform(t, tt.cfg...)
			spec := commandSpec(t, "bad", "true", nil)
			tt.edit(&spec)
			before := fs.f.totalCalls()
			for _, call := range []func() error{
				func() error { _, err := p.Plan(testCtx(t), spec); return err },
				func() error { _, err := p.Submit(testCtx(t), spec); return err },
			} {
				err := call()
				if se := wantKind(t, sdk.Problems(err)[0], sdk.ErrInvalidArgument, tt.field); se.Hint == "" {
					t.Errorf("no hint in %v", err)
				}
			}
			if n := fs.f.totalCalls() - before; n != 0 {
				t.Errorf("%d API calls for a bad spec", n)
			}
		})
	}
}

// TestResolveMachineOutsideCatalog: where the catalog has no price, the
// smallest machine that fits is chosen.
func TestResolveMachineOutsideCatalog(t *testing.T) {
	tests := []struct {
		res     sdk.Resources
		machine string
	}{
		{sdk.Resources{}, "n1-standard-4"},
		{sdk.Resources{GPUType: "t4", GPUs: 2}, "n1-standard-16"},
		{sdk.Resources{GPUType: "A100", GPUs: 1}, "a2-highgpu-1g"},
	}
	for _, tt := range tests {
		m, err := resolveMachine("asia-east1", tt.res)
		if err != nil || m.machineType != tt.machine {
			t.Errorf("resolveMachine(asia-east1, %+v) = %s, %v; want %s", tt.res, m.machineType, err, tt.machine)
		}
	}
}

func TestResolveMachine(t *testing.T) {
	tests := []struct {
		res     sdk.Resources
		machine string
		accel   aiplatformpb.AcceleratorType
		count   int32
	}{
		// The cheapest catalog offer in us-central1.
		{sdk.Resources{}, "e2-standard-4", 0, 0},
		{sdk.Resources{CPUs: 8, MemoryGB: 40}, "n1-highmem-8", 0, 0},
		{sdk.Resources{GPUType: "t4", GPUs: 2}, "n1-standard-4", aiplatformpb.AcceleratorType_NVIDIA_TESLA_T4, 2},
		{sdk.Resources{GPUType: "t4", GPUs: 1, Spot: true}, "n1-standard-4", aiplatformpb.AcceleratorType_NVIDIA_TESLA_T4, 1},
		{sdk.Resources{GPUType: "NVIDIA_TESLA_V100", GPUs: 1, CPUs: 16}, "n1-standard-16", aiplatformpb.AcceleratorType_NVIDIA_TESLA_V100, 1},
		{sdk.Resources{GPUType: "nvidia-l4", GPUs: 1}, "g2-standard-8", aiplatformpb.AcceleratorType_NVIDIA_L4, 1},
		{sdk.Resources{GPUType: "A100", GPUs: 8}, "a2-highgpu-8g", aiplatformpb.AcceleratorType_NVIDIA_TESLA_A100, 8},
		{sdk.Resources{GPUType: "A100", GPUs: 16}, "a2-megagpu-16g", aiplatformpb.AcceleratorType_NVIDIA_TESLA_A100, 16},
		{sdk.Resources{GPUType: "A100-80GB", GPUs: 1}, "a2-ultragpu-1g", aiplatformpb.AcceleratorType_NVIDIA_A100_80GB, 1},
		{sdk.Resources{GPUType: "H100", GPUs: 8}, "a3-highgpu-8g", aiplatformpb.AcceleratorType_NVIDIA_H100_80GB, 8},
		{sdk.Resources{InstanceType: "a2-highgpu-2g"}, "a2-highgpu-2g", aiplatformpb.AcceleratorType_NVIDIA_TESLA_A100, 2},
		{sdk.Resources{InstanceType: "g2-standard-24", GPUs: 2}, "g2-standard-24", aiplatformpb.AcceleratorType_NVIDIA_L4, 2},
		{sdk.Resources{InstanceType: "n1-highmem-16", GPUType: "T4", GPUs: 4}, "n1-highmem-16", aiplatformpb.AcceleratorType_NVIDIA_TESLA_T4, 4},
		{sdk.Resources{InstanceType: "e2-standard-4"}, "e2-standard-4", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.machine+"/"+tt.res.GPUType, func(t *testing.T) {
			m, err := resolveMachine("us-central1", tt.res)
			if err != nil {
				t.Fatal(err)
			}
			if m.machineType != tt.machine || m.accel != tt.accel || m.count != tt.count {
				t.Errorf("got %+v", m)
			}
		})
	}
}
