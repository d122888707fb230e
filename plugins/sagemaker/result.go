package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/result"
	"github.com/neural-dsl/neural-host/sdk/runner"
)

func (p *Platform) Result(ctx context.Context, id string) (sdk.JobResult, error) {
	if err := checkJobID(id); err != nil {
		return sdk.JobResult{}, err
	}
	c, err := p.regional(ctx)
	if err != nil {
		return sdk.JobResult{}, err
	}
	out, err := p.describe(ctx, c, id)
	if err != nil {
		return sdk.JobResult{}, err
	}
	st := statusOf(out, c.region)
	if tags, err := p.tags(ctx, c, aws.ToString(out.TrainingJobArn)); err == nil {
		st.Labels = labelsOf(tags)
	}
	res := result.New(st, time.Duration(aws.ToInt32(out.TrainingTimeInSeconds))*time.Second, time.Now())
	res.BillableSeconds = int64(aws.ToInt32(out.BillableTimeInSeconds))
	for _, m := range out.FinalMetricDataList {
		if res.Metrics == nil {
			res.Metrics = map[string]float64{}
		}
		res.Metrics[aws.ToString(m.MetricName)] = float64(aws.ToFloat32(m.Value))
	}
	if model := st.Attributes["model_artifacts"]; model != "" {
		res.Artifacts = append(res.Artifacts, model)
	}
	if out.OutputDataConfig != nil && st.Terminal {
		u, err := parseS3URI("output", strings.TrimRight(aws.ToString(out.OutputDataConfig.S3OutputPath), "/")+"/"+id+"/output/output.tar.gz")
		if err == nil {
			metrics, found, err := p.outputMetrics(ctx, c, u)
			switch {
			case err != nil:
				result.AddError(&res, err.Error())
			case found:
				res.Artifacts = append(res.Artifacts, u.String())
				for k, v := range metrics {
					if res.Metrics == nil {
						res.Metrics = map[string]float64{}
					}
					res.Metrics[k] = v
				}
			}
		}
	}
	// The excerpt is a convenience: a caller who may not read the logs
	// still gets the result.
	res.OutputExcerpt, err = p.logTail(ctx, c, id, result.ExcerptLines)
	if err != nil && ctx.Err() != nil {
		return sdk.JobResult{}, ctx.Err()
	}
	return res, nil
}

// outputMetrics streams output.tar.gz, which holds what the launcher copied
// to SageMaker's output data directory, and reads metrics.json from it.
// found is false when the job left no output archive.
func (p *Platform) outputMetrics(ctx context.Context, c *clients, u s3URI) (map[string]float64, bool, error) {
	obj, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)})
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, awsError(err, "reading "+u.String(), "")
	}
	defer obj.Body.Close()
	zr, err := gzip.NewReader(obj.Body)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", u, err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, true, nil
		}
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", u, err)
		}
		if strings.TrimPrefix(hdr.Name, "./") != runner.MetricsFile {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, result.MaxMetricsBytes+1))
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", u, err)
		}
		if len(b) > result.MaxMetricsBytes {
			return nil, true, fmt.Errorf("%s: %s is larger than 1 MiB", u, runner.MetricsFile)
		}
		m, err := runner.ParseMetrics(b)
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", runner.MetricsFile, err)
		}
		return m, true, nil
	}
}
