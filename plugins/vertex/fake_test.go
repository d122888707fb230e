package main

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/logging/apiv2/loggingpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The fakes must refuse what the real services refuse, or the plugin's
// tests would prove nothing. These calls bypass the plugin.
func TestFakesRejectWhatGoogleRejects(t *testing.T) {
	fs := startFakeSet(t)
	conn, err := grpc.NewClient(fs.cfg[keyEndpoint], grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	jobs := aiplatformpb.NewJobServiceClient(conn)
	parent := "projects/" + testProject + "/locations/" + testLocation
	authed := func(params string) context.Context {
		return metadata.AppendToOutgoingContext(testCtx(t), "authorization", "Bearer "+mintToken(fs.id.secret), "x-goog-request-params", params)
	}
	route := "parent=" + url.QueryEscape(parent)
	good := func() *aiplatformpb.CustomJob {
		return &aiplatformpb.CustomJob{DisplayName: "j", JobSpec: &aiplatformpb.CustomJobSpec{WorkerPoolSpecs: []*aiplatformpb.WorkerPoolSpec{{
			MachineSpec: &aiplatformpb.MachineSpec{MachineType: "n1-standard-4"}, ReplicaCount: 1,
			Task: &aiplatformpb.WorkerPoolSpec_ContainerSpec{ContainerSpec: &aiplatformpb.ContainerSpec{ImageUri: "x", Command: []string{"true"}}}}}}}
	}
	fs.f.manual = true
	tests := []struct {
		name string
		ctx  context.Context
		req  func(*aiplatformpb.CreateCustomJobRequest)
		code codes.Code
	}{
		{"no token", testCtx(t), nil, codes.Unauthenticated},
		{"forged token", metadata.AppendToOutgoingContext(testCtx(t), "authorization", "Bearer ya29.fake.00.11"), nil, codes.Unauthenticated},
		{"no routing header", metadata.AppendToOutgoingContext(testCtx(t), "authorization", "Bearer "+mintToken(fs.id.secret)), nil, codes.InvalidArgument},
		{"accepted", authed(route), nil, codes.OK},
		{"bad parent", authed("parent=projects%2Fp"), func(r *aiplatformpb.CreateCustomJobRequest) { r.Parent = "projects/p" }, codes.InvalidArgument},
		{"other project", authed("parent=" + url.QueryEscape("projects/other/locations/"+testLocation)), func(r *aiplatformpb.CreateCustomJobRequest) {
			r.Parent = "projects/other/locations/" + testLocation
		}, codes.PermissionDenied},
		{"other region", authed("parent=" + url.QueryEscape("projects/"+testProject+"/locations/europe-west4")), func(r *aiplatformpb.CreateCustomJobRequest) {
			r.Parent = "projects/" + testProject + "/locations/europe-west4"
		}, codes.InvalidArgument},
		{"no display name", authed(route), func(r *aiplatformpb.CreateCustomJobRequest) { r.CustomJob.DisplayName = "" }, codes.InvalidArgument},
		{"no machine type", authed(route), func(r *aiplatformpb.CreateCustomJobRequest) {
			r.CustomJob.JobSpec.WorkerPoolSpecs[0].MachineSpec.MachineType = ""
		}, codes.InvalidArgument},
		{"unknown accelerator", authed(route), func(r *aiplatformpb.CreateCustomJobRequest) {
			r.CustomJob.JobSpec.WorkerPoolSpecs[0].MachineSpec.AcceleratorType, r.CustomJob.JobSpec.WorkerPoolSpecs[0].MachineSpec.AcceleratorCount = 99, 1
		}, codes.InvalidArgument},
		{"unknown strategy", authed(route), func(r *aiplatformpb.CreateCustomJobRequest) {
			r.CustomJob.JobSpec.Scheduling = &aiplatformpb.Scheduling{Strategy: 77}
		}, codes.InvalidArgument},
		{"two primary replicas", authed(route), func(r *aiplatformpb.CreateCustomJobRequest) { r.CustomJob.JobSpec.WorkerPoolSpecs[0].ReplicaCount = 2 }, codes.InvalidArgument},
		{"bad env name", authed(route), func(r *aiplatformpb.CreateCustomJobRequest) {
			r.CustomJob.JobSpec.WorkerPoolSpecs[0].GetContainerSpec().Env = []*aiplatformpb.EnvVar{{Name: "A-B"}}
		}, codes.InvalidArgument},
		{"bad label", authed(route), func(r *aiplatformpb.CreateCustomJobRequest) { r.CustomJob.Labels = map[string]string{"Team": "x"} }, codes.InvalidArgument},
		{"no image", authed(route), func(r *aiplatformpb.CreateCustomJobRequest) {
			r.CustomJob.JobSpec.WorkerPoolSpecs[0].GetContainerSpec().ImageUri = ""
		}, codes.InvalidArgument},
		{"output outside gcs", authed(route), func(r *aiplatformpb.CreateCustomJobRequest) {
			r.CustomJob.JobSpec.BaseOutputDirectory = &aiplatformpb.GcsDestination{OutputUriPrefix: "/tmp/out"}
		}, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &aiplatformpb.CreateCustomJobRequest{Parent: parent, CustomJob: good()}
			if tt.req != nil {
				tt.req(req)
			}
			_, err := jobs.CreateCustomJob(tt.ctx, req)
			if got := status.Code(err); got != tt.code {
				t.Errorf("code %v, want %v (%v)", got, tt.code, err)
			}
		})
	}
	t.Run("bad filter and job name", func(t *testing.T) {
		_, err := jobs.ListCustomJobs(authed(route), &aiplatformpb.ListCustomJobsRequest{Parent: parent, Filter: `color="red"`})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("unknown filter field: %v", err)
		}
		_, err = jobs.ListCustomJobs(authed(route), &aiplatformpb.ListCustomJobsRequest{Parent: parent, Filter: `state="JOB_STATE_DONE"`})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("unknown state: %v", err)
		}
		name := parent + "/customJobs/abc"
		_, err = jobs.GetCustomJob(authed("name="+url.QueryEscape(name)), &aiplatformpb.GetCustomJobRequest{Name: name})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("bad job name: %v", err)
		}
	})
	t.Run("logging", func(t *testing.T) {
		logs := loggingpb.NewLoggingServiceV2Client(conn)
		ctx := metadata.AppendToOutgoingContext(testCtx(t), "authorization", "Bearer "+mintToken(fs.id.secret))
		for _, req := range []*loggingpb.ListLogEntriesRequest{
			{ResourceNames: []string{"projects/other"}},
			{ResourceNames: []string{"projects/" + testProject}, Filter: `timestamp>"yesterday"`},
			{ResourceNames: []string{"projects/" + testProject}, Filter: `resource.type="ml_job" AND`},
			{ResourceNames: []string{"projects/" + testProject}, OrderBy: "insertId"},
			{ResourceNames: []string{"projects/" + testProject}, PageSize: 5000},
		} {
			if _, err := logs.ListLogEntries(ctx, req); status.Code(err) == codes.OK {
				t.Errorf("accepted %v", req)
			}
		}
	})
	t.Run("storage", func(t *testing.T) {
		for _, tt := range []struct {
			name, auth, ctype, query string
			code                     int
		}{
			{"no token", "", "application/json", "uploadType=resumable&name=x", http.StatusUnauthorized},
			{"multipart without multipart", "Bearer " + mintToken(fs.id.secret), "application/json", "uploadType=multipart", http.StatusBadRequest},
			{"resumable metadata not json", "Bearer " + mintToken(fs.id.secret), "text/plain", "uploadType=resumable&name=x", http.StatusBadRequest},
		} {
			req, _ := http.NewRequest(http.MethodPost, fs.gcs.base+"/upload/storage/v1/b/"+testBucket+"/o?"+tt.query, strings.NewReader("{}"))
			req.Header.Set("Content-Type", tt.ctype)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.code)
			}
		}
	})
	t.Run("token endpoint", func(t *testing.T) {
		for _, body := range []struct{ ctype, form string }{
			{"application/json", "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=x"},
			{"application/x-www-form-urlencoded", "grant_type=password"},
			{"application/x-www-form-urlencoded", "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=a.b.c"},
		} {
			resp, err := http.Post(fs.id.tokenURL, body.ctype, strings.NewReader(body.form))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%v: status %d", body, resp.StatusCode)
			}
		}
	})
}
