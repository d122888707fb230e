package fakeworkspace

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/databricks/databricks-sdk-go/service/files"
)

// maxBlock is the most DBFS takes in one add-block or gives in one read.
const maxBlock = 1 << 20

// handle is an open DBFS write stream.
type handle struct {
	path string
	f    *os.File
}

// dbfsPath checks a DBFS API path and maps it onto the disk.
func (s *Server) dbfsPath(p string) (string, *apiError) {
	p = strings.TrimPrefix(p, "dbfs:")
	if !strings.HasPrefix(p, "/") {
		return "", errf(400, "INVALID_PARAMETER_VALUE", "Path must be absolute: %s", p)
	}
	if strings.HasPrefix(path.Clean(p), "/Volumes") {
		return "", errf(400, "INVALID_PARAMETER_VALUE", "DBFS API does not serve Unity Catalog volumes: %s; use the Files API", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", errf(400, "INVALID_PARAMETER_VALUE", "Path must not contain '..': %s", p)
		}
	}
	return filepath.Join(s.Root, "dbfs", filepath.FromSlash(path.Clean(p))), nil
}

func notExist(p string) *apiError {
	return errf(404, "RESOURCE_DOES_NOT_EXIST", "No file or directory exists on path %s.", p)
}

func (s *Server) dbfsCreate(w http.ResponseWriter, r *http.Request) *apiError {
	var req files.Create
	if _, e := decode(r, &req); e != nil {
		return e
	}
	p, e := s.dbfsPath(req.Path)
	if e != nil {
		return e
	}
	if st, err := os.Stat(p); err == nil {
		if st.IsDir() {
			return errf(400, "INVALID_PARAMETER_VALUE", "Path %s is a directory", req.Path)
		}
		if !req.Overwrite {
			return errf(409, "RESOURCE_ALREADY_EXISTS", "A file or directory already exists at the input path %s.", req.Path)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return errf(400, "INVALID_PARAMETER_VALUE", "%v", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".dbfs-upload-")
	if err != nil {
		return errf(500, "INTERNAL_ERROR", "%v", err)
	}
	s.mu.Lock()
	s.nextH++
	id := s.nextH
	s.handles[id] = &handle{path: p, f: f}
	s.mu.Unlock()
	writeJSON(w, files.CreateResponse{Handle: id})
	return nil
}

func (s *Server) handle(id int64) (*handle, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.handles[id]
	if !ok {
		return nil, errf(404, "RESOURCE_DOES_NOT_EXIST", "Handle %d does not exist.", id)
	}
	return h, nil
}

func (s *Server) dbfsAddBlock(w http.ResponseWriter, r *http.Request) *apiError {
	// Blocks are large: the checked generic value is used as is rather than
	// decoded a second time.
	obj, _, e := decodeChecked(r, reflect.TypeOf(files.AddBlock{}))
	if e != nil {
		return e
	}
	var req files.AddBlock
	req.Data, _ = obj["data"].(string)
	if n, err := obj["handle"].(json.Number).Int64(); err == nil {
		req.Handle = n
	}
	h, e := s.handle(req.Handle)
	if e != nil {
		return e
	}
	if base64.StdEncoding.DecodedLen(len(req.Data)) > maxBlock+2 {
		return errf(400, "MAX_BLOCK_SIZE_EXCEEDED", "The block of data exceeds the 1 MB limit.")
	}
	b, err := base64.StdEncoding.DecodeString(req.Data)
	if err != nil {
		return errf(400, "INVALID_PARAMETER_VALUE", "data is not base64: %v", err)
	}
	if len(b) > maxBlock {
		return errf(400, "MAX_BLOCK_SIZE_EXCEEDED", "The block of data exceeds the 1 MB limit.")
	}
	if _, err := h.f.Write(b); err != nil {
		return errf(500, "INTERNAL_ERROR", "%v", err)
	}
	writeJSON(w, struct{}{})
	return nil
}

func (s *Server) dbfsClose(w http.ResponseWriter, r *http.Request) *apiError {
	var req files.Close
	if _, e := decode(r, &req); e != nil {
		return e
	}
	h, e := s.handle(req.Handle)
	if e != nil {
		return e
	}
	s.mu.Lock()
	delete(s.handles, req.Handle)
	s.mu.Unlock()
	if err := h.f.Close(); err != nil {
		return errf(500, "INTERNAL_ERROR", "%v", err)
	}
	if err := os.Rename(h.f.Name(), h.path); err != nil {
		return errf(500, "INTERNAL_ERROR", "%v", err)
	}
	writeJSON(w, struct{}{})
	return nil
}

func dbfsInfo(root, p string, st fs.FileInfo) files.FileInfo {
	rel := "/" + filepath.ToSlash(strings.TrimPrefix(strings.TrimPrefix(p, filepath.Join(root, "dbfs")), string(filepath.Separator)))
	info := files.FileInfo{Path: path.Clean(rel), IsDir: st.IsDir(), ModificationTime: st.ModTime().UnixMilli()}
	if !st.IsDir() {
		info.FileSize = st.Size()
	}
	return info
}

func (s *Server) dbfsGetStatus(w http.ResponseWriter, r *http.Request) *apiError {
	q := r.URL.Query().Get("path")
	if q == "" {
		return errf(400, "INVALID_PARAMETER_VALUE", "Missing required field: path")
	}
	p, e := s.dbfsPath(q)
	if e != nil {
		return e
	}
	st, err := os.Stat(p)
	if err != nil {
		return notExist(q)
	}
	writeJSON(w, dbfsInfo(s.Root, p, st))
	return nil
}

func (s *Server) dbfsList(w http.ResponseWriter, r *http.Request) *apiError {
	q := r.URL.Query().Get("path")
	if q == "" {
		return errf(400, "INVALID_PARAMETER_VALUE", "Missing required field: path")
	}
	p, e := s.dbfsPath(q)
	if e != nil {
		return e
	}
	st, err := os.Stat(p)
	if err != nil {
		return notExist(q)
	}
	resp := files.ListStatusResponse{}
	if !st.IsDir() {
		resp.Files = []files.FileInfo{dbfsInfo(s.Root, p, st)}
	} else {
		entries, _ := os.ReadDir(p)
		for _, d := range entries {
			if strings.HasPrefix(d.Name(), ".dbfs-upload-") {
				continue
			}
			if fi, err := d.Info(); err == nil {
				resp.Files = append(resp.Files, dbfsInfo(s.Root, filepath.Join(p, d.Name()), fi))
			}
		}
		sort.Slice(resp.Files, func(i, j int) bool { return resp.Files[i].Path < resp.Files[j].Path })
	}
	writeJSON(w, resp)
	return nil
}

func (s *Server) dbfsRead(w http.ResponseWriter, r *http.Request) *apiError {
	q := r.URL.Query()
	p, e := s.dbfsPath(q.Get("path"))
	if e != nil {
		return e
	}
	var off, n int64 = 0, 0
	var err error
	if v := q.Get("offset"); v != "" {
		if off, err = strconv.ParseInt(v, 10, 64); err != nil || off < 0 {
			return errf(400, "INVALID_PARAMETER_VALUE", "offset must be a non-negative integer")
		}
	}
	if v := q.Get("length"); v != "" {
		if n, err = strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
			return errf(400, "INVALID_PARAMETER_VALUE", "length must be a non-negative integer")
		}
	} else {
		n = maxBlock / 2
	}
	if n > maxBlock {
		return errf(400, "MAX_READ_SIZE_EXCEEDED", "Cannot read more than 1 MB at a time, got %d bytes", n)
	}
	f, err := os.Open(p)
	if err != nil {
		return notExist(q.Get("path"))
	}
	defer f.Close()
	if st, _ := f.Stat(); st.IsDir() {
		return errf(400, "INVALID_PARAMETER_VALUE", "Path %s is a directory", q.Get("path"))
	}
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return errf(500, "INTERNAL_ERROR", "%v", err)
	}
	writeJSON(w, files.ReadResponse{BytesRead: int64(got), Data: base64.StdEncoding.EncodeToString(buf[:got])})
	return nil
}

func (s *Server) dbfsMkdirs(w http.ResponseWriter, r *http.Request) *apiError {
	var req files.MkDirs
	if _, e := decode(r, &req); e != nil {
		return e
	}
	p, e := s.dbfsPath(req.Path)
	if e != nil {
		return e
	}
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return errf(409, "RESOURCE_ALREADY_EXISTS", "A file exists at %s", req.Path)
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return errf(400, "INVALID_PARAMETER_VALUE", "%v", err)
	}
	writeJSON(w, struct{}{})
	return nil
}

func (s *Server) dbfsDelete(w http.ResponseWriter, r *http.Request) *apiError {
	var req files.Delete
	if _, e := decode(r, &req); e != nil {
		return e
	}
	p, e := s.dbfsPath(req.Path)
	if e != nil {
		return e
	}
	st, err := os.Stat(p)
	if err != nil {
		writeJSON(w, struct{}{})
		return nil
	}
	if st.IsDir() && !req.Recursive {
		if entries, _ := os.ReadDir(p); len(entries) > 0 {
			return errf(400, "IO_ERROR", "Directory %s is not empty; delete it recursively", req.Path)
		}
	}
	_ = os.RemoveAll(p)
	writeJSON(w, struct{}{})
	return nil
}
