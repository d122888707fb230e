package cli

import (
	"path/filepath"

	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

// platformFlag is the --platform of the files and endpoint commands, which
// act on one platform's storage or serving.
func platformFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "platform", Aliases: []string{"p"}, Required: true, Usage: usage, Action: checkPlatformFlag}
}

func filesCommand() *cli.Command {
	storage := platformFlag("platform whose storage to use")
	return &cli.Command{
		Name:  "files",
		Usage: "move files to and from a platform's storage",
		Subcommands: []*cli.Command{
			{Name: "upload", Usage: "copy a local file to the platform", ArgsUsage: "LOCAL REMOTE", Flags: []cli.Flag{storage},
				Action: func(c *cli.Context) error { return transfer(c, true) }},
			{Name: "download", Usage: "copy a remote file here", ArgsUsage: "REMOTE LOCAL", Flags: []cli.Flag{storage},
				Action: func(c *cli.Context) error { return transfer(c, false) }},
			{Name: "ls", Usage: "list remote files", ArgsUsage: "[REMOTE]", Flags: []cli.Flag{storage,
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
	progress, finish := s.out.Transfer(s.interactive)
	info, err := do(c.Context, req, progress)
	finish()
	if err != nil {
		return err
	}
	return s.out.Show(output.FileOf(info))
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
	l := output.FileList{Files: []output.File{}, NextPageToken: resp.NextPageToken}
	for _, f := range resp.Files {
		l.Files = append(l.Files, output.FileOf(f))
	}
	return s.out.Show(l)
}
