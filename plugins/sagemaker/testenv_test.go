package main

import (
	"testing"
	"time"

	"github.com/neural-dsl/neural-host/plugins/sagemaker/internal/fakeaws"
)

// startFakes starts local SageMaker, CloudWatch Logs, STS and S3 servers
// for t and returns the environment that points a freshly started
// neural-plugin-sagemaker binary at them: the AWS SDK's own variables
// (keys, region, AWS_ENDPOINT_URL_*), the execution role, and short poll
// and retry intervals. Training jobs run their program with python3 on this
// machine. SageMaker's default bucket exists, as in an account that has
// used SageMaker, so relative file paths have somewhere to go.
func startFakes(t *testing.T) (env []string) {
	fake, env := startFakeAWS(t, fakeaws.Options{})
	if err := fake.S3.CreateBucket("sagemaker-" + fake.Region + "-" + fake.Account); err != nil {
		t.Fatal(err)
	}
	return env
}

// startFakeAWS is startFakes with options, also returning the servers.
func startFakeAWS(t *testing.T, opts fakeaws.Options) (*fakeaws.Env, []string) {
	t.Helper()
	if opts.StopGrace == 0 {
		opts.StopGrace = 500 * time.Millisecond
	}
	fake := fakeaws.Start(t, opts)
	return fake, append(fake.Environ(),
		"NEURAL_SAGEMAKER_POLL_INTERVAL=50ms",
		"NEURAL_SAGEMAKER_RETRY_MAX_BACKOFF=20ms",
	)
}
