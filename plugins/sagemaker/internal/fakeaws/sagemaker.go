package fakeaws

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SageMaker is the SageMaker stand-in's state: training jobs, models,
// endpoint configs, endpoints and their tags.
type SageMaker struct {
	env       *Env
	mu        sync.Mutex
	jobs      map[string]*trainingJob
	models    map[string]*resource
	configs   map[string]*resource
	endpoints map[string]*endpoint
	tags      map[string][]tag // by ARN
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// resource is a model or an endpoint config: its request, echoed back.
type resource struct {
	arn     string
	req     map[string]any
	created time.Time
}

type endpoint struct {
	resource
	name, config, status, failure string
	modified                      time.Time
}

func newSageMaker(e *Env) *SageMaker {
	return &SageMaker{env: e, jobs: map[string]*trainingJob{}, models: map[string]*resource{},
		configs: map[string]*resource{}, endpoints: map[string]*endpoint{}, tags: map[string][]tag{}}
}

func (s *SageMaker) ops() map[string]handler {
	return map[string]handler{
		"CreateTrainingJob": s.createTrainingJob, "DescribeTrainingJob": s.describeTrainingJob,
		"StopTrainingJob": s.stopTrainingJob, "ListTrainingJobs": s.listTrainingJobs, "ListTags": s.listTags,
		"CreateModel": s.createModel, "DescribeModel": s.describeModel, "DeleteModel": s.deleteModel,
		"CreateEndpointConfig": s.createEndpointConfig, "DescribeEndpointConfig": s.describeEndpointConfig,
		"DeleteEndpointConfig": s.deleteEndpointConfig, "CreateEndpoint": s.createEndpoint,
		"DescribeEndpoint": s.describeEndpoint, "DeleteEndpoint": s.deleteEndpoint, "ListEndpoints": s.listEndpoints,
	}
}

func (s *SageMaker) arn(kind, name string) string {
	return fmt.Sprintf("arn:aws:sagemaker:%s:%s:%s/%s", s.env.Region, s.env.Account, kind, strings.ToLower(name))
}

// ecrImage is what SageMaker accepts as a container image: an ECR URI.
var ecrImage = regexp.MustCompile(`^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9][a-z0-9._/-]*(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$`)

func (s *SageMaker) checkRole(role string) *apiError {
	if !strings.HasPrefix(role, "arn:aws:iam::"+s.env.Account+":role/") {
		return validation("Could not assume role %s. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume the role.", role)
	}
	return nil
}

func checkTags(tags []tag) *apiError {
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return validation("Tag keys beginning with 'aws:' are reserved for system use: %s", t.Key)
		}
	}
	return nil
}

// Counts reports how many training jobs, models, endpoint configs and
// endpoints exist.
func (s *SageMaker) Counts() (jobs, models, configs, endpoints int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobs), len(s.models), len(s.configs), len(s.endpoints)
}

// Request returns the CreateTrainingJob request a job was created with,
// as JSON.
func (s *SageMaker) Request(name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if !ok {
		return nil, false
	}
	b, _ := json.Marshal(j.req)
	return b, true
}

func (s *SageMaker) listTags(req map[string]any, raw []byte) (any, *apiError) {
	var in struct {
		ResourceArn, NextToken string
		MaxResults             int
	}
	json.Unmarshal(raw, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	tags, ok := s.tags[in.ResourceArn]
	if !ok {
		return nil, validation("Requested resource not found.")
	}
	start, aerr := pageStart(in.NextToken, len(tags))
	if aerr != nil {
		return nil, aerr
	}
	limit := in.MaxResults
	if limit == 0 {
		limit = 50
	}
	end := min(start+limit, len(tags))
	out := map[string]any{"Tags": append([]tag{}, tags[start:end]...)}
	if end < len(tags) {
		out["NextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

// page applies NextToken and MaxResults to a sorted list of names.
func page(names []string, token string, maxResults, defaultMax int) ([]string, string, *apiError) {
	start, aerr := pageStart(token, len(names))
	if aerr != nil {
		return nil, "", aerr
	}
	if maxResults == 0 {
		maxResults = defaultMax
	}
	end := min(start+maxResults, len(names))
	next := ""
	if end < len(names) {
		next = strconv.Itoa(end)
	}
	return names[start:end], next, nil
}

// sortNames orders names by creation time or name, ascending unless
// descending.
func sortNames(names []string, created func(string) time.Time, by, order string) {
	sort.SliceStable(names, func(i, j int) bool {
		if by == "Name" {
			return names[i] < names[j]
		}
		return created(names[i]).Before(created(names[j]))
	})
	if order == "Descending" {
		for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
			names[i], names[j] = names[j], names[i]
		}
	}
}

// echo copies a request for a Describe answer, leaving out the tags,
// which Describe calls do not return.
func echo(req map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range req {
		if k != "Tags" {
			out[k] = v
		}
	}
	return out
}
