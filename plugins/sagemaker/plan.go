package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/bundle"
)

func (p *Platform) Plan(ctx context.Context, spec sdk.JobSpec) (sdk.Plan, error) {
	c, err := p.regional(ctx)
	if err != nil {
		return sdk.Plan{}, err
	}
	job, err := p.prepare(spec, c.region)
	if err != nil {
		return sdk.Plan{}, err
	}
	info, err := hashBundle(spec)
	if err != nil {
		return sdk.Plan{}, err
	}
	upload, _ := json.MarshalIndent(map[string]any{
		"Bucket": job.source.Bucket, "Key": job.source.Key, "ContentType": "application/gzip",
		"Metadata": map[string]string{bundleHashMeta: info.SHA256}, "Files": info.Files, "UncompressedBytes": info.Bytes,
	}, "", "  ")
	body, err := renderCreateTrainingJob(ctx, c.sm, job.input)
	if err != nil {
		return sdk.Plan{}, err
	}
	pr := price(trainingSource, job.instance, job.region)
	warnings := job.warnings
	if spec.Resources.Spot {
		// An on-demand price is not what a spot job costs, and cost
		// compare prices spot needs by spot prices only.
		pr = sdk.Price{Source: "the catalog has no spot price for " + job.instance}
		warnings = append(warnings, "the price is unknown: the catalog has no managed spot prices, which are below the on-demand rate")
	}
	if pr.Known && job.count > 1 {
		pr.USDPerHour *= float64(job.count)
		warnings = append(warnings, fmt.Sprintf("the hourly price covers all %d instances", job.count))
	}
	return sdk.Plan{
		Requests: []sdk.PlannedRequest{
			{Operation: "PutObject", Method: "PUT", Target: job.source.String(), Body: string(upload)},
			{Operation: "CreateTrainingJob", Method: "POST", Target: "SageMaker.CreateTrainingJob", Body: body},
		},
		InstanceType: job.instance,
		HourlyPrice:  pr,
		Warnings:     warnings,
	}, nil
}

// hashBundle is the bundle Submit would upload, hashed without keeping it.
func hashBundle(spec sdk.JobSpec) (bundle.Info, error) {
	dir, cleanup, err := bundleDir(spec)
	if err != nil {
		return bundle.Info{}, err
	}
	defer cleanup()
	info, err := bundle.Hash(dir, bundleOptions(spec))
	if err != nil {
		return bundle.Info{}, err
	}
	return info, nil
}

// bundleDir is the directory to pack: the work dir, or an empty one for a
// command job without files.
func bundleDir(spec sdk.JobSpec) (string, func(), error) {
	if spec.WorkDir != "" {
		return spec.WorkDir, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "neural-sagemaker-empty-")
	if err != nil {
		return "", nil, fmt.Errorf("sagemaker: %w", err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// errRendered stops a request once the SDK has serialized it.
var errRendered = errors.New("sagemaker: request rendered, not sent")

// renderCreateTrainingJob runs the SDK's own validation and serializer on
// in and returns the JSON body it would send, indented with its keys
// sorted: the SDK writes maps in random order, and a plan should read the
// same every time. It stops before signing, so it needs no credentials and
// sends nothing.
func renderCreateTrainingJob(ctx context.Context, sm *sagemaker.Client, in *sagemaker.CreateTrainingJobInput) (string, error) {
	var body []byte
	capture := func(stack *middleware.Stack) error {
		return stack.Build.Add(middleware.BuildMiddlewareFunc("neuralRenderRequest",
			func(ctx context.Context, bin middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if req, ok := bin.Request.(*smithyhttp.Request); ok {
					if r := req.GetStream(); r != nil {
						body, _ = io.ReadAll(r)
					}
				}
				return middleware.BuildOutput{}, middleware.Metadata{}, errRendered
			}), middleware.After)
	}
	_, err := sm.CreateTrainingJob(ctx, in, func(o *sagemaker.Options) {
		o.APIOptions = append(o.APIOptions, capture)
		o.Retryer = aws.NopRetryer{}
	})
	if !errors.Is(err, errRendered) {
		return "", fmt.Errorf("sagemaker: rendering CreateTrainingJob: %w", err)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("sagemaker: rendering CreateTrainingJob: %w", err)
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	return string(out), nil
}
