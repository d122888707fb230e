package main

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/prices"
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
	rows, err := prices.Parse(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("vertex: prices.csv: %w", err)
	}
	for i, row := range rows {
		// Google bills a GPU apart from its machine, and a missing price is
		// no row at all: every row here prices one or the other.
		if row.OnDemandUSD <= 0 || row.Region == "" || (row.InstanceType == "") == (row.GPUType == "") || (row.InstanceType != "" && row.GPUs > 0) {
			return nil, fmt.Errorf("vertex: prices.csv row %d: a row prices either a machine without GPUs or one GPU, with a positive price and a region", i+1)
		}
	}
	return rows, nil
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
