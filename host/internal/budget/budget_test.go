package budget

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/prices"
)

func spec(runtime time.Duration) sdk.JobSpec {
	return sdk.JobSpec{Resources: sdk.Resources{MaxRuntime: runtime}}
}

func priced(usd float64) sdk.Plan {
	return sdk.Plan{InstanceType: "m5", HourlyPrice: sdk.Price{Known: true, USDPerHour: usd, AsOf: "2026-01-01"}}
}

func TestCheck(t *testing.T) {
	o := Overrides{Dir: t.TempDir()}
	tests := []struct {
		name    string
		spec    sdk.JobSpec
		plan    sdk.Plan
		maxCost float64
		ok      bool
	}{
		{"under", spec(2 * time.Hour), priced(3), 10, true},
		{"exactly at", spec(2 * time.Hour), priced(5), 10, true},
		{"over", spec(3 * time.Hour), priced(5), 10, false},
		{"unknown price", spec(time.Hour), sdk.Plan{InstanceType: "m5"}, 10, false},
		{"no max runtime", spec(0), priced(1), 10, false},
		{"zero budget, free job", spec(time.Hour), priced(0), 0, true},
		{"NaN budget", spec(time.Hour), priced(1), math.NaN(), false},
		{"infinite budget", spec(time.Hour), priced(1), math.Inf(1), false},
		{"negative budget", spec(time.Hour), priced(0), -1, false},
	}
	for _, tc := range tests {
		err := o.Check(tc.spec, tc.plan, tc.maxCost)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Check = %v, want ok=%v", tc.name, err, tc.ok)
		}
		var se *sdk.Error
		if err != nil && (!errors.Is(err, sdk.ErrInvalidArgument) || !errors.As(err, &se) || se.Field != "max-cost" || se.Hint == "") {
			t.Errorf("%s: %#v is not an invalid-argument error on max-cost with a hint", tc.name, err)
		}
	}
}

func TestBound(t *testing.T) {
	tests := []struct {
		name  string
		spec  sdk.JobSpec
		plan  sdk.Plan
		want  float64
		known bool
	}{
		{"price × runtime", spec(90 * time.Minute), priced(4), 6, true},
		{"no runtime", spec(0), priced(4), 0, false},
		{"no price", spec(time.Hour), sdk.Plan{}, 0, false},
	}
	for _, tc := range tests {
		got, known := Bound(tc.spec, tc.plan)
		if got != tc.want || known != tc.known {
			t.Errorf("%s: Bound = %v, %v; want %v, %v", tc.name, got, known, tc.want, tc.known)
		}
	}
}

func TestApplyPrefersTheUsersPrice(t *testing.T) {
	dir := t.TempDir()
	o := Overrides{Dir: dir}
	os.WriteFile(o.Path("acme"), []byte("instance_type,gpu_type,gpus,vcpus,memory_gb,region,on_demand_usd,spot_usd,source,as_of\nm5,,0,2,8,r1,0.5,,contract,2026-02-01\n"), 0o600)
	tests := []struct {
		platform, instance string
		want               sdk.Price
	}{
		{"acme", "m5", sdk.Price{Known: true, USDPerHour: 0.5, Source: "contract (" + filepath.Join(dir, "acme.csv") + ")", AsOf: "2026-02-01"}},
		{"acme", "c5", sdk.Price{Known: true, USDPerHour: 9}},
		{"other", "m5", sdk.Price{Known: true, USDPerHour: 9}},
	}
	for _, tc := range tests {
		p := sdk.Plan{InstanceType: tc.instance, HourlyPrice: sdk.Price{Known: true, USDPerHour: 9}}
		if err := o.Apply(tc.platform, &p); err != nil {
			t.Fatal(err)
		}
		if p.HourlyPrice != tc.want {
			t.Errorf("%s/%s: price %+v, want %+v", tc.platform, tc.instance, p.HourlyPrice, tc.want)
		}
	}
	os.WriteFile(o.Path("broken"), []byte("not,a,catalog\n"), 0o600)
	if err := o.Apply("broken", &sdk.Plan{InstanceType: "m5"}); !errors.Is(err, sdk.ErrInvalidArgument) {
		t.Errorf("a malformed price file: %v, want an invalid-argument error", err)
	}
}

func TestCatalog(t *testing.T) {
	dir := t.TempDir()
	o := Overrides{Dir: dir}
	os.WriteFile(o.Path("mine"), []byte("instance_type,gpu_type,gpus,vcpus,memory_gb,region,on_demand_usd,spot_usd,source,as_of\nm5,,0,2,8,r1,0.5,,contract,2026-02-01\n"), 0o600)
	row := sdk.PriceRow{InstanceType: "c5", OnDemandUSD: 1}
	tests := []struct {
		name, platform string
		fetch          func(context.Context) ([]sdk.PriceRow, error)
		rows           int
		fails          bool
	}{
		{"plugin rows", "plain", func(context.Context) ([]sdk.PriceRow, error) { return []sdk.PriceRow{row}, nil }, 1, false},
		{"no catalog, no overrides", "plain", func(context.Context) ([]sdk.PriceRow, error) { return nil, sdk.ErrUnsupported }, 0, true},
		{"no catalog, overrides", "mine", func(context.Context) ([]sdk.PriceRow, error) { return nil, sdk.ErrUnsupported }, 1, false},
		{"failed fetch, no overrides", "plain", func(context.Context) ([]sdk.PriceRow, error) { return nil, sdk.ErrUnavailable }, 0, true},
		{"plugin and overrides merge", "mine", func(context.Context) ([]sdk.PriceRow, error) { return []sdk.PriceRow{row}, nil }, 2, false},
	}
	for _, tc := range tests {
		rows, err := o.Catalog(context.Background(), tc.platform, tc.fetch)
		if (err != nil) != tc.fails || len(rows) != tc.rows {
			t.Errorf("%s: %d rows, %v; want %d rows, fails=%v", tc.name, len(rows), err, tc.rows, tc.fails)
		}
	}
}

func TestCompareRanksKnownPricesFirstCheapestFirst(t *testing.T) {
	catalogs := map[string][]sdk.PriceRow{
		"dear":  {{InstanceType: "big", OnDemandUSD: 4, VCPUs: 8, MemoryGB: 32}},
		"cheap": {{InstanceType: "small", OnDemandUSD: 1, VCPUs: 8, MemoryGB: 32}},
		"tiny":  {{InstanceType: "nano", OnDemandUSD: 0.1, VCPUs: 1, MemoryGB: 1}},
	}
	catalog := func(_ context.Context, p string) ([]sdk.PriceRow, error) {
		if p == "down" {
			return nil, sdk.ErrUnavailable
		}
		return catalogs[p], nil
	}
	quotes := Compare(context.Background(), []string{"down", "dear", "tiny", "cheap"}, prices.Need{CPUs: 4}, 2, 3, catalog)
	var order []string
	for _, q := range quotes {
		order = append(order, q.Platform)
	}
	if want := []string{"cheap", "dear", "down", "tiny"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if q := quotes[0]; !q.Known || q.TotalUSD != 6 || q.Offer.InstanceType != "small" {
		t.Errorf("cheapest quote %+v, want small at $6 (1 × 2h × 3 nodes)", q)
	}
	if q := quotes[3]; q.Known || q.Detail != "no priced offer matches" {
		t.Errorf("unfit quote %+v", q)
	}
}
