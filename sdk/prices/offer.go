package prices

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
)

// Need is what a job asks for; zero fields ask for nothing in particular.
type Need struct {
	GPUType  string
	GPUs     int
	CPUs     float64
	MemoryGB float64
	Region   string
	Spot     bool
}

// NeedOf reads a job's needs from its spec.
func NeedOf(spec sdk.JobSpec) Need {
	r := spec.Resources
	return Need{GPUType: r.GPUType, GPUs: r.GPUs, CPUs: r.CPUs, MemoryGB: r.MemoryGB, Spot: r.Spot}
}

// Offer is one way to meet a Need, with its hourly price.
type Offer struct {
	InstanceType string
	GPUType      string
	GPUs         int
	Region       string
	USDPerHour   float64
	// Spot is true when USDPerHour is a spot price.
	Spot bool
	// Detail shows how the price is made up, such as "n1-standard-8 + 2 × T4".
	Detail string
	Source string
	AsOf   string
}

// IsAccelerator reports whether r prices a GPU billed apart from its
// machine rather than a machine.
func IsAccelerator(r sdk.PriceRow) bool {
	return r.InstanceType == "" || strings.ContainsAny(r.InstanceType, "*?[")
}

// AttachesTo reports whether accelerator row a can be added to machine:
// a's instance_type is a path.Match pattern of the machine types that take
// it, such as "n1-*"; an empty one takes any machine without GPUs.
func AttachesTo(a sdk.PriceRow, machine string) bool {
	if a.InstanceType == "" {
		return true
	}
	ok, err := path.Match(a.InstanceType, machine)
	return ok && err == nil
}

// Cheapest returns the cheapest offer in rows that meets n, and false when
// none does: an unknown price is never a zero one. A spot need is priced
// by spot prices only, because an on-demand price is not what a spot job
// costs; a machine that is free is free on spot too. Plugins choose their
// default machine with it, so that a plan and the host's cost compare
// pick the same offer.
func Cheapest(rows []sdk.PriceRow, n Need) (Offer, bool) {
	var offers []Offer
	price := func(r sdk.PriceRow) (float64, bool, bool) {
		switch {
		case !n.Spot:
			return r.OnDemandUSD, false, true
		case r.SpotUSD > 0:
			return r.SpotUSD, true, true
		case r.OnDemandUSD == 0:
			return 0, true, true
		}
		return 0, false, false
	}
	fits := func(r sdk.PriceRow) bool {
		return (n.Region == "" || r.Region == n.Region) && r.VCPUs >= n.CPUs && r.MemoryGB >= n.MemoryGB
	}
	wantGPU := NormalizeGPU(n.GPUType)
	for _, r := range rows {
		if IsAccelerator(r) || !fits(r) {
			continue
		}
		switch {
		case n.GPUs == 0 && r.GPUs == 0:
		case n.GPUs > 0 && r.GPUs >= n.GPUs && (wantGPU == "" || NormalizeGPU(r.GPUType) == wantGPU):
		default:
			continue
		}
		p, spot, known := price(r)
		if !known {
			continue
		}
		detail := r.InstanceType
		if r.GPUs > 0 {
			detail = fmt.Sprintf("%s (%d × %s included)", r.InstanceType, r.GPUs, r.GPUType)
		}
		offers = append(offers, Offer{InstanceType: r.InstanceType, GPUType: r.GPUType, GPUs: r.GPUs, Region: r.Region,
			USDPerHour: p, Spot: spot, Detail: detail, Source: r.Source, AsOf: r.AsOf})
	}
	// Accelerators billed apart: the cheapest GPU-less machine in the same
	// region plus the GPUs.
	if n.GPUs > 0 {
		for _, a := range rows {
			if !IsAccelerator(a) || (wantGPU != "" && NormalizeGPU(a.GPUType) != wantGPU) || (n.Region != "" && a.Region != n.Region) {
				continue
			}
			gp, gspot, known := price(a)
			if !known {
				continue
			}
			host, ok := cheapestHost(rows, n, a, price)
			if !ok {
				continue
			}
			hp, hspot, _ := price(host)
			offers = append(offers, Offer{InstanceType: host.InstanceType, GPUType: a.GPUType, GPUs: n.GPUs, Region: a.Region,
				USDPerHour: hp + gp*float64(n.GPUs), Spot: gspot && hspot,
				Detail: fmt.Sprintf("%s $%.4f + %d × %s $%.4f", host.InstanceType, hp, n.GPUs, a.GPUType, gp),
				Source: a.Source, AsOf: older(a.AsOf, host.AsOf)})
		}
	}
	if len(offers) == 0 {
		return Offer{}, false
	}
	sort.SliceStable(offers, func(i, j int) bool { return offers[i].USDPerHour < offers[j].USDPerHour })
	return offers[0], true
}

// cheapestHost is the cheapest priced machine without GPUs in a's region
// that a attaches to and that meets n.
func cheapestHost(rows []sdk.PriceRow, n Need, a sdk.PriceRow, price func(sdk.PriceRow) (float64, bool, bool)) (sdk.PriceRow, bool) {
	var best sdk.PriceRow
	bestPrice, found := 0.0, false
	for _, r := range rows {
		if IsAccelerator(r) || r.GPUs > 0 || r.Region != a.Region || r.VCPUs < n.CPUs || r.MemoryGB < n.MemoryGB || !AttachesTo(a, r.InstanceType) {
			continue
		}
		p, _, known := price(r)
		if !known {
			continue
		}
		if !found || p < bestPrice {
			best, bestPrice, found = r, p, true
		}
	}
	return best, found
}

// older returns the earlier of two ISO dates: a sum is as old as its
// oldest part.
func older(a, b string) string {
	if b < a {
		return b
	}
	return a
}
