// Package fakeworkspace is a Databricks workspace for tests: an HTTP server
// on 127.0.0.1 that speaks the REST API the databricks plugin uses (SCIM
// Me, Jobs runs 2.1 and 2.2, DBFS, the Files API for volumes, Model Serving
// endpoints and OAuth M2M tokens) and rejects what a real workspace
// rejects: missing or wrong credentials, malformed JSON, unknown fields,
// missing required fields, unknown enum values, bad names and wrong
// content types. Request shapes are checked against the Databricks Go
// SDK's own request types.
//
// Submitted runs really run: the fake starts the run's Python file with
// the local python3, as a cluster driver would, with DBFS and volumes kept
// on disk below Root where NEURAL_FUSE_ROOT points the launcher. Faults
// (status codes, Retry-After, dropped connections) can be injected per
// request. It is not a Spark cluster and keeps everything in memory but
// files.
package fakeworkspace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options configure a fake workspace. Zero values take the defaults noted.
type Options struct {
	// Token is the personal access token the workspace accepts; default
	// a random dapi token.
	Token string
	// ClientID and ClientSecret are the OAuth M2M service principal; default
	// random values.
	ClientID, ClientSecret string
	// UserName is who SCIM Me reports; default neural@example.com.
	UserName string
	// Python runs submitted Python files; default python3 on PATH.
	Python string
	// StartDelay is how long a run stays PENDING before its driver starts.
	StartDelay time.Duration
	// ReadyAfter is how long a serving endpoint takes to become ready.
	ReadyAfter time.Duration
	// Clusters are the existing cluster ids runs may use.
	Clusters []string
	// Volumes are the Unity Catalog volumes, as /Volumes/c/s/v.
	Volumes []string
	// Models maps registered model names to their versions.
	Models map[string][]string
	// FailingModels are model names whose deployments fail to build.
	FailingModels []string
	// Serverless lets runs use serverless jobs compute.
	Serverless bool
}

// Server is a running fake workspace.
type Server struct {
	// URL is the workspace host, http://127.0.0.1:PORT.
	URL string
	// Root holds DBFS (Root/dbfs) and volumes (Root/Volumes) on disk.
	Root string
	opts Options
	srv  *http.Server
	ln   net.Listener

	mu        sync.Mutex
	oauth     map[string]bool
	faults    []*Fault
	requests  []Request
	runs      map[int64]*run
	taskRuns  map[int64]*run
	tokens    map[string]int64
	submitted []map[string]any
	nextID    int64
	handles   map[int64]*handle
	nextH     int64
	endpoints map[string]*endpoint
	wg        sync.WaitGroup
	closing   chan struct{}
}

// Request is one request the fake received.
type Request struct {
	Method, Path string
	Time         time.Time
	// Status is what the fake answered; 0 for a dropped connection.
	Status int
}

// New starts a fake workspace with its files below root.
func New(root string, opts Options) (*Server, error) {
	if opts.Token == "" {
		opts.Token = "dapi" + randomHex(16)
	}
	if opts.ClientID == "" {
		opts.ClientID = "sp-" + randomHex(8)
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "dose" + randomHex(16)
	}
	if opts.UserName == "" {
		opts.UserName = "neural@example.com"
	}
	if opts.Python == "" {
		opts.Python = "python3"
	}
	for _, d := range append([]string{"dbfs"}, opts.Volumes...) {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Root: root, opts: opts, ln: ln,
		oauth: map[string]bool{}, runs: map[int64]*run{}, taskRuns: map[int64]*run{}, tokens: map[string]int64{},
		nextID: 1000, handles: map[int64]*handle{}, endpoints: map[string]*endpoint{}, closing: make(chan struct{})}
	s.srv = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Token is the personal access token the workspace accepts.
func (s *Server) Token() string { return s.opts.Token }

// ClientID and ClientSecret are the OAuth M2M credentials it accepts.
func (s *Server) ClientID() string     { return s.opts.ClientID }
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// Close stops the server and kills any run still going.
func (s *Server) Close() {
	close(s.closing)
	s.mu.Lock()
	for _, r := range s.runs {
		r.kill()
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	s.wg.Wait()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Fault makes matching requests fail. Zero Method or Path match any.
type Fault struct {
	Method, Path string
	// Status answers with this code and a Databricks error body.
	Status     int
	ErrorCode  string
	RetryAfter string
	// Drop handles the request, then resets the connection instead of
	// answering: the client cannot tell whether it took effect.
	Drop bool
	// Times is how many requests fail; zero means one.
	Times int
	hits  int
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// Requests returns the requests received for method and path (empty
// matches any), in order.
func (s *Server) Requests(method, path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if (method == "" || r.Method == method) && (path == "" || r.Path == path) {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) fault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.hits < f.Times && (f.Method == "" || f.Method == r.Method) && (f.Path == "" || f.Path == r.URL.Path) {
			f.hits++
			return f
		}
	}
	return nil
}

func (s *Server) record(r *http.Request, status int) {
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Time: time.Now(), Status: status})
	s.mu.Unlock()
}

// apiError is a Databricks error response.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error_code": e.code, "message": e.msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// handler is an API handler: it answers, or returns the error to send.
type handler func(w http.ResponseWriter, r *http.Request) *apiError

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	public := func(pattern string, h handler) { mux.Handle(pattern, s.wrap(h, false)) }
	api := func(pattern string, h handler) { mux.Handle(pattern, s.wrap(h, true)) }

	public("GET /oidc/.well-known/oauth-authorization-server", s.oidcDiscovery)
	public("POST /oidc/v1/token", s.oidcToken)
	public("GET /.well-known/databricks-config", s.hostMetadata)
	api("GET /api/2.0/preview/scim/v2/Me", s.me)
	for _, v := range []string{"2.1", "2.2"} {
		api("POST /api/"+v+"/jobs/runs/submit", s.submit)
		api("GET /api/"+v+"/jobs/runs/get", s.getRun)
		api("GET /api/"+v+"/jobs/runs/get-output", s.getOutput)
		api("GET /api/"+v+"/jobs/runs/list", s.listRuns)
		api("POST /api/"+v+"/jobs/runs/cancel", s.cancelRun)
	}
	api("POST /api/2.0/dbfs/create", s.dbfsCreate)
	api("POST /api/2.0/dbfs/add-block", s.dbfsAddBlock)
	api("POST /api/2.0/dbfs/close", s.dbfsClose)
	api("GET /api/2.0/dbfs/get-status", s.dbfsGetStatus)
	api("GET /api/2.0/dbfs/list", s.dbfsList)
	api("GET /api/2.0/dbfs/read", s.dbfsRead)
	api("POST /api/2.0/dbfs/mkdirs", s.dbfsMkdirs)
	api("POST /api/2.0/dbfs/delete", s.dbfsDelete)
	api("PUT /api/2.0/fs/files/{path...}", s.filesPut)
	api("GET /api/2.0/fs/files/{path...}", s.filesGet)
	api("HEAD /api/2.0/fs/files/{path...}", s.filesHead)
	api("DELETE /api/2.0/fs/files/{path...}", s.filesDelete)
	api("GET /api/2.0/fs/directories/{path...}", s.dirList)
	api("HEAD /api/2.0/fs/directories/{path...}", s.dirHead)
	api("PUT /api/2.0/fs/directories/{path...}", s.dirCreate)
	api("POST /api/2.0/serving-endpoints", s.createEndpoint)
	api("GET /api/2.0/serving-endpoints", s.listEndpoints)
	api("GET /api/2.0/serving-endpoints/{name}", s.getEndpoint)
	api("DELETE /api/2.0/serving-endpoints/{name}", s.deleteEndpoint)
	mux.Handle("/", s.wrap(func(w http.ResponseWriter, r *http.Request) *apiError {
		return errf(404, "ENDPOINT_NOT_FOUND", "No API found for '%s %s'", r.Method, r.URL.Path)
	}, false))
	return mux
}

// wrap applies faults and authentication around h, and records the request.
func (s *Server) wrap(h handler, auth bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := s.fault(r)
		if f != nil && !f.Drop {
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			code := f.ErrorCode
			if code == "" {
				code = map[int]string{429: "TOO_MANY_REQUESTS", 503: "TEMPORARILY_UNAVAILABLE", 500: "INTERNAL_ERROR"}[f.Status]
			}
			s.record(r, f.Status)
			writeError(w, errf(f.Status, code, "injected fault"))
			return
		}
		out := w
		var rec *httptest.ResponseRecorder
		if f != nil {
			rec = httptest.NewRecorder()
			out = rec
		}
		status := s.serve(out, r, h, auth)
		if rec == nil {
			s.record(r, status)
			return
		}
		s.record(r, 0)
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("fakeworkspace: connection cannot be hijacked")
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with a reset, as a failing load balancer does
		}
		conn.Close()
	})
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, h handler, auth bool) int {
	sw := &statusWriter{ResponseWriter: w}
	if auth {
		if e := s.authenticate(r); e != nil {
			writeError(sw, e)
			return sw.status
		}
	}
	if e := h(sw, r); e != nil {
		if r.Method == http.MethodHead {
			sw.WriteHeader(e.status)
		} else {
			writeError(sw, e)
		}
	}
	if sw.status == 0 {
		sw.WriteHeader(200)
	}
	return sw.status
}

func (s *Server) authenticate(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if h == "" || !ok || tok == "" {
		return errf(401, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type for this API.")
	}
	if id := r.Header.Get("X-Databricks-Workspace-Id"); id != "" && id != WorkspaceID {
		return errf(400, "INVALID_PARAMETER_VALUE", "Workspace %s is not this workspace", id)
	}
	s.mu.Lock()
	known := tok == s.opts.Token || s.oauth[tok]
	s.mu.Unlock()
	if !known {
		return errf(403, "PERMISSION_DENIED", "Invalid access token.")
	}
	return nil
}

func (s *Server) me(w http.ResponseWriter, _ *http.Request) *apiError {
	writeJSON(w, map[string]any{"id": "4242", "userName": s.opts.UserName, "displayName": "Neural Test", "active": true,
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"emails":  []map[string]any{{"value": s.opts.UserName, "primary": true, "type": "work"}}})
	return nil
}

// WorkspaceID is the workspace id the fake reports in its host metadata.
const WorkspaceID = "1234567890"

// hostMetadata answers the discovery document SDKs read before anything
// else: which cloud, which workspace, where its OAuth server is.
func (s *Server) hostMetadata(w http.ResponseWriter, _ *http.Request) *apiError {
	writeJSON(w, map[string]any{"oidc_endpoint": s.URL + "/oidc", "workspace_id": WorkspaceID, "cloud": "AWS",
		"host_type": "WORKSPACE_HOST", "token_federation_default_oidc_audiences": []string{s.URL + "/oidc/v1/token"}})
	return nil
}

func (s *Server) oidcDiscovery(w http.ResponseWriter, _ *http.Request) *apiError {
	writeJSON(w, map[string]any{"issuer": s.URL + "/oidc", "authorization_endpoint": s.URL + "/oidc/v1/authorize",
		"token_endpoint": s.URL + "/oidc/v1/token", "grant_types_supported": []string{"client_credentials", "authorization_code", "refresh_token"}})
	return nil
}

// oidcToken issues client-credentials tokens, as the workspace's OAuth
// server does for service principals.
func (s *Server) oidcToken(w http.ResponseWriter, r *http.Request) *apiError {
	id, secret, ok := r.BasicAuth()
	if err := r.ParseForm(); err != nil || !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "Client authentication failed"})
		return nil
	}
	if r.PostForm.Get("grant_type") != "client_credentials" || !strings.Contains(r.PostForm.Get("scope"), "all-apis") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "grant_type must be client_credentials with scope all-apis"})
		return nil
	}
	if id != s.opts.ClientID || secret != s.opts.ClientSecret {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "Client authentication failed"})
		return nil
	}
	tok := "oauth-" + randomHex(16)
	s.mu.Lock()
	s.oauth[tok] = true
	s.mu.Unlock()
	writeJSON(w, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600, "scope": "all-apis"})
	return nil
}

// requireJSON checks the request declares a JSON body.
func requireJSON(r *http.Request) *apiError {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/json") {
		return errf(415, "BAD_REQUEST", "Content-Type %q is not supported; send application/json", ct)
	}
	return nil
}

func nowMS() int64 { return time.Now().UnixMilli() }
