package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// Cloud Storage is fake-gcs-server behind a check of the Authorization
// header and of upload content types. It runs in a child process (this
// test binary, started with envGCSChild) so that the memory it spends
// holding objects never counts against the plugin's in the tests that
// measure it.
const (
	envGCSChild   = "NEURAL_VERTEX_FAKE_GCS_SECRET"
	envGCSBuckets = "NEURAL_VERTEX_FAKE_GCS_BUCKETS"
)

func gcsChildMain() {
	secret, err := hex.DecodeString(os.Getenv(envGCSChild))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake gcs:", err)
		os.Exit(2)
	}
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, PublicHost: "127.0.0.1"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake gcs:", err)
		os.Exit(2)
	}
	for _, b := range strings.Split(os.Getenv(envGCSBuckets), ",") {
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b, VersioningEnabled: false})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake gcs:", err)
		os.Exit(2)
	}
	fmt.Println("http://" + ln.Addr().String())
	go http.Serve(ln, gcsGuard(secret, srv.HTTPHandler()))
	// The parent holds stdin open for as long as it needs the server.
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// gcsGuard refuses what Cloud Storage refuses before fake-gcs-server sees
// it: requests without a valid token, and uploads whose content type does
// not match their upload type.
func gcsGuard(secret []byte, next http.Handler) http.Handler {
	fail := func(w http.ResponseWriter, code int, reason, msg string) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg,
			"errors": []map[string]string{{"message": msg, "domain": "global", "reason": reason}}}})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !validToken(secret, r.Header.Get("Authorization")) {
			fail(w, http.StatusUnauthorized, "required", "Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object.")
			return
		}
		if strings.HasPrefix(r.URL.Path, "/upload/") && r.Method == http.MethodPost {
			ct := r.Header.Get("Content-Type")
			switch r.URL.Query().Get("uploadType") {
			case "multipart":
				if !strings.HasPrefix(ct, "multipart/related") {
					fail(w, http.StatusBadRequest, "invalid", "Content-Type must be multipart/related for a multipart upload, not "+ct)
					return
				}
			case "resumable":
				// Chunks go to the session URI, which carries upload_id.
				if r.URL.Query().Get("upload_id") == "" && r.ContentLength != 0 && !strings.HasPrefix(ct, "application/json") {
					fail(w, http.StatusBadRequest, "invalid", "Metadata of a resumable upload must be application/json, not "+ct)
					return
				}
			case "media":
			default:
				fail(w, http.StatusBadRequest, "invalid", "Unknown uploadType")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// startGCS starts the child and returns its base URL.
func startGCS(t *testing.T, secret []byte, buckets ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envGCSChild+"="+hex.EncodeToString(secret), envGCSBuckets+"="+strings.Join(buckets, ","))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case u := <-line:
		if !strings.HasPrefix(u, "http://") {
			t.Fatalf("fake gcs did not start: %q", u)
		}
		return u
	case <-time.After(20 * time.Second):
		t.Fatal("fake gcs did not start in time")
	}
	return ""
}

// gcsClient talks to the fake storage with a minted token, for the fake
// job runner and for tests that look behind the plugin's back.
type gcsClient struct {
	base   string
	secret []byte
}

func (c *gcsClient) do(method, u, ctype string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, c.base+u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+mintToken(c.secret))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return http.DefaultClient.Do(req)
}

func objectPath(bucket, obj string) string {
	return "/storage/v1/b/" + bucket + "/o/" + url.PathEscape(obj)
}

// download copies an object to dst; it reports false when there is none.
func (c *gcsClient) download(bucket, obj, dst string) (bool, error) {
	resp, err := c.do(http.MethodGet, objectPath(bucket, obj)+"?alt=media", "", nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("GET %s/%s: %s", bucket, obj, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return false, err
	}
	f, err := os.Create(dst)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err == nil, err
}

func (c *gcsClient) put(bucket, obj string, body io.Reader) error {
	resp, err := c.do(http.MethodPost, "/upload/storage/v1/b/"+bucket+"/o?uploadType=media&name="+url.QueryEscape(obj), "application/octet-stream", body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("upload %s/%s: %s %s", bucket, obj, resp.Status, b)
	}
	return nil
}

func (c *gcsClient) upload(bucket, obj, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return c.put(bucket, obj, f)
}

func (c *gcsClient) read(bucket, obj string) ([]byte, error) {
	resp, err := c.do(http.MethodGet, objectPath(bucket, obj)+"?alt=media", "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/%s: %s", bucket, obj, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// list returns the object names under prefix.
func (c *gcsClient) list(bucket, prefix string) ([]string, error) {
	resp, err := c.do(http.MethodGet, "/storage/v1/b/"+bucket+"/o?prefix="+url.QueryEscape(prefix), "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Items []struct{ Name string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	var out []string
	for _, it := range body.Items {
		out = append(out, it.Name)
	}
	return out, nil
}
