// Package prices reads the dated price catalogs that plugins ship and users
// override, and finds the cheapest offer in one for a job's needs. A
// catalog is CSV with the header
//
//	instance_type,gpu_type,gpus,vcpus,memory_gb,region,on_demand_usd,spot_usd,source,as_of
//
// One row is a machine (instance_type set; gpu_type and gpus say what GPUs
// it includes) or an accelerator billed apart from the machine it is
// attached to (the price is per GPU per hour). An accelerator row's
// instance_type is a path.Match pattern of the machine types that take
// it, such as "n1-*", or empty for any machine without GPUs: which
// machines take which GPUs is data, like the prices. A price
// of zero is a real zero (a machine that costs nothing); a price nobody
// knows has no row. spot_usd is zero when the spot price is unknown.
// Every price is an estimate, as of its row's date.
package prices

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
)

// Header is the catalog's column list.
var Header = []string{"instance_type", "gpu_type", "gpus", "vcpus", "memory_gb", "region", "on_demand_usd", "spot_usd", "source", "as_of"}

// Parse reads a catalog. Errors name the line and column.
func Parse(r io.Reader) ([]sdk.PriceRow, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = len(Header)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("prices: header: %w", err)
	}
	if strings.Join(head, ",") != strings.Join(Header, ",") {
		return nil, fmt.Errorf("prices: header is %q, want %q", strings.Join(head, ","), strings.Join(Header, ","))
	}
	var rows []sdk.PriceRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("prices: %w", err)
		}
		line, _ := cr.FieldPos(0)
		num := func(col int) (float64, error) {
			if rec[col] == "" {
				return 0, nil
			}
			v, err := strconv.ParseFloat(rec[col], 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("prices: line %d: %s %q is not a price or count", line, Header[col], rec[col])
			}
			return v, nil
		}
		var vals [5]float64
		for i, col := range []int{2, 3, 4, 6, 7} {
			if vals[i], err = num(col); err != nil {
				return nil, err
			}
		}
		row := sdk.PriceRow{InstanceType: rec[0], GPUType: rec[1], GPUs: int(vals[0]), VCPUs: vals[1], MemoryGB: vals[2],
			Region: rec[5], OnDemandUSD: vals[3], SpotUSD: vals[4], Source: rec[8], AsOf: rec[9]}
		if row.InstanceType == "" && row.GPUType == "" {
			return nil, fmt.Errorf("prices: line %d: a row needs an instance_type or a gpu_type", line)
		}
		if _, err := path.Match(row.InstanceType, ""); err != nil {
			return nil, fmt.Errorf("prices: line %d: instance_type %q is not a valid pattern", line, row.InstanceType)
		}
		if IsAccelerator(row) && row.GPUType == "" {
			return nil, fmt.Errorf("prices: line %d: instance_type %q is a pattern, so the row prices a GPU and needs a gpu_type", line, row.InstanceType)
		}
		if row.Source == "" || row.AsOf == "" {
			return nil, fmt.Errorf("prices: line %d: every price needs its source and as_of date", line)
		}
		rows = append(rows, row)
	}
}

// Filter keeps the rows that match f; empty fields of f match anything.
func Filter(rows []sdk.PriceRow, f sdk.PriceFilter) []sdk.PriceRow {
	var out []sdk.PriceRow
	for _, r := range rows {
		if (f.Region == "" || r.Region == f.Region) && (f.InstanceType == "" || r.InstanceType == f.InstanceType) &&
			(f.GPUType == "" || NormalizeGPU(r.GPUType) == NormalizeGPU(f.GPUType)) {
			out = append(out, r)
		}
	}
	return out
}

// NormalizeGPU maps the many spellings of a GPU model to one:
// "NVIDIA_TESLA_A100", "nvidia-a100" and "A100" are all "A100".
func NormalizeGPU(s string) string {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
	for _, p := range []string{"NVIDIA_", "TESLA_"} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// Merge returns base with each row of over replacing the base row of the
// same instance type, GPU type and region, and over's other rows added.
func Merge(base, over []sdk.PriceRow) []sdk.PriceRow {
	key := func(r sdk.PriceRow) string { return r.InstanceType + "|" + NormalizeGPU(r.GPUType) + "|" + r.Region }
	replaced := map[string]bool{}
	for _, r := range over {
		replaced[key(r)] = true
	}
	var out []sdk.PriceRow
	for _, r := range base {
		if !replaced[key(r)] {
			out = append(out, r)
		}
	}
	return append(out, over...)
}
