package fakeworkspace

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

const validCluster = `{"spark_version":"15.4.x-cpu-ml-scala2.12","node_type_id":"m5d.xlarge","num_workers":1}`

func submitBody(cluster string) string {
	return `{"run_name":"r","tasks":[{"task_key":"neural","spark_python_task":{"python_file":"dbfs:/x.py"},"new_cluster":` + cluster + `}]}`
}

// TestRejects sends what a real workspace rejects, next to a valid
// request of the same kind that it accepts.
func TestRejects(t *testing.T) {
	s, err := New(t.TempDir(), Options{Volumes: []string{"/Volumes/main/default/v"}, Models: map[string][]string{"m": {"1"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bearer := "Bearer " + s.Token()
	tests := []struct {
		name, method, path, body, auth, ctype string
		status                                int
		message                               string
	}{
		{"valid submit", "POST", "/api/2.2/jobs/runs/submit", submitBody(validCluster), bearer, "application/json", 200, ""},
		{"no bearer token", "POST", "/api/2.2/jobs/runs/submit", submitBody(validCluster), "", "application/json", 401, "Credential was not sent"},
		{"basic auth", "GET", "/api/2.0/preview/scim/v2/Me", "", "Basic dTpw", "", 401, "Credential was not sent"},
		{"wrong token", "GET", "/api/2.0/preview/scim/v2/Me", "", "Bearer dapi-nope", "", 403, "Invalid access token"},
		{"bad JSON", "POST", "/api/2.2/jobs/runs/submit", `{"tasks":[`, bearer, "application/json", 400, "Invalid JSON"},
		{"wrong content type", "POST", "/api/2.2/jobs/runs/submit", submitBody(validCluster), bearer, "text/plain", 415, "Content-Type"},
		{"missing tasks", "POST", "/api/2.2/jobs/runs/submit", `{"run_name":"r"}`, bearer, "application/json", 400, "Missing required field: tasks"},
		{"missing task_key", "POST", "/api/2.2/jobs/runs/submit", `{"tasks":[{"spark_python_task":{"python_file":"dbfs:/x.py"},"new_cluster":` + validCluster + `}]}`, bearer, "application/json", 400, "Missing required field: tasks[0].task_key"},
		{"bad task_key", "POST", "/api/2.2/jobs/runs/submit", strings.Replace(submitBody(validCluster), `"neural"`, `"a b"`, 1), bearer, "application/json", 400, "Invalid task_key"},
		{"unknown cluster field", "POST", "/api/2.2/jobs/runs/submit", submitBody(`{"spark_version":"15.4.x-cpu-ml-scala2.12","node_type_id":"m5d.xlarge","num_workers":1,"gpus":1}`), bearer, "application/json", 400, "Unknown field tasks[0].new_cluster.gpus"},
		{"unknown enum value", "POST", "/api/2.2/jobs/runs/submit", submitBody(`{"spark_version":"15.4.x-cpu-ml-scala2.12","node_type_id":"m5d.xlarge","num_workers":1,"aws_attributes":{"availability":"CHEAP"}}`), bearer, "application/json", 400, "Invalid value \"CHEAP\""},
		{"null cluster", "POST", "/api/2.2/jobs/runs/submit", submitBody(`null`), bearer, "application/json", 400, "must be specified"},
		{"no cluster size", "POST", "/api/2.2/jobs/runs/submit", submitBody(`{"spark_version":"15.4.x-cpu-ml-scala2.12","node_type_id":"m5d.xlarge"}`), bearer, "application/json", 400, "num_workers or autoscale"},
		{"zero workers not single node", "POST", "/api/2.2/jobs/runs/submit", submitBody(`{"spark_version":"15.4.x-cpu-ml-scala2.12","node_type_id":"m5d.xlarge","num_workers":0}`), bearer, "application/json", 400, "single node"},
		{"gpu runtime on cpu node", "POST", "/api/2.2/jobs/runs/submit", submitBody(`{"spark_version":"15.4.x-gpu-ml-scala2.12","node_type_id":"m5d.xlarge","num_workers":1}`), bearer, "application/json", 400, "does not have GPUs"},
		{"unknown node type", "POST", "/api/2.2/jobs/runs/submit", submitBody(`{"spark_version":"15.4.x-cpu-ml-scala2.12","node_type_id":"z9.huge","num_workers":1}`), bearer, "application/json", 400, "not supported"},
		{"string for integer", "POST", "/api/2.2/jobs/runs/submit", `{"timeout_seconds":"60","tasks":[]}`, bearer, "application/json", 400, "expected an integer"},
		{"long idempotency token", "POST", "/api/2.2/jobs/runs/submit", strings.Replace(submitBody(validCluster), `"run_name":"r"`, `"run_name":"r","idempotency_token":"`+strings.Repeat("k", 65)+`"`, 1), bearer, "application/json", 400, "at most 64"},
		{"run_id missing", "GET", "/api/2.2/jobs/runs/get", "", bearer, "", 400, "Missing required field: run_id"},
		{"unknown run", "GET", "/api/2.2/jobs/runs/get?run_id=7", "", bearer, "", 400, "does not exist"},
		{"list limit too high", "GET", "/api/2.2/jobs/runs/list?limit=26", "", bearer, "", 400, "limit must be between 1 and 25"},
		{"list bad run type", "GET", "/api/2.2/jobs/runs/list?run_type=ALL", "", bearer, "", 400, "Invalid run_type"},
		{"dbfs relative path", "POST", "/api/2.0/dbfs/create", `{"path":"x/y"}`, bearer, "application/json", 400, "must be absolute"},
		{"dbfs add-block without handle", "POST", "/api/2.0/dbfs/add-block", `{"data":""}`, bearer, "application/json", 400, "Missing required field: handle"},
		{"dbfs read too much", "GET", "/api/2.0/dbfs/read?path=/x&length=1048577", "", bearer, "", 400, "Cannot read more than 1 MB"},
		{"files upload as JSON", "PUT", "/api/2.0/fs/files/Volumes/main/default/v/a.txt", "hi", bearer, "application/json", 415, "octet-stream"},
		{"files outside a volume", "PUT", "/api/2.0/fs/files/Volumes/main/default/nope/a.txt", "hi", bearer, "application/octet-stream", 404, "volume"},
		{"files upload", "PUT", "/api/2.0/fs/files/Volumes/main/default/v/a.txt?overwrite=true", "hi", bearer, "application/octet-stream", 204, ""},
		{"bad endpoint name", "POST", "/api/2.0/serving-endpoints", `{"name":"a b","config":{"served_entities":[{"entity_name":"m","entity_version":"1","workload_size":"Small"}]}}`, bearer, "application/json", 400, "Endpoint name"},
		{"bad workload type", "POST", "/api/2.0/serving-endpoints", `{"name":"e","config":{"served_entities":[{"entity_name":"m","entity_version":"1","workload_size":"Small","workload_type":"TPU"}]}}`, bearer, "application/json", 400, "Invalid value \"TPU\""},
		{"unknown model", "POST", "/api/2.0/serving-endpoints", `{"name":"e","config":{"served_entities":[{"entity_name":"x","entity_version":"1","workload_size":"Small"}]}}`, bearer, "application/json", 404, "does not exist"},
		{"valid endpoint", "POST", "/api/2.0/serving-endpoints", `{"name":"e","config":{"served_entities":[{"entity_name":"m","entity_version":"1","workload_size":"Small"}]}}`, bearer, "application/json", 200, ""},
		{"no such API", "GET", "/api/2.0/clusters/list", "", bearer, "", 404, "No API found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.URL+tt.path, strings.NewReader(tt.body))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.message == "" {
				return
			}
			var e struct{ ErrorCode, Message string }
			if err := json.Unmarshal(b, &e); err != nil || !strings.Contains(e.Message, tt.message) {
				t.Errorf("body %s does not say %q", b, tt.message)
			}
		})
	}
}
