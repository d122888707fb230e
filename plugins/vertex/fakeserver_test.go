package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/logging/apiv2/loggingpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// fake is one region of a fake Google Cloud project: Vertex AI's job,
// model, endpoint and operations services and Cloud Logging, served over
// TLS with Google's own generated gRPC interfaces. It checks requests the
// way the real services do and refuses what they refuse.
type fake struct {
	project, location string

	mu     sync.Mutex
	calls  map[string]int
	faults map[string][]fault
	seq    int64

	jobs   map[string]*fakeJob
	manual bool // jobs wait in QUEUED for the test to move them
	gcs    *gcsClient
	work   string

	models    map[string]*aiplatformpb.Model
	endpoints map[string]*aiplatformpb.Endpoint
	ops       map[string]*fakeOp
	lroPolls  int // GetOperation calls before an operation is done

	logs []*loggingpb.LogEntry
}

// fault makes the next call of a method fail with code. With commit set the
// call takes effect first, as when a response is lost on the way back.
type fault struct {
	code   codes.Code
	commit bool
}

func newFake(project, location string) *fake {
	return &fake{project: project, location: location, calls: map[string]int{}, faults: map[string][]fault{},
		jobs: map[string]*fakeJob{}, models: map[string]*aiplatformpb.Model{}, endpoints: map[string]*aiplatformpb.Endpoint{},
		ops: map[string]*fakeOp{}, lroPolls: 2}
}

// serve starts the gRPC server on a TLS listener and returns its address.
func (f *fake) serve(t *testing.T, tlsCert *testTLS, secret []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]grpc.ServerOption{grpc.Creds(credentials.NewServerTLSFromCert(&tlsCert.cert))}, authInterceptors(secret)...)
	s := grpc.NewServer(opts...)
	aiplatformpb.RegisterJobServiceServer(s, &jobServer{fake: f})
	aiplatformpb.RegisterModelServiceServer(s, &modelServer{fake: f})
	aiplatformpb.RegisterEndpointServiceServer(s, &endpointServer{fake: f})
	longrunningpb.RegisterOperationsServer(s, &opsServer{fake: f})
	loggingpb.RegisterLoggingServiceV2Server(s, &loggingServer{fake: f})
	go s.Serve(ln)
	t.Cleanup(func() {
		s.Stop()
		f.stopAll()
	})
	return ln.Addr().String()
}

// inject queues faults for the next calls of method.
func (f *fake) inject(method string, fs ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[method] = append(f.faults[method], fs...)
}

func (f *fake) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// begin counts a call, checks its routing header, and pops a fault. A
// fault without commit is returned as the call's error at once.
func (f *fake) begin(ctx context.Context, method, param, value string) (*fault, error) {
	f.mu.Lock()
	f.calls[method]++
	var ft *fault
	if q := f.faults[method]; len(q) > 0 {
		ft, f.faults[method] = &q[0], q[1:]
	}
	f.mu.Unlock()
	if param != "" {
		md, _ := metadata.FromIncomingContext(ctx)
		want := param + "=" + url.QueryEscape(value)
		found := false
		for _, h := range md.Get("x-goog-request-params") {
			found = found || strings.Contains("&"+h+"&", "&"+want+"&")
		}
		if !found {
			return nil, status.Errorf(codes.InvalidArgument, "missing or wrong x-goog-request-params: want %s", want)
		}
	}
	if ft != nil && !ft.commit {
		return nil, status.Error(ft.code, "injected "+ft.code.String())
	}
	return ft, nil
}

// failAfter turns a committed fault into the call's error.
func failAfter(ft *fault) error {
	if ft != nil {
		return status.Error(ft.code, "injected "+ft.code.String()+" after the change was made")
	}
	return nil
}

var parentRe = regexp.MustCompile(`^projects/([^/]+)/locations/([^/]+)$`)

// checkParent checks a location resource name against this project and
// region: another project is forbidden, another region is another
// endpoint's business.
func (f *fake) checkParent(field, parent, permission string) error {
	m := parentRe.FindStringSubmatch(parent)
	if m == nil {
		return invalid(field, "Invalid resource name "+parent+"; want projects/{project}/locations/{location}")
	}
	if m[1] != f.project {
		return status.Errorf(codes.PermissionDenied, "Permission '%s' denied on resource '//aiplatform.googleapis.com/%s' (or it may not exist).", permission, parent)
	}
	if m[2] != f.location {
		return invalid(field, fmt.Sprintf("location %s does not match the endpoint's location %s", m[2], f.location))
	}
	return nil
}

// checkName checks a resource name of the given collection under this
// project and region; idRe checks the last segment.
func (f *fake) checkName(field, name, collection string, idRe *regexp.Regexp, permission string) error {
	parent, id, ok := strings.Cut(name, "/"+collection+"/")
	if !ok || !idRe.MatchString(id) {
		return invalid(field, "Invalid resource name "+name)
	}
	return f.checkParent(field, parent, permission)
}

// invalid is INVALID_ARGUMENT in the form Vertex AI reports field errors.
func invalid(field, msg string) error {
	return status.Errorf(codes.InvalidArgument, "List of found errors:\t1.Field: %s; Message: %s\t", field, msg)
}

// problems collects field errors and reports them together.
type problems []string

func (p *problems) add(field, msg string) { *p = append(*p, field+"; Message: "+msg) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("List of found errors:")
	for i, s := range p {
		fmt.Fprintf(&b, "\t%d.Field: %s", i+1, s)
	}
	return status.Error(codes.InvalidArgument, b.String()+"\t")
}

func (f *fake) nextSeq() int64 {
	f.seq++
	return f.seq
}

// pageToken and offset encode a listing position.
func pageToken(filter string, off int) string { return fmt.Sprintf("%d:%x", off, len(filter)) }

func pageOffset(tok, filter string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	var off, n int
	if _, err := fmt.Sscanf(tok, "%d:%x", &off, &n); err != nil || n != len(filter) || off < 0 {
		return 0, status.Error(codes.InvalidArgument, "Invalid page token: "+tok)
	}
	return off, nil
}
