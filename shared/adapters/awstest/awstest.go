// Package awstest is shared support for the integration tests of the AWS adapters: it finds the
// emulator a test needs and builds an SDK configuration that talks only to it. Import it from
// _test.go files only.
//
// `make test` (.ci/testenv.sh) starts the emulators on 127.0.0.1 and exports, per service,
// CREDENCE_TEST_<SERVICE>_ENDPOINT (KMS, DYNAMODB, SQS, SES) plus CREDENCE_REQUIRE_EMULATORS=1.
// Without the endpoint variable an integration test skips, so `go test ./...` works on a bare
// machine; with CREDENCE_REQUIRE_EMULATORS=1 it fails instead, so CI cannot pass by skipping.
package awstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// RequireEnv, when "1", turns a missing emulator endpoint into a test failure.
const RequireEnv = "CREDENCE_REQUIRE_EMULATORS"

// Region is the region every emulator-backed client uses.
const Region = "us-east-1"

// EndpointEnv names the variable that holds the endpoint of service ("KMS", "DynamoDB", ...).
func EndpointEnv(service string) string {
	return "CREDENCE_TEST_" + strings.ToUpper(service) + "_ENDPOINT"
}

// Endpoint returns the emulator endpoint for service from CREDENCE_TEST_<SERVICE>_ENDPOINT. When
// the variable is unset it skips the test, or fails it if CREDENCE_REQUIRE_EMULATORS=1. A value
// that is not an http(s) URL always fails: a typo must not look like a skip.
func Endpoint(t testing.TB, service string) string {
	t.Helper()
	name := EndpointEnv(service)
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s emulator required (%s=1) but %s is not set; run the tests through `make test`", service, RequireEnv, name)
		}
		t.Skipf("%s is not set: skipping the %s integration test (`make test` starts the emulators)", name, service)
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Fatalf("%s=%q is not an http(s) URL", name, v)
	}
	return v
}

// Config returns an SDK configuration for an emulator at endpoint: region us-east-1, static dummy
// credentials (never the developer's real ones, which the default chain would find) and the
// endpoint as BaseEndpoint, which every service client built with NewFromConfig uses.
func Config(t testing.TB, endpoint string) aws.Config {
	t.Helper()
	cfg := aws.NewConfig()
	cfg.Region = Region
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIDCREDENCETEST", "credence-test-secret", ""))
	cfg.BaseEndpoint = aws.String(endpoint)
	return *cfg
}

// UniqueName returns prefix followed by a random suffix, valid as a DynamoDB table, SQS queue or
// S3 bucket name. Test packages run in parallel against the same emulator, so fixed names would
// collide.
func UniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + "-" + hex.EncodeToString(b[:])
}

// SESEmail is one message aws-ses-v2-local accepted, as its GET /store reports it.
type SESEmail struct {
	MessageID   string `json:"messageId"`
	From        string `json:"from"`
	Subject     string `json:"subject"`
	Destination struct {
		To  []string `json:"to"`
		Cc  []string `json:"cc"`
		Bcc []string `json:"bcc"`
	} `json:"destination"`
	Body struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	} `json:"body"`
	At int64 `json:"at"` // Unix seconds
}

// SESEmails returns every message the SES emulator at endpoint has accepted so far, oldest first,
// so a mail test can check what was really sent rather than only that SendEmail succeeded. Tests
// share the emulator: filter by a unique recipient or subject.
func SESEmails(t testing.TB, endpoint string) []SESEmail {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, strings.TrimRight(endpoint, "/")+"/store", nil)
	if err != nil {
		t.Fatalf("SES store request: %v", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("read the SES emulator's store: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("SES emulator store: HTTP %d", res.StatusCode)
	}
	var store struct {
		Emails []SESEmail `json:"emails"`
	}
	if err := json.NewDecoder(res.Body).Decode(&store); err != nil {
		t.Fatalf("decode the SES emulator's store: %v", err)
	}
	return store.Emails
}
