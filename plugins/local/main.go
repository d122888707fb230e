// Command neural-plugin-local runs neural-host jobs on this machine.
//
// Each job is a process group of its own under a supervisor that outlives
// the plugin and the host, so jobs keep running after the CLI exits. The
// same binary is the supervisor when started as `neural-plugin-local
// supervise DIR`; the host never does that.
package main

import (
	_ "embed"
	"os"
	"strings"

	"github.com/neural-dsl/neural-host/sdk/plugin"
)

//go:embed VERSION
var versionFile string

func version() string { return strings.TrimSpace(versionFile) }

func main() {
	if len(os.Args) == 3 && os.Args[1] == superviseArg {
		os.Exit(supervise(os.Args[2]))
	}
	plugin.Serve(New())
}
