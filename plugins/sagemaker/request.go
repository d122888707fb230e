package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/neural-dsl/neural-host/sdk"
)

// Limits and defaults of CreateTrainingJob.
const (
	defaultMaxRuntime = 24 * time.Hour      // SageMaker's own default
	maxMaxRuntime     = 28 * 24 * time.Hour // SageMaker's upper bound
	defaultVolumeGB   = 30
	maxEnvVars        = 100
	maxEnvValue       = 512
	maxTags           = 50
	checkpointDir     = "/opt/ml/checkpoints"
)

// Tag keys the plugin sets on what it creates.
const (
	tagKeyHash   = "neural:idempotency-key-sha256"
	tagManagedBy = "neural:managed-by"
	managedBy    = "neural-host"
)

var (
	envKeyPattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	tagPattern    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	idListPattern = regexp.MustCompile(`^[-0-9a-zA-Z]+$`)
)

// trainingJob is everything Submit does for a spec, worked out without
// sending anything, so that Plan shows exactly what Submit sends.
type trainingJob struct {
	name     string
	input    *sagemaker.CreateTrainingJobInput
	source   s3URI // where the bundle is uploaded
	instance string
	count    int
	region   string
	// defaultBucket is set when the bucket is SageMaker's default one,
	// which Submit creates when missing.
	defaultBucket bool
	warnings      []string
}

// prepare checks spec and builds its CreateTrainingJob request. It sends
// nothing: the default bucket's account comes from the role's ARN, as the
// execution role must live in the account that runs the job.
func (p *Platform) prepare(spec sdk.JobSpec, region string) (*trainingJob, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	s := p.settings()
	if err := checkOptions(spec.Options); err != nil {
		return nil, err
	}
	if s.roleARN == "" {
		return nil, sdk.FieldError("role_arn", "SageMaker needs an execution role to run a job",
			"set SAGEMAKER_ROLE_ARN or platforms.sagemaker.role_arn to the ARN of a role SageMaker can assume (see the 'SageMaker Roles' page of the SageMaker docs)")
	}
	if err := checkWorkDir(spec); err != nil {
		return nil, err
	}
	job := &trainingJob{name: jobName(spec), region: region, count: max(spec.Resources.Nodes, 1)}
	bucket := s.bucket
	if bucket == "" {
		bucket = "sagemaker-" + region + "-" + accountOf(s.roleARN)
		job.defaultBucket = true
	}
	prefix := "neural/" + job.name
	job.source = s3URI{Bucket: bucket, Key: prefix + "/source/sourcedir.tar.gz"}

	instance, err := chooseInstance(spec.Resources)
	if err != nil {
		return nil, err
	}
	job.instance = instance
	image, err := trainingImage(spec, region, instance)
	if err != nil {
		return nil, err
	}
	env, err := jobEnvironment(spec, job.name)
	if err != nil {
		return nil, err
	}
	tags, err := jobTags(spec)
	if err != nil {
		return nil, err
	}
	stop, spot, err := stopping(spec)
	if err != nil {
		return nil, err
	}
	vpc, err := vpcConfig(spec.Options)
	if err != nil {
		return nil, err
	}
	volume := spec.Resources.DiskGB
	if volume == 0 {
		volume = defaultVolumeGB
	}
	in := &sagemaker.CreateTrainingJobInput{
		TrainingJobName: aws.String(job.name),
		RoleArn:         aws.String(s.roleARN),
		AlgorithmSpecification: &types.AlgorithmSpecification{
			TrainingImage:     aws.String(image),
			TrainingInputMode: types.TrainingInputModeFile,
		},
		HyperParameters: map[string]string{
			// Script mode reads hyperparameters as JSON values, as the
			// SageMaker Python SDK writes them.
			"sagemaker_program":          jsonString(launcherName),
			"sagemaker_submit_directory": jsonString(job.source.String()),
			"sagemaker_region":           jsonString(region),
		},
		OutputDataConfig: &types.OutputDataConfig{S3OutputPath: aws.String("s3://" + bucket + "/neural")},
		ResourceConfig: &types.ResourceConfig{
			InstanceType:   types.TrainingInstanceType(instance),
			InstanceCount:  aws.Int32(int32(job.count)),
			VolumeSizeInGB: aws.Int32(int32(volume)),
		},
		StoppingCondition: stop,
		Environment:       env,
		Tags:              tags,
		VpcConfig:         vpc,
	}
	if spot {
		in.EnableManagedSpotTraining = aws.Bool(true)
		in.CheckpointConfig = &types.CheckpointConfig{S3Uri: aws.String("s3://" + bucket + "/" + prefix + "/checkpoints"), LocalPath: aws.String(checkpointDir)}
		job.warnings = append(job.warnings, "managed spot training: SageMaker bills the spot rate for billable seconds only, and the job may wait for capacity")
	}
	if job.defaultBucket {
		job.warnings = append(job.warnings, "bucket "+bucket+" (SageMaker's default) is created if it does not exist")
	}
	job.input = in
	return job, nil
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// accountOf is the account id in an IAM ARN.
func accountOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}
