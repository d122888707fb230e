package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/page"
)

// remote resolves a remote URI: dbfs:/..., /Volumes/..., or a path relative
// to the staging directory.
func (p *Platform) remote(uri, field string) (location, error) {
	if uri != "" && !strings.HasPrefix(uri, "/") && !strings.Contains(uri, ":") {
		staging, _ := parseLocation(p.settings().stagingDir)
		l, err := parseLocation(staging.join("files").String() + "/" + uri)
		if err == nil && l.within(staging) {
			return l, nil
		}
	}
	l, err := parseLocation(uri)
	if err != nil {
		return location{}, sdk.FieldError(field, err.Error(), "write dbfs:/path, /Volumes/catalog/schema/volume/path, or a path relative to the staging directory")
	}
	return l, nil
}

func (p *Platform) Upload(ctx context.Context, req sdk.TransferRequest, progress sdk.ProgressFunc) (sdk.FileInfo, error) {
	dst, err := p.remote(req.RemoteURI, "remote")
	if err != nil {
		return sdk.FileInfo{}, err
	}
	f, size, err := sdk.OpenUpload(req.LocalPath)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	defer f.Close()
	ws, err := p.client()
	if err != nil {
		return sdk.FileInfo{}, err
	}
	if progress != nil {
		progress(0, size)
	}
	if err := ws.upload(ctx, dst, f, size, progress); err != nil {
		return sdk.FileInfo{}, p.settings().wrap(err, "uploading to "+dst.String())
	}
	info, err := ws.stat(ctx, dst)
	if err != nil {
		return sdk.FileInfo{}, p.settings().wrap(err, "checking "+dst.String())
	}
	if info.Size != size {
		return info, fmt.Errorf("databricks: %s holds %d bytes after uploading %d", dst, info.Size, size)
	}
	return info, nil
}

// Download streams a remote file into a temporary file beside LocalPath and
// renames it into place, so a failed copy never leaves a truncated file.
func (p *Platform) Download(ctx context.Context, req sdk.TransferRequest, progress sdk.ProgressFunc) (sdk.FileInfo, error) {
	src, err := p.remote(req.RemoteURI, "remote")
	if err != nil {
		return sdk.FileInfo{}, err
	}
	ws, err := p.client()
	if err != nil {
		return sdk.FileInfo{}, err
	}
	s := p.settings()
	info, err := ws.stat(ctx, src)
	if notFound(err) {
		return sdk.FileInfo{}, &sdk.Error{Kind: sdk.ErrNotFound, Field: "remote", Message: src.String() + " does not exist", Hint: "list files with 'neural-host files ls --platform databricks'"}
	}
	if err != nil {
		return sdk.FileInfo{}, s.wrap(err, "checking "+src.String())
	}
	if info.IsDir {
		return sdk.FileInfo{}, sdk.FieldError("remote", src.String()+" is a directory", "copy one file at a time")
	}
	dst, err := sdk.OpenDownload(req.LocalPath, src.String())
	if err != nil {
		return sdk.FileInfo{}, err
	}
	defer dst.Discard()
	if progress != nil {
		progress(0, info.Size)
	}
	n, err := ws.download(ctx, src, dst, progress)
	if err != nil {
		return sdk.FileInfo{}, s.wrap(err, "downloading "+src.String())
	}
	if n != info.Size {
		return sdk.FileInfo{}, fmt.Errorf("databricks: %s: got %d bytes, expected %d", src, n, info.Size)
	}
	if err := dst.Commit(); err != nil {
		return sdk.FileInfo{}, err
	}
	info.Size = n
	return info, nil
}

func (p *Platform) ListFiles(ctx context.Context, req sdk.ListFilesRequest) (sdk.ListFilesResponse, error) {
	uri := req.URI
	if uri == "" {
		uri = p.settings().stagingDir
	}
	l, err := p.remote(uri, "uri")
	if err != nil {
		return sdk.ListFilesResponse{}, err
	}
	ws, err := p.client()
	if err != nil {
		return sdk.ListFilesResponse{}, err
	}
	entries, err := ws.listDir(ctx, l)
	if notFound(err) {
		return sdk.ListFilesResponse{}, &sdk.Error{Kind: sdk.ErrNotFound, Field: "uri", Message: l.String() + " does not exist"}
	}
	if err != nil {
		return sdk.ListFilesResponse{}, p.settings().wrap(err, "listing "+l.String())
	}
	start, end, next, err := page.Window(req.PageToken, req.PageSize, 1000, len(entries))
	if err != nil {
		return sdk.ListFilesResponse{}, err
	}
	return sdk.ListFilesResponse{Files: entries[start:end], NextPageToken: next}, nil
}
