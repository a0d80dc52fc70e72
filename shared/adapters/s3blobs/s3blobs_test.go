package s3blobs_test

// The S3 adapter runs against gofakes3 (in process, on 127.0.0.1, path-style).
//
// What gofakes3 v1.2.0 does with a browser POST upload (POST /{bucket}, multipart form): it
// stores the "file" part under the form's "key" field, and that is all. It checks neither the
// policy (not even that there is one), nor its expiration, nor any condition (bucket, key,
// content-length-range), nor x-amz-signature, credential or date. It does honour Range on GET,
// response-content-disposition on a presigned GET (without checking that URL's signature or
// expiry either), and it ignores If-Match on GET.
//
// So the contract runs twice: once straight against gofakes3, where the upload refusals are
// skipped, and once behind policyGate, a test-only front that enforces POST policies the way
// S3 documents it (signature, expiration, every condition, every form field covered by a
// condition) before handing the form to gofakes3. The gate checks signatures with SignPolicy,
// which TestSignPolicyAWSVector pins to AWS's published example, so the two together test the
// policy this adapter writes against the documented algorithm, not against itself alone.
//
// gofakes3 checks no SigV4 signature either, so every fake also puts sigCheck in front: it
// recomputes the signature of each HEAD, GET and PUT (header auth) and of each presigned GET
// (query auth) with the SDK's own v4 signer and refuses the request when they differ, when the
// payload hash is not the body's, or when a presigned URL has expired. TestSigCheckRefuses
// shows it refuses what S3 would.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/credence-oss/credence/shared/adapters/awstest"
	"github.com/credence-oss/credence/shared/adapters/blobtest"
	"github.com/credence-oss/credence/shared/adapters/s3blobs"
	"github.com/credence-oss/credence/shared/domain"
)

const (
	testAccessKey = "AKIDCREDENCETEST" // awstest.Config's static credentials
	testSecret    = "credence-test-secret"
	bucket        = "credence-rosters"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fake struct {
	srv   *httptest.Server
	store *s3blobs.Store
	gets  atomic.Int64 // ranged GETs of objects
	clock *fakeClock
	sigs  *sigCheck
}

// newFake starts gofakes3 with one bucket, optionally behind policyGate, and a store on it.
func newFake(t *testing.T, gate bool) *fake {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	f := &fake{clock: &fakeClock{t: time.Now().UTC()}}
	var h http.Handler = gofakes3.New(backend).Server()
	if gate {
		h = &policyGate{next: h, bucket: bucket, now: f.clock.Now}
	}
	f.sigs = &sigCheck{next: h, now: f.clock.Now, verified: map[string]int{}}
	next := http.Handler(f.sigs)
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.Header.Get("Range") != "" {
			f.gets.Add(1)
		}
		next.ServeHTTP(w, r)
	})
	f.srv = httptest.NewServer(h) // 127.0.0.1
	t.Cleanup(f.srv.Close)
	f.store = s3blobs.New(awstest.Config(t, f.srv.URL), bucket)
	f.store.Now = f.clock.Now
	return f
}

func TestContractGofakes3(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobtest.Env {
		f := newFake(t, false)
		return blobtest.Env{Blobs: f.store, Client: f.srv.Client(), Now: f.clock.Now, Advance: f.clock.Advance,
			NotEnforced: "gofakes3 v1.2.0 stores any POST form without checking its policy or signature (TestContractPolicyGate covers the refusals)"}
	})
}

func TestContractPolicyGate(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobtest.Env {
		f := newFake(t, true)
		return blobtest.Env{Blobs: f.store, Client: f.srv.Client(), Now: f.clock.Now, Advance: f.clock.Advance}
	})
}

// TestSignPolicyAWSVector signs the policy of AWS's "Example: Browser-Based Upload using HTTP
// POST (Using AWS Signature Version 4)" with its example credentials and date, and expects the
// signature that page publishes.
func TestSignPolicyAWSVector(t *testing.T) {
	const (
		secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		// The page's policy, base64 as published (its JSON has CRLF line ends).
		policy = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
		want   = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
	)
	// The base64 must be the page's policy, or the vector tests nothing.
	doc, err := base64.StdEncoding.DecodeString(policy)
	if err != nil || !bytes.Contains(doc, []byte(`{"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"}`)) {
		t.Fatalf("the vector's policy does not decode to AWS's example: %v", err)
	}
	if got := s3blobs.SignPolicy(policy, secret, "20151229", "us-east-1"); got != want {
		t.Fatalf("SignPolicy = %s; want %s", got, want)
	}
	if got := s3blobs.SignPolicy(policy, secret, "20151230", "us-east-1"); got == want {
		t.Fatal("SignPolicy ignores the date")
	}
}

// TestPostFields checks the policy document and fields field by field, with and without a
// session token.
func TestPostFields(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	exp := now.Add(15 * time.Minute)
	for _, token := range []string{"", "session-token/with+chars="} {
		creds := aws.Credentials{AccessKeyID: "AKIDX", SecretAccessKey: "s3cr3t", SessionToken: token}
		fields, err := s3blobs.PostFields(creds, "eu-central-1", "b1", "rosters/j1", 50<<20, now, exp)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"key": "rosters/j1", "x-amz-algorithm": "AWS4-HMAC-SHA256",
			"x-amz-credential": "AKIDX/20260304/eu-central-1/s3/aws4_request", "x-amz-date": "20260304T050607Z",
		}
		if token != "" {
			want["x-amz-security-token"] = token
		}
		for k, v := range want {
			if fields[k] != v {
				t.Errorf("field %s = %q; want %q", k, fields[k], v)
			}
		}
		if len(fields) != len(want)+2 {
			t.Errorf("fields = %v; want %v plus policy and x-amz-signature", fields, want)
		}
		raw, err := base64.StdEncoding.DecodeString(fields["policy"])
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Expiration string            `json:"expiration"`
			Conditions []json.RawMessage `json:"conditions"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("policy %s: %v", raw, err)
		}
		if doc.Expiration != "2026-03-04T05:21:07.000Z" {
			t.Errorf("expiration = %q", doc.Expiration)
		}
		var conds []string
		for _, c := range doc.Conditions {
			conds = append(conds, string(c))
		}
		wantConds := []string{`{"bucket":"b1"}`, `{"key":"rosters/j1"}`, `["content-length-range",1,52428800]`,
			`{"x-amz-algorithm":"AWS4-HMAC-SHA256"}`, `{"x-amz-credential":"AKIDX/20260304/eu-central-1/s3/aws4_request"}`,
			`{"x-amz-date":"20260304T050607Z"}`}
		if token != "" {
			wantConds = append(wantConds, `{"x-amz-security-token":"session-token/with+chars="}`)
		}
		if strings.Join(conds, " ") != strings.Join(wantConds, " ") {
			t.Errorf("conditions\n got %s\nwant %s", conds, wantConds)
		}
		if sig := s3blobs.SignPolicy(fields["policy"], "s3cr3t", "20260304", "eu-central-1"); fields["x-amz-signature"] != sig {
			t.Errorf("x-amz-signature = %s; want %s", fields["x-amz-signature"], sig)
		}
	}
	if _, err := s3blobs.PostFields(aws.Credentials{}, "us-east-1", "b", "k", 1, now, exp); err == nil {
		t.Error("PostFields without credentials succeeded")
	}
}

// An open blob fetches whole blocks and reuses them: a sequential read costs one GET per
// block, and a ZIP-like pattern (end, start, end) does not fetch the end twice.
func TestBlobFetchesBlocks(t *testing.T) {
	f := newFake(t, false)
	f.store.BlockSize = 64 << 10
	f.store.CacheBlocks = 2
	body := bytes.Repeat([]byte("0123456789abcdef"), (256<<10)/16+3) // 4 blocks and 48 bytes
	ctx := t.Context()
	if err := f.store.Put(ctx, "rosters/big", io.MultiReader(bytes.NewReader(body)), int64(len(body)), ""); err != nil {
		t.Fatal(err)
	}
	b, err := f.store.Open(ctx, "rosters/big")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size())) // 512-byte reads
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("sequential read: %v, equal %v", err, bytes.Equal(got, body))
	}
	if n := f.gets.Load(); n != 5 {
		t.Fatalf("sequential read of 5 blocks made %d GETs; want 5", n)
	}
	f.gets.Store(0)
	p := make([]byte, 22)
	for _, off := range []int64{int64(len(body)) - 22, 10, int64(len(body)) - 22, 20} {
		if _, err := b.ReadAt(p, off); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(p, body[off:off+22]) {
			t.Fatalf("ReadAt %d: wrong bytes", off)
		}
	}
	// The last block was cached from the sequential read; block 0 is fetched once.
	if n := f.gets.Load(); n != 1 {
		t.Fatalf("end/start/end/start reads made %d GETs; want 1", n)
	}
	b.Close()
	if _, err := b.ReadAt(p, 0); err == nil {
		t.Fatal("ReadAt after Close succeeded")
	}
}

func TestPutLengthMismatch(t *testing.T) {
	f := newFake(t, false)
	ctx := t.Context()
	f.store.PutBufferBytes = 4 // the larger body goes through the temp-file path
	for _, tc := range []struct {
		body io.Reader
		size int64
	}{
		{strings.NewReader("four"), 3},                          // seekable, too long
		{strings.NewReader("four"), 5},                          // seekable, too short
		{io.MultiReader(strings.NewReader("four")), 3},          // buffered, too long
		{io.MultiReader(strings.NewReader("fourfive")), 9},      // spooled, too short
		{io.MultiReader(strings.NewReader("four-and-more")), 6}, // spooled, too long
	} {
		if err := f.store.Put(ctx, "reports/x.csv", tc.body, tc.size, "text/csv"); err == nil {
			t.Errorf("Put with size %d of a different body succeeded", tc.size)
		}
		if _, err := f.store.Open(ctx, "reports/x.csv"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("after a refused Put: Open = %v; want ErrNotFound", err)
		}
	}
	r := strings.NewReader("skip:payload")
	if _, err := r.Seek(5, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	// A seeker is stored from where it stands, not from its start.
	if err := f.store.Put(ctx, "reports/y.csv", r, 7, "text/csv"); err != nil {
		t.Fatal(err)
	}
	spooled := bytes.Repeat([]byte("z"), 100)
	if err := f.store.Put(ctx, "reports/z.csv", io.MultiReader(bytes.NewReader(spooled)), 100, "text/csv"); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"reports/y.csv": "payload", "reports/z.csv": string(spooled)} {
		b, err := f.store.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
		b.Close()
		if string(got) != want {
			t.Errorf("%s = %q; want %q", key, got, want)
		}
	}
}

// policyGate enforces S3 POST policies in front of gofakes3, following "Creating a POST
// policy" and "Authenticating Requests: Browser-Based Uploads Using POST" in the S3 API
// reference: a valid signature of the policy under the credential's scope, an expiration in
// the future, every condition met (exact match, starts-with, content-length-range), and every
// form field except policy, x-amz-signature, file and x-ignore-* named by a condition.
type policyGate struct {
	next   http.Handler
	bucket string
	now    func() time.Time
}

func (g *policyGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Method != http.MethodPost || ct != "multipart/form-data" {
		g.next.ServeHTTP(w, r)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err := r.ParseMultipartForm(64 << 20); err != nil {
		http.Error(w, "MalformedPOSTRequest", http.StatusBadRequest)
		return
	}
	if status, msg := g.check(r); status != 0 {
		http.Error(w, msg, status)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	r.MultipartForm = nil
	g.next.ServeHTTP(w, r)
}

func (g *policyGate) check(r *http.Request) (int, string) {
	denied := http.StatusForbidden
	fields := map[string]string{}
	for k, v := range r.MultipartForm.Value {
		if len(v) != 1 {
			return http.StatusBadRequest, "field " + k + " given more than once"
		}
		fields[strings.ToLower(k)] = v[0]
	}
	files := r.MultipartForm.File["file"]
	if len(files) != 1 {
		return http.StatusBadRequest, "want one file"
	}
	size := files[0].Size
	if r.URL.Path != "/"+g.bucket {
		return denied, "not the bucket's URL"
	}
	cred := strings.Split(fields["x-amz-credential"], "/")
	if len(cred) != 5 || cred[0] != testAccessKey || cred[3] != "s3" || cred[4] != "aws4_request" ||
		fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256" || !strings.HasPrefix(fields["x-amz-date"], cred[1]+"T") {
		return denied, "bad credential, algorithm or date"
	}
	if fields["x-amz-signature"] != s3blobs.SignPolicy(fields["policy"], testSecret, cred[1], cred[2]) {
		return denied, "SignatureDoesNotMatch"
	}
	doc, err := base64.StdEncoding.DecodeString(fields["policy"])
	if err != nil {
		return http.StatusBadRequest, "policy is not base64"
	}
	var p struct {
		Expiration string            `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(doc, &p); err != nil {
		return http.StatusBadRequest, "policy is not JSON"
	}
	exp, err := time.Parse(time.RFC3339, p.Expiration)
	if err != nil || !g.now().Before(exp) {
		return denied, "policy expired"
	}
	covered := map[string]bool{"policy": true, "x-amz-signature": true, "file": true}
	value := func(name string) string {
		if name == "bucket" {
			return g.bucket
		}
		return fields[name]
	}
	for _, c := range p.Conditions {
		var eq map[string]string
		if json.Unmarshal(c, &eq) == nil {
			for k, v := range eq {
				k = strings.ToLower(k)
				covered[k] = true
				if value(k) != v {
					return denied, "condition failed: " + string(c)
				}
			}
			continue
		}
		var arr []any
		if err := json.Unmarshal(c, &arr); err != nil || len(arr) != 3 {
			return http.StatusBadRequest, "bad condition " + string(c)
		}
		op, _ := arr[0].(string)
		switch strings.ToLower(op) {
		case "content-length-range":
			lo, ok1 := arr[1].(float64)
			hi, ok2 := arr[2].(float64)
			if !ok1 || !ok2 {
				return http.StatusBadRequest, "bad content-length-range"
			}
			if float64(size) < lo {
				return http.StatusBadRequest, "EntityTooSmall"
			}
			if float64(size) > hi {
				return http.StatusBadRequest, "EntityTooLarge"
			}
		case "eq", "starts-with":
			name, _ := arr[1].(string)
			want, _ := arr[2].(string)
			name = strings.ToLower(strings.TrimPrefix(name, "$"))
			covered[name] = true
			if got := value(name); op == "eq" && got != want || op != "eq" && !strings.HasPrefix(got, want) {
				return denied, "condition failed: " + string(c)
			}
		default:
			return http.StatusBadRequest, "unknown condition " + op
		}
	}
	for k := range fields {
		if !covered[k] && !strings.HasPrefix(k, "x-ignore-") {
			return denied, "field " + k + " is not in the policy"
		}
	}
	return 0, ""
}

// The gate itself must refuse what S3 refuses, or TestContractPolicyGate proves nothing.
func TestPolicyGateRefuses(t *testing.T) {
	f := newFake(t, true)
	ctx := t.Context()
	up, err := f.store.PresignUpload(ctx, "rosters/j1", 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("email,name\n")
	for name, change := range map[string]func(m map[string]string){
		"extra field":     func(m map[string]string) { m["acl"] = "public-read" },
		"wrong signature": func(m map[string]string) { m["x-amz-signature"] = strings.Repeat("0", 64) },
		"other date":      func(m map[string]string) { m["x-amz-date"] = "20200101T000000Z" },
	} {
		changed := domain.Upload{URL: up.URL, Fields: map[string]string{}}
		for k, v := range up.Fields {
			changed.Fields[k] = v
		}
		change(changed.Fields)
		resp, err := blobtest.PostForm(ctx, f.srv.Client(), changed, "r.csv", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			t.Errorf("%s: gate accepted the upload", name)
		}
	}
	u, _ := url.Parse(up.URL)
	u.Path = "/other-bucket"
	other := up
	other.URL = u.String()
	resp, err := blobtest.PostForm(ctx, f.srv.Client(), other, "r.csv", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		t.Error("gate accepted an upload to another bucket")
	}
	resp, err = blobtest.PostForm(ctx, f.srv.Client(), up, "r.csv", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Errorf("gate refused the untouched upload: %s", resp.Status)
	}
}

func ExampleStore_PresignUpload() {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	up, err := s3blobs.New(cfg, "my-rosters").PresignUpload(context.Background(), "rosters/job1", 50<<20, 15*time.Minute)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(up.URL, up.Fields["key"], up.MaxBytes)
	// Output: https://my-rosters.s3.us-east-1.amazonaws.com rosters/job1 52428800
}
