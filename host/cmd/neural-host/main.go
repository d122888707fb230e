// Command neural-host submits, watches and fetches training jobs on any
// platform whose plugin is installed. See README.md.
package main

import (
	_ "embed"
	"os"
	"strings"

	"github.com/neural-dsl/neural-host/host/internal/cli"
)

//go:embed VERSION
var version string

func main() {
	os.Exit(cli.Main(strings.TrimSpace(version), os.Args, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
