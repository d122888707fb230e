package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/idempotency"
	"github.com/neural-dsl/neural-host/sdk/prices"
)

var knownOptions = map[string]bool{"framework": true, "framework_version": true, "image": true, "max_wait": true, "subnets": true, "security_groups": true}

func checkOptions(opts map[string]string) error {
	for _, k := range sortedKeys(opts) {
		if !knownOptions[k] {
			return sdk.FieldError("options."+k, "is not an option of platform sagemaker", "platform sagemaker takes: "+strings.Join(sortedKeys(knownOptions), ", "))
		}
	}
	return nil
}

// checkWorkDir also refuses a script or DSL job without a work dir: a
// SageMaker job gets its files only from the bundle.
func checkWorkDir(spec sdk.JobSpec) error {
	if spec.WorkDir == "" && spec.Kind != sdk.KindCommand {
		return sdk.FieldError("workdir", "a "+string(spec.Kind)+" job needs a workdir holding "+spec.Entrypoint, "set workdir to the directory of the job's files")
	}
	return sdk.CheckWorkDir(spec)
}

// chooseInstance returns the instance type asked for, or the cheapest
// catalog type with the GPUs, CPUs and memory asked for.
func chooseInstance(r sdk.Resources) (string, error) {
	if r.InstanceType != "" {
		if !validTrainingInstance(r.InstanceType) {
			return "", sdk.FieldError("resources.instance_type", fmt.Sprintf("%q is not a SageMaker training instance type", r.InstanceType), "use an ml.* type such as ml.m5.xlarge or ml.g5.xlarge")
		}
		if row, ok := shape(r.InstanceType); ok {
			if r.GPUs > 0 && row.GPUs != r.GPUs {
				return "", sdk.FieldError("resources.gpus", fmt.Sprintf("%s has %d GPUs, not %d", r.InstanceType, row.GPUs, r.GPUs), "set gpus to match the instance type, or leave instance_type out")
			}
			if r.GPUType != "" && !strings.EqualFold(r.GPUType, row.GPUType) {
				return "", sdk.FieldError("resources.gpu_type", fmt.Sprintf("%s has %s GPUs, not %s", r.InstanceType, orNone(row.GPUType), r.GPUType), "set gpu_type to match the instance type, or leave instance_type out")
			}
			if r.CPUs > row.VCPUs || r.MemoryGB > row.MemoryGB {
				return "", sdk.FieldError("resources.instance_type", fmt.Sprintf("%s has %g vCPUs and %g GB, less than asked for", r.InstanceType, row.VCPUs, row.MemoryGB), "pick a larger instance type, or lower cpus and memory_gb")
			}
		}
		return r.InstanceType, nil
	}
	// The same selection the host's cost compare runs on Prices, so that
	// the plan shows the offer compare ranks.
	o, found := prices.Cheapest(trainingRows(), prices.Need{GPUType: r.GPUType, GPUs: r.GPUs, CPUs: r.CPUs, MemoryGB: r.MemoryGB})
	if !found {
		return "", sdk.FieldError("resources", fmt.Sprintf("no instance type in the plugin's catalog has %d %s GPUs, %g vCPUs and %g GB", r.GPUs, orNone(r.GPUType), r.CPUs, r.MemoryGB), "set resources.instance_type to a SageMaker type that fits")
	}
	return o.InstanceType, nil
}

func orNone(s string) string {
	if s == "" {
		return "no"
	}
	return s
}

func validTrainingInstance(t string) bool {
	for _, v := range types.TrainingInstanceType("").Values() {
		if string(v) == t {
			return true
		}
	}
	return false
}

// trainingImage is options.image, or the framework container for the job.
func trainingImage(spec sdk.JobSpec, region, instance string) (string, error) {
	if img := spec.Options["image"]; img != "" {
		if strings.ContainsAny(img, " \t\n") || len(img) > 255 {
			return "", sdk.FieldError("options.image", fmt.Sprintf("%q is not an image URI", img), "give an ECR image URI such as ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG")
		}
		return img, nil
	}
	fw := spec.Options["framework"]
	if fw == "" {
		fw = "pytorch"
		if spec.Kind == sdk.KindDSL && spec.DSL.Backend != sdk.BackendPyTorch {
			fw = "tensorflow"
		}
	}
	return frameworkImage(fw, spec.Options["framework_version"], region, processorOf(instance), true)
}

func jobEnvironment(spec sdk.JobSpec, name string) (map[string]string, error) {
	env := map[string]string{"NEURAL_JOB_ID": name}
	for _, k := range sortedKeys(spec.Env) {
		v := spec.Env[k]
		if !envKeyPattern.MatchString(k) || len(k) > 512 {
			return nil, sdk.FieldError("env", fmt.Sprintf("%q is not a name SageMaker accepts", k), "use letters, digits and underscores, not starting with a digit")
		}
		if len(v) > maxEnvValue {
			return nil, sdk.FieldError("env."+k, fmt.Sprintf("is %d bytes; SageMaker allows %d", len(v), maxEnvValue), "pass long values in a file in workdir")
		}
		env[k] = v
	}
	if len(env) > maxEnvVars {
		return nil, sdk.FieldError("env", fmt.Sprintf("has %d variables; SageMaker allows %d including NEURAL_JOB_ID", len(env), maxEnvVars), "pass settings in a file in workdir")
	}
	return env, nil
}

// jobTags are the labels plus the idempotency key's hash, which lets a
// retried submit recognise its own job.
func jobTags(spec sdk.JobSpec) ([]types.Tag, error) {
	var tags []types.Tag
	for _, k := range sortedKeys(spec.Labels) {
		v := spec.Labels[k]
		if k == "" || len(k) > 128 || !tagPattern.MatchString(k) || strings.HasPrefix(strings.ToLower(k), "aws:") || strings.HasPrefix(k, "neural:") {
			return nil, sdk.FieldError("labels", fmt.Sprintf("%q is not a tag key SageMaker accepts", k), "use 1-128 letters, digits, spaces and _.:/=+-@, not starting with aws: or neural:")
		}
		if len(v) > 256 || !tagPattern.MatchString(v) {
			return nil, sdk.FieldError("labels."+k, fmt.Sprintf("%q is not a tag value SageMaker accepts", v), "use up to 256 letters, digits, spaces and _.:/=+-@")
		}
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	tags = append(tags, types.Tag{Key: aws.String(tagManagedBy), Value: aws.String(managedBy)})
	if spec.IdempotencyKey != "" {
		tags = append(tags, types.Tag{Key: aws.String(tagKeyHash), Value: aws.String(keyHash(spec.IdempotencyKey))})
	}
	if len(tags) > maxTags {
		return nil, sdk.FieldError("labels", fmt.Sprintf("has %d labels; SageMaker allows %d tags, two of which the plugin uses", len(spec.Labels), maxTags), "drop some labels")
	}
	sort.SliceStable(tags, func(i, j int) bool { return *tags[i].Key < *tags[j].Key })
	return tags, nil
}

// keyHash is the tag value that marks a job submitted with key.
func keyHash(key string) string { return idempotency.Token("sagemaker", key, 16) }

// submittedWith reports whether a job's key tag says it was submitted with
// key. Version 0.1.0 tagged sha256(key) without the platform prefix;
// their jobs still match, so a retry after an upgrade finds them.
func submittedWith(tag, key string) bool {
	if key == "" {
		return false
	}
	legacy := sha256.Sum256([]byte(key))
	return tag == keyHash(key) || tag == hex.EncodeToString(legacy[:16])
}

// stopping bounds the job's run time and, for spot jobs, its wait.
func stopping(spec sdk.JobSpec) (*types.StoppingCondition, bool, error) {
	runtime := spec.Resources.MaxRuntime
	if runtime == 0 {
		runtime = defaultMaxRuntime
	}
	if runtime > maxMaxRuntime {
		return nil, false, sdk.FieldError("resources.max_runtime", fmt.Sprintf("%s is longer than SageMaker's limit of 28 days", runtime), "set max_runtime to 672h or less")
	}
	sc := &types.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(seconds(runtime))}
	wait := spec.Options["max_wait"]
	if !spec.Resources.Spot {
		if wait != "" {
			return nil, false, sdk.FieldError("options.max_wait", "applies to spot jobs only", "set resources.spot: true, or remove max_wait")
		}
		return sc, false, nil
	}
	w := 2 * runtime
	if wait != "" {
		d, err := time.ParseDuration(wait)
		if err != nil {
			return nil, false, sdk.FieldError("options.max_wait", fmt.Sprintf("%q is not a duration", wait), "use a duration such as 4h")
		}
		w = d
	}
	if w < runtime {
		return nil, false, sdk.FieldError("options.max_wait", fmt.Sprintf("%s is shorter than max_runtime %s", w, runtime), "SageMaker needs max_wait >= max_runtime; raise max_wait")
	}
	sc.MaxWaitTimeInSeconds = aws.Int32(seconds(w))
	return sc, true, nil
}

func seconds(d time.Duration) int32 {
	return int32(min(math.Ceil(d.Seconds()), math.MaxInt32))
}

func vpcConfig(opts map[string]string) (*types.VpcConfig, error) {
	subnets, groups := splitIDs(opts["subnets"]), splitIDs(opts["security_groups"])
	if len(subnets) == 0 && len(groups) == 0 {
		return nil, nil
	}
	if len(subnets) == 0 || len(groups) == 0 {
		return nil, sdk.FieldError("options.subnets", "subnets and security_groups go together", "set both options, or neither")
	}
	for _, id := range append(append([]string(nil), subnets...), groups...) {
		if !idListPattern.MatchString(id) || len(id) > 32 {
			return nil, sdk.FieldError("options.subnets", fmt.Sprintf("%q is not a subnet or security group id", id), "write ids such as subnet-0abc,subnet-0def and sg-0123")
		}
	}
	if len(subnets) > 16 || len(groups) > 5 {
		return nil, sdk.FieldError("options.subnets", "SageMaker takes at most 16 subnets and 5 security groups", "list fewer ids")
	}
	return &types.VpcConfig{Subnets: subnets, SecurityGroupIds: groups}, nil
}

func splitIDs(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
