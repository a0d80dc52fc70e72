package s3blobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/credence-oss/credence/shared/adapters/awstest"
	"github.com/credence-oss/credence/shared/adapters/s3blobs"
	"github.com/credence-oss/credence/shared/domain"
)

// sigCheck verifies SigV4 as S3 documents it ("Authenticating Requests (AWS Signature Version
// 4)": header-based auth and query-string auth) by signing a copy of each request with the
// SDK's v4 signer and the stand-in's copy of the secret, then hands the request on. Browser
// POST uploads carry their signature in the form; policyGate checks those.
type sigCheck struct {
	next http.Handler
	now  func() time.Time // the clock presigned URLs expire by

	mu       sync.Mutex
	verified map[string]int // "HEAD", "GET", "PUT", "presigned GET": requests that passed
}

func (c *sigCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var err error
	kind := r.Method
	switch {
	case r.URL.Query().Has("X-Amz-Signature"):
		kind = "presigned " + r.Method
		err = c.checkPresigned(r)
	case r.Method == http.MethodPost && r.Header.Get("Authorization") == "":
		c.next.ServeHTTP(w, r)
		return
	default:
		err = c.checkSigned(r)
	}
	if err != nil {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		var msg bytes.Buffer
		_ = xml.EscapeText(&msg, []byte(err.Error()))
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>%s</Message><RequestId>sig-1</RequestId></Error>`, msg.String())
		return
	}
	c.mu.Lock()
	c.verified[kind]++
	c.mu.Unlock()
	c.next.ServeHTTP(w, r)
}

func (c *sigCheck) count(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verified[kind]
}

func s3Signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// checkScope checks a credential (AKID/date/region/s3/aws4_request) against the signing time.
func checkScope(cred string, when time.Time) error {
	p := strings.Split(cred, "/")
	if len(p) != 5 || p[0] != testAccessKey || p[1] != when.Format("20060102") || p[2] != awstest.Region || p[3] != "s3" || p[4] != "aws4_request" {
		return fmt.Errorf("bad credential scope %q", cred)
	}
	return nil
}

func (c *sigCheck) checkSigned(r *http.Request) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("not SigV4: Authorization %q", auth)
	}
	parts := map[string]string{}
	for _, kv := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(kv, "=")
		parts[k] = v
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("bad X-Amz-Date: %v", err)
	}
	if d := time.Since(when); d > 15*time.Minute || d < -15*time.Minute {
		return fmt.Errorf("RequestTimeTooSkewed: %v", d)
	}
	if err := checkScope(parts["Credential"], when); err != nil {
		return err
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	for _, must := range []string{"host", "x-amz-content-sha256", "x-amz-date"} {
		if !contains(signed, must) {
			return fmt.Errorf("%s is not signed (SignedHeaders %q)", must, parts["SignedHeaders"])
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if sum := sha256.Sum256(body); hash != "UNSIGNED-PAYLOAD" && hash != hex.EncodeToString(sum[:]) {
		return fmt.Errorf("XAmzContentSHA256Mismatch: %s for a body of %d bytes", hash, len(body))
	}
	check, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	for _, h := range signed {
		if h != "host" {
			check.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := s3Signer().SignHTTP(context.Background(), creds, check, hash, "s3", awstest.Region, when); err != nil {
		return err
	}
	if want := check.Header.Get("Authorization"); want != auth {
		return fmt.Errorf("signature does not match:\n got %s\nwant %s", auth, want)
	}
	return nil
}

func (c *sigCheck) checkPresigned(r *http.Request) error {
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-SignedHeaders") != "host" {
		return fmt.Errorf("bad algorithm or signed headers: %s", r.URL.RawQuery)
	}
	when, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("bad X-Amz-Date: %v", err)
	}
	if err := checkScope(q.Get("X-Amz-Credential"), when); err != nil {
		return err
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs < 1 || secs > 604800 {
		return fmt.Errorf("bad X-Amz-Expires %q", q.Get("X-Amz-Expires"))
	}
	if !c.now().Before(when.Add(time.Duration(secs) * time.Second)) {
		return errors.New("AccessDenied: Request has expired")
	}
	sent := q.Get("X-Amz-Signature")
	token := q.Get("X-Amz-Security-Token")
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"} {
		q.Del(k)
	}
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
	check, err := http.NewRequest(r.Method, u.String(), nil)
	if err != nil {
		return err
	}
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret, SessionToken: token}
	signedURL, _, err := s3Signer().PresignHTTP(context.Background(), creds, check, "UNSIGNED-PAYLOAD", "s3", awstest.Region, when)
	if err != nil {
		return err
	}
	su, err := url.Parse(signedURL)
	if err != nil {
		return err
	}
	if want := su.Query().Get("X-Amz-Signature"); sent == "" || want != sent {
		return fmt.Errorf("presigned signature does not match: got %s, want %s", sent, want)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Every kind of request the store makes reaches gofakes3 only through sigCheck, so these
// succeed only if each one is validly signed.
func TestRequestsSigned(t *testing.T) {
	f := newFake(t, false)
	ctx := t.Context()
	body := []byte("email,name\nada@example.org,Ada\n")
	if err := f.store.Put(ctx, "reports/r1.csv", bytes.NewReader(body), int64(len(body)), "text/csv"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Put(ctx, "reports/empty.csv", strings.NewReader(""), 0, "text/csv"); err != nil {
		t.Fatal(err)
	}
	b, err := f.store.Open(ctx, "reports/r1.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
	b.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back %q, %v", got, err)
	}
	u, err := f.store.DownloadURL(ctx, "reports/r1.csv", "Ergebnis Prüfung.csv", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.srv.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("presigned GET: %s %q", resp.Status, got)
	}
	for kind, want := range map[string]int{"PUT": 2, "HEAD": 1, "GET": 1, "presigned GET": 1} {
		if n := f.sigs.count(kind); n != want {
			t.Errorf("%d %s requests passed the signature check; want %d", n, kind, want)
		}
	}
	if q, _ := url.ParseQuery(u[strings.IndexByte(u, '?')+1:]); q.Get("X-Amz-Expires") != "3600" || q.Get("X-Amz-Security-Token") != "" {
		t.Errorf("presigned query %v: want X-Amz-Expires 3600 and no token", q)
	}
}

// The check must refuse what S3 refuses, or TestRequestsSigned proves nothing.
func TestSigCheckRefuses(t *testing.T) {
	f := newFake(t, false)
	ctx := t.Context()
	if err := f.store.Put(ctx, "reports/r1.csv", strings.NewReader("a,b\n"), 4, "text/csv"); err != nil {
		t.Fatal(err)
	}

	cfg := awstest.Config(t, f.srv.URL)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(testAccessKey, "not-the-secret", "")
	wrong := s3blobs.New(cfg, bucket)
	err := wrong.Put(ctx, "reports/r2.csv", strings.NewReader("a,b\n"), 4, "text/csv")
	var apiErr *s3blobs.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "SignatureDoesNotMatch" {
		t.Errorf("Put signed with the wrong secret: %v; want SignatureDoesNotMatch", err)
	}
	if _, err := wrong.Open(ctx, "reports/r1.csv"); err == nil || errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Open signed with the wrong secret: %v; want a refusal", err)
	}

	// A correct signature over a payload hash that is not the body's.
	req, _ := http.NewRequest(http.MethodPut, f.srv.URL+"/"+bucket+"/reports/r3.csv", strings.NewReader("evil"))
	other := sha256.Sum256([]byte("good"))
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(other[:]))
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}
	if err := s3Signer().SignHTTP(ctx, creds, req, hex.EncodeToString(other[:]), "s3", awstest.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	if resp, err := f.srv.Client().Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("PUT whose body is not the signed hash: %v %v; want 403", resp, err)
	} else {
		resp.Body.Close()
	}

	u, err := f.store.DownloadURL(ctx, "reports/r1.csv", "r.csv", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for name, url := range map[string]string{
		"changed filename": strings.Replace(u, "r.csv", "s.csv", 1),
		"longer expiry":    strings.Replace(u, "X-Amz-Expires=60", "X-Amz-Expires=61", 1),
	} {
		if url == u {
			t.Fatalf("%s: the URL did not change (%s)", name, u)
		}
		resp, err := f.srv.Client().Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: presigned GET answered %s; want 403", name, resp.Status)
		}
	}
	f.clock.Advance(61 * time.Second)
	resp, err := f.srv.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("expired presigned GET answered %s; want 403", resp.Status)
	}
}

// recorder is an aws.HTTPClient that answers from a script instead of the network, for what
// gofakes3 cannot be made to do (throttle, refuse, lose a connection) and for addressing
// real S3 hosts.
type recorder struct {
	mu      sync.Mutex
	reqs    []*http.Request
	answers []func(*http.Request) (*http.Response, error) // the last one repeats
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	a := r.answers[min(len(r.reqs), len(r.answers))-1]
	r.mu.Unlock()
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
	}
	return a(req)
}

func answer(status int, header map[string]string, body string) func(*http.Request) (*http.Response, error) {
	return func(req *http.Request) (*http.Response, error) {
		h := http.Header{}
		for k, v := range header {
			h.Set(k, v)
		}
		return &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status), Header: h,
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req}, nil
	}
}

func s3Error(status int, code string) func(*http.Request) (*http.Response, error) {
	return answer(status, map[string]string{"X-Amz-Request-Id": "REQ1"},
		`<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>scripted</Message><RequestId>REQ1</RequestId></Error>`)
}

var headOK = answer(http.StatusOK, map[string]string{"Content-Length": "10", "ETag": `"abc"`}, "")

func scripted(region string, answers ...func(*http.Request) (*http.Response, error)) (aws.Config, *recorder) {
	rec := &recorder{answers: answers}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(testAccessKey, testSecret, "tok"),
		HTTPClient:  rec,
	}, rec
}

// Without a custom endpoint, requests, upload forms and download URLs go to the bucket's
// regional endpoint: virtual-hosted, or path-style when asked or when the name has dots.
func TestAddressing(t *testing.T) {
	for _, tc := range []struct {
		region, bucket string
		opts           []s3blobs.Option
		want           string
	}{
		{"eu-west-1", "credence-rosters", nil, "https://credence-rosters.s3.eu-west-1.amazonaws.com"},
		{"eu-west-1", "credence-rosters", []s3blobs.Option{s3blobs.PathStyle()}, "https://s3.eu-west-1.amazonaws.com/credence-rosters"},
		{"us-east-1", "rosters.example.org", nil, "https://s3.us-east-1.amazonaws.com/rosters.example.org"},
		{"cn-north-1", "credence-rosters", nil, "https://credence-rosters.s3.cn-north-1.amazonaws.com.cn"},
	} {
		cfg, rec := scripted(tc.region, headOK, answer(http.StatusOK, nil, ""))
		store := s3blobs.New(cfg, tc.bucket, tc.opts...)
		ctx := t.Context()
		up, err := store.PresignUpload(ctx, "rosters/j1", 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if up.URL != tc.want {
			t.Errorf("%s %s: upload URL = %s; want %s", tc.region, tc.bucket, up.URL, tc.want)
		}
		if !strings.Contains(up.Fields["x-amz-credential"], "/"+tc.region+"/s3/") {
			t.Errorf("upload credential %s; want the region %s", up.Fields["x-amz-credential"], tc.region)
		}
		if _, err := store.Open(ctx, "rosters/j1"); err != nil {
			t.Fatal(err)
		}
		if err := store.Put(ctx, "reports/j1.csv", strings.NewReader("x"), 1, ""); err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"HEAD " + tc.want + "/rosters/j1", "PUT " + tc.want + "/reports/j1.csv"} {
			req := rec.reqs[i]
			if got := req.Method + " " + req.URL.String(); got != want {
				t.Errorf("request %d: %s; want %s", i, got, want)
			}
			if !strings.Contains(req.Header.Get("Authorization"), "/"+tc.region+"/s3/aws4_request") || req.Header.Get("X-Amz-Security-Token") != "tok" {
				t.Errorf("request %d not signed for %s with the session token: %v", i, tc.region, req.Header)
			}
		}
		d, err := store.DownloadURL(ctx, "reports/j1.csv", "j1.csv", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(d, tc.want+"/reports/j1.csv?") || !strings.Contains(d, "X-Amz-Security-Token=tok") {
			t.Errorf("download URL %s; want %s/reports/j1.csv?… with the session token", d, tc.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := t.Context()
	for name, cfg := range map[string]aws.Config{
		"no region":    {Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")},
		"bad endpoint": {Region: "us-east-1", BaseEndpoint: aws.String("127.0.0.1:9000")},
	} {
		s := s3blobs.New(cfg, bucket)
		if _, err := s.Open(ctx, "rosters/j1"); err == nil || errors.Is(err, domain.ErrNotFound) {
			t.Errorf("%s: Open = %v", name, err)
		}
		if _, err := s.PresignUpload(ctx, "rosters/j1", 1, time.Minute); err == nil {
			t.Errorf("%s: PresignUpload succeeded", name)
		}
		if _, err := s.DownloadURL(ctx, "rosters/j1", "x", time.Minute); err == nil {
			t.Errorf("%s: DownloadURL succeeded", name)
		}
	}
	s := s3blobs.New(aws.Config{Region: "us-east-1"}, bucket)
	if err := s.Put(ctx, "reports/x", strings.NewReader("x"), 1, ""); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("Put without credentials: %v", err)
	}
	if _, err := s3blobs.New(awstest.Config(t, "http://127.0.0.1:1"), bucket).DownloadURL(ctx, "reports/x", "x", 8*24*time.Hour); err == nil {
		t.Error("DownloadURL accepted a ttl over SigV4's 7 days")
	}
}

func TestErrorMapping(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name     string
		answer   func(*http.Request) (*http.Response, error)
		notFound bool
		contains string
	}{
		{"HEAD 404", answer(http.StatusNotFound, nil, ""), true, "NotFound"},
		{"NoSuchBucket", s3Error(http.StatusNotFound, "NoSuchBucket"), true, "NoSuchBucket"},
		{"HEAD 403", answer(http.StatusForbidden, nil, ""), false, "s3:ListBucket"},
		{"wrong region", answer(http.StatusMovedPermanently, map[string]string{"X-Amz-Bucket-Region": "eu-central-1"}, ""), false, "eu-central-1"},
	} {
		cfg, rec := scripted("us-east-1", tc.answer)
		_, err := s3blobs.New(cfg, bucket).Open(ctx, "rosters/j1")
		if err == nil || errors.Is(err, domain.ErrNotFound) != tc.notFound || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("%s: Open = %v; want ErrNotFound %v and %q in the message", tc.name, err, tc.notFound, tc.contains)
		}
		if len(rec.reqs) != 1 {
			t.Errorf("%s: %d requests; a refusal is not retried", tc.name, len(rec.reqs))
		}
	}

	// The ranged GET is pinned to the ETag of the HEAD; a replaced object fails the read.
	cfg, rec := scripted("us-east-1", headOK, s3Error(http.StatusPreconditionFailed, "PreconditionFailed"))
	b, err := s3blobs.New(cfg, bucket).Open(ctx, "rosters/j1")
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *s3blobs.APIError
	if _, err := b.ReadAt(make([]byte, 4), 2); !errors.As(err, &apiErr) || apiErr.Code != "PreconditionFailed" || apiErr.RequestID != "REQ1" {
		t.Errorf("ReadAt of a replaced object: %v", err)
	}
	if get := rec.reqs[1]; get.Header.Get("If-Match") != `"abc"` || get.Header.Get("Range") != "bytes=0-9" {
		t.Errorf("ranged GET headers %v; want If-Match \"abc\" and Range bytes=0-9", get.Header)
	}
	if len(rec.reqs) != 2 {
		t.Errorf("%d requests; a failed precondition is not retried", len(rec.reqs))
	}

	// A server that ignores Range must not pass off the whole object as the block.
	cfg, _ = scripted("us-east-1", headOK, answer(http.StatusOK, nil, "0123456789"))
	b, err = s3blobs.New(cfg, bucket).Open(ctx, "rosters/j1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReadAt(make([]byte, 4), 2); err == nil {
		t.Error("ReadAt accepted a 200 answer to a ranged GET")
	}
}

func TestRetries(t *testing.T) {
	ctx := t.Context()
	lost := func(*http.Request) (*http.Response, error) {
		return nil, &url.Error{Op: "Put", URL: "https://s3", Err: errors.New("connection reset by peer")}
	}
	cfg, rec := scripted("us-east-1", s3Error(http.StatusServiceUnavailable, "SlowDown"), lost, answer(http.StatusOK, nil, ""))
	body := []byte("row1\nrow2\n")
	if err := s3blobs.New(cfg, bucket).Put(ctx, "reports/r.csv", bytes.NewReader(body), int64(len(body)), "text/csv"); err != nil {
		t.Fatalf("Put after SlowDown and a lost connection: %v", err)
	}
	if len(rec.reqs) != 3 {
		t.Fatalf("%d attempts; want 3", len(rec.reqs))
	}
	sum := sha256.Sum256(body)
	for i, req := range rec.reqs {
		if req.ContentLength != int64(len(body)) || req.Header.Get("X-Amz-Content-Sha256") != hex.EncodeToString(sum[:]) || req.Header.Get("Content-Type") != "text/csv" {
			t.Errorf("attempt %d: length %d, headers %v", i+1, req.ContentLength, req.Header)
		}
	}

	cfg, rec = scripted("us-east-1", s3Error(http.StatusInternalServerError, "InternalError"))
	s := s3blobs.New(cfg, bucket)
	s.Attempts = 2
	if err := s.Put(ctx, "reports/r.csv", bytes.NewReader(body), int64(len(body)), ""); err == nil || len(rec.reqs) != 2 {
		t.Errorf("Put against a failing S3: %v after %d attempts; want an error after 2", err, len(rec.reqs))
	}

	// A connection lost in the middle of a block is fetched again.
	short := answer(http.StatusPartialContent, map[string]string{"Content-Range": "bytes 0-9/10"}, "01234")
	full := answer(http.StatusPartialContent, map[string]string{"Content-Range": "bytes 0-9/10"}, "0123456789")
	cfg, rec = scripted("us-east-1", headOK, short, full)
	b, err := s3blobs.New(cfg, bucket).Open(ctx, "rosters/j1")
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 4)
	if _, err := b.ReadAt(p, 6); err != nil || string(p) != "6789" || len(rec.reqs) != 3 {
		t.Errorf("ReadAt after a cut body: %q, %v, %d requests", p, err, len(rec.reqs))
	}
}
