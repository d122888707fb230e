package fakeaws

import (
	"encoding/xml"
	"net/http"
	"strings"
)

// s3Handler puts SigV4 checking in front of gofakes3, which accepts any
// request. S3 signs the payload's hash, sent in X-Amz-Content-Sha256, so
// bodies stream through unread.
func (e *Env) s3Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" && r.Header.Get("X-Amz-Content-Sha256") == "" {
			writeS3Error(w, 400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
			return
		}
		if af := e.verify(r, nil, "s3"); af != nil {
			code := map[string]string{
				"MissingAuthenticationToken":  "AccessDenied",
				"UnrecognizedClientException": "InvalidAccessKeyId",
				"InvalidSignatureException":   "SignatureDoesNotMatch",
			}[af.code]
			if code == "" {
				code = af.code
			}
			writeS3Error(w, 403, code, af.msg)
			return
		}
		op := r.Method
		if q := r.URL.Query(); q.Has("uploadId") || q.Has("uploads") {
			op += "-multipart"
		}
		if strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 0 {
			op += "-bucket"
		}
		e.count("s3", op)
		next.ServeHTTP(w, r)
	})
}

func writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	out := struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
		Message string
	}{Code: code, Message: msg}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	b, _ := xml.Marshal(out)
	w.Write(append([]byte(xml.Header), b...))
}
