package cfinvalidate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/credence-oss/credence/shared/domain"
)

// No CloudFront emulator exists (LocalStack's is not free, moto's is Python): these tests run the
// client against a tiny wire-level stand-in on 127.0.0.1 that speaks the REST-XML
// CreateInvalidation operation (POST /2020-05-31/distribution/{Id}/invalidation) the way the
// CloudFront API reference documents it, and checks the SigV4 signature of every request with
// the SDK's own signer, so the request the adapter builds is checked on the wire, as CloudFront
// would receive it.

type batch struct {
	XMLName         xml.Name `xml:"InvalidationBatch"`
	CallerReference string   `xml:"CallerReference"`
	Quantity        int      `xml:"Paths>Quantity"`
	Items           []string `xml:"Paths>Items>Path"`
}

type fake struct {
	mu      sync.Mutex
	batches []batch
	dists   []string
	fail    string // error code to answer with
	status  int    // HTTP status of the failure (400 unless set)
	fails   int    // how many requests fail before they succeed (0: all fail when fail is set)
	tries   int
}

// signedCorrectly recomputes the request's SigV4 signature with the stand-in's copy of the
// secret and compares it with the one sent.
func signedCorrectly(r *http.Request, body []byte) bool {
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return false
	}
	sent := r.Header.Get("Authorization")
	check, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	for _, h := range []string{"Content-Type", "X-Amz-Security-Token"} {
		if v := r.Header.Get(h); v != "" {
			check.Header.Set(h, v)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, check, hex.EncodeToString(sum[:]), "cloudfront", "us-east-1", when); err != nil {
		return false
	}
	return sent != "" && check.Header.Get("Authorization") == sent
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	dist, ok := strings.CutPrefix(r.URL.Path, "/2020-05-31/distribution/")
	dist, ok2 := strings.CutSuffix(dist, "/invalidation")
	auth := r.Header.Get("Authorization")
	if r.Method != http.MethodPost || !ok || !ok2 || !strings.Contains(auth, "AWS4-HMAC-SHA256") || !strings.Contains(auth, "/cloudfront/aws4_request") {
		http.Error(w, "unexpected request "+r.Method+" "+r.URL.Path+" auth="+auth, http.StatusBadRequest)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	if !signedCorrectly(r, raw) {
		http.Error(w, "signature does not match", http.StatusForbidden)
		return
	}
	var b batch
	if err := xml.Unmarshal(raw, &b); err != nil {
		http.Error(w, "bad XML: "+err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.batches = append(f.batches, b)
	f.dists = append(f.dists, dist)
	f.tries++
	fail := f.fail
	if f.fails > 0 && f.tries > f.fails {
		fail = ""
	}
	status := f.status
	if status == 0 {
		status = http.StatusBadRequest
	}
	n := len(f.batches)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if fail != "" {
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>%s</Code><Message>Your request contains too many invalidations.</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`, fail)
		return
	}
	id := fmt.Sprintf("I%04d", n)
	w.Header().Set("Location", "https://cloudfront.amazonaws.com/2020-05-31/distribution/"+dist+"/invalidation/"+id)
	w.WriteHeader(http.StatusCreated)
	var items strings.Builder
	for _, p := range b.Items {
		items.WriteString("<Path>")
		_ = xml.EscapeText(&items, []byte(p))
		items.WriteString("</Path>")
	}
	fmt.Fprintf(w, `<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>%s</Id><Status>InProgress</Status><CreateTime>2026-01-01T00:00:00Z</CreateTime><InvalidationBatch><Paths><Quantity>%d</Quantity><Items>%s</Items></Paths><CallerReference>%s</CallerReference></InvalidationBatch></Invalidation>`,
		id, b.Quantity, items.String(), b.CallerReference)
}

func newFake(t *testing.T) (*fake, *Client) {
	f := &fake{}
	srv := httptest.NewUnstartedServer(f)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	return f, NewClient(cfg)
}

func TestInvalidateSendsOneBatchWithUniqueReferences(t *testing.T) {
	f, client := newFake(t)
	inv := New(client, "E2EXAMPLE")
	ctx := context.Background()
	if err := inv.Invalidate(ctx, "/c/abc", "/c/abc.*", "/c/abc"); err != nil {
		t.Fatal(err)
	}
	if err := inv.Invalidate(ctx, "/status/iss/revocation-1"); err != nil {
		t.Fatal(err)
	}
	if len(f.batches) != 2 {
		t.Fatalf("%d requests, want 2", len(f.batches))
	}
	b := f.batches[0]
	if f.dists[0] != "E2EXAMPLE" || b.Quantity != 2 || strings.Join(b.Items, ",") != "/c/abc,/c/abc.*" {
		t.Fatalf("first request: distribution %s, batch %+v", f.dists[0], b)
	}
	if b.CallerReference == "" || b.CallerReference == f.batches[1].CallerReference {
		t.Fatalf("caller references not unique: %q, %q", b.CallerReference, f.batches[1].CallerReference)
	}
}

// TestConcurrentCallsGetDistinctReferences: two Lambdas revoking at the same instant must not
// send the same CallerReference (CloudFront would merge or refuse them).
func TestConcurrentCallsGetDistinctReferences(t *testing.T) {
	f, client := newFake(t)
	inv := New(client, "E2EXAMPLE")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := inv.Invalidate(context.Background(), fmt.Sprintf("/c/id%d", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, b := range f.batches {
		if seen[b.CallerReference] {
			t.Fatalf("duplicate caller reference %s", b.CallerReference)
		}
		seen[b.CallerReference] = true
	}
	if len(seen) != 20 {
		t.Fatalf("%d distinct requests, want 20", len(seen))
	}
}

func TestServiceErrorIsReported(t *testing.T) {
	f, client := newFake(t)
	f.fail = "TooManyInvalidationsInProgress"
	err := New(client, "E2EXAMPLE").Invalidate(context.Background(), "/c/x")
	if err == nil || !strings.Contains(err.Error(), "TooManyInvalidationsInProgress") {
		t.Fatalf("err = %v, want the CloudFront error code", err)
	}
}

// TestThrottlingIsRetried: a throttled or failing CloudFront is tried again with the same
// caller reference; a refused request is not.
func TestThrottlingIsRetried(t *testing.T) {
	f, client := newFake(t)
	f.fail, f.status, f.fails = "Throttling", http.StatusBadRequest, 2
	if err := New(client, "E2EXAMPLE").Invalidate(context.Background(), "/c/x"); err != nil {
		t.Fatalf("after two throttled tries: %v", err)
	}
	if len(f.batches) != 3 || f.batches[0].CallerReference != f.batches[2].CallerReference {
		t.Fatalf("%d requests, references %+v", len(f.batches), f.batches)
	}
	f, client = newFake(t)
	f.fail = "InvalidArgument"
	if err := New(client, "E2EXAMPLE").Invalidate(context.Background(), "/c/x"); err == nil || len(f.batches) != 1 {
		t.Fatalf("a refused request: err %v after %d requests, want an error after 1", err, len(f.batches))
	}
}

func TestSessionTokenIsSigned(t *testing.T) {
	f, client := newFake(t)
	client.Credentials = credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "session-token")
	if err := New(client, "E2EXAMPLE").Invalidate(context.Background(), "/c/x"); err != nil {
		t.Fatal(err)
	}
	if len(f.batches) != 1 {
		t.Fatalf("%d requests", len(f.batches))
	}
	// A fresh client: the signer caches derived keys per access key id.
	wrong := *client
	wrong.signer = nil
	wrong.Credentials = credentials.NewStaticCredentialsProvider("AKIDTEST", "wrong secret", "")
	if err := New(&wrong, "E2EXAMPLE").Invalidate(context.Background(), "/c/y"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a request signed with the wrong secret: %v", err)
	}
}

func TestBadPathsAreRefusedBeforeAnyRequest(t *testing.T) {
	f, client := newFake(t)
	inv := New(client, "E2EXAMPLE")
	for _, p := range []string{"c/x", "/c/*/x", "/c/a b", ""} {
		if err := inv.Invalidate(context.Background(), "/ok", p); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	many := make([]string, MaxPaths+1)
	for i := range many {
		many[i] = fmt.Sprintf("/c/%d", i)
	}
	if err := inv.Invalidate(context.Background(), many...); err == nil {
		t.Error("more than MaxPaths paths accepted")
	}
	if err := inv.Invalidate(context.Background()); err != nil {
		t.Errorf("no paths: %v", err)
	}
	if len(f.batches) != 0 {
		t.Fatalf("%d requests sent for refused input", len(f.batches))
	}
}

func TestFromConfig(t *testing.T) {
	env := map[string]string{}
	if _, ok := FromConfig(aws.Config{Region: "us-east-1"}, func(k string) string { return env[k] }).(domain.NopInvalidator); !ok {
		t.Fatal("without CREDENCE_DISTRIBUTION_ID the invalidator is not the no-op")
	}
	env[EnvDistributionID] = "E2EXAMPLE"
	inv, ok := FromConfig(aws.Config{Region: "us-east-1"}, func(k string) string { return env[k] }).(*Invalidator)
	if !ok || inv.distributionID != "E2EXAMPLE" {
		t.Fatalf("with CREDENCE_DISTRIBUTION_ID: %#v", inv)
	}
}
