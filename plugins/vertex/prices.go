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
// per hour. Google bills a GPU apart from the machine it is attached to.
// GPUs that attach to a machine family (T4, P4, P100 and V100 on N1) have
// accelerator rows pricing one GPU, whose instance_type is the pattern of
// the machines that take them. Machine types that come with their GPUs
// (g2, a2) have one row each with the GPUs' price included, so that no
// GPU is ever priced on a machine that cannot carry it. An empty spot_usd
// is an unknown price.
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
		if row.OnDemandUSD <= 0 || row.Region == "" || !catalogShape(row) {
			return nil, fmt.Errorf("vertex: prices.csv row %d: a row prices a machine without GPUs, a machine type with the GPUs it comes with, or one GPU on the machine types matching its instance_type, with a positive price and a region", i+1)
		}
	}
	return rows, nil
}

// catalogShape reports whether row is one of the three kinds of rows the
// catalog holds, with GPUs that Vertex AI offers.
func catalogShape(row sdk.PriceRow) bool {
	switch {
	case prices.IsAccelerator(row):
		_, ok := lookupGPU(row.GPUType)
		return row.InstanceType != "" && row.GPUs == 1 && ok
	case row.GPUType == "":
		_, _, fixed := fixedGPU(row.InstanceType)
		return row.GPUs == 0 && !fixed
	default:
		g, n, fixed := fixedGPU(row.InstanceType)
		return fixed && n == row.GPUs && g.accel.String() == row.GPUType
	}
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

// need is what machine m asks of the catalog in region.
func need(region string, m machine, spot bool) prices.Need {
	n := prices.Need{GPUs: int(m.count), Region: region, Spot: spot}
	if m.count > 0 {
		n.GPUType = m.accel.String()
	}
	return n
}

// price is the hourly list price of replicas machines m in region, found
// by the same prices.Cheapest the host's cost compare runs on Prices, over
// the catalog narrowed to m's machine type. It is unknown when any part of
// it is missing from the catalog.
func price(region string, m machine, replicas int, spot bool) (sdk.Price, string) {
	var rows []sdk.PriceRow
	for _, r := range catalog {
		if prices.IsAccelerator(r) || r.InstanceType == m.machineType {
			rows = append(rows, r)
		}
	}
	o, ok := prices.Cheapest(rows, need(region, m, spot))
	switch {
	case !ok && spot:
		return sdk.Price{}, fmt.Sprintf("the catalog has no spot price for %s in %s, so the price is unknown; spot capacity costs less than the on-demand list price", m.machineType, region)
	case !ok:
		return sdk.Price{}, fmt.Sprintf("no price for %s in %s in the plugin's catalog", describe(m), region)
	}
	total, source := o.USDPerHour, "Vertex AI list price: "+o.Detail
	if replicas > 1 {
		total *= float64(replicas)
		source += fmt.Sprintf(", x %d replicas", replicas)
	}
	return sdk.Price{Known: true, USDPerHour: total, Source: source + " (" + o.Source + ")", AsOf: o.AsOf}, ""
}

func describe(m machine) string {
	if m.count == 0 {
		return m.machineType
	}
	return fmt.Sprintf("%s with %d %s", m.machineType, m.count, m.accel)
}
