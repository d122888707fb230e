package main

import (
	"context"
	"strings"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
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
			return len(rows) == 1 && rows[0].GPUType == "NVIDIA_TESLA_T4" && rows[0].InstanceType == "" && rows[0].GPUs == 1
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
