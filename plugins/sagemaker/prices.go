package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/prices"
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
	rows, err := prices.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("sagemaker: prices.csv: %w", err)
	}
	for i, row := range rows {
		if row.OnDemandUSD <= 0 || !(strings.HasPrefix(row.Source, trainingSource) || strings.HasPrefix(row.Source, hostingSource)) {
			return nil, fmt.Errorf("sagemaker: prices.csv row %d: a row needs a positive price and a source naming its use", i+1)
		}
	}
	return rows, nil
}

// Prices lists training prices: what the host compares is the cost of
// jobs. Hosting prices stay internal, for endpoint plans.
func (p *Platform) Prices(_ context.Context, f sdk.PriceFilter) ([]sdk.PriceRow, error) {
	return prices.Filter(trainingRows(), f), nil
}

func trainingRows() []sdk.PriceRow {
	var training []sdk.PriceRow
	for _, r := range catalog {
		if strings.HasPrefix(r.Source, trainingSource) {
			training = append(training, r)
		}
	}
	return training
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
