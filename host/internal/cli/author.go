package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/neural-dsl/neural-host/host/internal/jobspec"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/host/internal/scaffold"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/sdktest"
	"github.com/urfave/cli/v2"
)

// conformanceFailed is a plugin that failed some checks.
type conformanceFailed struct{ failed []string }

func (e *conformanceFailed) Error() string {
	return "the plugin failed conformance checks: " + strings.Join(e.failed, ", ")
}

func pluginsConformance(c *cli.Context) error {
	s := sess(c)
	if c.NArg() != 1 {
		return usageError("give the plugin BINARY to check")
	}
	bin, err := filepath.Abs(c.Args().First())
	if err != nil {
		return err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return usageError(bin + " is not a file")
	}
	for _, kv := range c.StringSlice("env") {
		if !strings.Contains(kv, "=") {
			return usageError(fmt.Sprintf("--env %q: write NAME=VALUE", kv))
		}
	}
	long := sdk.JobSpec{Name: "conformance", Kind: sdk.KindCommand, Command: []string{"sleep", "600"}}
	if f := c.String("long-job"); f != "" {
		spec, err := jobspec.Load(c.Context, f)
		if err != nil {
			return err
		}
		long = spec.JobSpec
	}
	results := sdktest.Check(c.Context, sdktest.Config{Binary: bin, Env: c.StringSlice("env"), LongJob: long, StartTimeout: s.mgr.StartTimeout})
	var failed []string
	for _, r := range results {
		if !r.OK {
			failed = append(failed, r.Check)
		}
	}
	if s.out.Format == output.JSON {
		type row struct {
			Check  string `json:"check"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		}
		rows := []row{}
		for _, r := range results {
			rows = append(rows, row(r))
		}
		if err := s.out.JSON(map[string]any{"binary": bin, "passed": len(failed) == 0, "checks": rows}); err != nil {
			return err
		}
	} else {
		var rows [][]string
		for _, r := range results {
			mark := "ok"
			if !r.OK {
				mark = "FAIL"
			}
			rows = append(rows, []string{r.Check, mark, r.Detail})
		}
		s.out.Table([]string{"CHECK", "RESULT", "DETAIL"}, rows)
	}
	if len(failed) > 0 {
		return &conformanceFailed{failed: failed}
	}
	return nil
}

func pluginsNew(c *cli.Context) error {
	s := sess(c)
	if c.NArg() != 1 {
		return usageError("give the new plugin's NAME")
	}
	name := c.Args().First()
	dir := c.String("dir")
	if dir == "" {
		dir = "neural-plugin-" + name
	}
	module := c.String("module")
	if module == "" {
		module = "example.com/neural-plugin-" + name
	}
	// make install runs the host that wrote the plugin, not whichever
	// neural-host is first on PATH.
	host, err := os.Executable()
	if err != nil {
		return err
	}
	written, err := scaffold.Write(scaffold.Options{Name: name, Dir: dir, Module: module, SDKPath: c.String("sdk-path"), Host: host})
	if err != nil {
		return err
	}
	if s.out.Format == output.JSON {
		return s.out.JSON(map[string]any{"name": name, "dir": dir, "files": written})
	}
	for _, f := range written {
		fmt.Fprintln(s.out.Out, f)
	}
	fmt.Fprintf(s.out.Out, "\nNext: cd %s && make build && make test && make install\n", dir)
	return nil
}
