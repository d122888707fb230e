package cli

import (
	"fmt"

	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

func endpointCommand() *cli.Command {
	serving := platformFlag("platform that serves the model")
	return &cli.Command{
		Name:  "endpoint",
		Usage: "serve models behind endpoints",
		Subcommands: []*cli.Command{
			{Name: "deploy", Usage: "serve a model", ArgsUsage: "NAME", Flags: []cli.Flag{serving,
				&cli.StringFlag{Name: "model", Required: true, Usage: "model `URI` to serve"},
				&cli.StringFlag{Name: "instance-type", Usage: "serving instance type"},
				&cli.IntFlag{Name: "min-replicas", Value: 1}, &cli.IntFlag{Name: "max-replicas", Value: 1},
				&cli.BoolFlag{Name: "scale-to-zero"},
				&cli.StringSliceFlag{Name: "option", Usage: "platform option `KEY=VALUE` (repeatable)"},
				&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set `NAME=VALUE` in the serving container (repeatable)"},
				&cli.BoolFlag{Name: "no-wait", Usage: "return once the platform accepted the request"},
			}, Action: endpointDeploy},
			{Name: "get", Usage: "show an endpoint", ArgsUsage: "NAME", Flags: []cli.Flag{serving}, Action: endpointGet},
			{Name: "list", Usage: "list endpoints", Flags: []cli.Flag{serving}, Action: endpointList},
			{Name: "delete", Usage: "delete an endpoint and what was created for it", ArgsUsage: "NAME", Flags: []cli.Flag{serving}, Action: endpointDelete},
		},
	}
}

// endpointTarget returns the endpoint NAME argument and its platform's plugin.
func endpointTarget(c *cli.Context) (string, sdk.Deployer, error) {
	if c.NArg() != 1 {
		return "", nil, usageError("give the endpoint NAME")
	}
	conn, err := sess(c).mgr.Get(c.Context, c.String("platform"))
	if err != nil {
		return "", nil, err
	}
	return c.Args().First(), conn, nil
}

func endpointDeploy(c *cli.Context) error {
	name, conn, err := endpointTarget(c)
	if err != nil {
		return err
	}
	spec := sdk.DeploySpec{Name: name, ModelURI: c.String("model"), InstanceType: c.String("instance-type"),
		MinReplicas: c.Int("min-replicas"), MaxReplicas: c.Int("max-replicas"), ScaleToZero: c.Bool("scale-to-zero"), Wait: !c.Bool("no-wait")}
	if err := parseKV(c.StringSlice("option"), "--option", &spec.Options); err != nil {
		return err
	}
	if err := parseKV(c.StringSlice("env"), "--env", &spec.Env); err != nil {
		return err
	}
	if spec.MinReplicas < 0 || spec.MaxReplicas < spec.MinReplicas {
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "max-replicas", Message: fmt.Sprintf("replicas %d..%d is not a range", spec.MinReplicas, spec.MaxReplicas),
			Hint: "set --min-replicas to 0 or more and --max-replicas to at least that"}
	}
	e, err := conn.Deploy(c.Context, spec)
	if err != nil {
		return err
	}
	return sess(c).out.Show(output.EndpointOf(c.String("platform"), e))
}

func endpointGet(c *cli.Context) error {
	name, conn, err := endpointTarget(c)
	if err != nil {
		return err
	}
	e, err := conn.GetEndpoint(c.Context, name)
	if err != nil {
		return err
	}
	return sess(c).out.Show(output.EndpointOf(c.String("platform"), e))
}

func endpointList(c *cli.Context) error {
	s := sess(c)
	p := c.String("platform")
	conn, err := s.mgr.Get(c.Context, p)
	if err != nil {
		return err
	}
	all := output.Endpoints{}
	for token := ""; ; {
		es, next, err := conn.ListEndpoints(c.Context, 100, token)
		if err != nil {
			return err
		}
		for _, e := range es {
			all = append(all, output.EndpointOf(p, e))
		}
		if next == "" {
			break
		}
		token = next
	}
	return s.out.Show(all)
}

func endpointDelete(c *cli.Context) error {
	name, conn, err := endpointTarget(c)
	if err != nil {
		return err
	}
	if err := conn.DeleteEndpoint(c.Context, name); err != nil {
		return err
	}
	return sess(c).out.Show(output.EndpointDeleted{Platform: c.String("platform"), Name: name, Deleted: true})
}
