package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/bundle"
	"github.com/neural-dsl/neural-host/sdk/idempotency"
	"github.com/neural-dsl/neural-host/sdk/launcher"
	"github.com/neural-dsl/neural-host/sdk/runner"
	"google.golang.org/protobuf/types/known/durationpb"
)

// keyLabel is the label that carries a job's idempotency key, hashed to fit
// Vertex AI's label value rules.
const keyLabel = "neural_idempotency_key"

// envBundle carries the bundle's path to the launcher. The path travels in
// the environment, as the output directory does, where Vertex AI shows it.
const envBundle = "NEURAL_BUNDLE"

// gcsMount is where Vertex AI mounts Cloud Storage inside custom jobs
// (Cloud Storage FUSE), so a job reads and writes gs://B/O as /gcs/B/O.
const gcsMount = "/gcs/"

// launcherConfig unpacks the bundle from the mount into a scratch
// directory and runs the job with its outputs written straight to Cloud
// Storage through the mount.
func launcherConfig(spec sdk.JobSpec) launcher.Config {
	c := launcher.Config{
		Argv:      runner.Argv(spec, "python3"),
		Bundle:    launcher.Value{Env: envBundle},
		OutputDir: launcher.Value{Env: runner.EnvOutputDir},
		JobID:     launcher.Value{Env: "CLOUD_ML_JOB_ID"},
	}
	// DSL jobs install their own, with neural-dsl.
	if spec.Kind != sdk.KindDSL {
		c.Requirements = spec.Requirements
	}
	return c
}

// Job option keys.
const (
	optImage        = "image"
	optRunAs        = "run_as"
	optNetwork      = "network"
	optBootDiskType = "boot_disk_type"
)

func jobOptions() []sdk.ConfigField {
	return []sdk.ConfigField{
		{Key: optImage, Description: "Container image to run instead of the prebuilt training image; it needs python3."},
		{Key: optRunAs, Description: "Service account email this job runs as, instead of the service_account setting."},
		{Key: optNetwork, Description: "VPC network to peer with, as projects/PROJECT_NUMBER/global/networks/NAME."},
		{Key: optBootDiskType, Description: "Boot disk type: pd-ssd (default), pd-standard or hyperdisk-balanced."},
	}
}

// Prebuilt training images, by backend and by whether the job has GPUs.
var trainingImages = map[sdk.Backend][2]string{
	sdk.BackendTensorFlow: {"tf-cpu.2-17.py310", "tf-gpu.2-17.py310"},
	sdk.BackendPyTorch:    {"pytorch-xla.2-4.py310", "pytorch-gpu.2-4.py310"},
}

var (
	labelKeyRe    = regexp.MustCompile(`^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$`)
	labelValueRe  = regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$`)
	envNameRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	networkRe     = regexp.MustCompile(`^projects/[0-9]+/global/networks/[a-z]([-a-z0-9]*[a-z0-9])?$`)
	serviceAcctRe = regexp.MustCompile(`^[a-z0-9-]+@[a-z0-9.-]+\.[a-z]+$`)
)

// hashKey turns an idempotency key into a label value; without a key it is
// random.
func hashKey(key string) string { return idempotency.Token("vertex", key, 16) }

// check validates what Vertex AI adds to sdk.JobSpec.Validate, before
// anything is sent.
func check(s settings, spec sdk.JobSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if s.stagingBucket == "" {
		return sdk.FieldError(keyStagingBucket, "is required to run jobs on Vertex AI", "set NEURAL_VERTEX_STAGING_BUCKET or platforms.vertex.staging_bucket to gs://BUCKET[/PREFIX] in the same region")
	}
	if spec.Kind != sdk.KindCommand && spec.WorkDir == "" {
		return sdk.FieldError("workdir", "is required for a "+string(spec.Kind)+" job on Vertex AI", "set workdir to the directory holding "+spec.Entrypoint)
	}
	if spec.WorkDir != "" {
		if st, err := os.Stat(spec.WorkDir); err != nil || !st.IsDir() {
			return sdk.FieldError("workdir", spec.WorkDir+" is not a directory", "point workdir at the directory holding the job's files")
		}
		if spec.Entrypoint != "" {
			if _, err := os.Stat(filepath.Join(spec.WorkDir, spec.Entrypoint)); err != nil {
				return sdk.FieldError("entrypoint", spec.Entrypoint+" does not exist in "+spec.WorkDir, "name a file inside workdir")
			}
		}
	}
	if n := utf8.RuneCountInString(spec.Name); n > 128 {
		return sdk.FieldError("name", fmt.Sprintf("is %d characters; Vertex AI allows 128", n), "shorten the job name")
	}
	if len(spec.Labels) > 63 {
		return sdk.FieldError("labels", fmt.Sprintf("has %d labels; Vertex AI allows 64, one of which the plugin uses", len(spec.Labels)), "drop some labels")
	}
	for k, v := range spec.Labels {
		switch {
		case k == keyLabel || strings.HasPrefix(k, "aiplatform.googleapis.com/"):
			return sdk.FieldError("labels."+k, "is reserved", "choose another label key")
		case !labelKeyRe.MatchString(k):
			return sdk.FieldError("labels."+k, "is not a valid label key", "use up to 63 lowercase letters, digits, '_' and '-', starting with a letter")
		case !labelValueRe.MatchString(v):
			return sdk.FieldError("labels."+k, fmt.Sprintf("%q is not a valid label value", v), "use up to 63 lowercase letters, digits, '_' and '-'")
		}
	}
	for k := range spec.Env {
		switch {
		case !envNameRe.MatchString(k):
			return sdk.FieldError("env."+k, "is not a valid variable name on Vertex AI", "use letters, digits and '_', not starting with a digit")
		case k == runner.EnvOutputDir || k == runner.EnvJobID || k == envBundle:
			return sdk.FieldError("env."+k, "is set by the plugin", "remove it from env")
		}
	}
	if spec.Resources.DiskGB != 0 && (spec.Resources.DiskGB < 100 || spec.Resources.DiskGB > 64000) {
		return sdk.FieldError("resources.disk_gb", fmt.Sprintf("Vertex AI boot disks are 100 to 64000 GB, not %d", spec.Resources.DiskGB), "set resources.disk_gb between 100 and 64000, or leave it out")
	}
	o := spec.Options
	if v, ok := o[optBootDiskType]; ok && !slices.Contains([]string{"pd-ssd", "pd-standard", "hyperdisk-balanced"}, v) {
		return sdk.FieldError("options."+optBootDiskType, fmt.Sprintf("%q is not a boot disk type", v), "use pd-ssd, pd-standard or hyperdisk-balanced")
	}
	if v, ok := o[optNetwork]; ok && !networkRe.MatchString(v) {
		return sdk.FieldError("options."+optNetwork, fmt.Sprintf("%q is not a network name", v), "write projects/PROJECT_NUMBER/global/networks/NAME")
	}
	if v, ok := o[optRunAs]; ok && !serviceAcctRe.MatchString(v) {
		return sdk.FieldError("options."+optRunAs, fmt.Sprintf("%q is not a service account email", v), "write NAME@PROJECT.iam.gserviceaccount.com")
	}
	if v, ok := o[optImage]; ok && (v == "" || strings.ContainsAny(v, " \t\n")) {
		return sdk.FieldError("options."+optImage, fmt.Sprintf("%q is not a container image", v), "write REGISTRY/PATH:TAG")
	}
	if s.serviceAccount != "" && !serviceAcctRe.MatchString(s.serviceAccount) {
		return sdk.FieldError(keyServiceAccount, fmt.Sprintf("%q is not a service account email", s.serviceAccount), "write NAME@PROJECT.iam.gserviceaccount.com")
	}
	_, err := resolveMachine(s.location, spec.Resources)
	return err
}

// bundleOptions adds the DSL runner to a DSL job's bundle, and refuses a
// bundle without the entrypoint. The runner installs neural-dsl, which
// prebuilt images lack.
func bundleOptions(spec sdk.JobSpec) bundle.Options {
	opts := bundle.Options{Entrypoint: spec.Entrypoint}
	if spec.Kind == sdk.KindDSL {
		opts.Extra = map[string][]byte{runner.FileName: runner.Script(runner.ConfigFor(spec, true))}
	}
	return opts
}

// jobLayout is where a job's files live in the staging bucket.
type jobLayout struct {
	bundleObject string // empty without a bundle
	outputPrefix string // object prefix of the job's outputs, ending in "/"
}

func layout(s settings, keyHash, bundleSHA string) jobLayout {
	l := jobLayout{outputPrefix: s.stagingPath("neural", "jobs", keyHash) + "/"}
	if bundleSHA != "" {
		l.bundleObject = s.stagingPath("neural", "bundles", bundleSHA+".tar.gz")
	}
	return l
}

// buildJob renders the CreateCustomJob request for spec, with h the job's
// key label. It is a pure function of its inputs, so Plan shows exactly
// what Submit sends.
func buildJob(s settings, spec sdk.JobSpec, h, bundleSHA string) (*aiplatformpb.CreateCustomJobRequest, machine, error) {
	m, err := resolveMachine(s.location, spec.Resources)
	if err != nil {
		return nil, m, err
	}
	l := layout(s, h, bundleSHA)
	name := spec.Name
	if name == "" {
		name = "neural-" + string(spec.Kind) + "-" + h[:8]
	}
	labels := map[string]string{keyLabel: h}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	var env []*aiplatformpb.EnvVar
	for _, k := range sortedKeys(spec.Env) {
		env = append(env, &aiplatformpb.EnvVar{Name: k, Value: spec.Env[k]})
	}
	env = append(env, &aiplatformpb.EnvVar{Name: runner.EnvOutputDir, Value: gcsMount + s.stagingBucket + "/" + strings.TrimSuffix(l.outputPrefix, "/")})
	if l.bundleObject != "" {
		env = append(env, &aiplatformpb.EnvVar{Name: envBundle, Value: gcsMount + s.stagingBucket + "/" + l.bundleObject})
	}
	image := spec.Options[optImage]
	if image == "" {
		backend := spec.DSL.Backend
		if backend == "" || spec.Kind != sdk.KindDSL {
			backend = sdk.BackendTensorFlow
		}
		gpu := 0
		if m.count > 0 {
			gpu = 1
		}
		image = s.artifactRegistryHost() + "/vertex-ai/training/" + trainingImages[backend][gpu] + ":latest"
	}
	// The job's own command stays in args, where the console shows it.
	command, args := launcherConfig(spec).Inline("python3")
	container := &aiplatformpb.ContainerSpec{ImageUri: image, Command: command, Args: args, Env: env}
	pool := func(replicas int64) *aiplatformpb.WorkerPoolSpec {
		p := &aiplatformpb.WorkerPoolSpec{
			MachineSpec:  &aiplatformpb.MachineSpec{MachineType: m.machineType, AcceleratorType: m.accel, AcceleratorCount: m.count},
			ReplicaCount: replicas,
			Task:         &aiplatformpb.WorkerPoolSpec_ContainerSpec{ContainerSpec: container},
		}
		if spec.Resources.DiskGB > 0 || spec.Options[optBootDiskType] != "" {
			p.DiskSpec = &aiplatformpb.DiskSpec{BootDiskType: "pd-ssd", BootDiskSizeGb: 100}
			if t := spec.Options[optBootDiskType]; t != "" {
				p.DiskSpec.BootDiskType = t
			}
			if spec.Resources.DiskGB > 0 {
				p.DiskSpec.BootDiskSizeGb = int32(spec.Resources.DiskGB)
			}
		}
		return p
	}
	// Vertex AI runs exactly one primary replica; further nodes are a
	// second pool of workers.
	pools := []*aiplatformpb.WorkerPoolSpec{pool(1)}
	if n := spec.Resources.Nodes; n > 1 {
		pools = append(pools, pool(int64(n-1)))
	}
	jobSpec := &aiplatformpb.CustomJobSpec{
		WorkerPoolSpecs:     pools,
		BaseOutputDirectory: &aiplatformpb.GcsDestination{OutputUriPrefix: "gs://" + s.stagingBucket + "/" + l.outputPrefix},
		ServiceAccount:      s.serviceAccount,
		Network:             spec.Options[optNetwork],
	}
	if sa := spec.Options[optRunAs]; sa != "" {
		jobSpec.ServiceAccount = sa
	}
	if spec.Resources.MaxRuntime > 0 || spec.Resources.Spot {
		jobSpec.Scheduling = &aiplatformpb.Scheduling{}
		if spec.Resources.MaxRuntime > 0 {
			jobSpec.Scheduling.Timeout = durationpb.New(spec.Resources.MaxRuntime)
		}
		if spec.Resources.Spot {
			jobSpec.Scheduling.Strategy = aiplatformpb.Scheduling_SPOT
		}
	}
	return &aiplatformpb.CreateCustomJobRequest{
		Parent:    s.parent(),
		CustomJob: &aiplatformpb.CustomJob{DisplayName: name, Labels: labels, JobSpec: jobSpec},
	}, m, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
