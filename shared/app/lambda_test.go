package app_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/credence-oss/credence/shared/api"
	"github.com/credence-oss/credence/shared/lambdahttp"
	"github.com/credence-oss/credence/shared/site"
	"github.com/credence-oss/credence/shared/web"
)

func loadEvent(t *testing.T, name string, replace ...string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile("../../events/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(replace...).Replace(string(raw))
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(s), &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// TestLambdaEvents runs the sample events through the same wrappers the Lambda mains use.
func TestLambdaEvents(t *testing.T) {
	e := newEnv(t)
	apiFn := lambdahttp.Handler(web.Middleware(nil, api.New(e.local.Service)))
	siteFn := lambdahttp.Handler(web.Middleware(nil, site.New(e.local.Service)))
	ctx := context.Background()

	res, err := apiFn(ctx, loadEvent(t, "api-create-issuer.json"))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create issuer event: %d %s %v", res.StatusCode, res.Body, err)
	}
	if res.Headers["X-Request-Id"] != "evt-create-issuer-1" {
		t.Fatalf("the API Gateway request id is not the request id: %v", res.Headers)
	}
	var iss map[string]any
	_ = json.Unmarshal([]byte(res.Body), &iss)
	id, _ := iss["id"].(string)
	if id == "" || iss["name"] != "Example University" {
		t.Fatalf("issuer: %v", iss)
	}
	res, err = apiFn(ctx, loadEvent(t, "api-get-issuer.json", "{issuerId}", id))
	if err != nil || res.StatusCode != 200 || !strings.Contains(res.Body, `"did"`) {
		t.Fatalf("get issuer event: %d %s %v", res.StatusCode, res.Body, err)
	}
	res, err = siteFn(ctx, loadEvent(t, "verify-did.json", "{issuerId}", id))
	if err != nil || res.StatusCode != 200 || res.Headers["Content-Type"] != "application/did+json" || !strings.Contains(res.Body, iss["did"].(string)) {
		t.Fatalf("did.json event: %d %v %s %v", res.StatusCode, res.Headers, res.Body, err)
	}
	res, err = siteFn(ctx, loadEvent(t, "verify-healthz.json"))
	if err != nil || res.StatusCode != 200 || res.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("healthz event: %d %v %v", res.StatusCode, res.Headers, err)
	}
}
