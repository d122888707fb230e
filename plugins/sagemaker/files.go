package main

import (
	"context"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/neural-dsl/neural-host/sdk"
)

// Transfers move partSize pieces, concurrency at a time, so memory stays
// near (concurrency+2) × partSize whatever the file size. 5 MiB is S3's
// smallest multipart part.
const (
	partSize    = 5 << 20
	concurrency = 2
)

func transfers(c *clients) *transfermanager.Client {
	return transfermanager.New(c.s3, func(o *transfermanager.Options) {
		o.PartSizeBytes = partSize
		o.MultipartUploadThreshold = partSize
		o.Concurrency = concurrency
		// Ranged GETs work whether or not the object was uploaded in parts.
		o.GetObjectType = tmtypes.GetObjectRanges
	})
}

// progressListener forwards the transfer manager's byte counts. The
// manager reports parts from several goroutines; the mutex keeps the
// counts the host sees in order.
type progressListener struct {
	mu    sync.Mutex
	fn    sdk.ProgressFunc
	total int64
	last  int64
}

func (l *progressListener) OnObjectBytesTransferred(_ context.Context, e *transfermanager.ObjectBytesTransferredEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.BytesTransferred > l.last {
		l.last = e.BytesTransferred
		l.fn(l.last, l.total)
	}
}

func withProgress(fn sdk.ProgressFunc, total int64) func(*transfermanager.Options) {
	return func(o *transfermanager.Options) {
		if fn != nil {
			o.ObjectProgressListeners.Register(&progressListener{fn: fn, total: total})
		}
	}
}

// remote resolves s3://BUCKET/KEY, or a path relative to the plugin's
// bucket (the configured one, else SageMaker's default bucket).
func (p *Platform) remote(ctx context.Context, c *clients, field, uri string) (s3URI, error) {
	if strings.Contains(uri, "://") {
		return parseS3URI(field, uri)
	}
	b, err := p.bucket(ctx, c)
	if err != nil {
		return s3URI{}, err
	}
	key := strings.TrimPrefix(path.Clean("/"+uri), "/")
	if strings.HasSuffix(uri, "/") && key != "" {
		key += "/"
	}
	return s3URI{Bucket: b, Key: key}, nil
}

func (p *Platform) Upload(ctx context.Context, req sdk.TransferRequest, progress sdk.ProgressFunc) (sdk.FileInfo, error) {
	c, err := p.clients(ctx)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	dst, err := p.remote(ctx, c, "remote", req.RemoteURI)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	f, size, err := sdk.OpenUpload(req.LocalPath)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	defer f.Close()
	if dst.Key == "" || strings.HasSuffix(dst.Key, "/") {
		dst.Key += filepath.Base(req.LocalPath)
	}
	_, err = transfers(c).UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: aws.String(dst.Bucket), Key: aws.String(dst.Key), Body: f, ContentLength: aws.Int64(size),
	}, withProgress(progress, size))
	if err != nil {
		return sdk.FileInfo{}, awsError(err, "uploading to "+dst.String(), "check that bucket "+dst.Bucket+" exists and is yours")
	}
	if progress != nil {
		progress(size, size)
	}
	return p.head(ctx, c, dst)
}

func (p *Platform) head(ctx context.Context, c *clients, u s3URI) (sdk.FileInfo, error) {
	out, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)})
	if err != nil {
		return sdk.FileInfo{}, awsError(err, "reading "+u.String(), "list the files with 'neural-host files ls "+parentURI(u)+" --platform sagemaker'")
	}
	return sdk.FileInfo{URI: u.String(), Size: aws.ToInt64(out.ContentLength), ModifiedAt: aws.ToTime(out.LastModified)}, nil
}

func parentURI(u s3URI) string {
	dir := path.Dir(u.Key)
	if dir == "." {
		return "s3://" + u.Bucket + "/"
	}
	return "s3://" + u.Bucket + "/" + dir + "/"
}

func (p *Platform) Download(ctx context.Context, req sdk.TransferRequest, progress sdk.ProgressFunc) (sdk.FileInfo, error) {
	c, err := p.clients(ctx)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	src, err := p.remote(ctx, c, "remote", req.RemoteURI)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	if src.Key == "" || strings.HasSuffix(src.Key, "/") {
		return sdk.FileInfo{}, sdk.FieldError("remote", req.RemoteURI+" names a prefix, not an object", "download one object at a time: s3://BUCKET/KEY")
	}
	info, err := p.head(ctx, c, src)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	dst, err := sdk.OpenDownload(req.LocalPath, src.Key)
	if err != nil {
		return sdk.FileInfo{}, err
	}
	defer dst.Discard()
	_, err = transfers(c).DownloadObject(ctx, &transfermanager.DownloadObjectInput{
		Bucket: aws.String(src.Bucket), Key: aws.String(src.Key), WriterAt: dst,
	}, withProgress(progress, info.Size))
	if err != nil {
		return sdk.FileInfo{}, awsError(err, "downloading "+src.String(), "")
	}
	if err := dst.Commit(); err != nil {
		return sdk.FileInfo{}, err
	}
	if progress != nil {
		progress(info.Size, info.Size)
	}
	return info, nil
}

func (p *Platform) ListFiles(ctx context.Context, req sdk.ListFilesRequest) (sdk.ListFilesResponse, error) {
	c, err := p.clients(ctx)
	if err != nil {
		return sdk.ListFilesResponse{}, err
	}
	u, err := p.remote(ctx, c, "uri", req.URI)
	if err != nil {
		return sdk.ListFilesResponse{}, err
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(u.Bucket), Prefix: aws.String(u.Key), Delimiter: aws.String("/")}
	if req.PageSize > 0 {
		in.MaxKeys = aws.Int32(int32(min(req.PageSize, 1000)))
	}
	if req.PageToken != "" {
		in.ContinuationToken = aws.String(req.PageToken)
	}
	out, err := c.s3.ListObjectsV2(ctx, in)
	if err != nil {
		return sdk.ListFilesResponse{}, awsError(err, "listing "+u.String(), "check the bucket name")
	}
	var resp sdk.ListFilesResponse
	for _, cp := range out.CommonPrefixes {
		resp.Files = append(resp.Files, sdk.FileInfo{URI: "s3://" + u.Bucket + "/" + aws.ToString(cp.Prefix), IsDir: true})
	}
	for _, o := range out.Contents {
		resp.Files = append(resp.Files, sdk.FileInfo{URI: "s3://" + u.Bucket + "/" + aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ModifiedAt: aws.ToTime(o.LastModified)})
	}
	if aws.ToBool(out.IsTruncated) {
		resp.NextPageToken = aws.ToString(out.NextContinuationToken)
	}
	return resp, nil
}
