// Package kmsfake is a wire-level STAND-IN for AWS KMS, for tests only. It is not an emulator.
//
// Why it exists: no KMS emulator available to these tests signs with Ed25519 keys
// (local-kms has RSA and NIST curves only), yet every Credence credential carries an Ed25519
// Data Integrity proof signed by KMS. So the Ed25519 path of the kmskeys adapter is tested against
// this server, which speaks the real KMS JSON 1.1 protocol (POST /, X-Amz-Target
// TrentService.<Operation>, Content-Type application/x-amz-json-1.1, base64 blobs, SigV4-signed
// requests, errors as {"__type", "message"}) and implements exactly three operations for exactly
// one key spec:
//
//   - CreateKey with KeySpec ECC_NIST_EDWARDS25519 and KeyUsage SIGN_VERIFY
//   - Sign with SigningAlgorithm ED25519_SHA_512 and MessageType RAW (1 to 4096 bytes)
//   - GetPublicKey (SubjectPublicKeyInfo DER)
//
// It checks the request fields the real service checks for these calls and answers with the
// errors the real service documents (ValidationException, InvalidKeyUsageException,
// NotFoundException...). What it proves is that the adapter sends what KMS expects and reads what
// KMS returns; it proves nothing about KMS itself. RSA and P-256 are tested against local-kms.
//
// It can also fail requests on demand (FailNext, ThrottleNext) so throttling and error mapping
// can be tested. It listens on 127.0.0.1 only.
package kmsfake

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Account and Region appear in the ARNs the stand-in issues.
const (
	Account = "111122223333"
	Region  = "us-east-1"
)

const (
	keySpecEd25519 = "ECC_NIST_EDWARDS25519"
	algEd25519     = "ED25519_SHA_512"
	algEd25519ph   = "ED25519_PH_SHA_512"
	maxRawMessage  = 4096
)

// Key is what the stand-in holds for one created key; tests read it to check what the adapter
// asked for.
type Key struct {
	ID          string
	ARN         string
	Description string
	Tags        map[string]string
	priv        ed25519.PrivateKey
}

type failure struct {
	status  int
	errType string
}

// Server is a running stand-in. Create it with New and Close it when done.
type Server struct {
	// URL is the endpoint to give the SDK (BaseEndpoint).
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	keys     map[string]*Key // by key id
	failures []failure
	calls    map[string]int
}

// New starts a stand-in on 127.0.0.1 (httptest's loopback listener).
func New() *Server {
	s := &Server{keys: map[string]*Key{}, calls: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// FailNext makes the next n requests (of any operation) fail with the given HTTP status and
// error type, as KMS does under load. An empty errType sends no __type, like a proxy's 429.
func (s *Server) FailNext(n, status int, errType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status: status, errType: errType})
	}
}

// ThrottleNext makes the next n requests fail with ThrottlingException (HTTP 400), which is how
// KMS answers requests above the account's Sign quota.
func (s *Server) ThrottleNext(n int) { s.FailNext(n, http.StatusBadRequest, "ThrottlingException") }

// Calls reports how many requests for operation (e.g. "Sign") reached the server, failed or not.
func (s *Server) Calls(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[operation]
}

// Key returns a copy of the key with the given id or ARN.
func (s *Server) Key(idOrARN string) (Key, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.lookup(idOrARN)
	if k == nil {
		return Key{}, false
	}
	c := *k
	c.Tags = map[string]string{}
	for t, v := range k.Tags {
		c.Tags[t] = v
	}
	c.priv = nil
	return c, true
}

func (s *Server) lookup(idOrARN string) *Key {
	id := strings.TrimPrefix(idOrARN, fmt.Sprintf("arn:aws:kms:%s:%s:key/", Region, Account))
	return s.keys[id]
}

type apiError struct {
	status  int
	errType string
	message string
}

func validation(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, args...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		http.Error(w, "KMS takes POST /", http.StatusNotFound)
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	if !ok {
		writeError(w, &apiError{http.StatusBadRequest, "UnknownOperationException", "missing or foreign X-Amz-Target"})
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		writeError(w, &apiError{http.StatusBadRequest, "SerializationException", "Content-Type must be application/x-amz-json-1.1, got " + ct})
		return
	}
	// The real service rejects unsigned requests and requests signed for another service; a
	// client misconfigured that way must fail here too.
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") ||
		!strings.Contains(auth, "/"+Region+"/kms/aws4_request") {
		writeError(w, &apiError{http.StatusBadRequest, "IncompleteSignatureException", "request is not SigV4-signed for kms in " + Region})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, &apiError{http.StatusBadRequest, "SerializationException", err.Error()})
		return
	}

	s.mu.Lock()
	s.calls[op]++
	var fail *failure
	if len(s.failures) > 0 {
		fail = &s.failures[0]
		s.failures = s.failures[1:]
	}
	s.mu.Unlock()
	if fail != nil {
		writeError(w, &apiError{fail.status, fail.errType, "injected failure (Rate exceeded)"})
		return
	}

	var out any
	var aerr *apiError
	switch op {
	case "CreateKey":
		out, aerr = s.createKey(body)
	case "Sign":
		out, aerr = s.sign(body)
	case "GetPublicKey":
		out, aerr = s.getPublicKey(body)
	default:
		aerr = &apiError{http.StatusBadRequest, "UnsupportedOperationException", "the KMS stand-in implements only CreateKey, Sign and GetPublicKey, not " + op}
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if e.errType != "" {
		w.Header().Set("X-Amzn-ErrorType", e.errType)
	}
	w.WriteHeader(e.status)
	body := map[string]string{"message": e.message}
	if e.errType != "" {
		body["__type"] = e.errType
	}
	_ = json.NewEncoder(w).Encode(body)
}

func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", err.Error()}
	}
	return nil
}

type tag struct {
	TagKey   string
	TagValue string
}

func (s *Server) createKey(body []byte) (any, *apiError) {
	var in struct {
		KeySpec               string
		CustomerMasterKeySpec string
		KeyUsage              string
		Description           string
		Origin                string
		Tags                  []tag
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	switch {
	case in.CustomerMasterKeySpec != "" && in.KeySpec != "":
		return nil, validation("You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.")
	case in.KeySpec != keySpecEd25519:
		return nil, &apiError{http.StatusBadRequest, "UnsupportedOperationException",
			fmt.Sprintf("the KMS stand-in creates only %s keys, not %q (RSA and P-256 are tested against local-kms)", keySpecEd25519, in.KeySpec)}
	case in.KeyUsage == "":
		return nil, validation("You must specify a KeyUsage value for an asymmetric KMS key.")
	case in.KeyUsage != "SIGN_VERIFY":
		return nil, validation("KeyUsage %s is not compatible with KeySpec %s", in.KeyUsage, in.KeySpec)
	case in.Origin != "" && in.Origin != "AWS_KMS":
		return nil, &apiError{http.StatusBadRequest, "UnsupportedOperationException", "the KMS stand-in supports only Origin AWS_KMS"}
	case len(in.Description) > 8192:
		return nil, validation("Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192")
	case len(in.Tags) > 50:
		return nil, &apiError{http.StatusBadRequest, "TagException", "Too many tags"}
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		if t.TagKey == "" || len(t.TagKey) > 128 || len(t.TagValue) > 256 || strings.HasPrefix(t.TagKey, "aws:") {
			return nil, &apiError{http.StatusBadRequest, "TagException", fmt.Sprintf("invalid tag %q=%q", t.TagKey, t.TagValue)}
		}
		if _, dup := tags[t.TagKey]; dup {
			return nil, &apiError{http.StatusBadRequest, "TagException", "duplicate tag key " + t.TagKey}
		}
		tags[t.TagKey] = t.TagValue
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "KMSInternalException", err.Error()}
	}
	id := newUUID()
	k := &Key{ID: id, ARN: fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", Region, Account, id),
		Description: in.Description, Tags: tags, priv: priv}
	s.mu.Lock()
	s.keys[id] = k
	s.mu.Unlock()
	return map[string]any{"KeyMetadata": map[string]any{
		"AWSAccountId":          Account,
		"Arn":                   k.ARN,
		"CreationDate":          float64(time.Now().Unix()),
		"CustomerMasterKeySpec": keySpecEd25519,
		"Description":           in.Description,
		"Enabled":               true,
		"KeyId":                 id,
		"KeyManager":            "CUSTOMER",
		"KeySpec":               keySpecEd25519,
		"KeyState":              "Enabled",
		"KeyUsage":              "SIGN_VERIFY",
		"MultiRegion":           false,
		"Origin":                "AWS_KMS",
		"SigningAlgorithms":     []string{algEd25519, algEd25519ph},
	}}, nil
}

func (s *Server) key(keyID string) (*Key, *apiError) {
	if keyID == "" {
		return nil, validation("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	k := s.lookup(keyID)
	s.mu.Unlock()
	if k == nil {
		return nil, &apiError{http.StatusBadRequest, "NotFoundException", fmt.Sprintf("Key '%s' does not exist", keyID)}
	}
	return k, nil
}

func (s *Server) sign(body []byte) (any, *apiError) {
	var in struct {
		KeyId            string
		Message          []byte // JSON base64, as on the wire
		MessageType      string
		SigningAlgorithm string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	k, e := s.key(in.KeyId)
	if e != nil {
		return nil, e
	}
	switch {
	case in.SigningAlgorithm == "":
		return nil, validation("1 validation error detected: Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null")
	case in.SigningAlgorithm == algEd25519ph:
		return nil, &apiError{http.StatusBadRequest, "UnsupportedOperationException", "the KMS stand-in signs only " + algEd25519}
	case in.SigningAlgorithm != algEd25519:
		return nil, &apiError{http.StatusBadRequest, "InvalidKeyUsageException",
			fmt.Sprintf("Algorithm %s is incompatible with key spec %s.", in.SigningAlgorithm, keySpecEd25519)}
	case in.MessageType != "RAW" && in.MessageType != "":
		// ED25519_SHA_512 is pure Ed25519: KMS accepts only the message itself (RAW, which is
		// also what an absent MessageType means).
		return nil, validation("MessageType %q is not valid for signing algorithm %s; use RAW", in.MessageType, algEd25519)
	case len(in.Message) == 0 || len(in.Message) > maxRawMessage:
		return nil, validation("Value at 'message' failed to satisfy constraint: Member must have length between 1 and %d", maxRawMessage)
	}
	return map[string]any{
		"KeyId":            k.ARN,
		"Signature":        ed25519.Sign(k.priv, in.Message),
		"SigningAlgorithm": algEd25519,
	}, nil
}

func (s *Server) getPublicKey(body []byte) (any, *apiError) {
	var in struct{ KeyId string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	k, e := s.key(in.KeyId)
	if e != nil {
		return nil, e
	}
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "KMSInternalException", err.Error()}
	}
	return map[string]any{
		"KeyId":                 k.ARN,
		"PublicKey":             der,
		"CustomerMasterKeySpec": keySpecEd25519,
		"KeySpec":               keySpecEd25519,
		"KeyUsage":              "SIGN_VERIFY",
		"SigningAlgorithms":     []string{algEd25519, algEd25519ph},
	}, nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
