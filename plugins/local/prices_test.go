package main

import (
	"context"
	"testing"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/prices"
)

// TestPlanAgreesWithCompare: for needs this machine meets and needs it
// does not, the plan's price is the offer the host's cost compare finds
// in Prices: $0 for what this machine has, unknown for what it lacks.
func TestPlanAgreesWithCompare(t *testing.T) {
	p := testPlatform(t)
	rows, err := p.Prices(context.Background(), sdk.PriceFilter{})
	if err != nil || len(rows) != 1 {
		t.Fatalf("Prices = %+v, %v", rows, err)
	}
	row := rows[0]
	if row.VCPUs < 1 || row.AsOf == "" || row.OnDemandUSD != 0 {
		t.Fatalf("local row %+v lacks this machine's CPUs or its date", row)
	}
	tests := []struct {
		name      string
		res       sdk.Resources
		wantKnown bool
	}{
		{"nothing asked", sdk.Resources{}, true},
		{"this machine's CPUs and memory", sdk.Resources{CPUs: row.VCPUs, MemoryGB: row.MemoryGB}, true},
		{"spot is free too", sdk.Resources{Spot: true}, true},
		{"more CPUs than this machine", sdk.Resources{CPUs: row.VCPUs + 1}, false},
		{"a GPU", sdk.Resources{GPUType: "T4", GPUs: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := sdk.JobSpec{Kind: sdk.KindCommand, Command: []string{"true"}, Resources: tt.res}
			plan, err := p.Plan(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			offer, ok := prices.Cheapest(rows, prices.NeedOf(spec))
			if plan.HourlyPrice.Known != tt.wantKnown || ok != tt.wantKnown {
				t.Fatalf("plan price known %v, compare offer %v; want %v", plan.HourlyPrice.Known, ok, tt.wantKnown)
			}
			if ok && (offer.InstanceType != plan.InstanceType || offer.USDPerHour != plan.HourlyPrice.USDPerHour) {
				t.Errorf("compare %s $%v, plan %s $%v", offer.InstanceType, offer.USDPerHour, plan.InstanceType, plan.HourlyPrice.USDPerHour)
			}
		})
	}
}
