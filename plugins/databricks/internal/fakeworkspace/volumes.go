package fakeworkspace

import (
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/databricks/databricks-sdk-go/service/files"
)

// volumePath checks a Files API path and maps it onto the disk. The path
// must lie inside one of the workspace's volumes.
func (s *Server) volumePath(r *http.Request) (string, string, *apiError) {
	p := "/" + r.PathValue("path")
	clean := path.Clean(p)
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", "", errf(400, "INVALID_PARAMETER_VALUE", "Path must not contain '..': %s", p)
		}
	}
	for _, v := range s.opts.Volumes {
		if clean == v || strings.HasPrefix(clean, v+"/") {
			return clean, filepath.Join(s.Root, filepath.FromSlash(clean)), nil
		}
	}
	if strings.HasPrefix(clean, "/Volumes/") {
		return "", "", errf(404, "NOT_FOUND", "The volume for path %s does not exist", clean)
	}
	return "", "", errf(400, "INVALID_PARAMETER_VALUE", "Path %s is not in a Unity Catalog volume", clean)
}

func (s *Server) filesPut(w http.ResponseWriter, r *http.Request) *apiError {
	if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" {
		return errf(415, "BAD_REQUEST", "Content-Type %q is not supported; send application/octet-stream", ct)
	}
	overwrite := false
	switch v := r.URL.Query().Get("overwrite"); v {
	case "", "false":
	case "true":
		overwrite = true
	default:
		return errf(400, "INVALID_PARAMETER_VALUE", "Invalid value for overwrite: %q", v)
	}
	name, p, e := s.volumePath(r)
	if e != nil {
		return e
	}
	if st, err := os.Stat(p); err == nil {
		if st.IsDir() {
			return errf(409, "ALREADY_EXISTS", "A directory exists at %s", name)
		}
		if !overwrite {
			return errf(409, "ALREADY_EXISTS", "The file being created already exists: %s", name)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return errf(409, "ALREADY_EXISTS", "%v", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".files-upload-")
	if err != nil {
		return errf(500, "INTERNAL_ERROR", "%v", err)
	}
	defer os.Remove(tmp.Name())
	_, err = io.CopyBuffer(tmp, r.Body, make([]byte, 256<<10))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return errf(400, "INVALID_PARAMETER_VALUE", "reading the body: %v", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return errf(500, "INTERNAL_ERROR", "%v", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) fileStat(r *http.Request) (string, os.FileInfo, *apiError) {
	name, p, e := s.volumePath(r)
	if e != nil {
		return "", nil, e
	}
	st, err := os.Stat(p)
	if err != nil || st.IsDir() {
		return "", nil, errf(404, "NOT_FOUND", "The file %s does not exist", name)
	}
	return p, st, nil
}

func fileHeaders(w http.ResponseWriter, st os.FileInfo) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	w.Header().Set("Last-Modified", st.ModTime().UTC().Format(http.TimeFormat))
}

func (s *Server) filesHead(w http.ResponseWriter, r *http.Request) *apiError {
	_, st, e := s.fileStat(r)
	if e != nil {
		return e
	}
	fileHeaders(w, st)
	w.WriteHeader(200)
	return nil
}

func (s *Server) filesGet(w http.ResponseWriter, r *http.Request) *apiError {
	p, st, e := s.fileStat(r)
	if e != nil {
		return e
	}
	f, err := os.Open(p)
	if err != nil {
		return errf(404, "NOT_FOUND", "%v", err)
	}
	defer f.Close()
	fileHeaders(w, st)
	w.WriteHeader(200)
	_, _ = io.CopyBuffer(w, f, make([]byte, 256<<10))
	return nil
}

func (s *Server) filesDelete(w http.ResponseWriter, r *http.Request) *apiError {
	p, _, e := s.fileStat(r)
	if e != nil {
		return e
	}
	_ = os.Remove(p)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) dirStat(r *http.Request) (string, string, *apiError) {
	name, p, e := s.volumePath(r)
	if e != nil {
		return "", "", e
	}
	if st, err := os.Stat(p); err != nil || !st.IsDir() {
		return "", "", errf(404, "NOT_FOUND", "The directory %s does not exist", name)
	}
	return name, p, nil
}

func (s *Server) dirHead(w http.ResponseWriter, r *http.Request) *apiError {
	_, _, e := s.dirStat(r)
	return e
}

func (s *Server) dirCreate(w http.ResponseWriter, r *http.Request) *apiError {
	_, p, e := s.volumePath(r)
	if e != nil {
		return e
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return errf(409, "ALREADY_EXISTS", "%v", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// dirList lists one directory, a page at a time.
func (s *Server) dirList(w http.ResponseWriter, r *http.Request) *apiError {
	name, p, e := s.dirStat(r)
	if e != nil {
		return e
	}
	q := r.URL.Query()
	size := 1000
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errf(400, "INVALID_PARAMETER_VALUE", "page_size must be between 1 and 1000")
		}
		size = n
	}
	start := 0
	if tok := q.Get("page_token"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			return errf(400, "INVALID_PARAMETER_VALUE", "Invalid page_token")
		}
		start = n
	}
	entries, _ := os.ReadDir(p)
	var all []files.DirectoryEntry
	for _, d := range entries {
		if strings.HasPrefix(d.Name(), ".files-upload-") {
			continue
		}
		fi, err := d.Info()
		if err != nil {
			continue
		}
		e := files.DirectoryEntry{Name: d.Name(), Path: path.Join(name, d.Name()), IsDirectory: d.IsDir(), LastModified: fi.ModTime().UnixMilli()}
		if !d.IsDir() {
			e.FileSize = fi.Size()
		}
		all = append(all, e)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Path < all[j].Path })
	end := min(start+size, len(all))
	resp := files.ListDirectoryResponse{Contents: all[min(start, len(all)):end]}
	if end < len(all) {
		resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	writeJSON(w, resp)
	return nil
}
