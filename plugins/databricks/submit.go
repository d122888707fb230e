package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/bundle"
	"github.com/neural-dsl/neural-host/sdk/launcher"
	"github.com/neural-dsl/neural-host/sdk/runner"
)

// bundleOptions refuses a bundle without the entrypoint, and adds the DSL
// runner to a DSL job's.
func bundleOptions(spec sdk.JobSpec) bundle.Options {
	opts := bundle.Options{Entrypoint: spec.Entrypoint}
	if spec.Kind == sdk.KindDSL {
		opts.Extra = map[string][]byte{runner.FileName: runner.Script(runner.ConfigFor(spec, true))}
	}
	return opts
}

func (p *Platform) Plan(_ context.Context, spec sdk.JobSpec) (sdk.Plan, error) {
	if err := spec.Validate(); err != nil {
		return sdk.Plan{}, err
	}
	if err := sdk.CheckWorkDir(spec); err != nil {
		return sdk.Plan{}, err
	}
	var info bundle.Info
	if spec.WorkDir != "" {
		var err error
		if info, err = bundle.Hash(spec.WorkDir, bundleOptions(spec)); err != nil {
			return sdk.Plan{}, err
		}
	}
	jp, err := p.planJob(spec, runKey(spec), info.SHA256)
	if err != nil {
		return sdk.Plan{}, err
	}
	var reqs []sdk.PlannedRequest
	if jp.bundle.path != "" {
		reqs = append(reqs, uploadRequest("UploadBundle", jp.bundle, map[string]any{
			"source": spec.WorkDir, "sha256": info.SHA256, "files": info.Files, "bytes": info.Bytes}))
	}
	reqs = append(reqs, uploadRequest("UploadLauncher", jp.launcher, map[string]any{"bytes": len(launcher.Script())}))
	body, err := json.MarshalIndent(jp.run, "", "  ")
	if err != nil {
		return sdk.Plan{}, fmt.Errorf("databricks: rendering the run: %w", err)
	}
	reqs = append(reqs, sdk.PlannedRequest{Operation: "SubmitRun", Method: "POST", Target: "/api/2.2/jobs/runs/submit", Body: string(body)})
	instance := jp.nodeType
	switch jp.compute {
	case computeExisting:
		instance = "existing cluster " + jp.run.Tasks[0].ExistingClusterId
	case computeServerless:
		instance = "serverless"
	default:
		if jp.nodes > 1 {
			instance = strconv.Itoa(jp.nodes) + " × " + jp.nodeType
		}
	}
	plan := sdk.Plan{Requests: reqs, InstanceType: instance, HourlyPrice: jp.price, Warnings: jp.warnings}
	if jp.price.Known {
		plan.Warnings = append(plan.Warnings, "prices are us-east-1 list prices; your region, tier and discounts change them")
	}
	return plan, nil
}

// uploadRequest renders a file upload as a planned request: the target and
// what is sent there.
func uploadRequest(op string, l location, body map[string]any) sdk.PlannedRequest {
	body["path"] = l.String()
	body["overwrite"] = true
	b, _ := json.MarshalIndent(body, "", "  ")
	r := sdk.PlannedRequest{Operation: op, Method: "POST", Target: "/api/2.0/dbfs/create, add-block, close", Body: string(b)}
	if l.volume {
		r.Method, r.Target = "PUT", "/api/2.0/fs/files"+l.path
	}
	return r
}

func (p *Platform) Submit(ctx context.Context, spec sdk.JobSpec) (sdk.JobStatus, error) {
	if err := spec.Validate(); err != nil {
		return sdk.JobStatus{}, err
	}
	if err := sdk.CheckWorkDir(spec); err != nil {
		return sdk.JobStatus{}, err
	}
	// Check the spec in full before packing or sending anything.
	if _, err := p.planJob(spec, "check", strings.Repeat("0", 64)); err != nil {
		return sdk.JobStatus{}, err
	}
	s := p.settings()
	ws, err := p.client()
	if err != nil {
		return sdk.JobStatus{}, err
	}
	var sha string
	var tmp *os.File
	if spec.WorkDir != "" {
		// Packed to a temporary file so that memory stays flat for any tree.
		tmp, err = os.CreateTemp("", "neural-bundle-*.tar.gz")
		if err != nil {
			return sdk.JobStatus{}, fmt.Errorf("databricks: %w", err)
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		info, err := bundle.Write(tmp, spec.WorkDir, bundleOptions(spec))
		if err != nil {
			return sdk.JobStatus{}, err
		}
		sha = info.SHA256
	}
	jp, err := p.planJob(spec, runKey(spec), sha)
	if err != nil {
		return sdk.JobStatus{}, err
	}
	if tmp != nil {
		st, err := tmp.Stat()
		if err != nil {
			return sdk.JobStatus{}, fmt.Errorf("databricks: %w", err)
		}
		if err := p.ensureUploaded(ctx, ws, jp.bundle, tmp, st.Size()); err != nil {
			return sdk.JobStatus{}, s.wrap(err, "uploading the job bundle to "+jp.bundle.String())
		}
	}
	if err := p.uploadLauncher(ctx, ws, jp.launcher); err != nil {
		return sdk.JobStatus{}, s.wrap(err, "uploading the launcher to "+jp.launcher.String())
	}
	// The idempotency token makes a retried submit return the first run.
	w, err := ws.jobs.Submit(ctx, jp.run)
	if err != nil {
		return sdk.JobStatus{}, s.wrap(err, "submitting the run")
	}
	return p.status(ctx, ws, w.RunId)
}

// ensureUploaded uploads f to l unless a file of the same size is there:
// l is named by the content's hash, so equal size means equal content.
func (p *Platform) ensureUploaded(ctx context.Context, ws *workspace, l location, f *os.File, size int64) error {
	if st, err := ws.stat(ctx, l); err == nil && !st.IsDir && st.Size == size {
		return nil
	} else if err != nil && !notFound(err) {
		return err
	}
	return ws.upload(ctx, l, f, size, nil)
}

func (p *Platform) uploadLauncher(ctx context.Context, ws *workspace, l location) error {
	script := launcher.Script()
	if st, err := ws.stat(ctx, l); err == nil && st.Size == int64(len(script)) {
		return nil
	}
	f, err := os.CreateTemp("", "neural-launcher-*.py")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(script); err != nil {
		return err
	}
	return ws.upload(ctx, l, f, int64(len(script)), nil)
}
