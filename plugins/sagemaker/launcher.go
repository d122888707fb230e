package main

import (
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/bundle"
	"github.com/neural-dsl/neural-host/sdk/launcher"
	"github.com/neural-dsl/neural-host/sdk/runner"
)

// launcherName is the program SageMaker's script mode runs from the bundle
// (the sagemaker_program hyperparameter). Script mode passes arguments only
// as --key value pairs, so the launcher carries its own.
const launcherName = "_neural_sagemaker.py"

// pythonToken stands for the training container's interpreter in the job's
// command; the launcher replaces it.
const pythonToken = "@python"

// launcherConfig runs the job where script mode unpacked the bundle, with
// NEURAL_OUTPUT_DIR at SageMaker's model directory, which SageMaker uploads
// as model.tar.gz, and copies metrics.json to the output data directory,
// which becomes the small output.tar.gz that Result reads metrics from.
func launcherConfig(spec sdk.JobSpec) launcher.Config {
	c := launcher.Config{
		Argv:          runner.Argv(spec, pythonToken),
		Python:        pythonToken,
		InPlace:       true,
		OutputDir:     launcher.Value{Env: "SM_MODEL_DIR", Default: "/opt/ml/model"},
		CopyMetricsTo: launcher.Value{Env: "SM_OUTPUT_DATA_DIR", Default: "/opt/ml/output/data"},
		JobID:         launcher.Value{Env: "TRAINING_JOB_NAME"},
	}
	// DSL jobs install their own, with neural-dsl.
	if spec.Kind != sdk.KindDSL {
		c.Requirements = spec.Requirements
	}
	return c
}

// bundleOptions adds the launcher, and for a DSL job the runner, to the
// bundle's root, and refuses a bundle without the entrypoint.
func bundleOptions(spec sdk.JobSpec) bundle.Options {
	extra := map[string][]byte{launcherName: launcherConfig(spec).Embedded()}
	if spec.Kind == sdk.KindDSL {
		extra[runner.FileName] = runner.Script(runner.ConfigFor(spec, true))
	}
	return bundle.Options{Extra: extra, Entrypoint: spec.Entrypoint}
}
