package s3blobs

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The four S3 operations this store needs (HeadObject, GetObject, PutObject, a presigned GET)
// are plain REST calls signed with SigV4, made here instead of through the SDK's s3 package:
// the validator the API links calls reflect.Value.MethodByName, which makes the linker keep
// every exported method of every type stored in an interface, so the s3 client would bring
// all its ~100 operations (about 4.8 MB) into each binary, and functions/roster over its
// 20 MB budget. shared/adapters/cfinvalidate does the same for CloudFront.

const (
	// emptySHA256 is the payload hash of a request without a body.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// unsignedPayload is what S3 accepts as the payload hash of a presigned URL, whose body
	// (if any) is not known when it is signed.
	unsignedPayload = "UNSIGNED-PAYLOAD"
	// maxPresignExpiry is SigV4's limit on X-Amz-Expires.
	maxPresignExpiry = 7 * 24 * time.Hour
)

// Option changes how New addresses the bucket.
type Option func(*Store)

// PathStyle addresses the bucket as the first path segment of the regional endpoint
// (https://s3.{region}.amazonaws.com/{bucket}/{key}) instead of as a host name. Buckets whose
// names are not single DNS labels (dots) and custom endpoints (aws.Config.BaseEndpoint) are
// always addressed path-style: a dotted name breaks S3's wildcard TLS certificate, and
// emulators serve every bucket under one host name.
func PathStyle() Option { return func(s *Store) { s.pathStyle = true } }

// resolveEndpoint sets s.base, the URL the bucket's objects live under, without a trailing
// slash. A bad configuration is kept in s.cfgErr and returned by every call.
func (s *Store) resolveEndpoint(cfg aws.Config) {
	if s.region == "" {
		s.cfgErr = errors.New("s3blobs: the AWS configuration has no region (SigV4 signs with one)")
		return
	}
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		u, err := url.Parse(*cfg.BaseEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			s.cfgErr = fmt.Errorf("s3blobs: endpoint %q is not an http(s) URL", *cfg.BaseEndpoint)
			return
		}
		u.RawQuery, u.Fragment = "", ""
		s.base = strings.TrimRight(u.String(), "/") + "/" + url.PathEscape(s.bucket)
		return
	}
	host := "s3." + s.region + ".amazonaws.com"
	if strings.HasPrefix(s.region, "cn-") {
		host += ".cn"
	}
	if s.pathStyle || !dnsLabel(s.bucket) {
		s.base = "https://" + host + "/" + url.PathEscape(s.bucket)
		return
	}
	s.base = "https://" + s.bucket + "." + host
}

// dnsLabel reports whether a bucket name can be the first label of a host name: lower-case
// letters, digits and '-', 3 to 63 of them, a letter or digit at each end.
func dnsLabel(name string) bool {
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// objectURL is key's URL. Keys passed CheckKey, so their segments need no escaping; they are
// escaped all the same so that the URL and the signature agree whatever a key holds.
func (s *Store) objectURL(key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return s.base + "/" + strings.Join(segs, "/")
}

// APIError is an error answer of S3: the status and, when S3 sent an XML error document (it
// sends none to a HEAD), its code, message and request id.
type APIError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
	// Region is the bucket's region when S3 names it (x-amz-bucket-region), as it does when a
	// request went to the wrong one.
	Region string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("S3 %d %s", e.Status, e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Region != "" {
		msg += " (the bucket is in " + e.Region + ")"
	}
	if e.RequestID != "" {
		msg += " (request " + e.RequestID + ")"
	}
	return msg
}

// notFound: an absent object or bucket. A HEAD answers a bare 404, a GET NoSuchKey.
func (e *APIError) notFound() bool {
	return e.Status == http.StatusNotFound || e.Code == "NoSuchKey" || e.Code == "NoSuchBucket" || e.Code == "NotFound"
}

// retryable: throttling and server-side failures, which S3 asks clients to retry; any other
// refusal is final.
func (e *APIError) retryable() bool {
	switch e.Code {
	case "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling":
		return true
	}
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

func isNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.notFound()
}

func readAPIError(res *http.Response) *APIError {
	e := &APIError{Status: res.StatusCode, RequestID: res.Header.Get("X-Amz-Request-Id"), Region: res.Header.Get("X-Amz-Bucket-Region")}
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var doc struct {
		Code      string `xml:"Code"`
		Message   string `xml:"Message"`
		RequestID string `xml:"RequestId"`
	}
	if len(raw) > 0 && xml.Unmarshal(raw, &doc) == nil && doc.Code != "" {
		e.Code, e.Message = doc.Code, doc.Message
		if doc.RequestID != "" {
			e.RequestID = doc.RequestID
		}
		return e
	}
	// The SDK's names for the codes of bodiless answers, so logs read the same as before.
	switch res.StatusCode {
	case http.StatusNotFound:
		e.Code = "NotFound"
	case http.StatusForbidden:
		e.Code = "Forbidden"
	default:
		e.Code = strings.ReplaceAll(http.StatusText(res.StatusCode), " ", "")
	}
	e.Message = strings.TrimSpace(string(raw))
	return e
}

// request is one signed call on an object.
type request struct {
	method string
	key    string
	header http.Header
	// body is sent as it is, from its start, on every attempt; nil sends none.
	body        *io.SectionReader
	payloadHash string
}

// transientError marks a failure after S3 answered (a connection lost mid-body) that is worth
// another attempt.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// do sends r, retrying throttling, server errors and lost connections, and hands a 2xx answer
// to handle, which must consume what it needs of the body before returning.
func (s *Store) do(ctx context.Context, r request, handle func(*http.Response) error) error {
	if s.cfgErr != nil {
		return s.cfgErr
	}
	attempts := s.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	for try := 1; ; try++ {
		err := s.once(ctx, r, handle)
		if err == nil || try >= attempts || ctx.Err() != nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(try*try) * 100 * time.Millisecond):
		}
	}
}

func retryable(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.retryable()
	}
	var tr transientError
	var sendErr *url.Error
	return errors.As(err, &tr) || errors.As(err, &sendErr)
}

func (s *Store) once(ctx context.Context, r request, handle func(*http.Response) error) error {
	creds, err := s.credentials(ctx)
	if err != nil {
		return err
	}
	var body io.Reader = http.NoBody
	if r.body != nil && r.body.Size() > 0 {
		body = io.NewSectionReader(r.body, 0, r.body.Size())
	}
	req, err := http.NewRequestWithContext(ctx, r.method, s.objectURL(r.key), body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if r.body != nil {
		req.ContentLength = r.body.Size()
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	hash := r.payloadHash
	if hash == "" {
		hash = emptySHA256
	}
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := s.signer.SignHTTP(ctx, creds, req, hash, "s3", s.region, time.Now().UTC()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	res, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return readAPIError(res)
	}
	if handle == nil {
		return nil
	}
	return handle(res)
}

func (s *Store) credentials(ctx context.Context) (aws.Credentials, error) {
	if s.creds == nil {
		return aws.Credentials{}, errors.New("the AWS configuration has no credentials")
	}
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("credentials: %w", err)
	}
	return creds, nil
}
