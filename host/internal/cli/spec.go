package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/neural-dsl/neural-host/host/internal/jobspec"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

// specFlags are the flags that override a spec's fields, shared by job
// plan and job submit; cost commands define the subset they price.
func specFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "platform", Aliases: []string{"p"}, Usage: "platform to run on (overrides the spec's platform:)", Action: checkPlatformFlag},
		&cli.StringFlag{Name: "name", Usage: "job name"},
		&cli.StringFlag{Name: "instance-type", Usage: "platform instance type"},
		&cli.StringFlag{Name: "gpu-type", Usage: "GPU model, such as T4 or A100"},
		&cli.IntFlag{Name: "gpus", Value: -1, Usage: "number of GPUs", DefaultText: "from spec"},
		&cli.DurationFlag{Name: "max-runtime", Usage: "stop the job after this long"},
		&cli.BoolFlag{Name: "spot", Usage: "use spot or preemptible capacity"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set `NAME=VALUE` in the job's environment (repeatable)"},
		&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "attach `KEY=VALUE` to the job (repeatable)"},
		&cli.StringSliceFlag{Name: "option", Usage: "platform option `KEY=VALUE` (repeatable)"},
		&cli.StringFlag{Name: "idempotency-key", Usage: "reuse `KEY` so that a repeated submit returns the first job", EnvVars: []string{"NEURAL_IDEMPOTENCY_KEY"}},
	}
}

// loadSpec reads SPEC, applies the overrides among the command's own
// flags and validates everything that can be checked without a plugin,
// including, when needPlatform, that a platform is named. It returns the
// platform, from --platform or the spec.
func loadSpec(c *cli.Context, needPlatform bool) (*jobspec.Spec, string, error) {
	if c.NArg() != 1 {
		return nil, "", usageError("give exactly one SPEC: a job spec file, a .py script or a .neural model")
	}
	spec, err := jobspec.Load(c.Context, c.Args().First())
	if err != nil {
		return nil, "", err
	}
	if err := applySpecFlags(c, spec); err != nil {
		return nil, "", err
	}
	platform := c.String("platform")
	if platform == "" {
		platform = spec.Platform
	}
	if platform == "" && needPlatform {
		return nil, "", &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "platform", Message: "no platform given",
			Hint: "pass --platform NAME or set platform: in the spec; 'neural-host platforms' lists the installed ones"}
	}
	if err := spec.Validate(); err != nil {
		var out []error
		for _, p := range sdk.Problems(err) {
			out = append(out, spec.Describe(p))
		}
		return nil, "", errors.Join(out...)
	}
	return spec, platform, nil
}

// applySpecFlags lays the override flags the command defines, and the user
// set, over spec.
func applySpecFlags(c *cli.Context, spec *jobspec.Spec) error {
	r := &spec.Resources
	// An empty string flag keeps the spec's value, as it always has.
	for flag, dst := range map[string]*string{"name": &spec.Name, "instance-type": &r.InstanceType, "gpu-type": &r.GPUType} {
		if v := c.String(flag); c.IsSet(flag) && v != "" {
			*dst = v
		}
	}
	for name, set := range map[string]func(){
		"gpus":            func() { r.GPUs = c.Int("gpus") },
		"max-runtime":     func() { r.MaxRuntime = c.Duration("max-runtime") },
		"spot":            func() { r.Spot = c.Bool("spot") },
		"idempotency-key": func() { spec.IdempotencyKey = c.String("idempotency-key") },
	} {
		if c.IsSet(name) {
			set()
		}
	}
	for flag, dst := range map[string]*map[string]string{"env": &spec.Env, "label": &spec.Labels, "option": &spec.Options} {
		if err := parseKV(c.StringSlice(flag), "--"+flag, dst); err != nil {
			return err
		}
	}
	return nil
}

// parseKV adds KEY=VALUE pairs to *dst, creating the map on first use.
func parseKV(pairs []string, flag string, dst *map[string]string) error {
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageError(fmt.Sprintf("%s %q: write KEY=VALUE", flag, kv))
		}
		if *dst == nil {
			*dst = map[string]string{}
		}
		(*dst)[k] = v
	}
	return nil
}
