package main

import (
	"fmt"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
)

// s3URI is an s3://bucket/key location. An empty key is the bucket's root.
type s3URI struct {
	Bucket, Key string
}

func (u s3URI) String() string { return "s3://" + u.Bucket + "/" + u.Key }

// parseS3URI parses s3://bucket/key; field names the input in errors.
func parseS3URI(field, uri string) (s3URI, error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return s3URI{}, sdk.FieldError(field, fmt.Sprintf("%q is not an s3:// URI", uri), "write s3://BUCKET/KEY")
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if !bucketPattern.MatchString(bucket) {
		return s3URI{}, sdk.FieldError(field, fmt.Sprintf("%q is not a valid bucket name", bucket), "write s3://BUCKET/KEY with a bucket of 3-63 lowercase letters, digits, dots and hyphens")
	}
	return s3URI{Bucket: bucket, Key: key}, nil
}
