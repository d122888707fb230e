package main

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// planned renders spec with settings cfg and returns the plan and the
// runs/submit body.
func planned(t *testing.T, cfg sdk.Config, spec sdk.JobSpec) (sdk.Plan, map[string]any, error) {
	t.Helper()
	p := New()
	base := sdk.Config{"host": "https://dbc-1234.cloud.databricks.com", "config_file": emptyConfigFile(t)}
	for k, v := range cfg {
		base[k] = v
	}
	if err := p.Configure(context.Background(), base); err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(context.Background(), spec)
	if err != nil {
		return plan, nil, err
	}
	var body map[string]any
	last := plan.Requests[len(plan.Requests)-1]
	if last.Operation != "SubmitRun" || json.Unmarshal([]byte(last.Body), &body) != nil {
		t.Fatalf("last request %+v", last)
	}
	return plan, body, nil
}

func cluster(body map[string]any) map[string]any {
	c, _ := body["tasks"].([]any)[0].(map[string]any)["new_cluster"].(map[string]any)
	return c
}

func TestPlanSizesTheCluster(t *testing.T) {
	wd := writeWorkDir(t, map[string]string{"train.py": "print(1)\n", "model.neural": "network N {}\n"})
	base := sdk.JobSpec{Name: "p", Kind: sdk.KindPython, WorkDir: wd, Entrypoint: "train.py", IdempotencyKey: "k"}
	with := func(f func(*sdk.JobSpec)) sdk.JobSpec { s := base; f(&s); return s }
	tests := []struct {
		name   string
		cfg    sdk.Config
		spec   sdk.JobSpec
		node   string
		check  func(c map[string]any) bool
		price  float64 // 0: unknown
		warned string
	}{
		{"default", nil, base, "m5d.xlarge", func(c map[string]any) bool { return c["spark_version"] == "15.4.x-cpu-ml-scala2.12" }, 0.226 + 0.69*0.15, ""},
		{"one T4", nil, with(func(s *sdk.JobSpec) { s.Resources.GPUs = 1 }), "g4dn.xlarge",
			func(c map[string]any) bool { return c["spark_version"] == "15.4.x-gpu-ml-scala2.12" }, 0.526 + 0.71*0.15, ""},
		{"four V100", nil, with(func(s *sdk.JobSpec) { s.Resources.GPUs, s.Resources.GPUType = 4, "V100" }), "p3.8xlarge", nil, 12.24 + 16.6*0.15, ""},
		{"cpus and memory", nil, with(func(s *sdk.JobSpec) { s.Resources.CPUs, s.Resources.MemoryGB = 8, 60 }), "i3.2xlarge", nil, 0.624 + 2*0.15, ""},
		{"three nodes", nil, with(func(s *sdk.JobSpec) { s.Resources.Nodes, s.Resources.InstanceType = 3, "i3.xlarge" }), "i3.xlarge",
			func(c map[string]any) bool { return c["num_workers"] == float64(2) && c["spark_conf"] == nil }, 3 * (0.312 + 0.15), ""},
		{"spot and disk on AWS", nil, with(func(s *sdk.JobSpec) { s.Resources.Spot, s.Resources.DiskGB = true, 200 }), "m5d.xlarge",
			func(c map[string]any) bool {
				a := c["aws_attributes"].(map[string]any)
				return a["availability"] == "SPOT_WITH_FALLBACK" && a["first_on_demand"] == float64(1) && a["ebs_volume_size"] == float64(200)
			}, 0, "no spot price"},
		{"unpriced node type", nil, with(func(s *sdk.JobSpec) { s.Resources.InstanceType = "r6id.xlarge" }), "r6id.xlarge", nil, 0, ""},
		{"node type setting", sdk.Config{"default_node_type": "i3.xlarge"}, base, "i3.xlarge", nil, 0.312 + 0.15, ""},
		{"options win", sdk.Config{"default_node_type": "i3.xlarge"}, with(func(s *sdk.JobSpec) {
			s.Options = map[string]string{"node_type_id": "m5d.2xlarge", "spark_version": "16.4.x-cpu-ml-scala2.13", "policy_id": "ABC"}
		}), "m5d.2xlarge", func(c map[string]any) bool {
			return c["spark_version"] == "16.4.x-cpu-ml-scala2.13" && c["policy_id"] == "ABC"
		}, 0.452 + 1.37*0.15, ""},
		{"azure default", sdk.Config{"host": "https://adb-1.2.azuredatabricks.net"}, with(func(s *sdk.JobSpec) { s.Resources.Spot = true }), "Standard_DS3_v2",
			func(c map[string]any) bool {
				return c["azure_attributes"].(map[string]any)["availability"] == "SPOT_WITH_FALLBACK_AZURE"
			}, 0, ""},
		{"dsl job", nil, with(func(s *sdk.JobSpec) { s.Kind, s.Entrypoint = sdk.KindDSL, "model.neural" }), "m5d.xlarge", nil, 0.226 + 0.69*0.15, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, body, err := planned(t, tt.cfg, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			c := cluster(body)
			if c["node_type_id"] != tt.node || (tt.check != nil && !tt.check(c)) {
				t.Errorf("cluster %s", jsonString(c))
			}
			if tt.price == 0 && plan.HourlyPrice.Known {
				t.Errorf("price %+v, want unknown", plan.HourlyPrice)
			}
			if tt.price > 0 && (!plan.HourlyPrice.Known || math.Abs(plan.HourlyPrice.USDPerHour-tt.price) > 1e-9 || plan.HourlyPrice.AsOf == "" || !strings.Contains(plan.HourlyPrice.Source, "estimate")) {
				t.Errorf("price %+v, want %v", plan.HourlyPrice, tt.price)
			}
			if tt.warned != "" && !strings.Contains(strings.Join(plan.Warnings, "\n"), tt.warned) {
				t.Errorf("warnings %q lack %q", plan.Warnings, tt.warned)
			}
		})
	}
}

func TestPlanShowsEveryRequest(t *testing.T) {
	wd := writeWorkDir(t, map[string]string{"model.neural": "network N {}\n"})
	spec := sdk.JobSpec{Kind: sdk.KindDSL, WorkDir: wd, Entrypoint: "model.neural", IdempotencyKey: "k",
		DSL: sdk.DSLOptions{Backend: sdk.BackendPyTorch}, Env: map[string]string{"A": "1"}}
	plan, body, err := planned(t, sdk.Config{"token": "dapi-very-secret-token"}, spec)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, r := range plan.Requests {
		ops = append(ops, r.Operation)
		if strings.Contains(r.Body, "dapi-very-secret-token") {
			t.Errorf("a secret is in the plan: %s", r.Body)
		}
	}
	if strings.Join(ops, ",") != "UploadBundle,UploadLauncher,SubmitRun" {
		t.Errorf("operations %v", ops)
	}
	if !strings.Contains(plan.Requests[0].Body, `"sha256"`) || !strings.Contains(plan.Requests[0].Body, "dbfs:/FileStore/neural-host/bundles/") {
		t.Errorf("bundle upload %s", plan.Requests[0].Body)
	}
	params := jsonString(body["tasks"].([]any)[0].(map[string]any)["spark_python_task"])
	for _, want := range []string{`"--", "@python", "_neural_runner.py"`, `"--job-id","{{job.run_id}}"`, `"--env","{\"A\":\"1\"}"`} {
		if !strings.Contains(strings.ReplaceAll(params, `","`, `", "`), strings.ReplaceAll(want, `","`, `", "`)) {
			t.Errorf("parameters %s lack %s", params, want)
		}
	}
	// The same key plans the same run; no key plans a fresh output place.
	again, _, _ := planned(t, sdk.Config{"token": "dapi-very-secret-token"}, spec)
	if again.Requests[2].Body != plan.Requests[2].Body {
		t.Error("planning twice with one idempotency key gave two bodies")
	}
}

func TestPlanRejectsBadInput(t *testing.T) {
	wd := writeWorkDir(t, map[string]string{"train.py": "print(1)\n"})
	base := sdk.JobSpec{Kind: sdk.KindPython, WorkDir: wd, Entrypoint: "train.py"}
	with := func(f func(*sdk.JobSpec)) sdk.JobSpec { s := base; f(&s); return s }
	tests := []struct {
		name  string
		cfg   sdk.Config
		spec  sdk.JobSpec
		field string
	}{
		{"missing entrypoint file", nil, with(func(s *sdk.JobSpec) { s.Entrypoint = "nope.py" }), "entrypoint"},
		{"negative gpus", nil, with(func(s *sdk.JobSpec) { s.Resources.GPUs = -1 }), "resources.gpus"},
		{"GPUs on a CPU node", nil, with(func(s *sdk.JobSpec) { s.Resources.GPUs, s.Resources.InstanceType = 1, "i3.xlarge" }), "resources.gpus"},
		{"no such GPU", nil, with(func(s *sdk.JobSpec) { s.Resources.GPUs, s.Resources.GPUType = 1, "A100" }), "resources"},
		{"GPU on azure without a node type", sdk.Config{"host": "https://adb-1.2.azuredatabricks.net"}, with(func(s *sdk.JobSpec) { s.Resources.GPUs = 1 }), "resources.instance_type"},
		{"existing without a cluster", nil, with(func(s *sdk.JobSpec) { s.Options = map[string]string{"compute": "existing"} }), "options.compute"},
		{"unknown compute", nil, with(func(s *sdk.JobSpec) { s.Options = map[string]string{"compute": "lambda"} }), "options.compute"},
		{"serverless on DBFS", nil, with(func(s *sdk.JobSpec) { s.Options = map[string]string{"compute": "serverless"} }), "options.compute"},
		{"serverless GPUs", sdk.Config{"staging_dir": testVolume}, with(func(s *sdk.JobSpec) {
			s.Options, s.Resources.GPUs = map[string]string{"compute": "serverless"}, 1
		}), "resources.gpus"},
		{"bad runtime", nil, with(func(s *sdk.JobSpec) { s.Options = map[string]string{"spark_version": "latest"} }), "options.spark_version"},
		{"huge labels", nil, with(func(s *sdk.JobSpec) { s.Labels = map[string]string{"k": strings.Repeat("v", 1000)} }), "labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := planned(t, tt.cfg, tt.spec)
			var se *sdk.Error
			if !errors.Is(err, sdk.ErrInvalidArgument) || !errors.As(err, &se) || se.Field != tt.field || se.Hint == "" {
				t.Errorf("err %v, want an invalid %s with a hint", err, tt.field)
			}
		})
	}
}

// TestBadSubmitSendsNothing: a spec the plugin rejects never reaches the
// workspace.
func TestBadSubmitSendsNothing(t *testing.T) {
	f := newFake(t)
	p := newPlatform(t, f, nil)
	spec := pySpec(t, "print(1)\n")
	spec.Resources.GPUs, spec.Resources.InstanceType = 2, "g4dn.xlarge"
	if _, err := p.Submit(context.Background(), spec); !errors.Is(err, sdk.ErrInvalidArgument) {
		t.Fatalf("err %v", err)
	}
	if reqs := f.Requests("", ""); len(reqs) != 0 {
		t.Errorf("the workspace got %d requests", len(reqs))
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		cfg   sdk.Config
		field string
	}{
		{sdk.Config{}, ""},
		{sdk.Config{"staging_dir": "s3://bucket/x"}, "staging_dir"},
		{sdk.Config{"staging_dir": "/Volumes/main"}, "staging_dir"},
		{sdk.Config{"default_compute": "gpu"}, "default_compute"},
		{sdk.Config{"poll_interval": "soon"}, "poll_interval"},
		{sdk.Config{"wait_timeout": "-1s"}, "wait_timeout"},
		{sdk.Config{"rate_limit": "0"}, "rate_limit"},
		{sdk.Config{"endpoint": "ftp://proxy"}, "endpoint"},
	}
	for _, tt := range tests {
		err := New().Configure(context.Background(), tt.cfg)
		var se *sdk.Error
		if tt.field == "" && err != nil || tt.field != "" && (!errors.As(err, &se) || se.Field != tt.field) {
			t.Errorf("Configure(%v) = %v, want field %q", tt.cfg, err, tt.field)
		}
	}
	meta := New().Metadata()
	secret := map[string]bool{}
	env := map[string]bool{}
	for _, f := range meta.Config {
		secret[f.Key] = f.Secret
		for _, e := range f.EnvVars {
			env[e] = true
		}
	}
	if !secret["token"] || !secret["client_secret"] || secret["host"] || meta.Name != "databricks" || !meta.Capabilities.LogFollow || !meta.Capabilities.Plan {
		t.Errorf("metadata %+v", meta)
	}
	for _, e := range []string{"DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLUSTER_ID", "DATABRICKS_CONFIG_PROFILE", "NEURAL_DATABRICKS_ENDPOINT"} {
		if !env[e] {
			t.Errorf("no setting reads $%s", e)
		}
	}
}

func TestPriceCatalog(t *testing.T) {
	rows, err := New().Prices(context.Background(), sdk.PriceFilter{})
	if err != nil || len(rows) < 10 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if r.OnDemandUSD <= 0 || r.Source == "" || r.AsOf == "" || r.Region != "us-east-1" || r.VCPUs <= 0 {
			t.Errorf("row %+v", r)
		}
		if _, err := time.Parse("2006-01-02", r.AsOf); err != nil {
			t.Errorf("as_of %q", r.AsOf)
		}
	}
	t4, _ := New().Prices(context.Background(), sdk.PriceFilter{GPUType: "t4"})
	if len(t4) != 3 {
		t.Errorf("T4 rows: %+v", t4)
	}
	one, _ := New().Prices(context.Background(), sdk.PriceFilter{InstanceType: "i3.xlarge"})
	if len(one) != 1 || math.Abs(one[0].OnDemandUSD-(0.312+1*0.15)) > 1e-9 {
		t.Errorf("i3.xlarge: %+v", one)
	}
	for _, bad := range []struct{ prices, dbus string }{
		{"instance_type,gpus\n", "instance_type,dbu_per_hour,usd_per_dbu,source,as_of\n"},
		{pricesCSV, "instance_type,dbu_per_hour,usd_per_dbu,source,as_of\ni3.xlarge,0,0.15,x,2026-01-01\n"},
		{strings.Replace(pricesCSV, "0.312", "", 1), dbusCSV},
	} {
		if _, err := parseCatalog(bad.prices, bad.dbus); err == nil {
			t.Errorf("parseCatalog accepted %q", bad.prices[:min(40, len(bad.prices))])
		}
	}
}

func TestLocations(t *testing.T) {
	tests := []struct{ in, want string }{
		{"dbfs:/a/b/../c", ""},
		{"dbfs:/a//b/", "dbfs:/a/b"},
		{"dbfs:/Volumes/main/s/v/x", "/Volumes/main/s/v/x"},
		{"/Volumes/main/s/v", "/Volumes/main/s/v"},
		{"/Volumes/main/s", ""},
		{"s3://bucket/key", ""},
		{"/tmp/x", ""},
	}
	for _, tt := range tests {
		l, err := parseLocation(tt.in)
		got := ""
		if err == nil {
			got = l.String()
		}
		if got != tt.want {
			t.Errorf("parseLocation(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
