package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
)

// pricesCSV is the plugin's dated price list. Managed spot prices are not
// published per instance, so spot_usd is empty (unknown) throughout.
//
//go:embed prices.csv
var pricesCSV []byte

// Row sources say what a price is for; the same instance type is priced
// separately for training and for hosting.
const (
	trainingSource = "SageMaker training"
	hostingSource  = "SageMaker real-time inference"
)

// catalog is pricesCSV parsed once; a malformed file fails the tests, not
// the user.
var catalog = mustParsePrices(pricesCSV)

func mustParsePrices(b []byte) []sdk.PriceRow {
	rows, err := parsePrices(b)
	if err != nil {
		panic(err)
	}
	return rows
}

func parsePrices(b []byte) ([]sdk.PriceRow, error) {
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("sagemaker: prices.csv: %w", err)
	}
	want := "instance_type,gpu_type,gpus,vcpus,memory_gb,region,on_demand_usd,spot_usd,source,as_of"
	if len(recs) == 0 || strings.Join(recs[0], ",") != want {
		return nil, fmt.Errorf("sagemaker: prices.csv: header must be %s", want)
	}
	var out []sdk.PriceRow
	for i, r := range recs[1:] {
		row := sdk.PriceRow{InstanceType: r[0], GPUType: r[1], Region: r[5], Source: r[8], AsOf: r[9]}
		var errs [5]error
		row.GPUs, errs[0] = strconv.Atoi(r[2])
		row.VCPUs, errs[1] = strconv.ParseFloat(r[3], 64)
		row.MemoryGB, errs[2] = strconv.ParseFloat(r[4], 64)
		row.OnDemandUSD, errs[3] = strconv.ParseFloat(r[6], 64)
		if r[7] != "" {
			row.SpotUSD, errs[4] = strconv.ParseFloat(r[7], 64)
		}
		for _, e := range errs {
			if e != nil {
				return nil, fmt.Errorf("sagemaker: prices.csv line %d: %w", i+2, e)
			}
		}
		if row.OnDemandUSD <= 0 || row.AsOf == "" || row.Source == "" {
			return nil, fmt.Errorf("sagemaker: prices.csv line %d: a row needs a positive price, a source and a date", i+2)
		}
		out = append(out, row)
	}
	return out, nil
}

func (p *Platform) Prices(_ context.Context, f sdk.PriceFilter) ([]sdk.PriceRow, error) {
	var out []sdk.PriceRow
	for _, r := range catalog {
		if (f.Region == "" || f.Region == r.Region) && (f.InstanceType == "" || f.InstanceType == r.InstanceType) &&
			(f.GPUType == "" || strings.EqualFold(f.GPUType, r.GPUType)) {
			out = append(out, r)
		}
	}
	return out, nil
}

// price is the hourly price of an instance for a use (trainingSource or
// hostingSource) in a region; unknown is Known=false, never zero.
func price(use, instance, region string) sdk.Price {
	for _, r := range catalog {
		if r.InstanceType == instance && r.Region == region && strings.HasPrefix(r.Source, use) {
			return sdk.Price{Known: true, USDPerHour: r.OnDemandUSD, Source: r.Source, AsOf: r.AsOf}
		}
	}
	return sdk.Price{}
}

// shape is what the catalog knows of an instance type in any region;
// ok is false for types it does not list.
func shape(instance string) (row sdk.PriceRow, ok bool) {
	for _, r := range catalog {
		if r.InstanceType == instance {
			return r, true
		}
	}
	return sdk.PriceRow{}, false
}

// gpuFamilies are the accelerated instance families and their GPU model,
// for types the catalog does not list.
var gpuFamilies = map[string]string{
	"p2": "K80", "p3": "V100", "p3dn": "V100", "p4d": "A100", "p4de": "A100", "p5": "H100", "p5e": "H200",
	"p5en": "H200", "g4dn": "T4", "g5": "A10G", "g6": "L4", "g6e": "L40S", "gr6": "L4",
}

// processorOf says which image variant an instance type needs.
func processorOf(instance string) processor {
	family := strings.Split(strings.TrimPrefix(instance, "ml."), ".")[0]
	switch {
	case gpuFamilies[family] != "":
		return gpu
	case strings.HasPrefix(family, "trn") || strings.HasPrefix(family, "inf"):
		return neuron
	}
	return cpu
}
