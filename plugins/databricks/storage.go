package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go/service/files"
	"github.com/neural-dsl/neural-host/sdk"
)

// blockSize is the DBFS API's largest block, read or written in one call.
const blockSize = 1 << 20

// progressFile reads a local file for upload, reporting progress. It can
// seek back to the start, which lets the SDK retry a streamed upload.
type progressFile struct {
	f           *os.File
	done, total int64
	fn          sdk.ProgressFunc
}

func (r *progressFile) Read(b []byte) (int, error) {
	n, err := r.f.Read(b)
	if n > 0 {
		r.done += int64(n)
		if r.fn != nil {
			r.fn(r.done, r.total)
		}
	}
	return n, err
}

func (r *progressFile) Seek(off int64, whence int) (int64, error) {
	n, err := r.f.Seek(off, whence)
	if err == nil {
		r.done = n
	}
	return n, err
}

// Close leaves the file open: its owner closes it.
func (r *progressFile) Close() error { return nil }

// progressWriter counts bytes written through it.
type progressWriter struct {
	w           io.Writer
	done, total int64
	fn          sdk.ProgressFunc
}

func (w *progressWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.done += int64(n)
	if w.fn != nil && n > 0 {
		w.fn(w.done, w.total)
	}
	return n, err
}

// stat describes one remote file or directory.
func (w *workspace) stat(ctx context.Context, l location) (sdk.FileInfo, error) {
	if !l.volume {
		st, err := w.dbfs.GetStatusByPath(ctx, l.path)
		if err != nil {
			return sdk.FileInfo{}, err
		}
		return dbfsInfo(*st), nil
	}
	md, err := w.files.GetMetadata(ctx, files.GetMetadataRequest{FilePath: l.path})
	if err == nil {
		info := sdk.FileInfo{URI: l.String(), Size: md.ContentLength}
		info.ModifiedAt, _ = http.ParseTime(md.LastModified)
		return info, nil
	}
	if !notFound(err) {
		return sdk.FileInfo{}, err
	}
	if derr := w.files.GetDirectoryMetadata(ctx, files.GetDirectoryMetadataRequest{DirectoryPath: l.path}); derr != nil {
		return sdk.FileInfo{}, err
	}
	return sdk.FileInfo{URI: l.String(), IsDir: true}, nil
}

func dbfsInfo(f files.FileInfo) sdk.FileInfo {
	uri := f.Path
	if !strings.HasPrefix(uri, "dbfs:") {
		uri = "dbfs:" + uri
	}
	info := sdk.FileInfo{URI: uri, Size: f.FileSize, IsDir: f.IsDir}
	if f.ModificationTime > 0 {
		info.ModifiedAt = time.UnixMilli(f.ModificationTime).UTC()
	}
	return info
}

// upload streams the open file f to l, replacing what is there. DBFS takes
// it in 1 MB blocks (create, add-block, close); a volume takes one streamed
// PUT through the Files API.
func (w *workspace) upload(ctx context.Context, l location, f *os.File, size int64, progress sdk.ProgressFunc) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	src := &progressFile{f: f, total: size, fn: progress}
	if l.volume {
		return w.files.Upload(ctx, files.UploadRequest{FilePath: l.path, Contents: src, Overwrite: true})
	}
	if err := w.dbfs.MkdirsByPath(ctx, l.parent().path); err != nil {
		return err
	}
	h, err := w.dbfs.Open(ctx, l.path, files.FileModeWrite|files.FileModeOverwrite)
	if err != nil {
		return err
	}
	// Each Write of at most one block is one add-block call.
	_, err = io.CopyBuffer(struct{ io.Writer }{h}, struct{ io.Reader }{src}, make([]byte, blockSize))
	if cerr := h.Close(); err == nil {
		err = cerr
	}
	return err
}

// download streams l into dst and returns the bytes written.
func (w *workspace) download(ctx context.Context, l location, dst io.Writer, progress sdk.ProgressFunc) (int64, error) {
	if l.volume {
		resp, err := w.files.Download(ctx, files.DownloadRequest{FilePath: l.path})
		if err != nil {
			return 0, err
		}
		defer resp.Contents.Close()
		total := resp.ContentLength
		if total <= 0 {
			total = -1
		}
		pw := &progressWriter{w: dst, total: total, fn: progress}
		return io.CopyBuffer(pw, resp.Contents, make([]byte, 256<<10))
	}
	h, err := w.dbfs.Open(ctx, l.path, files.FileModeRead)
	if err != nil {
		return 0, err
	}
	st, err := w.dbfs.GetStatusByPath(ctx, l.path)
	if err != nil {
		return 0, err
	}
	pw := &progressWriter{w: dst, total: st.FileSize, fn: progress}
	// Each Read of one block is one read call.
	return io.CopyBuffer(struct{ io.Writer }{pw}, struct{ io.Reader }{h}, make([]byte, blockSize))
}

// readFile returns a small file whole, refusing one larger than max.
func (w *workspace) readFile(ctx context.Context, l location, max int64) ([]byte, error) {
	b, err := w.readFrom(ctx, l, 0, max+1)
	if err == nil && int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", l, max)
	}
	return b, err
}

// readFrom returns up to max bytes of l from offset; fewer at the end.
func (w *workspace) readFrom(ctx context.Context, l location, offset, max int64) ([]byte, error) {
	if l.volume {
		resp, err := w.files.Download(ctx, files.DownloadRequest{FilePath: l.path})
		if err != nil {
			return nil, err
		}
		defer resp.Contents.Close()
		// The Files API has no ranged read, so skip to the offset.
		if _, err := io.CopyN(io.Discard, resp.Contents, offset); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			return nil, err
		}
		return io.ReadAll(io.LimitReader(resp.Contents, max))
	}
	var out []byte
	for int64(len(out)) < max {
		n := min(max-int64(len(out)), blockSize)
		res, err := w.dbfs.Read(ctx, files.ReadDbfsRequest{Path: l.path, Offset: offset + int64(len(out)), Length: n})
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(res.Data)
		if err != nil {
			return nil, fmt.Errorf("databricks: dbfs read %s: %w", l, err)
		}
		out = append(out, b...)
		if res.BytesRead < n {
			break
		}
	}
	return out, nil
}

// listDir lists the entries of one directory, sorted by URI. A file lists
// as itself.
func (w *workspace) listDir(ctx context.Context, l location) ([]sdk.FileInfo, error) {
	var out []sdk.FileInfo
	if !l.volume {
		entries, err := w.dbfs.ListAll(ctx, files.ListDbfsRequest{Path: l.path})
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			out = append(out, dbfsInfo(e))
		}
	} else {
		it := w.files.ListDirectoryContents(ctx, files.ListDirectoryContentsRequest{DirectoryPath: l.path})
		for it.HasNext(ctx) {
			e, err := it.Next(ctx)
			if err != nil {
				if notFound(err) && len(out) == 0 {
					if st, serr := w.stat(ctx, l); serr == nil && !st.IsDir {
						return []sdk.FileInfo{st}, nil
					}
				}
				return nil, err
			}
			info := sdk.FileInfo{URI: e.Path, Size: e.FileSize, IsDir: e.IsDirectory}
			if info.URI == "" {
				info.URI = l.join(e.Name).path
			}
			if e.LastModified > 0 {
				info.ModifiedAt = time.UnixMilli(e.LastModified).UTC()
			}
			out = append(out, info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out, nil
}

// walk lists the files below l, breadth first, stopping after limit.
func (w *workspace) walk(ctx context.Context, l location, limit int) ([]sdk.FileInfo, error) {
	var out []sdk.FileInfo
	queue := []location{l}
	for len(queue) > 0 && len(out) < limit {
		dir := queue[0]
		queue = queue[1:]
		entries, err := w.listDir(ctx, dir)
		if notFound(err) {
			continue
		}
		if err != nil {
			return out, err
		}
		for _, e := range entries {
			if e.IsDir {
				sub, err := parseLocation(e.URI)
				if err == nil && sub.within(l) && sub != dir {
					queue = append(queue, sub)
				}
				continue
			}
			if len(out) < limit {
				out = append(out, e)
			}
		}
	}
	return out, nil
}
