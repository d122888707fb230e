package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/idempotency"
)

// maxName is SageMaker's length limit for training job, model, endpoint
// config and endpoint names.
const maxName = 63

// namePattern is SageMaker's pattern for those names, matched whole.
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

var notNameChars = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// jobName derives the training job's name from the spec's name and its
// idempotency key. The same key always gives the same name, so a submit
// retried after a lost response finds the job the first attempt created.
// Without a key the suffix is random.
func jobName(spec sdk.JobSpec) string {
	suffix := idempotency.Token("sagemaker", spec.IdempotencyKey, 6)
	base := strings.Trim(notNameChars.ReplaceAllString(spec.Name, "-"), "-")
	if base == "" {
		base = "neural"
	}
	if room := maxName - 1 - len(suffix); len(base) > room {
		base = strings.TrimRight(base[:room], "-")
	}
	return base + "-" + suffix
}

// checkName validates a name given by the user for a SageMaker resource.
func checkName(field, name string) error {
	if !namePattern.MatchString(name) {
		return sdk.FieldError(field, fmt.Sprintf("%q is not a SageMaker name", name),
			"use 1-63 letters, digits and hyphens, starting and ending with a letter or digit")
	}
	return nil
}

// checkJobID validates a job id before it is sent anywhere.
func checkJobID(id string) error {
	if !namePattern.MatchString(id) {
		return sdk.FieldError("job", fmt.Sprintf("%q is not a SageMaker training job name", id), hintListJobs)
	}
	return nil
}
