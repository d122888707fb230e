// Command neural-plugin-databricks runs neural-host jobs on Databricks.
//
// Each job is a one-time run (Jobs API runs/submit) of a small Python
// launcher that unpacks the job's bundle on the cluster, runs the job and
// copies its outputs back to DBFS or a Unity Catalog volume. The plugin also
// moves files to and from DBFS and volumes, serves registered models on
// Model Serving endpoints, and prices clusters from an embedded catalog.
//
// Credentials and workspace settings come from the Databricks SDK's own
// configuration chain (DATABRICKS_* variables, ~/.databrickscfg profiles,
// OAuth), exactly as the Databricks CLI reads them. The plugin does not
// create or manage interactive clusters, jobs definitions or workspace
// notebooks.
package main

import (
	_ "embed"
	"strings"

	"github.com/neural-dsl/neural-host/sdk/plugin"
)

//go:embed VERSION
var versionFile string

func version() string { return strings.TrimSpace(versionFile) }

func main() {
	plugin.Serve(New())
}
