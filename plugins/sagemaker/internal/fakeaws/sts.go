package fakeaws

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
)

// serveSTS answers sts:GetCallerIdentity in the AWS query protocol: a
// form-encoded POST, an XML answer.
func (e *Env) serveSTS(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		e.writeQueryError(w, 400, "MalformedInput", err.Error())
		return
	}
	if af := e.verify(r, body, "sts"); af != nil {
		code := af.code
		if code == "UnrecognizedClientException" {
			code = "InvalidClientTokenId"
		}
		e.writeQueryError(w, 403, code, af.msg)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		e.writeQueryError(w, 400, "MalformedInput", "expected a form-encoded POST")
		return
	}
	if form.Get("Action") != "GetCallerIdentity" || form.Get("Version") != "2011-06-15" {
		e.writeQueryError(w, 400, "InvalidAction", "Could not find operation "+form.Get("Action")+" for version "+form.Get("Version"))
		return
	}
	e.count("sts", "GetCallerIdentity")
	type result struct {
		Arn     string
		UserId  string
		Account string
	}
	out := struct {
		XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
		Result    result   `xml:"GetCallerIdentityResult"`
		RequestID string   `xml:"ResponseMetadata>RequestId"`
	}{Result: result{Arn: "arn:aws:iam::" + e.Account + ":user/neural-test", UserId: "AIDANEURALTEST000001", Account: e.Account}, RequestID: e.newRequestID()}
	w.Header().Set("Content-Type", "text/xml")
	b, _ := xml.Marshal(out)
	w.Write(append([]byte(xml.Header), b...))
}

func (e *Env) writeQueryError(w http.ResponseWriter, status int, code, msg string) {
	out := struct {
		XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
		Type      string   `xml:"Error>Type"`
		Code      string   `xml:"Error>Code"`
		Message   string   `xml:"Error>Message"`
		RequestID string   `xml:"RequestId"`
	}{Type: "Sender", Code: code, Message: msg, RequestID: e.newRequestID()}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	b, _ := xml.Marshal(out)
	w.Write(append([]byte(xml.Header), b...))
}
