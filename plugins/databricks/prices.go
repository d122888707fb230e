package main

import (
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/prices"
)

// prices.csv holds node (VM) prices; dbus.csv the DBUs each node type
// burns per hour and the price of one DBU. A Databricks node costs both.
var (
	//go:embed prices.csv
	pricesCSV string
	//go:embed dbus.csv
	dbusCSV string
)

// catalogRow is one node type with its VM price and, where known, its DBU
// rate. Zero dbuPerHour means the DBU rate is unknown.
type catalogRow struct {
	instanceType, gpuType, region string
	gpus                          int
	vcpus, memoryGB               float64
	vmUSD, spotUSD                float64
	dbuPerHour, usdPerDBU         float64
	source, dbuSource, asOf       string
}

// total is the hourly on-demand price of one node: VM plus DBUs.
func (r catalogRow) total() float64 { return r.vmUSD + r.dbuPerHour*r.usdPerDBU }

type priceCatalog struct{ rows []catalogRow }

var catalog = sync.OnceValue(func() *priceCatalog {
	c, err := parseCatalog(pricesCSV, dbusCSV)
	if err != nil {
		panic(err) // the embedded files are checked by the tests
	}
	return c
})

func readCSV(text string, header string) ([][]string, error) {
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != header {
		return nil, fmt.Errorf("databricks: price catalog header is not %q", header)
	}
	return recs[1:], nil
}

func parseCatalog(pricesText, dbus string) (*priceCatalog, error) {
	vm, err := prices.Parse(strings.NewReader(pricesText))
	if err != nil {
		return nil, fmt.Errorf("databricks: prices.csv: %w", err)
	}
	du, err := readCSV(dbus, "instance_type,dbu_per_hour,usd_per_dbu,source,as_of")
	if err != nil {
		return nil, err
	}
	type dbu struct {
		perHour, usd float64
		source       string
	}
	rates := map[string]dbu{}
	for _, r := range du {
		h, err1 := strconv.ParseFloat(r[1], 64)
		u, err2 := strconv.ParseFloat(r[2], 64)
		if err1 != nil || err2 != nil || h <= 0 || u <= 0 {
			return nil, fmt.Errorf("databricks: dbus.csv: bad rate for %s", r[0])
		}
		rates[r[0]] = dbu{h, u, r[3]}
	}
	c := &priceCatalog{}
	for _, r := range vm {
		if r.OnDemandUSD <= 0 {
			return nil, fmt.Errorf("databricks: prices.csv: %s has no price", r.InstanceType)
		}
		row := catalogRow{instanceType: r.InstanceType, gpuType: r.GPUType, region: r.Region, gpus: r.GPUs, vcpus: r.VCPUs,
			memoryGB: r.MemoryGB, vmUSD: r.OnDemandUSD, spotUSD: r.SpotUSD, source: r.Source, asOf: r.AsOf}
		if d, ok := rates[row.instanceType]; ok {
			row.dbuPerHour, row.usdPerDBU, row.dbuSource = d.perHour, d.usd, d.source
		}
		c.rows = append(c.rows, row)
	}
	return c, nil
}

func (c *priceCatalog) find(instanceType string) *catalogRow {
	for i := range c.rows {
		if c.rows[i].instanceType == instanceType {
			return &c.rows[i]
		}
	}
	return nil
}

// describe says how a row's price is made up.
func (r catalogRow) describe() string {
	return fmt.Sprintf("estimate: VM $%.3f/h + %g DBU/h × $%.2f/DBU; %s; %s", r.vmUSD, r.dbuPerHour, r.usdPerDBU, r.source, r.dbuSource)
}

// nodePrice is the hourly price of a cluster of nodes of one type; unknown
// when the catalog lacks the node's DBU rate.
func nodePrice(r catalogRow, nodes int) sdk.Price {
	if r.dbuPerHour == 0 {
		return sdk.Price{Source: "no DBU rate for " + r.instanceType + " in the catalog"}
	}
	src := r.describe()
	if nodes > 1 {
		src = fmt.Sprintf("%d nodes × (%s)", nodes, src)
	}
	return sdk.Price{Known: true, USDPerHour: r.total() * float64(nodes), Source: src, AsOf: r.asOf}
}

// priceRows are the catalog's node types with their full hourly price, VM
// plus DBUs. Node types whose DBU rate is unknown are left out rather than
// priced too low.
func (c *priceCatalog) priceRows() []sdk.PriceRow {
	var out []sdk.PriceRow
	for _, r := range c.rows {
		if r.dbuPerHour == 0 {
			continue
		}
		row := sdk.PriceRow{InstanceType: r.instanceType, GPUType: r.gpuType, GPUs: r.gpus, VCPUs: r.vcpus, MemoryGB: r.memoryGB,
			Region: r.region, OnDemandUSD: r.total(), Source: r.describe(), AsOf: r.asOf}
		if r.spotUSD > 0 {
			row.SpotUSD = r.spotUSD + r.dbuPerHour*r.usdPerDBU
		}
		out = append(out, row)
	}
	return out
}

// Prices lists the catalog's node types, priced as estimates.
func (p *Platform) Prices(_ context.Context, f sdk.PriceFilter) ([]sdk.PriceRow, error) {
	return prices.Filter(catalog().priceRows(), f), nil
}
