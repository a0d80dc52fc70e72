package lambdahttp

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestRoundTrip(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/v1/x" || r.URL.Query().Get("a") != "1" || string(body) != `{"k":1}` {
			t.Errorf("request mangled: %s %s %q %q", r.Method, r.URL.Path, r.URL.RawQuery, body)
		}
		if r.Header.Get(RequestIDHeader) != "req-1" || r.Host != "api.example" {
			t.Errorf("headers mangled: %v host %s", r.Header, r.Host)
		}
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(201)
		_, _ = w.Write([]byte{0x89, 'P', 'N', 'G', 0xff})
	})
	ev := events.APIGatewayV2HTTPRequest{
		RawPath: "/v1/x", RawQueryString: "a=1",
		Headers:         map[string]string{"content-type": "application/json"},
		Body:            base64.StdEncoding.EncodeToString([]byte(`{"k":1}`)),
		IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-1", DomainName: "api.example",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}},
	}
	res, err := Handler(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 201 || !res.IsBase64Encoded || res.Body != base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G', 0xff}) {
		t.Fatalf("response mangled: %+v", res)
	}
}

func TestMalformedBase64Is400(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("handler must not run") })
	res, _ := Handler(h)(context.Background(), events.APIGatewayV2HTTPRequest{Body: "%%%", IsBase64Encoded: true})
	if res.StatusCode != 400 {
		t.Fatalf("status %d", res.StatusCode)
	}
}
