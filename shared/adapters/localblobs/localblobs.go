// Package localblobs is the local-mode Blobs: objects are files in one folder of the data
// directory, and the upload and download URLs are served by this package's Handler in the same
// process (`credence serve`), behaving like the S3 presigned POST and presigned GET they stand
// in for.
//
// Upload and download URLs carry a token: the key, the size limit (or the download's file
// name), the purpose and the expiry, signed with HMAC-SHA256 under a secret kept in the folder
// (".secret", mode 0600). A URL thus stays valid across a restart, like a presigned S3 URL,
// and nothing about pending uploads has to be stored. Like a presigned POST, an upload URL may
// be used more than once until it expires; each use replaces the object.
//
// Mounting (shared/app): the store's BaseURL is the server's public base URL, and
//
//	mux.Handle(localblobs.UploadPath, store.Handler())
//	mux.Handle(localblobs.DownloadPath, store.Handler())
//
// serve POST /uploads/{token} and GET /downloads/{token}. Set OnUpload to raise the "roster
// file arrived" event (domain.TopicRoster), which S3 ObjectCreated raises on AWS.
package localblobs

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/credence-oss/credence/shared/domain"
)

// URL paths the Handler serves; each is followed by a token.
const (
	UploadPath   = "/uploads/"
	DownloadPath = "/downloads/"
)

const (
	secretFile = ".secret"
	tmpPrefix  = ".tmp-" // keys never start a segment with '.', so temp files never collide
	maxKeyLen  = 1024    // the S3 limit, so a key valid here is valid there
)

// Store is a folder of objects plus the signer of its URLs.
type Store struct {
	dir    string
	secret []byte

	// BaseURL is where the Handler is reachable, without a trailing slash
	// (e.g. http://127.0.0.1:8080); upload and download URLs start with it.
	BaseURL string
	// OnUpload, when set, is called once for every upload the Handler accepted, after the file
	// is in place under key and before the client gets its answer: a client that saw success
	// knows the event was raised. It stands in for the S3 ObjectCreated notification of the
	// roster bucket, so the wiring publishes the key on domain.TopicRoster. It is not called
	// for Put: on AWS, only rosters/ raises the event and Put writes reports/. Its context is
	// the request's without cancellation (a client hanging up must not lose the event); it
	// should hand the key off rather than process the file. It must be set before the Handler
	// serves.
	OnUpload func(ctx context.Context, key string)
	// Now is the clock of expiries; nil means time.Now. Tests pin it.
	Now func() time.Time
	// Log reports refused uploads and OnUpload calls; nil means slog.Default().
	Log *slog.Logger
}

// Open opens (creating if needed) the folder dir and its URL secret.
func Open(dir, baseURL string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("localblobs: folder: %w", err)
	}
	secret, err := loadSecret(filepath.Join(dir, secretFile))
	if err != nil {
		return nil, err
	}
	return &Store{dir: dir, secret: secret, BaseURL: strings.TrimRight(baseURL, "/")}, nil
}

// Dir is the folder the objects live in.
func (s *Store) Dir() string { return s.dir }

func loadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("localblobs: %s holds %d bytes, want at least 32: delete it to make a new one (outstanding URLs stop working)", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("localblobs: read secret: %w", err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("localblobs: new secret: %w", err)
	}
	// O_EXCL: two processes opening the same fresh folder must not each write their own.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadSecret(path)
	}
	if err != nil {
		return nil, fmt.Errorf("localblobs: write secret: %w", err)
	}
	if _, err := f.Write(secret); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("localblobs: write secret: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("localblobs: write secret: %w", err)
	}
	return secret, nil
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// CheckKey refuses keys that are not slash-separated segments of letters, digits, '.', '_'
// and '-' (none empty, none starting with '.'), so no key can reach outside the folder or
// name a temp file.
func CheckKey(key string) error {
	if key == "" || len(key) > maxKeyLen {
		return fmt.Errorf("localblobs: invalid key %q: empty or longer than %d bytes", key, maxKeyLen)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg[0] == '.' {
			return fmt.Errorf("localblobs: invalid key %q: empty segment or one starting with '.'", key)
		}
		for _, c := range []byte(seg) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("localblobs: invalid key %q: only letters, digits, '.', '_' and '-' between slashes", key)
			}
		}
	}
	return nil
}

func (s *Store) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), nil
}

// blob is an open object file.
type blob struct {
	*os.File
	size int64
}

func (b blob) Size() int64 { return b.size }

// Open opens the object under key; the error wraps domain.ErrNotFound when there is none.
func (s *Store) Open(ctx context.Context, key string) (domain.Blob, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("localblobs: open %s: %w", key, err)
	}
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("localblobs: open %s: %w", key, domain.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("localblobs: open %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("localblobs: open %s: %w", key, err)
	}
	if !st.Mode().IsRegular() {
		// A folder such as "rosters" is not an object.
		f.Close()
		return nil, fmt.Errorf("localblobs: open %s: %w", key, domain.ErrNotFound)
	}
	return blob{File: f, size: st.Size()}, nil
}

// Put stores body under key. It writes a temp file next to the target and renames it into
// place, so a reader sees the old object or the new one, never part of one. A body shorter
// or longer than size is refused and stores nothing. contentType is not kept: downloads take
// their type from the key's extension.
func (s *Store) Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) error {
	if size < 0 {
		return fmt.Errorf("localblobs: put %s: negative size %d", key, size)
	}
	n, err := s.write(ctx, key, body, size, size)
	if errors.Is(err, errTooLarge) || errors.Is(err, errTooSmall) {
		return fmt.Errorf("localblobs: put %s: the body has %s than the %d bytes of size (read %d)", key, err, size, n)
	}
	if err != nil {
		return fmt.Errorf("localblobs: put %s: %w", key, err)
	}
	return nil
}

// write's refusals.
var (
	errTooLarge = errors.New("more bytes")
	errTooSmall = errors.New("fewer bytes")
)

// write copies body to key atomically when it holds lo..hi bytes and returns how many it
// read. A body of more than hi bytes fails with errTooLarge, one of fewer than lo with
// errTooSmall; either stores nothing, and neither does a ctx cancelled before the rename.
func (s *Store) write(ctx context.Context, key string, body io.Reader, lo, hi int64) (int64, error) {
	p, err := s.path(key)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return 0, fmt.Errorf("temp file: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, io.LimitReader(body, hi+1))
	if err != nil {
		return n, fmt.Errorf("write: %w", err)
	}
	if n > hi {
		return n, errTooLarge
	}
	if n < lo {
		return n, errTooSmall
	}
	// Sync before the rename: after a crash the key must not name a file whose data never
	// reached the disk.
	if err := tmp.Sync(); err != nil {
		return n, fmt.Errorf("sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return n, fmt.Errorf("close: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return n, err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return n, fmt.Errorf("rename: %w", err)
	}
	done = true
	return n, nil
}

// token purposes, signed into every token so a download URL cannot be used to upload.
const (
	purposeUpload   = "up"
	purposeDownload = "down"
)

// claims are what a token carries.
type claims struct {
	Purpose  string `json:"p"`
	Key      string `json:"k"`
	MaxBytes int64  `json:"m,omitempty"` // uploads
	Filename string `json:"f,omitempty"` // downloads
	Expires  int64  `json:"e"`           // Unix seconds
}

func (s *Store) sign(c claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("localblobs: token: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(s.mac(payload)), nil
}

func (s *Store) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("credence-localblobs-v1\n")) // domain separation from any other use of the secret
	m.Write(payload)
	return m.Sum(nil)
}

// token errors, told apart for the client's sake.
var (
	errBadToken = errors.New("the URL is not valid")
	errExpired  = errors.New("the URL has expired")
)

// verify checks a token's signature, purpose and expiry.
func (s *Store) verify(token, purpose string) (claims, error) {
	enc := base64.RawURLEncoding
	p64, m64, ok := strings.Cut(token, ".")
	if !ok || len(token) > 8192 {
		return claims{}, errBadToken
	}
	payload, err1 := enc.DecodeString(p64)
	sig, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, s.mac(payload)) {
		return claims{}, errBadToken
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil || c.Purpose != purpose || CheckKey(c.Key) != nil {
		return claims{}, errBadToken
	}
	if !s.now().Before(time.Unix(c.Expires, 0)) {
		return claims{}, errExpired
	}
	return c, nil
}

// expiry rounds up to whole seconds, the precision of tokens (and of S3 policies), so a URL
// never expires before the time it promised.
func (s *Store) expiry(ttl time.Duration) time.Time {
	at := s.now().Add(ttl)
	if t := at.Truncate(time.Second); !t.Equal(at) {
		return t.Add(time.Second)
	}
	return at
}

// PresignUpload returns a URL of the Handler that accepts one form upload of 1..maxBytes bytes
// to key until ttl runs out. Fields carries the key, as an S3 presigned POST does; the Handler
// refuses a form whose key differs from the signed one.
func (s *Store) PresignUpload(ctx context.Context, key string, maxBytes int64, ttl time.Duration) (domain.Upload, error) {
	if err := CheckKey(key); err != nil {
		return domain.Upload{}, err
	}
	if maxBytes <= 0 || ttl <= 0 {
		return domain.Upload{}, fmt.Errorf("localblobs: presign %s: maxBytes (%d) and ttl (%v) must be positive", key, maxBytes, ttl)
	}
	exp := s.expiry(ttl)
	tok, err := s.sign(claims{Purpose: purposeUpload, Key: key, MaxBytes: maxBytes, Expires: exp.Unix()})
	if err != nil {
		return domain.Upload{}, err
	}
	return domain.Upload{
		URL:       s.BaseURL + UploadPath + tok,
		Fields:    map[string]string{"key": key},
		MaxBytes:  maxBytes,
		ExpiresAt: exp.UTC(),
	}, nil
}

// DownloadURL returns a URL of the Handler that serves key as an attachment named filename
// until ttl runs out. It does not check that the object exists: neither does S3 presigning;
// the GET answers 404.
func (s *Store) DownloadURL(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", fmt.Errorf("localblobs: download URL %s: ttl (%v) must be positive", key, ttl)
	}
	tok, err := s.sign(claims{Purpose: purposeDownload, Key: key, Filename: filename, Expires: s.expiry(ttl).Unix()})
	if err != nil {
		return "", err
	}
	return s.BaseURL + DownloadPath + tok, nil
}

var _ domain.Blobs = (*Store)(nil)
