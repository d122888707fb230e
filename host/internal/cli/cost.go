package cli

import (
	"context"
	"strings"

	"github.com/neural-dsl/neural-host/host/internal/budget"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/prices"
	"github.com/urfave/cli/v2"
)

func costCommand() *cli.Command {
	priceFlags := func() []cli.Flag {
		return []cli.Flag{
			&cli.Float64Flag{Name: "hours", Usage: "price this many hours (default: the spec's max_runtime)"},
			&cli.StringFlag{Name: "gpu-type", Usage: "override the spec's GPU model"},
			&cli.IntFlag{Name: "gpus", Value: -1, Usage: "override the spec's GPU count", DefaultText: "from spec"},
			&cli.BoolFlag{Name: "spot", Usage: "price spot capacity where known"},
		}
	}
	return &cli.Command{
		Name:  "cost",
		Usage: "estimate and compare what a job costs (estimates, dated)",
		Subcommands: []*cli.Command{
			{Name: "estimate", Usage: "what SPEC costs on one platform, from the plugin's plan", ArgsUsage: "SPEC",
				Flags: append([]cli.Flag{&cli.StringFlag{Name: "platform", Aliases: []string{"p"}, Usage: "platform to price", Action: checkPlatformFlag},
					&cli.StringFlag{Name: "instance-type", Usage: "override the spec's instance type"},
					&cli.DurationFlag{Name: "max-runtime", Usage: "override the spec's max runtime"},
				}, priceFlags()...), Action: costEstimate},
			{Name: "compare", Usage: "the cheapest matching offer per platform, from their price catalogs", ArgsUsage: "SPEC",
				Flags: append([]cli.Flag{&cli.StringSliceFlag{Name: "platforms", Usage: "platforms to compare (comma-separated; default: every installed one)", Action: checkPlatformList("--platforms")},
					&cli.StringFlag{Name: "region", Usage: "only offers in `REGION`"},
				}, priceFlags()...), Action: costCompare},
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
	p, err := planJob(c)
	if err != nil {
		return err
	}
	hours, err := hoursFor(c, p.spec.JobSpec)
	if err != nil {
		return err
	}
	price := p.plan.HourlyPrice
	est := output.Estimate{Platform: p.platform, InstanceType: p.plan.InstanceType, Hours: hours, Known: price.Known,
		USDPerHour: price.USDPerHour, Source: price.Source, AsOf: price.AsOf, Estimate: true}
	if est.Known {
		total := price.USDPerHour * hours
		est.TotalUSD = &total
	}
	return sess(c).out.Show(est)
}

func costCompare(c *cli.Context) error {
	s := sess(c)
	spec, _, err := loadSpec(c, false)
	if err != nil {
		return err
	}
	hours, err := hoursFor(c, spec.JobSpec)
	if err != nil {
		return err
	}
	var platforms []string
	for _, p := range c.StringSlice("platforms") {
		for one := range strings.SplitSeq(p, ",") {
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
	catalog := func(ctx context.Context, platform string) ([]sdk.PriceRow, error) {
		rows, err := s.prices.Catalog(ctx, platform, func(ctx context.Context) ([]sdk.PriceRow, error) {
			conn, err := s.mgr.Get(ctx, platform)
			if err != nil {
				return nil, err
			}
			return conn.Prices(ctx, sdk.PriceFilter{})
		})
		return rows, s.mgr.Explain(err)
	}
	var offers []output.Offer
	for _, q := range budget.Compare(c.Context, platforms, need, hours, spec.Resources.Nodes, catalog) {
		offers = append(offers, output.OfferOf(q))
	}
	return s.out.Show(output.ComparisonOf(hours, offers, s.prices.Dir))
}
