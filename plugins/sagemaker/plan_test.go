package main

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/prices"
)

// TestPlanIsWhatSubmitSends compares the planned CreateTrainingJob body
// with what the stand-in received, and checks that planning sent nothing.
func TestPlanIsWhatSubmitSends(t *testing.T) {
	p, fake := newPlatform(t, fakeaws.Options{})
	ctx := context.Background()
	spec := pythonJob(t, "planned", "plan-key", "print('hi')\n")
	spec.Resources = sdk.Resources{CPUs: 4, MemoryGB: 16, DiskGB: 50, MaxRuntime: 2 * time.Hour, Nodes: 2}
	spec.Labels = map[string]string{"team": "nlp", "owner": "ada", "stage": "dev"}
	spec.Env = map[string]string{"A": "1", "B": "2", "C": "3", "D": "4"}
	plan, err := p.Plan(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		again, err := p.Plan(ctx, spec)
		if err != nil || again.Requests[1].Body != plan.Requests[1].Body || again.Requests[0].Body != plan.Requests[0].Body {
			t.Fatalf("plans differ:\n%s\n%s", plan.Requests[1].Body, again.Requests[1].Body)
		}
	}
	if fake.Calls("sagemaker", "CreateTrainingJob") != 0 || fake.Calls("s3", "PUT") != 0 || fake.Calls("s3", "PUT-bucket") != 0 {
		t.Fatal("Plan sent requests")
	}
	if len(plan.Requests) != 2 || plan.Requests[0].Operation != "PutObject" || plan.Requests[1].Operation != "CreateTrainingJob" {
		t.Fatalf("requests %+v", plan.Requests)
	}
	// ml.m5.xlarge is the cheapest type with 4 vCPUs and 16 GB; two nodes
	// cost twice its price.
	if plan.InstanceType != "ml.m5.xlarge" || !plan.HourlyPrice.Known || plan.HourlyPrice.USDPerHour != 0.46 || plan.HourlyPrice.AsOf == "" {
		t.Errorf("instance %s price %+v", plan.InstanceType, plan.HourlyPrice)
	}
	st, err := p.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := fake.SageMaker.Request(st.ID)
	var planned, got map[string]any
	if err := json.Unmarshal([]byte(plan.Requests[1].Body), &planned); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(sent, &got)
	if !reflect.DeepEqual(planned, got) {
		t.Errorf("planned\n%s\nsent\n%s", plan.Requests[1].Body, sent)
	}
	if !strings.Contains(plan.Requests[1].Body, "\n  \"AlgorithmSpecification\": {") {
		t.Errorf("body is not indented JSON:\n%s", plan.Requests[1].Body)
	}
	rc := got["ResourceConfig"].(map[string]any)
	if rc["InstanceCount"] != 2.0 || rc["VolumeSizeInGB"] != 50.0 || got["StoppingCondition"].(map[string]any)["MaxRuntimeInSeconds"] != 7200.0 {
		t.Errorf("resources not as asked: %s", sent)
	}
}

func TestPlanPrices(t *testing.T) {
	tests := []struct {
		name, region, instance string
		spot                   bool
		known                  bool
		usd                    float64
	}{
		{"catalog row", "us-east-1", "ml.g5.xlarge", false, true, 1.408},
		{"region without rows", "eu-west-1", "ml.g5.xlarge", false, false, 0},
		{"type without a row", "us-east-1", "ml.c6i.xlarge", false, false, 0},
		{"spot without a spot price", "us-east-1", "ml.g5.xlarge", true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, _ := startFakeAWS(t, fakeaws.Options{Region: tt.region})
			p := New()
			if err := p.Configure(context.Background(), settingsFor(fake)); err != nil {
				t.Fatal(err)
			}
			spec := pythonJob(t, "priced", "k", "pass\n")
			spec.Resources.InstanceType = tt.instance
			spec.Resources.Spot = tt.spot
			plan, err := p.Plan(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			if plan.HourlyPrice.Known != tt.known || plan.HourlyPrice.USDPerHour != tt.usd {
				t.Errorf("price %+v, want known=%v %v", plan.HourlyPrice, tt.known, tt.usd)
			}
		})
	}
}

// TestBadSpecSendsNothing checks that input SageMaker would refuse is
// refused before any request, naming the field with a hint.
func TestBadSpecSendsNothing(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*sdk.JobSpec, sdk.Config)
		field string
	}{
		{"no role", func(s *sdk.JobSpec, c sdk.Config) { delete(c, "role_arn") }, "role_arn"},
		{"unknown instance type", func(s *sdk.JobSpec, c sdk.Config) { s.Resources.InstanceType = "ml.z9.huge" }, "resources.instance_type"},
		{"gpu count mismatch", func(s *sdk.JobSpec, c sdk.Config) { s.Resources.InstanceType, s.Resources.GPUs = "ml.g5.xlarge", 4 }, "resources.gpus"},
		{"gpu type mismatch", func(s *sdk.JobSpec, c sdk.Config) {
			s.Resources.InstanceType, s.Resources.GPUs, s.Resources.GPUType = "ml.g5.xlarge", 1, "H100"
		}, "resources.gpu_type"},
		{"no catalog fit", func(s *sdk.JobSpec, c sdk.Config) { s.Resources.GPUs, s.Resources.GPUType = 16, "T4" }, "resources"},
		{"runtime over 28 days", func(s *sdk.JobSpec, c sdk.Config) { s.Resources.MaxRuntime = 30 * 24 * time.Hour }, "resources.max_runtime"},
		{"env name", func(s *sdk.JobSpec, c sdk.Config) { s.Env = map[string]string{"1BAD": "x"} }, "env"},
		{"env value too long", func(s *sdk.JobSpec, c sdk.Config) { s.Env = map[string]string{"OK": strings.Repeat("x", 600)} }, "env.OK"},
		{"reserved label", func(s *sdk.JobSpec, c sdk.Config) { s.Labels = map[string]string{"aws:team": "x"} }, "labels"},
		{"label value", func(s *sdk.JobSpec, c sdk.Config) { s.Labels = map[string]string{"team": "a#b"} }, "labels.team"},
		{"unknown option", func(s *sdk.JobSpec, c sdk.Config) { s.Options = map[string]string{"queue": "x"} }, "options.queue"},
		{"max_wait without spot", func(s *sdk.JobSpec, c sdk.Config) { s.Options = map[string]string{"max_wait": "2h"} }, "options.max_wait"},
		{"max_wait below runtime", func(s *sdk.JobSpec, c sdk.Config) {
			s.Resources.Spot, s.Resources.MaxRuntime, s.Options = true, 2*time.Hour, map[string]string{"max_wait": "1h"}
		}, "options.max_wait"},
		{"subnets alone", func(s *sdk.JobSpec, c sdk.Config) { s.Options = map[string]string{"subnets": "subnet-1"} }, "options.subnets"},
		{"framework version", func(s *sdk.JobSpec, c sdk.Config) { s.Options = map[string]string{"framework_version": "0.1"} }, "options.framework_version"},
		{"neuron without image", func(s *sdk.JobSpec, c sdk.Config) { s.Resources.InstanceType = "ml.trn1.2xlarge" }, "resources.instance_type"},
		{"entrypoint missing", func(s *sdk.JobSpec, c sdk.Config) { s.Entrypoint = "nope.py" }, "entrypoint"},
		{"workdir missing", func(s *sdk.JobSpec, c sdk.Config) { s.WorkDir = "/nonexistent/dir" }, "workdir"},
		{"negative gpus", func(s *sdk.JobSpec, c sdk.Config) { s.Resources.GPUs = -1 }, "resources.gpus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, _ := startFakeAWS(t, fakeaws.Options{})
			cfg := settingsFor(fake)
			spec := pythonJob(t, "bad", "k", "pass\n")
			tt.edit(&spec, cfg)
			p := New()
			if err := p.Configure(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			for op, call := range map[string]func() error{
				"plan":   func() error { _, err := p.Plan(context.Background(), spec); return err },
				"submit": func() error { _, err := p.Submit(context.Background(), spec); return err },
			} {
				se := wantKind(t, call(), sdk.ErrInvalidArgument)
				if se.Field != tt.field || se.Hint == "" {
					t.Errorf("%s: field %q hint %q, want field %q (%v)", op, se.Field, se.Hint, tt.field, se)
				}
			}
			for _, op := range []string{"CreateTrainingJob", "DescribeTrainingJob"} {
				if n := fake.Calls("sagemaker", op); n != 0 {
					t.Errorf("%d %s calls", n, op)
				}
			}
			if fake.Calls("s3", "PUT") != 0 || fake.Calls("s3", "HEAD-bucket") != 0 {
				t.Error("S3 was called")
			}
		})
	}
}

// TestPlanAgreesWithCompare: for every training row of the catalog, the
// instance the plan chooses and prices is the offer the host's cost
// compare picks from Prices with prices.Cheapest; on spot both are unknown
// because the catalog has no spot prices.
func TestPlanAgreesWithCompare(t *testing.T) {
	rows, err := New().Prices(context.Background(), sdk.PriceFilter{})
	if err != nil || len(rows) == 0 {
		t.Fatalf("Prices = %d rows, %v", len(rows), err)
	}
	for _, row := range rows {
		res := sdk.Resources{GPUType: row.GPUType, GPUs: row.GPUs, CPUs: row.VCPUs, MemoryGB: row.MemoryGB}
		instance, err := chooseInstance(res)
		if err != nil {
			t.Fatalf("%s: %v", row.InstanceType, err)
		}
		planned := price(trainingSource, instance, row.Region)
		offer, ok := prices.Cheapest(rows, prices.NeedOf(sdk.JobSpec{Resources: res}))
		if !ok || offer.InstanceType != instance || !planned.Known || math.Abs(offer.USDPerHour-planned.USDPerHour) > 1e-9 {
			t.Errorf("%s: compare %s $%v (%v), plan %s %+v", row.InstanceType, offer.InstanceType, offer.USDPerHour, ok, instance, planned)
		}
		res.Spot = true
		if _, ok := prices.Cheapest(rows, prices.NeedOf(sdk.JobSpec{Resources: res})); ok {
			t.Errorf("%s: compare priced a spot job from on-demand prices", row.InstanceType)
		}
	}
}
