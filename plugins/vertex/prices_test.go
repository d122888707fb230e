package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/prices"
)

func TestPrices(t *testing.T) {
	p := New()
	tests := []struct {
		name   string
		filter sdk.PriceFilter
		check  func([]sdk.PriceRow) bool
	}{
		{"everything is dated and sourced", sdk.PriceFilter{}, func(rows []sdk.PriceRow) bool {
			for _, r := range rows {
				if r.Source == "" || r.AsOf == "" || r.OnDemandUSD <= 0 || r.SpotUSD != 0 {
					return false
				}
			}
			return len(rows) == len(catalog)
		}},
		{"region", sdk.PriceFilter{Region: "europe-west4"}, func(rows []sdk.PriceRow) bool {
			return len(rows) > 0 && rows[0].Region == "europe-west4"
		}},
		{"gpu by short name", sdk.PriceFilter{Region: "us-central1", GPUType: "t4"}, func(rows []sdk.PriceRow) bool {
			return len(rows) == 1 && rows[0].GPUType == "NVIDIA_TESLA_T4" && rows[0].InstanceType == "n1-*" && rows[0].GPUs == 1
		}},
		{"machine", sdk.PriceFilter{Region: "us-central1", InstanceType: "n1-standard-8"}, func(rows []sdk.PriceRow) bool {
			return len(rows) == 1 && rows[0].VCPUs == 8 && rows[0].MemoryGB == 30 && rows[0].GPUType == ""
		}},
		{"unknown", sdk.PriceFilter{InstanceType: "z9-mega"}, func(rows []sdk.PriceRow) bool { return len(rows) == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := p.Prices(context.Background(), tt.filter)
			if err != nil || !tt.check(rows) {
				t.Errorf("rows %+v, %v", rows, err)
			}
		})
	}
}

func TestParseCatalogRejects(t *testing.T) {
	const header = "instance_type,gpu_type,gpus,vcpus,memory_gb,region,on_demand_usd,spot_usd,source,as_of\n"
	tests := map[string]string{
		"header":          "type,price\nn1,1\n",
		"zero price":      header + "n1-standard-4,,0,4,15,us-central1,0,,src,2025-01-01\n",
		"negative":        header + "n1-standard-4,,0,4,15,us-central1,-1,,src,2025-01-01\n",
		"machine and gpu": header + "n1-standard-4,NVIDIA_TESLA_T4,1,4,15,us-central1,1,,src,2025-01-01\n",
		"wrong fixed gpu": header + "a2-highgpu-1g,NVIDIA_L4,1,12,85,us-central1,1,,src,2025-01-01\n",
		"wrong gpu count": header + "a2-highgpu-1g,NVIDIA_TESLA_A100,2,12,85,us-central1,1,,src,2025-01-01\n",
		"gpu on any host": header + ",NVIDIA_TESLA_T4,1,0,0,us-central1,1,,src,2025-01-01\n",
		"unknown gpu":     header + "n1-*,NVIDIA_Z9,1,0,0,us-central1,1,,src,2025-01-01\n",
		"no source":       header + "n1-standard-4,,0,4,15,us-central1,1,,,2025-01-01\n",
		"not a number":    header + "n1-standard-4,,0,four,15,us-central1,1,,src,2025-01-01\n",
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := parseCatalog(text); err == nil || !strings.HasPrefix(err.Error(), "vertex: prices.csv") {
				t.Errorf("error %v", err)
			}
		})
	}
}

// TestPlanAgreesWithCompare: for every catalog row, the offer the host's
// cost compare picks from Prices (prices.Cheapest over the whole catalog)
// is the machine and price Plan shows, on demand and on spot.
func TestPlanAgreesWithCompare(t *testing.T) {
	all, err := New().Prices(context.Background(), sdk.PriceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var needs []sdk.Resources
	for _, r := range all {
		switch {
		case prices.IsAccelerator(r):
			g, _ := lookupGPU(r.GPUType)
			for _, n := range g.counts {
				needs = append(needs, sdk.Resources{GPUType: g.name, GPUs: n})
			}
		case r.GPUs > 0:
			needs = append(needs, sdk.Resources{GPUType: r.GPUType, GPUs: r.GPUs})
		default:
			needs = append(needs, sdk.Resources{CPUs: r.VCPUs, MemoryGB: r.MemoryGB})
		}
	}
	regions := map[string]bool{}
	for _, r := range all {
		regions[r.Region] = true
	}
	for region := range regions {
		for _, res := range needs {
			for _, spot := range []bool{false, true} {
				res.Spot = spot
				name := fmt.Sprintf("%s/%+v", region, res)
				m, err := resolveMachine(region, res)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				planned, _ := price(region, m, 1, spot)
				n := prices.Need{GPUType: res.GPUType, GPUs: res.GPUs, CPUs: res.CPUs, MemoryGB: res.MemoryGB, Region: region, Spot: spot}
				offer, ok := prices.Cheapest(all, n)
				if ok != planned.Known {
					t.Errorf("%s: compare found an offer %v (%s), plan price known %v (%s)", name, ok, offer.Detail, planned.Known, m.machineType)
					continue
				}
				if ok && (offer.InstanceType != m.machineType || math.Abs(offer.USDPerHour-planned.USDPerHour) > 1e-9) {
					t.Errorf("%s: compare %s $%.4f, plan %s $%.4f", name, offer.InstanceType, offer.USDPerHour, m.machineType, planned.USDPerHour)
				}
			}
		}
	}
}
