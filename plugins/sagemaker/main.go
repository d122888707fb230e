// Command neural-plugin-sagemaker runs neural-host jobs as Amazon SageMaker
// training jobs, reads their logs from CloudWatch Logs, moves files to and
// from S3 and serves models behind SageMaker real-time endpoints.
//
// Credentials, region and endpoints come from the AWS SDK's default chain
// (environment, shared config and credentials files, SSO, web identity,
// IMDS), exactly as the aws CLI resolves them; the plugin's own settings
// only override them. A job's working directory is shipped in script mode:
// the bundle is uploaded to S3 and a framework Deep Learning Container runs
// a small generated launcher from it, which runs the job's command and
// leaves $NEURAL_OUTPUT_DIR in SageMaker's model directory, so SageMaker
// uploads it as model.tar.gz.
//
// The plugin does not create IAM roles, VPCs or ECR images, does not
// configure endpoint autoscaling, and does not tune hyperparameters.
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
