package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"path/filepath"
	"strings"

	"cloud.google.com/go/storage"
	"github.com/neural-dsl/neural-host/sdk"
	"google.golang.org/api/iterator"
)

const (
	// chunkSize is the resumable upload chunk, and so the most memory an
	// upload holds; it is also the unit retried after a network failure.
	chunkSize = 8 << 20
	// progressStep is how many bytes pass between download progress reports.
	progressStep = 4 << 20
)

// object splits a gs://BUCKET/OBJECT URI that names one object.
func object(field, uri string) (bucket, name string, err error) {
	bucket, name, err = parseGCS(uri)
	if err != nil || !strings.HasPrefix(uri, "gs://") || name == "" || strings.HasSuffix(name, "/") {
		return "", "", sdk.FieldError(field, fmt.Sprintf("%q is not a gs://BUCKET/OBJECT URI", uri), "write gs://my-bucket/path/to/file")
	}
	return bucket, name, nil
}

// streamUp copies r into obj with a resumable upload; memory use is one
// chunk whatever the size of r.
func streamUp(ctx context.Context, obj *storage.ObjectHandle, r io.Reader, contentType string, progress sdk.ProgressFunc, total int64) (*storage.ObjectAttrs, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := obj.NewWriter(ctx)
	w.ChunkSize = chunkSize
	w.ContentType = contentType
	if progress != nil {
		w.ProgressFunc = func(n int64) { progress(n, total) }
	}
	if _, err := io.Copy(w, r); err != nil {
		// Cancelling before Close abandons the upload instead of
		// finishing it with partial content.
		cancel()
		_ = w.Close()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return w.Attrs(), nil
}

func (p *Platform) Upload(ctx context.Context, req sdk.TransferRequest, progress sdk.ProgressFunc) (sdk.FileInfo, error) {
	uri := req.RemoteURI
	if strings.HasSuffix(uri, "/") {
		uri += filepath.Base(req.LocalPath)
	}
	bucket, name, err := object("remote", uri)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	f, size, err := sdk.OpenUpload(req.LocalPath)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	defer f.Close()
	_, c := p.current()
	gcs, err := c.storageClient()
	if err != nil {
		return sdk.FileInfo{}, err
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	attrs, err := streamUp(ctx, gcs.Bucket(bucket).Object(name), f, ctype, progress, size)
	if err != nil {
		return sdk.FileInfo{}, apiError(err, "uploading "+uri, "check that bucket "+bucket+" exists and that you may write to it")
	}
	if progress != nil {
		progress(attrs.Size, size)
	}
	return sdk.FileInfo{URI: "gs://" + bucket + "/" + name, Size: attrs.Size, ModifiedAt: attrs.Updated}, nil
}

// Download streams an object into a temporary file beside LocalPath and
// renames it into place, so a failed copy leaves no truncated file. The
// storage client checks the object's CRC32C as it reads.
func (p *Platform) Download(ctx context.Context, req sdk.TransferRequest, progress sdk.ProgressFunc) (sdk.FileInfo, error) {
	bucket, name, err := object("remote", req.RemoteURI)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	_, c := p.current()
	gcs, err := c.storageClient()
	if err != nil {
		return sdk.FileInfo{}, err
	}
	r, err := gcs.Bucket(bucket).Object(name).NewReader(ctx)
	if err != nil {
		return sdk.FileInfo{}, apiError(err, "reading "+req.RemoteURI, "list the files with 'neural-host files ls gs://"+bucket+"/ -p vertex'")
	}
	defer r.Close()
	dst, err := sdk.OpenDownload(req.LocalPath, name)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	defer dst.Discard()
	total := r.Attrs.Size
	done, err := copyProgress(dst, r, total, progress)
	if err != nil {
		return sdk.FileInfo{}, apiError(err, "downloading "+req.RemoteURI, "")
	}
	if err := dst.Commit(); err != nil {
		return sdk.FileInfo{}, err
	}
	if progress != nil {
		progress(done, total)
	}
	return sdk.FileInfo{URI: req.RemoteURI, Size: done, ModifiedAt: r.Attrs.LastModified}, nil
}

// copyProgress copies with one fixed buffer, reporting every progressStep.
func copyProgress(w io.Writer, r io.Reader, total int64, progress sdk.ProgressFunc) (int64, error) {
	buf := make([]byte, 1<<20)
	var done int64
	next := int64(progressStep)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return done, err
			}
			done += int64(n)
			if progress != nil && done >= next {
				progress(done, total)
				next = done + progressStep
			}
		}
		if errors.Is(rerr, io.EOF) {
			return done, nil
		}
		if rerr != nil {
			return done, rerr
		}
	}
}

// ListFiles lists one level under a gs:// prefix; deeper levels appear as
// directories. A URI naming an object lists that object. An empty URI
// lists the staging location.
func (p *Platform) ListFiles(ctx context.Context, req sdk.ListFilesRequest) (sdk.ListFilesResponse, error) {
	s, c := p.current()
	uri := req.URI
	if uri == "" {
		if s.stagingBucket == "" {
			return sdk.ListFilesResponse{}, sdk.FieldError("uri", "is required when no staging bucket is set", "give a gs://BUCKET/PREFIX to list")
		}
		uri = "gs://" + s.stagingBucket + "/" + s.stagingPath()
	}
	bucket, prefix, err := parseGCS(uri)
	if err != nil || !strings.HasPrefix(uri, "gs://") {
		return sdk.ListFilesResponse{}, sdk.FieldError("uri", fmt.Sprintf("%q is not a gs://BUCKET[/PREFIX] URI", uri), "write gs://my-bucket/path/")
	}
	named := prefix != "" && !strings.HasSuffix(prefix, "/")
	if named {
		prefix += "/"
	}
	gcs, err := c.storageClient()
	if err != nil {
		return sdk.ListFilesResponse{}, err
	}
	b := gcs.Bucket(bucket)
	if named && req.PageToken == "" {
		// A URI naming an object, not a directory, lists just it.
		if attrs, err := b.Object(strings.TrimSuffix(prefix, "/")).Attrs(ctx); err == nil {
			return sdk.ListFilesResponse{Files: []sdk.FileInfo{fileInfo(bucket, attrs)}}, nil
		}
	}
	size := req.PageSize
	if size <= 0 || size > 1000 {
		size = 1000
	}
	it := b.Objects(ctx, &storage.Query{Prefix: prefix, Delimiter: "/"})
	var page []*storage.ObjectAttrs
	next, err := iterator.NewPager(it, size, req.PageToken).NextPage(&page)
	if err != nil {
		return sdk.ListFilesResponse{}, apiError(err, "listing "+uri, "check that bucket "+bucket+" exists")
	}
	resp := sdk.ListFilesResponse{NextPageToken: next}
	for _, a := range page {
		resp.Files = append(resp.Files, fileInfo(bucket, a))
	}
	return resp, nil
}

func fileInfo(bucket string, a *storage.ObjectAttrs) sdk.FileInfo {
	if a.Prefix != "" {
		return sdk.FileInfo{URI: "gs://" + bucket + "/" + a.Prefix, IsDir: true}
	}
	return sdk.FileInfo{URI: "gs://" + bucket + "/" + a.Name, Size: a.Size, ModifiedAt: a.Updated}
}
