package fakeaws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// authFailure is why a request's signature was refused, in the terms the
// service answers with.
type authFailure struct {
	code, msg string
}

// verify checks a request's SigV4 signature the way AWS front ends do: it
// must be present and well formed, scoped to this service and region, made
// with a known access key (and its session token), and must match a
// signature computed here with that key's secret. body is the request body
// for services that do not send X-Amz-Content-Sha256.
func (e *Env) verify(r *http.Request, body []byte, service string) *authFailure {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return &authFailure{"MissingAuthenticationToken", "Missing Authentication Token"}
	}
	algo, rest, _ := strings.Cut(auth, " ")
	if algo != "AWS4-HMAC-SHA256" {
		return &authFailure{"IncompleteSignature", "Unsupported signing algorithm " + algo}
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || fields["SignedHeaders"] == "" || fields["Signature"] == "" || scope[4] != "aws4_request" {
		return &authFailure{"IncompleteSignature", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters"}
	}
	if scope[0] != e.AccessKey {
		return &authFailure{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if scope[3] != service {
		return &authFailure{"InvalidSignatureException", "Credential should be scoped to correct service: '" + service + "'."}
	}
	if scope[2] != e.Region {
		return &authFailure{"InvalidSignatureException", "Credential should be scoped to a valid region."}
	}
	if e.SessionToken != "" && r.Header.Get("X-Amz-Security-Token") != e.SessionToken {
		return &authFailure{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return &authFailure{"IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	if d := time.Since(when); d > 15*time.Minute || d < -15*time.Minute {
		return &authFailure{"InvalidSignatureException", "Signature expired"}
	}
	u := *r.URL
	clone := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		switch h {
		case "host":
		case "content-length":
			clone.ContentLength = r.ContentLength
		default:
			clone.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	creds := aws.Credentials{AccessKeyID: e.AccessKey, SecretAccessKey: e.SecretKey, SessionToken: e.SessionToken}
	err = v4.NewSigner().SignHTTP(context.Background(), creds, clone, hash, service, e.Region, when, func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = service == "s3"
	})
	if err != nil {
		return &authFailure{"InternalFailure", err.Error()}
	}
	_, want, _ := strings.Cut(clone.Header.Get("Authorization"), "Signature=")
	if want != fields["Signature"] {
		return &authFailure{"InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
	}
	return nil
}
