package main

import (
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
)

// pricesCSV holds list prices for Vertex AI custom training, in US dollars
// per hour. Google bills a GPU apart from the machine it is attached to,
// so machine rows exclude GPUs (gpus 0) and accelerator rows (no
// instance_type) price one GPU. An empty spot_usd is an unknown price.
//
//go:embed prices.csv
var pricesCSV string

var catalog = mustParseCatalog(pricesCSV)

func mustParseCatalog(text string) []sdk.PriceRow {
	rows, err := parseCatalog(text)
	if err != nil {
		panic(err)
	}
	return rows
}

func parseCatalog(text string) ([]sdk.PriceRow, error) {
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("vertex: prices.csv: %w", err)
	}
	want := "instance_type,gpu_type,gpus,vcpus,memory_gb,region,on_demand_usd,spot_usd,source,as_of"
	if len(recs) == 0 || strings.Join(recs[0], ",") != want {
		return nil, fmt.Errorf("vertex: prices.csv: header must be %s", want)
	}
	var out []sdk.PriceRow
	for i, r := range recs[1:] {
		line := i + 2
		num := func(s string) float64 {
			if s == "" {
				return 0
			}
			v, e := strconv.ParseFloat(s, 64)
			if e != nil || v < 0 {
				err = fmt.Errorf("vertex: prices.csv line %d: %q is not a price or size", line, s)
			}
			return v
		}
		gpus, _ := strconv.Atoi(r[2])
		row := sdk.PriceRow{InstanceType: r[0], GPUType: r[1], GPUs: gpus, VCPUs: num(r[3]), MemoryGB: num(r[4]), Region: r[5],
			OnDemandUSD: num(r[6]), SpotUSD: num(r[7]), Source: r[8], AsOf: r[9]}
		if err != nil {
			return nil, err
		}
		if row.OnDemandUSD <= 0 || row.Region == "" || row.Source == "" || row.AsOf == "" || (row.InstanceType == "") == (row.GPUType == "") {
			return nil, fmt.Errorf("vertex: prices.csv line %d: a row prices either a machine or a GPU, with a positive price, region, source and date", line)
		}
		out = append(out, row)
	}
	return out, nil
}

func (p *Platform) Prices(_ context.Context, f sdk.PriceFilter) ([]sdk.PriceRow, error) {
	gpu := f.GPUType
	if g, ok := lookupGPU(gpu); ok {
		gpu = g.accel.String()
	}
	var out []sdk.PriceRow
	for _, r := range catalog {
		if (f.Region == "" || f.Region == r.Region) && (f.InstanceType == "" || f.InstanceType == r.InstanceType) &&
			(gpu == "" || strings.EqualFold(gpu, r.GPUType)) {
			out = append(out, r)
		}
	}
	return out, nil
}

// price is the hourly list price of replicas machines m in region; it is
// unknown when any part of it is missing from the catalog.
func price(region string, m machine, replicas int, spot bool) (sdk.Price, string) {
	if spot {
		return sdk.Price{}, "the catalog has no spot prices, so the price is unknown; spot capacity costs less than the on-demand list price"
	}
	find := func(instance, gpu string) (sdk.PriceRow, bool) {
		for _, r := range catalog {
			if r.Region == region && r.InstanceType == instance && r.GPUType == gpu {
				return r, true
			}
		}
		return sdk.PriceRow{}, false
	}
	mr, ok := find(m.machineType, "")
	if !ok {
		return sdk.Price{}, fmt.Sprintf("no price for %s in %s in the plugin's catalog", m.machineType, region)
	}
	total, asOf := mr.OnDemandUSD, mr.AsOf
	source := fmt.Sprintf("Vertex AI list price: %s $%.4f", m.machineType, mr.OnDemandUSD)
	if m.count > 0 {
		gr, ok := find("", m.accel.String())
		if !ok {
			return sdk.Price{}, fmt.Sprintf("no price for %s in %s in the plugin's catalog", m.accel, region)
		}
		total += float64(m.count) * gr.OnDemandUSD
		source += fmt.Sprintf(" + %d x %s $%.4f", m.count, m.accel, gr.OnDemandUSD)
		asOf = min(asOf, gr.AsOf)
	}
	if replicas > 1 {
		total *= float64(replicas)
		source += fmt.Sprintf(", x %d replicas", replicas)
	}
	return sdk.Price{Known: true, USDPerHour: total, Source: source + " (" + mr.Source + ")", AsOf: asOf}, ""
}
