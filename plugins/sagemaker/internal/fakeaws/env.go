// Package fakeaws runs local stand-ins for the AWS services the sagemaker
// plugin calls: SageMaker and CloudWatch Logs (AWS JSON 1.1), STS (AWS
// query) and S3 (gofakes3). Each checks SigV4 signatures with the test
// credentials and validates inputs against the official service models, so
// a request the real service would refuse is refused here too.
//
// The SageMaker stand-in runs a training job the way a framework container
// in script mode does: it downloads sagemaker_submit_directory from the S3
// stand-in, runs sagemaker_program with python on this machine once per
// instance, writes each host's output to CloudWatch Logs as JOB/algo-N-EPOCH
// and uploads the model and output directories as model.tar.gz and
// output.tar.gz. It is for tests only.
package fakeaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Env is one set of running stand-ins and the credentials they accept.
type Env struct {
	Region, Account       string
	AccessKey, SecretKey  string
	SessionToken          string
	RoleARN               string
	SageMakerURL, LogsURL string
	STSURL, S3URL         string
	SageMaker             *SageMaker
	Logs                  *Logs
	S3                    *s3mem.Backend
	opts                  Options
	faultsMu              sync.Mutex
	faults                map[string][]*Fault
	calls                 sync.Map // "service.Op" -> *atomic.Int64
	requestID             atomic.Int64
}

// Options tune the stand-ins. Zero values take the defaults noted.
type Options struct {
	// Region defaults to us-east-1.
	Region string
	// Python runs training programs; default python3.
	Python string
	// StartDelay is how long a job stays Starting; default none.
	StartDelay time.Duration
	// EndpointDelay is how long an endpoint stays Creating or Deleting;
	// default 50ms.
	EndpointDelay time.Duration
	// StopGrace is how long a stopped job's processes get between SIGTERM
	// and SIGKILL; default 2s (SageMaker gives 120s).
	StopGrace time.Duration
	// SpotBillable is the share of a spot job's seconds billed; default 0.3.
	SpotBillable float64
}

// Start runs the stand-ins until t ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Python == "" {
		opts.Python = "python3"
	}
	if opts.EndpointDelay == 0 {
		opts.EndpointDelay = 50 * time.Millisecond
	}
	if opts.StopGrace == 0 {
		opts.StopGrace = 2 * time.Second
	}
	if opts.SpotBillable == 0 {
		opts.SpotBillable = 0.3
	}
	e := &Env{
		Region: opts.Region, Account: "123456789012",
		AccessKey: "AKIANEURALTEST000001", SecretKey: "neural-test-secret-key-0000000000000000",
		opts: opts, faults: map[string][]*Fault{},
	}
	e.RoleARN = "arn:aws:iam::" + e.Account + ":role/NeuralSageMakerExecution"
	e.S3 = s3mem.New()
	e.Logs = newLogs(e)
	e.SageMaker = newSageMaker(e)
	servers := map[*string]http.Handler{
		&e.SageMakerURL: e.jsonService("sagemaker", "SageMaker", loadModel("sagemaker-2017-07-24.json"), e.SageMaker.ops()),
		&e.LogsURL:      e.jsonService("logs", "Logs_20140328", loadModel("logs-2014-03-28.json"), e.Logs.ops()),
		&e.STSURL:       http.HandlerFunc(e.serveSTS),
		&e.S3URL:        e.s3Handler(gofakes3.New(e.S3, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()),
	}
	for url, h := range servers {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		*url = srv.URL
	}
	t.Cleanup(e.SageMaker.stopAll)
	return e
}

// Environ is what points a freshly started plugin at these stand-ins: the
// AWS SDK's own variables, with no shared config files or instance
// metadata to fall back on.
func (e *Env) Environ() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + e.AccessKey, "AWS_SECRET_ACCESS_KEY=" + e.SecretKey, "AWS_REGION=" + e.Region,
		"AWS_ENDPOINT_URL_SAGEMAKER=" + e.SageMakerURL, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=" + e.LogsURL,
		"AWS_ENDPOINT_URL_STS=" + e.STSURL, "AWS_ENDPOINT_URL_S3=" + e.S3URL,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/nonexistent/neural-test-aws-config",
		"AWS_SHARED_CREDENTIALS_FILE=/nonexistent/neural-test-aws-credentials",
		"SAGEMAKER_ROLE_ARN=" + e.RoleARN,
	}
}

// Fault makes calls of one operation fail.
type Fault struct {
	// Op is the operation, such as CreateTrainingJob.
	Op string
	// Code and Status are the error's code and HTTP status, such as
	// ThrottlingException and 400.
	Code    string
	Status  int
	Message string
	// AfterHandling performs the operation before failing, as when the
	// service acted but its answer was lost.
	AfterHandling bool
	// Times is how many calls fail; zero means one.
	Times int
}

// Inject queues f for the service's next calls of f.Op.
func (e *Env) Inject(service string, f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	e.faultsMu.Lock()
	defer e.faultsMu.Unlock()
	e.faults[service+"."+f.Op] = append(e.faults[service+"."+f.Op], &f)
}

func (e *Env) nextFault(service, op string) *Fault {
	e.faultsMu.Lock()
	defer e.faultsMu.Unlock()
	q := e.faults[service+"."+op]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	if f.Times--; f.Times == 0 {
		e.faults[service+"."+op] = q[1:]
	}
	return f
}

// Calls is how many signed requests for op the service has received.
func (e *Env) Calls(service, op string) int {
	if v, ok := e.calls.Load(service + "." + op); ok {
		return int(v.(*atomic.Int64).Load())
	}
	return 0
}

func (e *Env) count(service, op string) {
	v, _ := e.calls.LoadOrStore(service+"."+op, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// apiError is an error answer of a JSON service.
type apiError struct {
	status        int
	code, message string
}

func (a *apiError) Error() string { return a.code + ": " + a.message }

func validation(format string, args ...any) *apiError {
	return &apiError{400, "ValidationException", fmt.Sprintf(format, args...)}
}

// handler serves one operation. req is the decoded input (numbers as
// json.Number), raw the body, for decoding into typed structs.
type handler func(req map[string]any, raw []byte) (any, *apiError)

const jsonContentType = "application/x-amz-json-1.1"

// jsonService serves an AWS JSON 1.1 protocol service: POST /, the
// operation in X-Amz-Target as PREFIX.Op, JSON in and out.
func (e *Env) jsonService(signingName, prefix string, m *model, ops map[string]handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			e.writeJSONError(w, &apiError{400, "SerializationException", err.Error()})
			return
		}
		if af := e.verify(r, body, signingName); af != nil {
			e.writeJSONError(w, &apiError{400, af.code, af.msg})
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != "/" {
			e.writeJSONError(w, &apiError{404, "UnknownOperationException", "Unknown operation"})
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != jsonContentType {
			e.writeJSONError(w, &apiError{400, "UnknownOperationException", "Unsupported content type " + ct})
			return
		}
		target, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		h, ok := ops[op]
		if target != prefix || !ok {
			e.writeJSONError(w, &apiError{400, "UnknownOperationException", "Unknown operation " + r.Header.Get("X-Amz-Target")})
			return
		}
		e.count(signingName, op)
		var req map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&req); err != nil {
			e.writeJSONError(w, &apiError{400, "SerializationException", "Start of structure or map found where not expected: " + err.Error()})
			return
		}
		problems, err := m.validate(op, req)
		if err != nil {
			e.writeJSONError(w, &apiError{400, "SerializationException", err.Error()})
			return
		}
		if len(problems) > 0 {
			e.writeJSONError(w, validation("%s", validationMessage(problems)))
			return
		}
		fault := e.nextFault(signingName, op)
		if fault != nil && !fault.AfterHandling {
			e.writeJSONError(w, &apiError{fault.Status, fault.Code, fault.Message})
			return
		}
		out, aerr := h(req, body)
		if fault != nil {
			e.writeJSONError(w, &apiError{fault.Status, fault.Code, fault.Message})
			return
		}
		if aerr != nil {
			e.writeJSONError(w, aerr)
			return
		}
		if out == nil {
			out = struct{}{}
		}
		b, _ := json.Marshal(out)
		w.Header().Set("Content-Type", jsonContentType)
		w.Header().Set("X-Amzn-RequestId", e.newRequestID())
		w.Write(b)
	})
}

func (e *Env) newRequestID() string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", e.requestID.Add(1))
}

func (e *Env) writeJSONError(w http.ResponseWriter, a *apiError) {
	b, _ := json.Marshal(map[string]string{"__type": a.code, "message": a.message})
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("X-Amzn-RequestId", e.newRequestID())
	w.Header().Set("X-Amzn-ErrorType", a.code)
	w.WriteHeader(a.status)
	w.Write(b)
}

// epoch renders a time as AWS JSON's epoch seconds.
func epoch(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return json.Number(fmt.Sprintf("%.3f", float64(t.UnixMilli())/1000))
}
