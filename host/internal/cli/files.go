package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

var platformFlag = &cli.StringFlag{Name: "platform", Aliases: []string{"p"}, Required: true, Usage: "platform whose storage to use", Action: checkPlatformFlag}

func filesCommand() *cli.Command {
	return &cli.Command{
		Name:  "files",
		Usage: "move files to and from a platform's storage",
		Subcommands: []*cli.Command{
			{Name: "upload", Usage: "copy a local file to the platform", ArgsUsage: "LOCAL REMOTE", Flags: []cli.Flag{platformFlag},
				Action: func(c *cli.Context) error { return transfer(c, true) }},
			{Name: "download", Usage: "copy a remote file here", ArgsUsage: "REMOTE LOCAL", Flags: []cli.Flag{platformFlag},
				Action: func(c *cli.Context) error { return transfer(c, false) }},
			{Name: "ls", Usage: "list remote files", ArgsUsage: "[REMOTE]", Flags: []cli.Flag{platformFlag,
				&cli.IntFlag{Name: "limit", Value: 1000, Usage: "at most `N` entries"},
				&cli.StringFlag{Name: "page-token", Usage: "continue a listing"}}, Action: filesList},
		},
	}
}

func transfer(c *cli.Context, upload bool) error {
	s := sess(c)
	if c.NArg() != 2 {
		return usageError("give a source and a destination")
	}
	conn, err := s.mgr.Get(c.Context, c.String("platform"))
	if err != nil {
		return err
	}
	req := sdk.TransferRequest{LocalPath: c.Args().Get(0), RemoteURI: c.Args().Get(1)}
	do := conn.Upload
	if !upload {
		req = sdk.TransferRequest{RemoteURI: c.Args().Get(0), LocalPath: c.Args().Get(1)}
		do = conn.Download
	}
	if req.LocalPath, err = filepath.Abs(req.LocalPath); err != nil {
		return err
	}
	var progress sdk.ProgressFunc
	if s.interactive && s.out.Format == output.Table {
		progress = func(done, total int64) {
			if total > 0 {
				fmt.Fprintf(s.errw, "\r%s / %s (%d%%)", bytesHuman(done), bytesHuman(total), done*100/total)
			} else {
				fmt.Fprintf(s.errw, "\r%s", bytesHuman(done))
			}
		}
	}
	info, err := do(c.Context, req, progress)
	if progress != nil {
		fmt.Fprintln(s.errw)
	}
	if err != nil {
		return err
	}
	if s.out.Format == output.JSON {
		return s.out.JSON(output.FileOf(info))
	}
	fmt.Fprintf(s.out.Out, "%s (%s)\n", output.Escape(info.URI), bytesHuman(info.Size))
	return nil
}

func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func filesList(c *cli.Context) error {
	s := sess(c)
	conn, err := s.mgr.Get(c.Context, c.String("platform"))
	if err != nil {
		return err
	}
	resp, err := conn.ListFiles(c.Context, sdk.ListFilesRequest{URI: c.Args().First(), PageSize: c.Int("limit"), PageToken: c.String("page-token")})
	if err != nil {
		return err
	}
	files := []output.File{}
	for _, f := range resp.Files {
		files = append(files, output.FileOf(f))
	}
	if s.out.Format == output.JSON {
		return s.out.JSON(map[string]any{"files": files, "next_page_token": resp.NextPageToken})
	}
	var rows [][]string
	for _, f := range files {
		size := bytesHuman(f.Size)
		if f.IsDir {
			size = "dir"
		}
		rows = append(rows, []string{f.URI, size, f.ModifiedAt})
	}
	s.out.Table([]string{"URI", "SIZE", "MODIFIED"}, rows)
	if resp.NextPageToken != "" {
		fmt.Fprintf(s.out.Out, "more: --page-token %s\n", resp.NextPageToken)
	}
	return nil
}

func endpointCommand() *cli.Command {
	return &cli.Command{
		Name:  "endpoint",
		Usage: "serve models behind endpoints",
		Subcommands: []*cli.Command{
			{Name: "deploy", Usage: "serve a model", ArgsUsage: "NAME", Flags: []cli.Flag{platformFlag,
				&cli.StringFlag{Name: "model", Required: true, Usage: "model `URI` to serve"},
				&cli.StringFlag{Name: "instance-type", Usage: "serving instance type"},
				&cli.IntFlag{Name: "min-replicas", Value: 1}, &cli.IntFlag{Name: "max-replicas", Value: 1},
				&cli.BoolFlag{Name: "scale-to-zero"},
				&cli.StringSliceFlag{Name: "option", Usage: "platform option `KEY=VALUE` (repeatable)"},
				&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set `NAME=VALUE` in the serving container (repeatable)"},
				&cli.BoolFlag{Name: "no-wait", Usage: "return once the platform accepted the request"},
			}, Action: endpointDeploy},
			{Name: "get", Usage: "show an endpoint", ArgsUsage: "NAME", Flags: []cli.Flag{platformFlag}, Action: endpointGet},
			{Name: "list", Usage: "list endpoints", Flags: []cli.Flag{platformFlag}, Action: endpointList},
			{Name: "delete", Usage: "delete an endpoint and what was created for it", ArgsUsage: "NAME", Flags: []cli.Flag{platformFlag}, Action: endpointDelete},
		},
	}
}

func endpointName(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", usageError("give the endpoint NAME")
	}
	return c.Args().First(), nil
}

func printEndpoint(s *session, e output.Endpoint) error {
	if s.out.Format == output.JSON {
		return s.out.JSON(e)
	}
	s.out.KV([][2]string{{"Endpoint", e.Name}, {"Platform", e.Platform}, {"State", e.State}, {"Ready", fmt.Sprint(e.Ready)},
		{"URL", e.URL}, {"Model", e.ModelURI}, {"Message", e.Message}, {"Created", e.CreatedAt}})
	return nil
}

func endpointDeploy(c *cli.Context) error {
	s, name, conn, err := endpointTarget(c)
	if err != nil {
		return err
	}
	spec := sdk.DeploySpec{Name: name, ModelURI: c.String("model"), InstanceType: c.String("instance-type"),
		MinReplicas: c.Int("min-replicas"), MaxReplicas: c.Int("max-replicas"), ScaleToZero: c.Bool("scale-to-zero"), Wait: !c.Bool("no-wait")}
	for _, f := range []struct {
		flag string
		dst  *map[string]string
	}{{"option", &spec.Options}, {"env", &spec.Env}} {
		for _, kv := range c.StringSlice(f.flag) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return usageError(fmt.Sprintf("--%s %q: write KEY=VALUE", f.flag, kv))
			}
			if *f.dst == nil {
				*f.dst = map[string]string{}
			}
			(*f.dst)[k] = v
		}
	}
	if spec.MinReplicas < 0 || spec.MaxReplicas < spec.MinReplicas {
		return &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "max-replicas", Message: fmt.Sprintf("replicas %d..%d is not a range", spec.MinReplicas, spec.MaxReplicas),
			Hint: "set --min-replicas to 0 or more and --max-replicas to at least that"}
	}
	e, err := conn.Deploy(c.Context, spec)
	if err != nil {
		return err
	}
	return printEndpoint(s, output.EndpointOf(c.String("platform"), e))
}

// endpointTarget returns the endpoint NAME argument and its platform's plugin.
func endpointTarget(c *cli.Context) (*session, string, sdk.Deployer, error) {
	s := sess(c)
	name, err := endpointName(c)
	if err != nil {
		return s, "", nil, err
	}
	conn, err := s.mgr.Get(c.Context, c.String("platform"))
	if err != nil {
		return s, "", nil, err
	}
	return s, name, conn, nil
}

func endpointGet(c *cli.Context) error {
	s, name, conn, err := endpointTarget(c)
	if err != nil {
		return err
	}
	e, err := conn.GetEndpoint(c.Context, name)
	if err != nil {
		return err
	}
	return printEndpoint(s, output.EndpointOf(c.String("platform"), e))
}

func endpointList(c *cli.Context) error {
	s := sess(c)
	p := c.String("platform")
	conn, err := s.mgr.Get(c.Context, p)
	if err != nil {
		return err
	}
	var all []output.Endpoint
	token := ""
	for {
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
	if s.out.Format == output.JSON {
		if all == nil {
			all = []output.Endpoint{}
		}
		return s.out.JSON(all)
	}
	var rows [][]string
	for _, e := range all {
		rows = append(rows, []string{e.Name, e.State, fmt.Sprint(e.Ready), e.URL})
	}
	s.out.Table([]string{"ENDPOINT", "STATE", "READY", "URL"}, rows)
	return nil
}

func endpointDelete(c *cli.Context) error {
	s, name, conn, err := endpointTarget(c)
	if err != nil {
		return err
	}
	if err := conn.DeleteEndpoint(c.Context, name); err != nil {
		return err
	}
	if s.out.Format == output.JSON {
		return s.out.JSON(map[string]any{"platform": c.String("platform"), "name": name, "deleted": true})
	}
	fmt.Fprintf(s.out.Out, "Deleted endpoint %s on %s\n", name, c.String("platform"))
	return nil
}
