package main

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/idempotency"
	"github.com/neural-dsl/neural-host/sdk/launcher"
	"github.com/neural-dsl/neural-host/sdk/prices"
	"github.com/neural-dsl/neural-host/sdk/runner"
)

const (
	// taskKey names the one task of every run this plugin submits.
	taskKey = "neural"
	// descriptionPrefix marks the task description of this plugin's runs;
	// the JSON after it carries the job's labels.
	descriptionPrefix = "neural-host job "
	// pythonToken stands for the cluster's interpreter in a command: the
	// Python environment where the task's libraries are installed. The
	// launcher replaces it.
	pythonToken = "@python"
	// maxDescription is the longest task description the Jobs API takes.
	maxDescription = 1000
	// defaultRuntime is the Databricks Runtime ML release new clusters use.
	defaultRuntime = "15.4.x"
)

// runKey names a submission: derived from the idempotency key, so that a
// retried submit names the same output directory and idempotency token.
func runKey(spec sdk.JobSpec) string { return idempotency.Token("databricks", spec.IdempotencyKey, 12) }

// jobPlan is everything Submit does for one spec, decided before anything
// is sent.
type jobPlan struct {
	key      string
	compute  string
	nodeType string
	nodes    int
	bundle   location // zero when the job ships no work dir
	launcher location
	output   location
	logs     location // cluster log destination; zero when not delivered
	run      jobs.SubmitRun
	price    sdk.Price
	warnings []string
}

// fuseMounts are where a cluster mounts DBFS and Unity Catalog volumes.
var fuseMounts = []launcher.Mount{{Prefix: "dbfs:/Volumes/", Path: "/Volumes/"}, {Prefix: "dbfs:/", Path: "/dbfs/"}, {Prefix: "/Volumes/", Path: "/Volumes/"}}

// sparkVersionRE is the shape of a Databricks Runtime version key.
var sparkVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9x]+\.[0-9x]+-[a-z0-9.-]*scala[0-9.]+$|^[0-9]+\.[0-9x]+\.x-[a-z0-9.-]+$`)

// option returns the job option key, else the setting.
func option(spec sdk.JobSpec, key, setting string) string {
	if v := strings.TrimSpace(spec.Options[key]); v != "" {
		return v
	}
	return setting
}

// planJob checks spec against what Databricks accepts and builds the
// runs/submit request, with bundleSHA naming the uploaded bundle.
func (p *Platform) planJob(spec sdk.JobSpec, key, bundleSHA string) (*jobPlan, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	s := p.settings()
	resolved := s.resolved()
	staging, _ := parseLocation(s.stagingDir)
	jp := &jobPlan{key: key, nodes: max(spec.Resources.Nodes, 1)}

	clusterID := option(spec, "existing_cluster_id", resolved.ClusterID)
	jp.compute = strings.ToLower(option(spec, "compute", s.compute))
	if jp.compute == "" {
		jp.compute = computeNew
		if clusterID != "" {
			jp.compute = computeExisting
		}
	}
	switch jp.compute {
	case computeNew, computeServerless:
	case computeExisting:
		if clusterID == "" {
			return nil, sdk.FieldError("options.compute", "existing compute needs a cluster id", "set options.existing_cluster_id or DATABRICKS_CLUSTER_ID to the cluster to run on")
		}
	default:
		return nil, sdk.FieldError("options.compute", fmt.Sprintf("%q is not a compute kind", jp.compute), "set options.compute to new, existing or serverless")
	}
	if jp.compute == computeServerless && !staging.volume {
		return nil, sdk.FieldError("options.compute", "serverless compute cannot read DBFS staging paths", "set staging_dir to a Unity Catalog volume such as /Volumes/main/default/neural")
	}
	if spec.WorkDir == "" && spec.Kind != sdk.KindCommand {
		return nil, sdk.FieldError("workdir", "a "+string(spec.Kind)+" job needs its work dir shipped", "set workdir to the directory holding "+spec.Entrypoint)
	}
	// The launcher, named by its content so that each version is uploaded
	// once per staging directory, runs on the driver with DBFS and volumes
	// mounted where the Databricks runtime mounts them.
	jp.launcher = staging.join("launcher", "neural_launcher_"+launcher.Hash()+".py")
	jp.output = staging.join("runs", key, "output")
	lc := launcher.Config{
		Argv:          runner.Argv(spec, pythonToken),
		Python:        pythonToken,
		ScratchDirs:   []string{"/local_disk0/tmp"},
		Mounts:        fuseMounts,
		MountRootEnv:  "NEURAL_FUSE_ROOT",
		CopyOutputsTo: launcher.Value{Default: jp.output.String()},
		JobID:         launcher.Value{Default: "{{job.run_id}}"},
		Env:           spec.Env,
		// The driver's log keeps stdout and stderr apart; merged, the job's
		// lines stay in order in the one stream Logs reads.
		MergeStderr: true,
		Announce:    true,
	}
	if bundleSHA != "" {
		jp.bundle = staging.join("bundles", bundleSHA+".tar.gz")
		lc.Bundle = launcher.Value{Default: jp.bundle.String()}
	}
	params := lc.Args()

	desc, err := description(spec.Labels)
	if err != nil {
		return nil, err
	}
	task := jobs.SubmitTask{
		TaskKey:         taskKey,
		Description:     desc,
		SparkPythonTask: &jobs.SparkPythonTask{PythonFile: jp.launcher.String(), Parameters: params},
	}
	name := spec.Name
	if name == "" {
		name = "neural-host job"
	}
	jp.run = jobs.SubmitRun{RunName: name}
	if spec.IdempotencyKey != "" {
		jp.run.IdempotencyToken = "neural-" + key
	}
	if rt := spec.Resources.MaxRuntime; rt > 0 {
		jp.run.TimeoutSeconds = int(math.Ceil(rt.Seconds()))
	}

	switch jp.compute {
	case computeExisting:
		task.ExistingClusterId = clusterID
		task.Libraries = libraries(spec)
		jp.warnings = append(jp.warnings, "runs on existing cluster "+clusterID+": resources other than max_runtime are not applied")
		jp.price = sdk.Price{Source: "existing cluster " + clusterID + " is billed whether or not the job runs"}
	case computeServerless:
		if spec.Resources.GPUs > 0 {
			return nil, sdk.FieldError("resources.gpus", "serverless jobs compute has no GPUs", "drop options.compute: serverless to run on a new GPU cluster")
		}
		task.EnvironmentKey = "default"
		jp.run.Environments = []jobs.JobEnvironment{{EnvironmentKey: "default",
			Spec: &compute.Environment{EnvironmentVersion: "2", Dependencies: spec.Requirements}}}
		jp.price = sdk.Price{Source: "serverless jobs compute is billed per DBU used; not in the catalog"}
		if spec.Resources.InstanceType != "" || spec.Resources.Nodes > 1 {
			jp.warnings = append(jp.warnings, "serverless compute sizes itself: resources.instance_type and resources.nodes are not applied")
		}
	default:
		cluster, err := p.newCluster(spec, s, jp)
		if err != nil {
			return nil, err
		}
		task.NewCluster = cluster
		task.Libraries = libraries(spec)
	}
	if spec.Resources.Spot && jp.compute != computeNew {
		jp.warnings = append(jp.warnings, "resources.spot applies to new clusters only")
	}
	jp.run.Tasks = []jobs.SubmitTask{task}
	return jp, nil
}

// description renders the task description that carries the job's labels.
func description(labels map[string]string) (string, error) {
	if labels == nil {
		labels = map[string]string{}
	}
	b, _ := json.Marshal(map[string]any{"labels": labels})
	d := descriptionPrefix + string(b)
	if len(d) > maxDescription {
		return "", sdk.FieldError("labels", fmt.Sprintf("take %d bytes, more than a Databricks task description holds", len(d)), "use fewer or shorter labels")
	}
	return d, nil
}

// labelsOf reads the labels back from a task description; nil when the
// task is not one of this plugin's.
func labelsOf(desc string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(desc, descriptionPrefix)
	if !ok {
		return nil, false
	}
	var d struct {
		Labels map[string]string `json:"labels"`
	}
	if json.Unmarshal([]byte(rest), &d) != nil {
		return nil, false
	}
	return d.Labels, true
}

func libraries(spec sdk.JobSpec) []compute.Library {
	var libs []compute.Library
	for _, r := range spec.Requirements {
		libs = append(libs, compute.Library{Pypi: &compute.PythonPyPiLibrary{Package: r}})
	}
	return libs
}

// newCluster sizes the job cluster from the job's resources.
func (p *Platform) newCluster(spec sdk.JobSpec, s settings, jp *jobPlan) (*compute.ClusterSpec, error) {
	r := spec.Resources
	cloud := cloudOf(s.resolved().Host)
	node, row, err := chooseNode(spec, s.nodeType, cloud)
	if err != nil {
		return nil, err
	}
	jp.nodeType = node
	version := option(spec, "spark_version", s.sparkVersion)
	if version == "" {
		version = defaultRuntime + "-cpu-ml-scala2.12"
		if r.GPUs > 0 {
			version = defaultRuntime + "-gpu-ml-scala2.12"
		}
	}
	if !sparkVersionRE.MatchString(version) {
		return nil, sdk.FieldError("options.spark_version", fmt.Sprintf("%q is not a Databricks Runtime version key", version), "use a key such as 15.4.x-cpu-ml-scala2.12 (see 'databricks clusters spark-versions')")
	}
	if r.GPUs > 0 && !strings.Contains(version, "gpu") {
		jp.warnings = append(jp.warnings, "resources.gpus is set but runtime "+version+" is not a GPU build")
	}
	c := &compute.ClusterSpec{
		SparkVersion:   version,
		NodeTypeId:     node,
		CustomTags:     map[string]string{},
		InstancePoolId: option(spec, "instance_pool_id", ""),
		PolicyId:       option(spec, "policy_id", ""),
	}
	if c.InstancePoolId != "" {
		// A pool decides the node type.
		c.NodeTypeId = ""
	}
	if d := option(spec, "driver_node_type_id", ""); d != "" {
		c.DriverNodeTypeId = d
	}
	for k, v := range spec.Labels {
		c.CustomTags[k] = v
	}
	if jp.nodes == 1 {
		// The documented single-node form: a driver and no workers.
		c.NumWorkers = 0
		c.ForceSendFields = append(c.ForceSendFields, "NumWorkers")
		c.SparkConf = map[string]string{"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*]"}
		c.CustomTags["ResourceClass"] = "SingleNode"
	} else {
		c.NumWorkers = jp.nodes - 1
	}
	if len(c.CustomTags) == 0 {
		c.CustomTags = nil
	}
	staging, _ := parseLocation(s.stagingDir)
	jp.logs = staging.join("runs", jp.key, "logs")
	if staging.volume {
		c.ClusterLogConf = &compute.ClusterLogConf{Volumes: &compute.VolumesStorageInfo{Destination: jp.logs.String()}}
	} else {
		c.ClusterLogConf = &compute.ClusterLogConf{Dbfs: &compute.DbfsStorageInfo{Destination: jp.logs.String()}}
	}
	switch cloud {
	case "aws":
		if r.Spot || r.DiskGB > 0 {
			c.AwsAttributes = &compute.AwsAttributes{}
		}
		if r.Spot {
			// The driver stays on demand so a lost spot node does not end the run.
			c.AwsAttributes.Availability = compute.AwsAvailabilitySpotWithFallback
			c.AwsAttributes.FirstOnDemand = 1
		}
		if r.DiskGB > 0 {
			c.AwsAttributes.EbsVolumeType = compute.EbsVolumeTypeGeneralPurposeSsd
			c.AwsAttributes.EbsVolumeCount = 1
			c.AwsAttributes.EbsVolumeSize = r.DiskGB
		}
	case "azure":
		if r.Spot {
			c.AzureAttributes = &compute.AzureAttributes{Availability: compute.AzureAvailabilitySpotWithFallbackAzure, FirstOnDemand: 1}
		}
	case "gcp":
		if r.Spot {
			c.GcpAttributes = &compute.GcpAttributes{Availability: compute.GcpAvailabilityPreemptibleWithFallbackGcp}
		}
	}
	if r.DiskGB > 0 && cloud != "aws" {
		jp.warnings = append(jp.warnings, "resources.disk_gb is applied on AWS only; "+cloud+" nodes keep their own disks")
	}
	if row != nil {
		jp.price = nodePrice(*row, jp.nodes)
	} else {
		jp.price = sdk.Price{Source: "no catalog price for " + node}
	}
	if r.Spot {
		// An on-demand price is not what spot nodes cost, and cost compare
		// prices spot needs by spot prices only; the catalog has none.
		jp.price = sdk.Price{Source: "no catalog spot price for " + node}
		jp.warnings = append(jp.warnings, "the price is unknown: the catalog has no spot price for "+node+"; spot nodes cost less but can be reclaimed")
	}
	return c, nil
}

// chooseNode picks the node type: the one asked for, else the cheapest
// catalog node that has what the job asks for.
func chooseNode(spec sdk.JobSpec, fallback, cloud string) (string, *catalogRow, error) {
	r := spec.Resources
	name := r.InstanceType
	if v := strings.TrimSpace(spec.Options["node_type_id"]); v != "" {
		name = v
	}
	if name == "" && r.GPUs == 0 && r.CPUs == 0 && r.MemoryGB == 0 {
		name = fallback
	}
	if name != "" {
		row := catalog().find(name)
		if row != nil && r.GPUs > row.gpus {
			return "", nil, sdk.FieldError("resources.gpus", fmt.Sprintf("%s has %d GPUs, the job asks for %d", name, row.gpus, r.GPUs), "pick a GPU node type such as g4dn.xlarge, or lower resources.gpus")
		}
		return name, row, nil
	}
	if cloud != "aws" {
		if r.GPUs > 0 {
			return "", nil, sdk.FieldError("resources.instance_type", "is required for GPU jobs on "+cloud+" workspaces", "name a GPU node type, such as Standard_NC4as_T4_v3 on Azure or a2-highgpu-1g on GCP")
		}
		return map[string]string{"azure": "Standard_DS3_v2", "gcp": "n1-standard-4"}[cloud], nil, nil
	}
	need := prices.Need{GPUType: r.GPUType, GPUs: r.GPUs, CPUs: r.CPUs, MemoryGB: r.MemoryGB}
	if r.GPUs == 0 && r.CPUs == 0 && r.MemoryGB == 0 {
		// Enough for the ML runtime and a small model.
		need.CPUs, need.MemoryGB = 4, 16
	}
	offer, ok := prices.Cheapest(catalog().priceRows(), need)
	if !ok {
		what := fmt.Sprintf("%g vCPUs and %g GB", need.CPUs, need.MemoryGB)
		if r.GPUs > 0 {
			what = strings.TrimSpace(fmt.Sprintf("%d %s GPUs", r.GPUs, r.GPUType))
		}
		return "", nil, sdk.FieldError("resources", "no node type in the catalog has "+what, "set resources.instance_type to a node type your workspace offers")
	}
	return offer.InstanceType, catalog().find(offer.InstanceType), nil
}
