package prices

import (
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
)

const catalog = `instance_type,gpu_type,gpus,vcpus,memory_gb,region,on_demand_usd,spot_usd,source,as_of
# machines
e2-standard-4,,0,4,16,us-central1,0.15,0.03,fixture,2026-10-01
n1-standard-4,,0,4,15,us-central1,0.19,0.04,fixture,2026-10-01
n1-standard-8,,0,8,30,us-central1,0.38,0.08,fixture,2026-10-01
g2-standard-8,L4,1,8,32,us-central1,0.85,,fixture,2026-09-01
a2-highgpu-1g,A100,1,12,85,us-central1,3.67,1.10,fixture,2026-10-01
# accelerators billed per GPU
n1-*,NVIDIA_TESLA_T4,1,,,us-central1,0.35,0.07,fixture,2026-08-01
n1-*,NVIDIA_TESLA_V100,1,,,us-central1,2.48,,fixture,2026-08-01
a2-*,NVIDIA_TESLA_A100,1,,,us-central1,2.93,,fixture,2026-10-01
,NVIDIA_TESLA_P4,1,,,us-central1,0.60,,fixture,2026-08-01
local,,0,8,32,local,0,,this machine,2026-10-01
`

func rows(t *testing.T) []sdk.PriceRow {
	t.Helper()
	r, err := Parse(strings.NewReader(catalog))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheapest(t *testing.T) {
	tests := []struct {
		name   string
		need   Need
		ok     bool
		price  float64
		detail string
	}{
		{"cpu only", Need{CPUs: 6, Region: "us-central1"}, true, 0.38, "n1-standard-8"},
		{"cheapest machine of any family", Need{CPUs: 2, Region: "us-central1"}, true, 0.15, "e2-standard-4"},
		{"free machine", Need{CPUs: 2}, true, 0, "local"},
		{"cpu spot", Need{CPUs: 2, Spot: true, Region: "us-central1"}, true, 0.03, "e2-standard-4"},
		{"free machine on spot", Need{CPUs: 2, Spot: true}, true, 0, "local"},
		{"gpu attaches only to its family", Need{GPUType: "T4", GPUs: 2}, true, 0.19 + 2*0.35, "n1-standard-4 $0.1900 + 2 × NVIDIA_TESLA_T4 $0.3500"},
		{"gpu spot on a spot host", Need{GPUType: "T4", GPUs: 1, Spot: true}, true, 0.04 + 0.07, "n1-standard-4 $0.0400 + 1 × NVIDIA_TESLA_T4 $0.0700"},
		{"gpu without a spot price", Need{GPUType: "V100", GPUs: 1, Spot: true}, false, 0, ""},
		{"gpu with no compatible host", Need{GPUType: "a100", GPUs: 1, CPUs: 4}, true, 3.67, "a2-highgpu-1g"},
		{"legacy accelerator row takes any host", Need{GPUType: "P4", GPUs: 1}, true, 0.15 + 0.60, "e2-standard-4 $0.1500 + 1 × NVIDIA_TESLA_P4"},
		{"included gpu when it is cheaper", Need{GPUType: "L4", GPUs: 1}, true, 0.85, "g2-standard-8"},
		{"included gpu has no spot price", Need{GPUType: "L4", GPUs: 1, Spot: true}, false, 0, ""},
		{"unknown gpu has no offer", Need{GPUType: "H100", GPUs: 1}, false, 0, ""},
		{"too much memory", Need{MemoryGB: 512}, false, 0, ""},
	}
	for _, tt := range tests {
		o, ok := Cheapest(rows(t), tt.need)
		if ok != tt.ok || (ok && (abs(o.USDPerHour-tt.price) > 1e-9 || !strings.Contains(o.Detail, tt.detail))) {
			t.Errorf("%s: got %+v, %v; want %v $%.4f %q", tt.name, o, ok, tt.ok, tt.price, tt.detail)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestParseErrors(t *testing.T) {
	head := strings.Join(Header, ",") + "\n"
	for _, bad := range []string{
		"instance_type,price\n",
		head + "m,,0,1,1,r,abc,,s,2026-01-01\n",
		head + "m,,0,1,1,r,-1,,s,2026-01-01\n",
		head + ",,0,1,1,r,1,,s,2026-01-01\n",
		head + "m,,0,1,1,r,1,,,2026-01-01\n",
		head + "n1-*,,0,0,0,r,1,,s,2026-01-01\n",
		head + "n1-[,T4,1,0,0,r,1,,s,2026-01-01\n",
	} {
		if _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("Parse accepted %q", bad)
		}
	}
}

func TestMergeOverrides(t *testing.T) {
	over, err := Parse(strings.NewReader(strings.Join(Header, ",") + "\nn1-standard-8,,0,8,30,us-central1,0.30,,negotiated,2026-11-01\n"))
	if err != nil {
		t.Fatal(err)
	}
	merged := Merge(rows(t), over)
	got := Filter(merged, sdk.PriceFilter{InstanceType: "n1-standard-8"})
	if len(merged) != len(rows(t)) || len(got) != 1 || got[0].OnDemandUSD != 0.30 || got[0].Source != "negotiated" {
		t.Errorf("merged %d rows, n1-standard-8 = %+v", len(merged), got)
	}
}
