package main

import (
	"context"
	"encoding/json"
	"net/url"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/bundle"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// render prints a request as the indented JSON the REST API would take.
func render(m proto.Message) string {
	return protojson.MarshalOptions{Multiline: true, Indent: "  "}.Format(m)
}

// keyFilter finds the jobs carrying an idempotency key's label.
func keyFilter(h string) string { return "labels." + keyLabel + "=\"" + h + "\"" }

// Plan renders the requests Submit would send: the idempotency lookup, the
// bundle upload and the CreateCustomJob request. It reads the working
// directory to hash the bundle and writes nothing.
func (p *Platform) Plan(ctx context.Context, spec sdk.JobSpec) (sdk.Plan, error) {
	s, _, err := p.ready(ctx)
	if err != nil {
		return sdk.Plan{}, err
	}
	if err := check(s, spec); err != nil {
		return sdk.Plan{}, err
	}
	h := hashKey(spec.IdempotencyKey)
	var info bundle.Info
	if spec.WorkDir != "" {
		if info, err = bundle.Hash(spec.WorkDir, bundleOptions(spec)); err != nil {
			return sdk.Plan{}, err
		}
	}
	req, m, err := buildJob(s, spec, h, info.SHA256)
	if err != nil {
		return sdk.Plan{}, err
	}
	base := "https://" + s.apiHost() + "/v1/" + s.parent() + "/customJobs"
	list := &aiplatformpb.ListCustomJobsRequest{Parent: s.parent(), Filter: keyFilter(h)}
	plan := sdk.Plan{
		Requests: []sdk.PlannedRequest{{Operation: "ListCustomJobs", Method: "GET",
			Target: base + "?filter=" + url.QueryEscape(list.Filter), Body: render(list)}},
		InstanceType: m.machineType,
	}
	if info.SHA256 != "" {
		l := layout(s, h, info.SHA256)
		body, _ := json.MarshalIndent(map[string]any{
			"bucket": s.stagingBucket, "name": l.bundleObject, "contentType": "application/gzip",
			"size": info.Bytes, "sha256": info.SHA256, "files": info.Files, "ifGenerationMatch": 0,
		}, "", "  ")
		plan.Requests = append(plan.Requests, sdk.PlannedRequest{Operation: "storage.objects.insert (resumable; skipped when the object exists)",
			Method: "POST", Target: "gs://" + s.stagingBucket + "/" + l.bundleObject, Body: string(body)})
	}
	plan.Requests = append(plan.Requests, sdk.PlannedRequest{Operation: "CreateCustomJob", Method: "POST", Target: base, Body: render(req)})
	replicas := max(spec.Resources.Nodes, 1)
	var warn string
	plan.HourlyPrice, warn = price(s.location, m, replicas, spec.Resources.Spot)
	if warn != "" {
		plan.Warnings = append(plan.Warnings, warn)
	}
	plan.Warnings = append(plan.Warnings, m.warnings...)
	if spec.Resources.CPUs > 0 && spec.Resources.InstanceType != "" {
		plan.Warnings = append(plan.Warnings, "resources.cpus is ignored: resources.instance_type "+spec.Resources.InstanceType+" fixes the CPUs")
	}
	return plan, nil
}
