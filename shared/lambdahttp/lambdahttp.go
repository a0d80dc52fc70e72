// Package lambdahttp runs a plain net/http handler behind API Gateway HTTP API (payload format
// 2.0) and Lambda function URLs, which share that format. The same handler runs under
// `credence serve` and in tests, so this thin wrapper is the only Lambda-specific code a
// function's main has.
package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// RequestIDHeader carries API Gateway's request id into the handler for logs and audit.
const RequestIDHeader = "X-Request-Id"

// Start serves h as the Lambda handler; it never returns.
func Start(h http.Handler) { lambda.Start(Handler(h)) }

// Handler adapts h to the Lambda HTTP API v2 event shape.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		req, err := Request(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest, Body: `{"error":{"code":"bad_request","message":"malformed request event"}}`,
				Headers: map[string]string{"Content-Type": "application/json"}}, nil
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return Response(rec.Result())
	}
}

// Request turns an HTTP API v2 event into an *http.Request.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		dec, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("lambdahttp: body is not base64: %w", err)
		}
		body = dec
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	path := ev.RawPath
	if path == "" {
		path = "/"
	}
	target := path
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("lambdahttp: build request: %w", err)
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = ev.RequestContext.DomainName
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	req.ContentLength = int64(len(body))
	if ev.RequestContext.RequestID != "" && req.Header.Get(RequestIDHeader) == "" {
		req.Header.Set(RequestIDHeader, ev.RequestContext.RequestID)
	}
	return req, nil
}

// Response turns a recorded response into the v2 response shape; binary bodies are base64.
func Response(res *http.Response) (events.APIGatewayV2HTTPResponse, error) {
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("lambdahttp: read response: %w", err)
	}
	out := events.APIGatewayV2HTTPResponse{StatusCode: res.StatusCode, Headers: map[string]string{}}
	for k, vs := range res.Header {
		if k == "Set-Cookie" {
			out.Cookies = append(out.Cookies, vs...)
			continue
		}
		out.Headers[k] = strings.Join(vs, ", ")
	}
	if isText(res.Header.Get("Content-Type")) && utf8.Valid(body) {
		out.Body = string(body)
	} else {
		out.Body = base64.StdEncoding.EncodeToString(body)
		out.IsBase64Encoded = true
	}
	return out, nil
}

func isText(ct string) bool {
	ct = strings.ToLower(ct)
	if ct == "" || strings.HasPrefix(ct, "text/") {
		return true
	}
	for _, s := range []string{"json", "xml", "javascript", "jwt", "svg"} {
		if strings.Contains(ct, s) {
			return true
		}
	}
	return false
}
