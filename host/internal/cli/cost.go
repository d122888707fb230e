package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/host/internal/paths"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/prices"
	"github.com/urfave/cli/v2"
)

// overridePath is the user's own price file for a platform. The host only
// reads it, so upgrades never overwrite it.
func overridePath(platform string) string {
	return filepath.Join(paths.Config(), "prices", platform+".csv")
}

// priceOverrides reads the user's prices for platform; no file, no rows.
func priceOverrides(platform string) ([]sdk.PriceRow, error) {
	f, err := os.Open(overridePath(platform))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := prices.Parse(f)
	if err != nil {
		return nil, usageError(fmt.Sprintf("%s: %v", overridePath(platform), err))
	}
	return rows, nil
}

// applyOverride replaces a plan's price with the user's, where the user
// priced the planned instance.
func applyOverride(platform string, p *sdk.Plan) error {
	rows, err := priceOverrides(platform)
	if err != nil || p.InstanceType == "" {
		return err
	}
	for _, r := range prices.Filter(rows, sdk.PriceFilter{InstanceType: p.InstanceType}) {
		p.HourlyPrice = sdk.Price{Known: true, USDPerHour: r.OnDemandUSD, Source: r.Source + " (" + overridePath(platform) + ")", AsOf: r.AsOf}
		return nil
	}
	return nil
}

// costBound is the most the job can cost: the plan's hourly price (for
// every node) × max runtime.
func costBound(spec sdk.JobSpec, p sdk.Plan) (float64, bool) {
	if !p.HourlyPrice.Known || spec.Resources.MaxRuntime <= 0 {
		return 0, false
	}
	return p.HourlyPrice.USDPerHour * spec.Resources.MaxRuntime.Hours(), true
}

// checkBudget refuses a job whose cost bound is over maxCost or unknown.
func checkBudget(spec sdk.JobSpec, p sdk.Plan, maxCost float64) error {
	bound, ok := costBound(spec, p)
	switch {
	case !p.HourlyPrice.Known:
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "max-cost", Message: fmt.Sprintf("the price of %q is unknown, so the job cannot be held to $%.2f", p.InstanceType, maxCost),
			Hint: "add the instance to " + overridePath("PLATFORM") + ", or submit without --max-cost"}
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

func costCommand() *cli.Command {
	specFlags := []cli.Flag{
		&cli.Float64Flag{Name: "hours", Usage: "price this many hours (default: the spec's max_runtime)"},
		&cli.StringFlag{Name: "gpu-type", Usage: "override the spec's GPU model"},
		&cli.IntFlag{Name: "gpus", Value: -1, Usage: "override the spec's GPU count", DefaultText: "from spec"},
		&cli.BoolFlag{Name: "spot", Usage: "price spot capacity where known"},
	}
	return &cli.Command{
		Name:  "cost",
		Usage: "estimate and compare what a job costs (estimates, dated)",
		Subcommands: []*cli.Command{
			{Name: "estimate", Usage: "what SPEC costs on one platform, from the plugin's plan", ArgsUsage: "SPEC",
				Flags: append([]cli.Flag{&cli.StringFlag{Name: "platform", Aliases: []string{"p"}, Usage: "platform to price", Action: checkPlatformFlag},
					&cli.StringFlag{Name: "idempotency-key", Hidden: true}, &cli.StringFlag{Name: "name", Hidden: true},
					&cli.StringFlag{Name: "instance-type", Usage: "override the spec's instance type"},
					&cli.DurationFlag{Name: "max-runtime", Usage: "override the spec's max runtime"},
				}, specFlags...), Action: costEstimate},
			{Name: "compare", Usage: "the cheapest matching offer per platform, from their price catalogs", ArgsUsage: "SPEC",
				Flags: append([]cli.Flag{&cli.StringSliceFlag{Name: "platforms", Usage: "platforms to compare (comma-separated; default: every installed one)", Action: checkPlatformList("--platforms")},
					&cli.StringFlag{Name: "region", Usage: "only offers in `REGION`"},
					&cli.StringFlag{Name: "idempotency-key", Hidden: true}, &cli.StringFlag{Name: "platform", Hidden: true, Action: checkPlatformFlag},
				}, specFlags...), Action: costCompare},
		},
	}
}

func hoursFor(c *cli.Context, spec sdk.JobSpec) (float64, error) {
	if h := c.Float64("hours"); h > 0 {
		return h, nil
	}
	if spec.Resources.MaxRuntime > 0 {
		return spec.Resources.MaxRuntime.Hours(), nil
	}
	return 0, usageError("give --hours or set resources.max_runtime in the spec")
}

func costEstimate(c *cli.Context) error {
	s, _, spec, platform, p, err := plan(c)
	if err != nil {
		return err
	}
	hours, err := hoursFor(c, spec.JobSpec)
	if err != nil {
		return err
	}
	est := output.Estimate{Platform: platform, InstanceType: p.InstanceType, Hours: hours, Known: p.HourlyPrice.Known,
		USDPerHour: p.HourlyPrice.USDPerHour, Source: p.HourlyPrice.Source, AsOf: p.HourlyPrice.AsOf, Estimate: true}
	if est.Known {
		total := p.HourlyPrice.USDPerHour * hours
		est.TotalUSD = &total
	}
	if s.out.Format == output.JSON {
		return s.out.JSON(est)
	}
	price, total := "unknown", "unknown"
	if est.Known {
		price, total = fmt.Sprintf("$%.4f/h", est.USDPerHour), fmt.Sprintf("$%.2f", *est.TotalUSD)
	}
	s.out.KV([][2]string{{"Platform", platform}, {"Instance", est.InstanceType}, {"Price", price}, {"Hours", fmt.Sprint(hours)},
		{"Total", total + " (estimate)"}, {"Source", est.Source}, {"As of", est.AsOf}})
	return nil
}

func costCompare(c *cli.Context) error {
	s := sess(c)
	spec, _, err := loadSpecFor(c, false)
	if err != nil {
		return err
	}
	if c.IsSet("gpus") {
		spec.Resources.GPUs = c.Int("gpus")
	}
	if v := c.String("gpu-type"); v != "" {
		spec.Resources.GPUType = v
	}
	if c.Bool("spot") {
		spec.Resources.Spot = true
	}
	hours, err := hoursFor(c, spec.JobSpec)
	if err != nil {
		return err
	}
	var platforms []string
	for _, p := range c.StringSlice("platforms") {
		for _, one := range strings.Split(p, ",") {
			if one = strings.TrimSpace(one); one != "" {
				platforms = append(platforms, one)
			}
		}
	}
	if len(platforms) == 0 {
		platforms = installed(s)
	}
	need := prices.NeedOf(spec.JobSpec)
	need.Region = c.String("region")
	var offers []output.Offer
	for _, platform := range platforms {
		o := output.Offer{Platform: platform, Estimate: true}
		rows, err := catalog(c, s, platform)
		if err != nil {
			o.Detail = err.Error()
		} else if best, ok := prices.Cheapest(rows, need); ok {
			total := best.USDPerHour * hours * float64(max(spec.Resources.Nodes, 1))
			o = output.Offer{Platform: platform, Known: true, InstanceType: best.InstanceType, GPUType: best.GPUType, GPUs: best.GPUs,
				Region: best.Region, USDPerHour: best.USDPerHour, TotalUSD: &total, Spot: best.Spot, Detail: best.Detail,
				Source: best.Source, AsOf: best.AsOf, Estimate: true}
		} else {
			o.Detail = "no priced offer matches"
		}
		offers = append(offers, o)
	}
	// Known prices first, cheapest first; an unknown price never ranks above one.
	sort.SliceStable(offers, func(i, j int) bool {
		if offers[i].Known != offers[j].Known {
			return offers[i].Known
		}
		return offers[i].Known && offers[i].USDPerHour < offers[j].USDPerHour
	})
	if s.out.Format == output.JSON {
		if offers == nil {
			offers = []output.Offer{}
		}
		return s.out.JSON(map[string]any{"hours": hours, "offers": offers})
	}
	var rows [][]string
	for i, o := range offers {
		rank, price, total := fmt.Sprint(i+1), "unknown", "unknown"
		if o.Known {
			price, total = fmt.Sprintf("$%.4f/h", o.USDPerHour), fmt.Sprintf("$%.2f", *o.TotalUSD)
			if o.Spot {
				price += " spot"
			}
		} else {
			rank = "-"
		}
		rows = append(rows, []string{rank, o.Platform, o.InstanceType, o.Region, price, total, o.Detail, o.AsOf})
	}
	s.out.Table([]string{"RANK", "PLATFORM", "INSTANCE", "REGION", "PRICE", fmt.Sprintf("TOTAL (%gh)", hours), "DETAIL", "AS OF"}, rows)
	fmt.Fprintln(s.out.Out, "Prices are estimates from each plugin's dated catalog and your overrides in "+filepath.Dir(overridePath("x"))+".")
	return nil
}

// catalog is a platform's price rows with the user's overrides merged in.
func catalog(c *cli.Context, s *session, platform string) ([]sdk.PriceRow, error) {
	var rows []sdk.PriceRow
	conn, err := s.mgr.Get(c.Context, platform)
	if err == nil {
		rows, err = conn.Prices(c.Context, sdk.PriceFilter{})
	}
	over, oerr := priceOverrides(platform)
	if oerr != nil {
		return nil, oerr
	}
	if err != nil && !errors.Is(err, sdk.ErrUnsupported) {
		if len(over) == 0 {
			return nil, s.mgr.Explain(err)
		}
	}
	if errors.Is(err, sdk.ErrUnsupported) && len(over) == 0 {
		return nil, errors.New("the plugin has no price catalog")
	}
	return prices.Merge(rows, over), nil
}
