// Command neural-plugin-vertex runs neural-host jobs on Google Cloud Vertex
// AI.
//
// A job becomes one CustomJob. The working directory travels as a bundle in
// the staging bucket, a prebuilt training container unpacks it through the
// Cloud Storage FUSE mount that Vertex AI gives every custom job, and the
// job's outputs land in the job's base output directory in the same bucket.
// Logs come from Cloud Logging, files move through Cloud Storage, and models
// are served by uploading them to the Model Registry and deploying them to
// an endpoint of their own.
//
// Credentials, project and region follow Application Default Credentials
// and the gcloud CLI's own settings, so a machine set up for gcloud needs no
// further configuration. The plugin does not create buckets, enable APIs,
// grant IAM roles or build container images.
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
