package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/page"
)

// progressStep is how many bytes pass between progress reports.
const progressStep = 4 << 20

// remotePath resolves a file:// URI, or a path relative to the artifact
// store, to an absolute path.
func (p *Platform) remotePath(uri string) (string, error) {
	if strings.HasPrefix(uri, "file://") {
		u, err := url.Parse(uri)
		if err != nil || u.Host != "" || !filepath.IsAbs(u.Path) {
			return "", sdk.FieldError("remote", fmt.Sprintf("%q is not a file:///absolute/path URI", uri), "write file:///path/to/file, or a path relative to the artifact store")
		}
		return filepath.Clean(u.Path), nil
	}
	if strings.Contains(uri, "://") || filepath.IsAbs(uri) {
		return "", sdk.FieldError("remote", fmt.Sprintf("%q is not a local artifact URI", uri), "write file:///path/to/file, or a path relative to the artifact store")
	}
	root := p.settings().artifactDir
	full := filepath.Join(root, uri)
	if full != root && !strings.HasPrefix(full, root+string(filepath.Separator)) {
		return "", sdk.FieldError("remote", fmt.Sprintf("%q leaves the artifact store", uri), "name a path inside the store")
	}
	return full, nil
}

func (p *Platform) Upload(ctx context.Context, req sdk.TransferRequest, progress sdk.ProgressFunc) (sdk.FileInfo, error) {
	dst, err := p.remotePath(req.RemoteURI)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	return copyFile(ctx, req.LocalPath, dst, "local", progress)
}

func (p *Platform) Download(ctx context.Context, req sdk.TransferRequest, progress sdk.ProgressFunc) (sdk.FileInfo, error) {
	src, err := p.remotePath(req.RemoteURI)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	return copyFile(ctx, src, req.LocalPath, "remote", progress)
}

// copyFile streams src to dst through a temporary file renamed into place,
// so a failed copy never leaves a truncated destination.
func copyFile(ctx context.Context, src, dst, srcField string, progress sdk.ProgressFunc) (sdk.FileInfo, error) {
	in, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return sdk.FileInfo{}, &sdk.Error{Kind: sdk.ErrNotFound, Field: srcField, Message: src + " does not exist"}
	}
	if err != nil {
		return sdk.FileInfo{}, fmt.Errorf("local: %w", err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return sdk.FileInfo{}, fmt.Errorf("local: %w", err)
	}
	if st.IsDir() {
		return sdk.FileInfo{}, sdk.FieldError(srcField, src+" is a directory", "copy one file at a time")
	}
	tmp, err := sdk.OpenDownload(dst, src)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	defer tmp.Discard()
	total := st.Size()
	var done int64
	buf := make([]byte, 1<<20)
	next := int64(progressStep)
	for {
		if err := ctx.Err(); err != nil {
			return sdk.FileInfo{}, err
		}
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := tmp.Write(buf[:n]); err != nil {
				return sdk.FileInfo{}, fmt.Errorf("local: %w", err)
			}
			done += int64(n)
			if progress != nil && done >= next {
				progress(done, total)
				next = done + progressStep
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return sdk.FileInfo{}, fmt.Errorf("local: %w", rerr)
		}
	}
	if err := tmp.Commit(); err != nil {
		return sdk.FileInfo{}, err
	}
	if progress != nil {
		progress(done, total)
	}
	out, _ := os.Stat(tmp.Path)
	return sdk.FileInfo{URI: "file://" + tmp.Path, Size: done, ModifiedAt: out.ModTime()}, nil
}

func (p *Platform) ListFiles(_ context.Context, req sdk.ListFilesRequest) (sdk.ListFilesResponse, error) {
	uri := req.URI
	if uri == "" {
		uri = "file://" + p.settings().artifactDir
	}
	dir, err := p.remotePath(uri)
	if err != nil {
		return sdk.ListFilesResponse{}, err
	}
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return sdk.ListFilesResponse{}, &sdk.Error{Kind: sdk.ErrNotFound, Field: "uri", Message: dir + " does not exist"}
	}
	if err != nil {
		return sdk.ListFilesResponse{}, fmt.Errorf("local: %w", err)
	}
	if !st.IsDir() {
		return sdk.ListFilesResponse{Files: []sdk.FileInfo{{URI: "file://" + dir, Size: st.Size(), ModifiedAt: st.ModTime()}}}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return sdk.ListFilesResponse{}, fmt.Errorf("local: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	start, end, next, err := page.Window(req.PageToken, req.PageSize, 1000, len(entries))
	if err != nil {
		return sdk.ListFilesResponse{}, err
	}
	resp := sdk.ListFilesResponse{NextPageToken: next}
	for _, e := range entries[start:end] {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		resp.Files = append(resp.Files, sdk.FileInfo{URI: "file://" + filepath.Join(dir, e.Name()), Size: fi.Size(), ModifiedAt: fi.ModTime(), IsDir: e.IsDir()})
	}
	if end < len(entries) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}
