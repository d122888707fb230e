package fakeaws

import (
	"encoding/json"
	"strings"
	"time"
)

type createModelInput struct {
	ModelName        string
	ExecutionRoleArn string
	PrimaryContainer *struct{ Image, ModelDataUrl string }
	Containers       []struct{ Image, ModelDataUrl string }
	Tags             []tag
}

func (s *SageMaker) createModel(req map[string]any, raw []byte) (any, *apiError) {
	var in createModelInput
	json.Unmarshal(raw, &in)
	containers := in.Containers
	if in.PrimaryContainer != nil {
		containers = append(containers, *in.PrimaryContainer)
	}
	if len(containers) == 0 {
		return nil, validation("Either PrimaryContainer or Containers must be specified.")
	}
	for _, c := range containers {
		if !ecrImage.MatchString(c.Image) {
			return nil, validation("Image %q is not a valid Amazon ECR image URI.", c.Image)
		}
		if c.ModelDataUrl != "" && !strings.HasPrefix(c.ModelDataUrl, "s3://") {
			return nil, validation("ModelDataUrl %q must be an s3:// URI.", c.ModelDataUrl)
		}
	}
	if aerr := s.checkRole(in.ExecutionRoleArn); aerr != nil {
		return nil, aerr
	}
	if aerr := checkTags(in.Tags); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := s.arn("model", in.ModelName)
	if _, ok := s.models[in.ModelName]; ok {
		return nil, validation("Cannot create already existing model %q.", arn)
	}
	s.models[in.ModelName] = &resource{arn: arn, req: req, created: time.Now()}
	s.tags[arn] = append([]tag{}, in.Tags...)
	return map[string]any{"ModelArn": arn}, nil
}

func field(raw []byte, key string) string {
	var m map[string]any
	json.Unmarshal(raw, &m)
	v, _ := m[key].(string)
	return v
}

func (s *SageMaker) describeModel(_ map[string]any, raw []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := field(raw, "ModelName")
	m, ok := s.models[n]
	if !ok {
		return nil, validation("Could not find model %q.", s.arn("model", n))
	}
	out := echo(m.req)
	out["ModelArn"], out["CreationTime"] = m.arn, epoch(m.created)
	return out, nil
}

func (s *SageMaker) deleteModel(_ map[string]any, raw []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := field(raw, "ModelName")
	m, ok := s.models[n]
	if !ok {
		return nil, validation("Could not find model %q.", s.arn("model", n))
	}
	delete(s.models, n)
	delete(s.tags, m.arn)
	return nil, nil
}

func (s *SageMaker) createEndpointConfig(req map[string]any, raw []byte) (any, *apiError) {
	var in struct {
		EndpointConfigName string
		ProductionVariants []struct{ VariantName, ModelName, InstanceType string }
		Tags               []tag
	}
	json.Unmarshal(raw, &in)
	if aerr := checkTags(in.Tags); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range in.ProductionVariants {
		if _, ok := s.models[v.ModelName]; !ok {
			return nil, validation("Could not find model %q.", s.arn("model", v.ModelName))
		}
		if v.InstanceType == "" {
			return nil, validation("InstanceType is required for variant %s of a real-time endpoint.", v.VariantName)
		}
	}
	arn := s.arn("endpoint-config", in.EndpointConfigName)
	if _, ok := s.configs[in.EndpointConfigName]; ok {
		return nil, validation("Cannot create already existing endpoint configuration %q.", arn)
	}
	s.configs[in.EndpointConfigName] = &resource{arn: arn, req: req, created: time.Now()}
	s.tags[arn] = append([]tag{}, in.Tags...)
	return map[string]any{"EndpointConfigArn": arn}, nil
}

func (s *SageMaker) describeEndpointConfig(_ map[string]any, raw []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := field(raw, "EndpointConfigName")
	c, ok := s.configs[n]
	if !ok {
		return nil, validation("Could not find endpoint configuration %q.", s.arn("endpoint-config", n))
	}
	out := echo(c.req)
	out["EndpointConfigArn"], out["CreationTime"] = c.arn, epoch(c.created)
	return out, nil
}

func (s *SageMaker) deleteEndpointConfig(_ map[string]any, raw []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := field(raw, "EndpointConfigName")
	c, ok := s.configs[n]
	if !ok {
		return nil, validation("Could not find endpoint configuration %q.", s.arn("endpoint-config", n))
	}
	delete(s.configs, n)
	delete(s.tags, c.arn)
	return nil, nil
}

func (s *SageMaker) createEndpoint(req map[string]any, raw []byte) (any, *apiError) {
	var in struct {
		EndpointName, EndpointConfigName string
		Tags                             []tag
	}
	json.Unmarshal(raw, &in)
	if aerr := checkTags(in.Tags); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, ok := s.configs[in.EndpointConfigName]
	if !ok {
		return nil, validation("Could not find endpoint configuration %q.", s.arn("endpoint-config", in.EndpointConfigName))
	}
	arn := s.arn("endpoint", in.EndpointName)
	if _, ok := s.endpoints[in.EndpointName]; ok {
		return nil, validation("Cannot create already existing endpoint %q.", arn)
	}
	now := time.Now()
	ep := &endpoint{resource: resource{arn: arn, req: req, created: now}, name: in.EndpointName, config: in.EndpointConfigName, status: "Creating", modified: now}
	s.endpoints[in.EndpointName] = ep
	s.tags[arn] = append([]tag{}, in.Tags...)
	// Bring it up after a while, failing as SageMaker does when the model
	// data is missing.
	var models []string
	var variants []struct{ ModelName string }
	b, _ := json.Marshal(cfg.req["ProductionVariants"])
	json.Unmarshal(b, &variants)
	for _, v := range variants {
		models = append(models, v.ModelName)
	}
	time.AfterFunc(s.env.opts.EndpointDelay, func() { s.bringUp(ep, models) })
	return map[string]any{"EndpointArn": arn}, nil
}

func (s *SageMaker) bringUp(ep *endpoint, models []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ep.status != "Creating" {
		return
	}
	ep.status, ep.modified = "InService", time.Now()
	for _, m := range models {
		res, ok := s.models[m]
		if !ok {
			ep.status, ep.failure = "Failed", "Could not find model "+m+"."
			return
		}
		var c struct{ PrimaryContainer struct{ ModelDataUrl string } }
		b, _ := json.Marshal(res.req)
		json.Unmarshal(b, &c)
		if url := c.PrimaryContainer.ModelDataUrl; url != "" {
			bucket, key, _ := splitS3(url)
			if _, err := s.env.S3.HeadObject(bucket, key); err != nil {
				ep.status, ep.failure = "Failed", "Failed to download model data for container \"container_1\" from URL: \""+url+"\". Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the object."
				return
			}
		}
	}
}

func (s *SageMaker) describeEndpoint(_ map[string]any, raw []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := field(raw, "EndpointName")
	ep, ok := s.endpoints[n]
	if !ok {
		return nil, validation("Could not find endpoint %q.", s.arn("endpoint", n))
	}
	out := map[string]any{"EndpointName": ep.name, "EndpointArn": ep.arn, "EndpointConfigName": ep.config,
		"EndpointStatus": ep.status, "CreationTime": epoch(ep.created), "LastModifiedTime": epoch(ep.modified)}
	if ep.failure != "" {
		out["FailureReason"] = ep.failure
	}
	return out, nil
}

func (s *SageMaker) deleteEndpoint(_ map[string]any, raw []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := field(raw, "EndpointName")
	ep, ok := s.endpoints[n]
	if !ok || ep.status == "Deleting" {
		return nil, validation("Could not find endpoint %q.", s.arn("endpoint", n))
	}
	ep.status, ep.modified = "Deleting", time.Now()
	time.AfterFunc(s.env.opts.EndpointDelay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.endpoints, n)
		delete(s.tags, ep.arn)
	})
	return nil, nil
}

func (s *SageMaker) listEndpoints(_ map[string]any, raw []byte) (any, *apiError) {
	var in struct {
		NextToken, SortBy, SortOrder, NameContains string
		MaxResults                                 int
	}
	json.Unmarshal(raw, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.endpoints {
		if strings.Contains(strings.ToLower(n), strings.ToLower(in.NameContains)) {
			names = append(names, n)
		}
	}
	sortNames(names, func(n string) time.Time { return s.endpoints[n].created }, in.SortBy, in.SortOrder)
	names, next, aerr := page(names, in.NextToken, in.MaxResults, 10)
	if aerr != nil {
		return nil, aerr
	}
	list := []map[string]any{}
	for _, n := range names {
		ep := s.endpoints[n]
		list = append(list, map[string]any{"EndpointName": n, "EndpointArn": ep.arn, "EndpointStatus": ep.status,
			"CreationTime": epoch(ep.created), "LastModifiedTime": epoch(ep.modified)})
	}
	out := map[string]any{"Endpoints": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}
