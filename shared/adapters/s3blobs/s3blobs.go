// Package s3blobs is the Blobs port on Amazon S3: roster uploads are S3 presigned POSTs (an
// HTML form with a signed POST policy, which the SDK has no helper for), reads are ranged
// GETs, writes PutObject, downloads presigned GETs. All of them are REST calls signed with
// SigV4 here, not through the SDK's s3 package (rest.go says why).
//
// Presigned POSTs and GETs are signed with the credentials of the AWS configuration. On Lambda those are
// the role's temporary credentials: a presigned URL then stops working when they expire, even
// before its own expiry (Lambda's credentials outlive the 15-minute upload TTL and the 1-hour
// report TTL in practice, but not by a guaranteed margin).
package s3blobs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/credence-oss/credence/shared/domain"
)

// Store keeps blobs in one bucket.
type Store struct {
	bucket    string
	region    string
	creds     aws.CredentialsProvider
	http      aws.HTTPClient
	signer    *v4.Signer
	pathStyle bool
	base      string // the bucket's URL, no trailing slash
	cfgErr    error  // a configuration New could not use, returned by every call

	// Now is the clock presigned POSTs and GETs are dated with; nil means time.Now. Tests pin
	// it. Other requests are signed with the real time, as S3 refuses requests dated more
	// than 15 minutes off.
	Now func() time.Time
	// BlockSize is how many bytes one ranged GET of an open Blob fetches (default 1 MiB), and
	// CacheBlocks how many fetched blocks a Blob keeps (default 8): enough for a ZIP reader
	// that jumps between the central directory at the end and the entries, without holding
	// a 50 MB file in a Lambda's memory.
	BlockSize   int64
	CacheBlocks int
	// PutBufferBytes is the largest Put body that is buffered in memory when it is not
	// seekable (default 16 MiB); larger ones are spooled to a temp file. The request carries
	// the payload's SHA-256, and a retry sends the body again, so it is read more than once.
	PutBufferBytes int64
	// Attempts bounds the tries of a call that S3 throttled, failed (5xx) or whose connection
	// broke; 3 unless set.
	Attempts int
}

// New returns a store on bucket with cfg's region, credentials, HTTP client and endpoint.
// Without cfg.BaseEndpoint the bucket is addressed at its regional endpoint, virtual-hosted
// (https://{bucket}.s3.{region}.amazonaws.com) unless PathStyle is given or the name has dots;
// with one (an emulator), path-style under it. A configuration that cannot work (no region, a
// malformed endpoint) makes every call fail with an error saying so.
func New(cfg aws.Config, bucket string, opts ...Option) *Store {
	s := &Store{bucket: bucket, region: cfg.Region, creds: cfg.Credentials, http: cfg.HTTPClient}
	if s.http == nil {
		s.http = http.DefaultClient
	}
	for _, o := range opts {
		o(s)
	}
	// S3 signs the path as sent, not escaped a second time as other services do.
	s.signer = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	s.resolveEndpoint(cfg)
	return s
}

// Blobs is New with the defaults, as the domain.Blobs the Lambda wiring (cloud.BulkParts)
// asks for.
func Blobs(cfg aws.Config, bucket string) domain.Blobs { return New(cfg, bucket) }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

const maxKeyLen = 1024

// CheckKey refuses keys that are not slash-separated segments of letters, digits, '.', '_'
// and '-' (none empty, none starting with '.'). S3 would take nearly any key; the rule is
// localblobs' so that both stores accept exactly the same keys.
func CheckKey(key string) error {
	if key == "" || len(key) > maxKeyLen {
		return fmt.Errorf("s3blobs: invalid key %q: empty or longer than %d bytes", key, maxKeyLen)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg[0] == '.' {
			return fmt.Errorf("s3blobs: invalid key %q: empty segment or one starting with '.'", key)
		}
		for _, c := range []byte(seg) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("s3blobs: invalid key %q: only letters, digits, '.', '_' and '-' between slashes", key)
			}
		}
	}
	return nil
}

// --- presigned POST -------------------------------------------------------------------------

const (
	algorithm     = "AWS4-HMAC-SHA256"
	amzDateFormat = "20060102T150405Z"
	// policyTimeFormat is the policy's expiration: ISO 8601 in UTC with milliseconds, as in
	// AWS's examples.
	policyTimeFormat = "2006-01-02T15:04:05.000Z"
)

// PostPolicy is the S3 POST policy document.
type PostPolicy struct {
	Expiration string `json:"expiration"`
	Conditions []any  `json:"conditions"`
}

// SigningKey derives the SigV4 signing key for a date (YYYYMMDD), region and service.
func SigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

// SignPolicy returns the x-amz-signature of a base64-encoded POST policy: the policy itself is
// the string to sign.
func SignPolicy(policyB64, secret, date, region string) string {
	return hex.EncodeToString(hmacSHA256(SigningKey(secret, date, region, "s3"), policyB64))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// PresignUpload builds an S3 presigned POST: a policy allowing exactly key in the bucket, a
// file of 1..maxBytes bytes, until ttl runs out, signed with the store's credentials.
func (s *Store) PresignUpload(ctx context.Context, key string, maxBytes int64, ttl time.Duration) (domain.Upload, error) {
	if err := CheckKey(key); err != nil {
		return domain.Upload{}, err
	}
	if maxBytes <= 0 || ttl <= 0 {
		return domain.Upload{}, fmt.Errorf("s3blobs: presign %s: maxBytes (%d) and ttl (%v) must be positive", key, maxBytes, ttl)
	}
	if s.cfgErr != nil {
		return domain.Upload{}, s.cfgErr
	}
	creds, err := s.credentials(ctx)
	if err != nil {
		return domain.Upload{}, fmt.Errorf("s3blobs: presign %s: %w", key, err)
	}
	now := s.now().UTC()
	// Whole seconds, rounded up, so the upload never stops before the promised time.
	exp := now.Add(ttl)
	if t := exp.Truncate(time.Second); !t.Equal(exp) {
		exp = t.Add(time.Second)
	}
	fields, err := PostFields(creds, s.region, s.bucket, key, maxBytes, now, exp)
	if err != nil {
		return domain.Upload{}, fmt.Errorf("s3blobs: presign %s: %w", key, err)
	}
	// The form is posted to the bucket's URL, where S3 takes the key from the form.
	return domain.Upload{URL: s.base, Fields: fields, MaxBytes: maxBytes, ExpiresAt: exp}, nil
}

// PostFields returns the form fields of a presigned POST of key to bucket: the base64 policy
// (expiration exp; conditions: the bucket, the exact key, content-length-range [1, maxBytes],
// the algorithm, credential and date, and the session token when there is one), and the
// fields the policy names, and its signature.
func PostFields(creds aws.Credentials, region, bucket, key string, maxBytes int64, now, exp time.Time) (map[string]string, error) {
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return nil, errors.New("the credentials have no access key")
	}
	if region == "" {
		return nil, errors.New("no region: the signature's scope needs one")
	}
	date := now.UTC().Format("20060102")
	fields := map[string]string{
		"key":              key,
		"x-amz-algorithm":  algorithm,
		"x-amz-credential": creds.AccessKeyID + "/" + date + "/" + region + "/s3/aws4_request",
		"x-amz-date":       now.UTC().Format(amzDateFormat),
	}
	if creds.SessionToken != "" {
		fields["x-amz-security-token"] = creds.SessionToken
	}
	conds := []any{
		map[string]string{"bucket": bucket},
		map[string]string{"key": key},
		[]any{"content-length-range", 1, maxBytes},
	}
	// Every form field but the policy, the signature and the file must be in the conditions.
	for _, f := range []string{"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token"} {
		if v, ok := fields[f]; ok {
			conds = append(conds, map[string]string{f: v})
		}
	}
	doc, err := json.Marshal(PostPolicy{Expiration: exp.UTC().Format(policyTimeFormat), Conditions: conds})
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	policy := base64.StdEncoding.EncodeToString(doc)
	fields["policy"] = policy
	fields["x-amz-signature"] = SignPolicy(policy, creds.SecretAccessKey, date, region)
	return fields, nil
}

// --- reading --------------------------------------------------------------------------------

// Open heads the object for its size and ETag and returns a Blob whose ReadAt fetches blocks
// with ranged GETs pinned to that ETag: an object replaced while it is read fails the read
// instead of mixing two versions. The Blob uses ctx for all its reads.
func (s *Store) Open(ctx context.Context, key string) (domain.Blob, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	var size int64
	var etag string
	err := s.do(ctx, request{method: http.MethodHead, key: key}, func(res *http.Response) error {
		n, err := strconv.ParseInt(res.Header.Get("Content-Length"), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("S3 answered the HEAD without a valid Content-Length (%q)", res.Header.Get("Content-Length"))
		}
		size, etag = n, res.Header.Get("ETag")
		return nil
	})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("s3blobs: open %s: %w (%w)", key, domain.ErrNotFound, err)
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden {
			// Not ErrNotFound: the same answer also means the role may not read the object.
			return nil, fmt.Errorf("s3blobs: open %s: %w (S3 answers a HEAD of a missing object with 403 when the caller may not s3:ListBucket the bucket, else access to the object is denied)", key, err)
		}
		return nil, fmt.Errorf("s3blobs: open %s: %w", key, err)
	}
	bs := s.BlockSize
	if bs <= 0 {
		bs = 1 << 20
	}
	nb := s.CacheBlocks
	if nb <= 0 {
		nb = 8
	}
	return &blob{ctx: ctx, store: s, key: key, size: size, etag: etag, blockSize: bs, maxBlocks: nb}, nil
}

// --- writing --------------------------------------------------------------------------------

// Put stores body under key with PutObject, signed with the body's SHA-256. A body that is not
// an io.ReadSeeker is buffered (in memory up to PutBufferBytes, else in a temp file) so it can
// be hashed and sent again on a retry. A body whose length differs from size is refused before
// anything is sent.
func (s *Store) Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("s3blobs: put %s: negative size %d", key, size)
	}
	rs, cleanup, err := s.seekable(body, size)
	if err != nil {
		return fmt.Errorf("s3blobs: put %s: %w", key, err)
	}
	defer cleanup()
	sum := sha256.New()
	if _, err := io.Copy(sum, io.NewSectionReader(rs, 0, size)); err != nil {
		return fmt.Errorf("s3blobs: put %s: hash body: %w", key, err)
	}
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	r := request{method: http.MethodPut, key: key, header: h, body: rs, payloadHash: hex.EncodeToString(sum.Sum(nil))}
	if err := s.do(ctx, r, nil); err != nil {
		return fmt.Errorf("s3blobs: put %s: %w", key, err)
	}
	return nil
}

// seekable returns body as a reader of exactly size bytes that can be read again.
func (s *Store) seekable(body io.Reader, size int64) (*io.SectionReader, func(), error) {
	nop := func() {}
	if rs, ok := body.(io.ReadSeeker); ok {
		// Check the length without reading: a seeker knows where its end is.
		cur, err1 := rs.Seek(0, io.SeekCurrent)
		end, err2 := rs.Seek(0, io.SeekEnd)
		if err1 == nil && err2 == nil {
			if _, err := rs.Seek(cur, io.SeekStart); err != nil {
				return nil, nop, fmt.Errorf("rewind body: %w", err)
			}
			if end-cur != size {
				return nil, nop, fmt.Errorf("the body has %d bytes, size says %d", end-cur, size)
			}
			return io.NewSectionReader(readerAtSeeker{rs, cur}, 0, size), nop, nil
		}
	}
	limit := s.PutBufferBytes
	if limit <= 0 {
		limit = 16 << 20
	}
	if size <= limit {
		buf := make([]byte, size+1)
		n, err := io.ReadFull(body, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, nop, fmt.Errorf("read body: %w", err)
		}
		if int64(n) != size {
			return nil, nop, fmt.Errorf("the body has %s bytes, size says %d", countDesc(n, size), size)
		}
		return io.NewSectionReader(bytes.NewReader(buf[:n]), 0, size), nop, nil
	}
	f, err := os.CreateTemp("", "s3blobs-put-*")
	if err != nil {
		return nil, nop, fmt.Errorf("spool body: %w", err)
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	n, err := io.Copy(f, io.LimitReader(body, size+1))
	if err != nil {
		cleanup()
		return nil, nop, fmt.Errorf("spool body: %w", err)
	}
	if n != size {
		cleanup()
		return nil, nop, fmt.Errorf("the body has %s bytes, size says %d", countDesc(int(n), size), size)
	}
	return io.NewSectionReader(f, 0, size), cleanup, nil
}

func countDesc(n int, size int64) string {
	if int64(n) > size {
		return "more than " + fmt.Sprint(size)
	}
	return fmt.Sprint(n)
}

// readerAtSeeker reads at offsets of a ReadSeeker relative to base. Put reads its body from
// one goroutine at a time (hashing, then each attempt in turn), so seeking then reading is
// safe here.
type readerAtSeeker struct {
	rs   io.ReadSeeker
	base int64
}

func (r readerAtSeeker) ReadAt(p []byte, off int64) (int, error) {
	if _, err := r.rs.Seek(r.base+off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.ReadFull(r.rs, p)
}

// --- downloads ------------------------------------------------------------------------------

// DownloadURL presigns a GET of key that makes S3 answer with Content-Disposition: attachment
// and filename (RFC 6266 filename* for non-ASCII names). Presigning does not check that the
// object exists; a GET of an absent one answers 404 (403 without s3:ListBucket). The URL is
// signed with UNSIGNED-PAYLOAD and X-Amz-Expires of ttl in whole seconds, rounded up (SigV4
// allows at most 7 days).
func (s *Store) DownloadURL(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	if ttl <= 0 || ttl > maxPresignExpiry {
		return "", fmt.Errorf("s3blobs: download URL %s: ttl (%v) must be positive and at most %v", key, ttl, maxPresignExpiry)
	}
	if s.cfgErr != nil {
		return "", s.cfgErr
	}
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, filename)
	if name == "" {
		name = key[strings.LastIndexByte(key, '/')+1:]
	}
	creds, err := s.credentials(ctx)
	if err != nil {
		return "", fmt.Errorf("s3blobs: download URL %s: %w", key, err)
	}
	u, err := url.Parse(s.objectURL(key))
	if err != nil {
		return "", fmt.Errorf("s3blobs: download URL %s: %w", key, err)
	}
	secs := int64((ttl + time.Second - 1) / time.Second)
	u.RawQuery = url.Values{
		"response-content-disposition": {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
		"X-Amz-Expires":                {strconv.FormatInt(secs, 10)},
	}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("s3blobs: download URL %s: %w", key, err)
	}
	signed, _, err := s.signer.PresignHTTP(ctx, creds, req, unsignedPayload, "s3", s.region, s.now().UTC())
	if err != nil {
		return "", fmt.Errorf("s3blobs: download URL %s: %w", key, err)
	}
	return signed, nil
}

var _ domain.Blobs = (*Store)(nil)
