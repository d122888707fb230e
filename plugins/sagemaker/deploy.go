package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/neural-dsl/neural-host/sdk"
)

// Deploy creates a model, an endpoint config and an endpoint, all named
// after the endpoint and tagged as the plugin's, so that DeleteEndpoint
// can remove exactly what Deploy made.
const (
	variantName         = "AllTraffic"
	defaultServingType  = "ml.m5.large"
	deployTimeout       = time.Hour
	maxModelEnvVars     = 100
	maxModelEnvKeyValue = 1024
)

var deployOptionKeys = map[string]bool{"image": true, "framework": true, "framework_version": true}

func (p *Platform) Deploy(ctx context.Context, spec sdk.DeploySpec) (sdk.Endpoint, error) {
	if err := checkName("name", spec.Name); err != nil {
		return sdk.Endpoint{}, err
	}
	model, err := parseS3URI("model", spec.ModelURI)
	if err != nil {
		return sdk.Endpoint{}, err
	}
	if model.Key == "" || strings.HasSuffix(model.Key, "/") {
		return sdk.Endpoint{}, sdk.FieldError("model", spec.ModelURI+" names a prefix, not a model archive", "point at the model.tar.gz a training job produced, as in 'neural-host job result'")
	}
	for _, k := range sortedKeys(spec.Options) {
		if !deployOptionKeys[k] {
			return sdk.Endpoint{}, sdk.FieldError("options."+k, "is not a deploy option of platform sagemaker", "deploy takes: "+strings.Join(sortedKeys(deployOptionKeys), ", "))
		}
	}
	instance := spec.InstanceType
	if instance == "" {
		instance = defaultServingType
	}
	if !validServingInstance(instance) {
		return sdk.Endpoint{}, sdk.FieldError("instance_type", fmt.Sprintf("%q is not a SageMaker hosting instance type", instance), "use an ml.* type such as ml.m5.large or ml.g5.xlarge")
	}
	if spec.ScaleToZero {
		return sdk.Endpoint{}, sdk.FieldError("scale_to_zero", "SageMaker real-time endpoints deployed by this plugin keep at least one instance", "deploy without scale-to-zero, or use a serverless endpoint outside neural-host")
	}
	count := max(spec.MinReplicas, 1)
	if spec.MaxReplicas > count {
		return sdk.Endpoint{}, sdk.FieldError("max_replicas", "the plugin does not configure endpoint autoscaling", "set max_replicas to min_replicas, then add a scaling policy with Application Auto Scaling")
	}
	if len(spec.Env) > maxModelEnvVars {
		return sdk.Endpoint{}, sdk.FieldError("env", fmt.Sprintf("has %d variables; SageMaker allows %d", len(spec.Env), maxModelEnvVars), "pass fewer variables")
	}
	for k, v := range spec.Env {
		if !envKeyPattern.MatchString(k) || len(k) > maxModelEnvKeyValue || len(v) > maxModelEnvKeyValue {
			return sdk.Endpoint{}, sdk.FieldError("env", fmt.Sprintf("%q is not a variable SageMaker accepts", k), "use names of letters, digits and underscores and values up to 1024 bytes")
		}
	}
	role := p.settings().roleARN
	if role == "" {
		return sdk.Endpoint{}, sdk.FieldError("role_arn", "SageMaker needs an execution role to host a model", "set SAGEMAKER_ROLE_ARN or platforms.sagemaker.role_arn")
	}
	c, err := p.regional(ctx)
	if err != nil {
		return sdk.Endpoint{}, err
	}
	image := spec.Options["image"]
	if image == "" {
		fw := spec.Options["framework"]
		if fw == "" {
			fw = "pytorch"
		}
		if image, err = frameworkImage(fw, spec.Options["framework_version"], c.region, processorOf(instance), false); err != nil {
			return sdk.Endpoint{}, err
		}
	}
	name := aws.String(spec.Name)
	if _, err := c.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: name}); err == nil {
		return sdk.Endpoint{}, &sdk.Error{Kind: sdk.ErrConflict, Field: "name", Message: "endpoint " + spec.Name + " already exists",
			Hint: "delete it with 'neural-host endpoint delete " + spec.Name + " --platform sagemaker', or choose another name"}
	} else if !isNotFound(err) {
		return sdk.Endpoint{}, awsError(err, "looking for endpoint "+spec.Name, "")
	}
	tags := []types.Tag{{Key: aws.String(tagManagedBy), Value: aws.String(managedBy)}}
	leftovers := "remove leftovers of an earlier deploy with 'neural-host endpoint delete " + spec.Name + " --platform sagemaker'"
	if _, err := c.sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName: name, ExecutionRoleArn: aws.String(role), Tags: tags,
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String(image), ModelDataUrl: aws.String(model.String()), Environment: spec.Env},
	}); err != nil {
		return sdk.Endpoint{}, sdk.WithHint(awsError(err, "creating model "+spec.Name, ""), leftovers)
	}
	if _, err := c.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: name, Tags: tags,
		ProductionVariants: []types.ProductionVariant{{VariantName: aws.String(variantName), ModelName: name,
			InstanceType: types.ProductionVariantInstanceType(instance), InitialInstanceCount: aws.Int32(int32(count)), InitialVariantWeight: aws.Float32(1)}},
	}); err != nil {
		p.rollback(c, spec.Name, false)
		return sdk.Endpoint{}, sdk.WithHint(awsError(err, "creating endpoint config "+spec.Name, ""), leftovers)
	}
	if _, err := c.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: name, EndpointConfigName: name, Tags: tags}); err != nil {
		p.rollback(c, spec.Name, true)
		return sdk.Endpoint{}, sdk.WithHint(awsError(err, "creating endpoint "+spec.Name, ""), leftovers)
	}
	if !spec.Wait {
		return p.endpoint(ctx, c, spec.Name)
	}
	poll := p.settings().pollInterval
	werr := sagemaker.NewEndpointInServiceWaiter(c.sm, func(o *sagemaker.EndpointInServiceWaiterOptions) {
		o.MinDelay, o.MaxDelay = poll, max(poll, 30*time.Second)
	}).Wait(ctx, &sagemaker.DescribeEndpointInput{EndpointName: name}, deployTimeout)
	ep, err := p.endpoint(ctx, c, spec.Name)
	if err != nil {
		return sdk.Endpoint{}, err
	}
	switch {
	case werr == nil:
		return ep, nil
	case ep.State == string(types.EndpointStatusFailed):
		return ep, &sdk.Error{Message: "endpoint " + spec.Name + " failed: " + ep.Message,
			Hint: "fix the model or image, then 'neural-host endpoint delete " + spec.Name + " --platform sagemaker' and deploy again"}
	case errors.Is(werr, context.Canceled) || errors.Is(werr, context.DeadlineExceeded):
		return ep, werr
	}
	return ep, &sdk.Error{Kind: sdk.ErrUnavailable, Message: "endpoint " + spec.Name + " is " + ep.State + " after waiting: " + werr.Error(),
		Hint: "check it later with 'neural-host endpoint get " + spec.Name + " --platform sagemaker'"}
}

// rollback removes what a deploy that failed part-way created. It uses a
// context of its own: the caller's may be why the deploy failed.
func (p *Platform) rollback(c *clients, name string, config bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if config {
		_, _ = c.sm.DeleteEndpointConfig(ctx, &sagemaker.DeleteEndpointConfigInput{EndpointConfigName: aws.String(name)})
	}
	_, _ = c.sm.DeleteModel(ctx, &sagemaker.DeleteModelInput{ModelName: aws.String(name)})
}

func validServingInstance(t string) bool {
	for _, v := range types.ProductionVariantInstanceType("").Values() {
		if string(v) == t {
			return true
		}
	}
	return false
}

func (p *Platform) GetEndpoint(ctx context.Context, name string) (sdk.Endpoint, error) {
	if err := checkName("name", name); err != nil {
		return sdk.Endpoint{}, err
	}
	c, err := p.regional(ctx)
	if err != nil {
		return sdk.Endpoint{}, err
	}
	return p.endpoint(ctx, c, name)
}

// endpoint describes an endpoint, its config and its model.
func (p *Platform) endpoint(ctx context.Context, c *clients, name string) (sdk.Endpoint, error) {
	out, err := c.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
	if err != nil {
		return sdk.Endpoint{}, awsError(err, "describing endpoint "+name, "list endpoints with 'neural-host endpoint list --platform sagemaker'")
	}
	ep := sdk.Endpoint{
		Name: name, State: string(out.EndpointStatus), Ready: out.EndpointStatus == types.EndpointStatusInService,
		URL: runtimeURL(c.region, name), Message: aws.ToString(out.FailureReason), CreatedAt: aws.ToTime(out.CreationTime),
		Attributes: map[string]string{"arn": aws.ToString(out.EndpointArn), "endpoint_config": aws.ToString(out.EndpointConfigName)},
	}
	if cfg, err := c.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: out.EndpointConfigName}); err == nil && len(cfg.ProductionVariants) > 0 {
		v := cfg.ProductionVariants[0]
		ep.Attributes["model"] = aws.ToString(v.ModelName)
		ep.Attributes["instance_type"] = string(v.InstanceType)
		ep.Attributes["instance_count"] = fmt.Sprint(aws.ToInt32(v.InitialInstanceCount))
		if m, err := c.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: v.ModelName}); err == nil && m.PrimaryContainer != nil {
			ep.ModelURI = aws.ToString(m.PrimaryContainer.ModelDataUrl)
			ep.Attributes["image"] = aws.ToString(m.PrimaryContainer.Image)
		}
	}
	return ep, nil
}

func runtimeURL(region, name string) string {
	domain := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return "https://runtime.sagemaker." + region + "." + domain + "/endpoints/" + name + "/invocations"
}

func (p *Platform) ListEndpoints(ctx context.Context, pageSize int, pageToken string) ([]sdk.Endpoint, string, error) {
	c, err := p.regional(ctx)
	if err != nil {
		return nil, "", err
	}
	in := &sagemaker.ListEndpointsInput{SortBy: types.EndpointSortKeyCreationTime, SortOrder: types.OrderKeyDescending}
	if pageSize > 0 {
		in.MaxResults = aws.Int32(int32(min(pageSize, 100)))
	}
	if pageToken != "" {
		in.NextToken = aws.String(pageToken)
	}
	out, err := c.sm.ListEndpoints(ctx, in)
	if err != nil {
		return nil, "", awsError(err, "listing endpoints", "")
	}
	var eps []sdk.Endpoint
	for _, e := range out.Endpoints {
		name := aws.ToString(e.EndpointName)
		eps = append(eps, sdk.Endpoint{Name: name, State: string(e.EndpointStatus), Ready: e.EndpointStatus == types.EndpointStatusInService,
			URL: runtimeURL(c.region, name), CreatedAt: aws.ToTime(e.CreationTime), Attributes: map[string]string{"arn": aws.ToString(e.EndpointArn)}})
	}
	return eps, aws.ToString(out.NextToken), nil
}

// DeleteEndpoint deletes the endpoint, then its endpoint config and models
// where the plugin created them. It also removes those left behind by a
// deploy that failed before the endpoint existed.
func (p *Platform) DeleteEndpoint(ctx context.Context, name string) error {
	if err := checkName("name", name); err != nil {
		return err
	}
	c, err := p.regional(ctx)
	if err != nil {
		return err
	}
	found := false
	config := name
	ep, err := c.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
	switch {
	case err == nil:
		found, config = true, aws.ToString(ep.EndpointConfigName)
		if _, err := c.sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String(name)}); err != nil && !isNotFound(err) {
			return awsError(err, "deleting endpoint "+name, "")
		}
	case !isNotFound(err):
		return awsError(err, "looking for endpoint "+name, "")
	}
	models := []string{name}
	cfg, err := c.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String(config)})
	switch {
	case err == nil:
		if !p.managed(ctx, c, aws.ToString(cfg.EndpointConfigArn)) {
			// Not the plugin's: its models may serve other endpoints too.
			return nil
		}
		models = models[:0]
		for _, v := range cfg.ProductionVariants {
			models = append(models, aws.ToString(v.ModelName))
		}
		if _, err := c.sm.DeleteEndpointConfig(ctx, &sagemaker.DeleteEndpointConfigInput{EndpointConfigName: aws.String(config)}); err != nil && !isNotFound(err) {
			return awsError(err, "deleting endpoint config "+config, "")
		}
		found = true
	case !isNotFound(err):
		return awsError(err, "looking for endpoint config "+config, "")
	}
	for _, m := range models {
		out, err := c.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String(m)})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return awsError(err, "looking for model "+m, "")
		}
		if !p.managed(ctx, c, aws.ToString(out.ModelArn)) {
			continue
		}
		if _, err := c.sm.DeleteModel(ctx, &sagemaker.DeleteModelInput{ModelName: aws.String(m)}); err != nil && !isNotFound(err) {
			return awsError(err, "deleting model "+m, "")
		}
		found = true
	}
	if !found {
		return &sdk.Error{Kind: sdk.ErrNotFound, Field: "name", Message: "no endpoint, endpoint config or model named " + name, Hint: "list endpoints with 'neural-host endpoint list --platform sagemaker'"}
	}
	return nil
}

// managed reports whether the plugin created the resource.
func (p *Platform) managed(ctx context.Context, c *clients, arn string) bool {
	tags, err := p.tags(ctx, c, arn)
	return err == nil && tags[tagManagedBy] == managedBy
}
