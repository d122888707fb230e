// Package budget prices jobs for the host: it lays the user's own price
// files over a plugin's plan and catalog, bounds what a job can cost (hourly
// price × max runtime), holds a job to --max-cost, and ranks platforms by
// their cheapest matching offer.
//
// It does not start plugins or print: its caller passes what the plugin
// answered. Every price is an estimate from a dated source.
package budget

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/prices"
)

// Overrides is the directory of the user's price files, one PLATFORM.csv
// each. The host only reads them, so upgrades never overwrite them.
type Overrides struct{ Dir string }

// Path is platform's price file.
func (o Overrides) Path(platform string) string { return filepath.Join(o.Dir, platform+".csv") }

// Rows reads the user's prices for platform; no file, no rows.
func (o Overrides) Rows(platform string) ([]sdk.PriceRow, error) {
	f, err := os.Open(o.Path(platform))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("budget: %w", err)
	}
	defer f.Close()
	rows, err := prices.Parse(f)
	if err != nil {
		return nil, &sdk.Error{Kind: sdk.ErrInvalidArgument, Message: fmt.Sprintf("%s: %v", o.Path(platform), err),
			Hint: "fix the file (columns are those of docs/costs.md) or remove it"}
	}
	return rows, nil
}

// Apply replaces a plan's price with the user's, where the user priced the
// planned instance.
func (o Overrides) Apply(platform string, p *sdk.Plan) error {
	rows, err := o.Rows(platform)
	if err != nil || p.InstanceType == "" {
		return err
	}
	for _, r := range prices.Filter(rows, sdk.PriceFilter{InstanceType: p.InstanceType}) {
		p.HourlyPrice = sdk.Price{Known: true, USDPerHour: r.OnDemandUSD, Source: r.Source + " (" + o.Path(platform) + ")", AsOf: r.AsOf}
		return nil
	}
	return nil
}

// Catalog is a platform's price rows, from its plugin (fetch) with the
// user's overrides merged in. A plugin without a catalog is fine when the
// user priced the platform; a failed fetch is too, then.
func (o Overrides) Catalog(ctx context.Context, platform string, fetch func(context.Context) ([]sdk.PriceRow, error)) ([]sdk.PriceRow, error) {
	rows, err := fetch(ctx)
	over, oerr := o.Rows(platform)
	if oerr != nil {
		return nil, oerr
	}
	if err != nil && len(over) == 0 {
		if errors.Is(err, sdk.ErrUnsupported) {
			return nil, errors.New("the plugin has no price catalog")
		}
		return nil, err
	}
	return prices.Merge(rows, over), nil
}

// Bound is the most the job can cost: the plan's hourly price (for every
// node) × max runtime; false when either is unknown.
func Bound(spec sdk.JobSpec, p sdk.Plan) (float64, bool) {
	if !p.HourlyPrice.Known || spec.Resources.MaxRuntime <= 0 {
		return 0, false
	}
	return p.HourlyPrice.USDPerHour * spec.Resources.MaxRuntime.Hours(), true
}

// CheckMaxCost refuses a --max-cost no cost can be compared with: NaN
// compares false with everything, so "bound > NaN" would let any job
// through.
func CheckMaxCost(maxCost float64) error {
	if math.IsNaN(maxCost) || math.IsInf(maxCost, 0) || maxCost < 0 {
		return sdk.FieldError("max-cost", fmt.Sprintf("must be a number of US dollars, 0 or more, got %v", maxCost), "pass --max-cost a budget such as 20")
	}
	return nil
}

// Check refuses a job whose cost bound is over maxCost or unknown: a budget
// is a promise, and an unknown price cannot keep it.
func (o Overrides) Check(spec sdk.JobSpec, p sdk.Plan, maxCost float64) error {
	if err := CheckMaxCost(maxCost); err != nil {
		return err
	}
	bound, ok := Bound(spec, p)
	switch {
	case !p.HourlyPrice.Known:
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "max-cost", Message: fmt.Sprintf("the price of %q is unknown, so the job cannot be held to $%.2f", p.InstanceType, maxCost),
			Hint: "add the instance to " + o.Path("PLATFORM") + ", or submit without --max-cost"}
	case !ok:
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "max-cost", Message: "the job has no resources.max_runtime, so its cost has no bound",
			Hint: "set resources.max_runtime (or --max-runtime) so the cost is bounded"}
	case bound > maxCost:
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "max-cost", Message: fmt.Sprintf("the job may cost up to $%.2f (%s at $%.4f/h, estimate as of %s), over --max-cost $%.2f",
			bound, spec.Resources.MaxRuntime, p.HourlyPrice.USDPerHour, p.HourlyPrice.AsOf, maxCost),
			Hint: "lower resources.max_runtime, choose a cheaper instance, or raise --max-cost"}
	}
	return nil
}

// Quote is one platform's cheapest offer for a job, or why it has none.
type Quote struct {
	Platform string
	// Known is false when the platform has no priced offer that fits;
	// Detail then says why.
	Known bool
	Offer prices.Offer
	// TotalUSD is the offer's price for the hours asked, on every node.
	TotalUSD float64
	Detail   string
}

// Compare quotes each platform's cheapest offer meeting need for hours on
// nodes machines, known prices first and cheapest first: an unknown price
// never ranks above a known one. catalog returns a platform's rows.
func Compare(ctx context.Context, platforms []string, need prices.Need, hours float64, nodes int, catalog func(context.Context, string) ([]sdk.PriceRow, error)) []Quote {
	quotes := make([]Quote, 0, len(platforms))
	for _, platform := range platforms {
		q := Quote{Platform: platform}
		rows, err := catalog(ctx, platform)
		if err != nil {
			q.Detail = err.Error()
		} else if best, ok := prices.Cheapest(rows, need); ok {
			q.Known, q.Offer, q.TotalUSD = true, best, best.USDPerHour*hours*float64(max(nodes, 1))
		} else {
			q.Detail = "no priced offer matches"
		}
		quotes = append(quotes, q)
	}
	slices.SortStableFunc(quotes, func(a, b Quote) int {
		if a.Known != b.Known {
			if a.Known {
				return -1
			}
			return 1
		}
		if !a.Known {
			return 0
		}
		return cmp.Compare(a.Offer.USDPerHour, b.Offer.USDPerHour)
	})
	return quotes
}
