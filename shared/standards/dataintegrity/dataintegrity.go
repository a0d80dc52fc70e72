// Package dataintegrity creates and verifies W3C Data Integrity proofs with the
// `eddsa-rdfc-2022` cryptosuite (VC Data Integrity EdDSA Cryptosuites v1.0, §3.3), and verifies
// the legacy `Ed25519Signature2020` suite that older Open Badges 3.0 issuers still emit.
//
// Both suites sign SHA-256(canonical proof options) || SHA-256(canonical document), where
// canonical means RDFC-1.0 N-Quads in JSON-LD safe mode over the embedded contexts only.
package dataintegrity

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/credence-oss/credence/shared/standards/jsonld"
	"github.com/credence-oss/credence/shared/standards/keys"
)

// Names the suites use on the wire.
const (
	TypeDataIntegrityProof   = "DataIntegrityProof"
	CryptosuiteEdDSARDFC2022 = "eddsa-rdfc-2022"
	TypeEd25519Signature2020 = "Ed25519Signature2020"
	PurposeAssertionMethod   = "assertionMethod"
)

// canonicalize is the RDFC-1.0 canonicalizer; a variable so tests can compare paths.
var canonicalize = jsonld.Canonicalize

// Options are the proof options of a new proof.
type Options struct {
	VerificationMethod string    // DID URL or URL of the Ed25519 public key
	Created            time.Time // truncated to seconds, UTC
	ProofPurpose       string    // default assertionMethod
	Expires            time.Time // optional
}

// Errors a caller may want to tell apart.
var (
	ErrNoProof          = errors.New("dataintegrity: document has no proof")
	ErrUnsupportedProof = errors.New("dataintegrity: unsupported proof type or cryptosuite")
	ErrMalformedProof   = errors.New("dataintegrity: malformed proof")
	ErrBadSignature     = errors.New("dataintegrity: signature does not verify")
)

// Sign adds an eddsa-rdfc-2022 DataIntegrityProof to a copy of doc and returns the copy. doc is
// a JSON-LD document as decoded by encoding/json; it is not modified. Proofs already present
// are kept (a proof set); the new proof is appended, and proof is always written as an array,
// the form the OB 3.0 JSON schema requires.
func Sign(ctx context.Context, doc map[string]any, opts Options, sign keys.SignFunc) (map[string]any, error) {
	if opts.VerificationMethod == "" {
		return nil, errors.New("dataintegrity: sign: verificationMethod is required")
	}
	if opts.Created.IsZero() {
		return nil, errors.New("dataintegrity: sign: created is required")
	}
	purpose := opts.ProofPurpose
	if purpose == "" {
		purpose = PurposeAssertionMethod
	}
	proof := map[string]any{
		"type":               TypeDataIntegrityProof,
		"cryptosuite":        CryptosuiteEdDSARDFC2022,
		"created":            opts.Created.UTC().Truncate(time.Second).Format(time.RFC3339),
		"verificationMethod": opts.VerificationMethod,
		"proofPurpose":       purpose,
	}
	if !opts.Expires.IsZero() {
		proof["expires"] = opts.Expires.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	existing, err := proofList(doc)
	if err != nil && !errors.Is(err, ErrNoProof) {
		return nil, err
	}
	unsecured := withoutProof(doc)
	data, err := hashData(unsecured, proof, unsecured["@context"])
	if err != nil {
		return nil, fmt.Errorf("dataintegrity: sign: %w", err)
	}
	sig, err := sign(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("dataintegrity: sign: %w", err)
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("dataintegrity: sign: signer returned %d bytes, want an Ed25519 signature of %d", len(sig), ed25519.SignatureSize)
	}
	proof["proofValue"] = keys.Multibase(sig)
	out := withoutProof(doc)
	proofs := make([]any, 0, len(existing)+1)
	for _, p := range existing {
		proofs = append(proofs, p)
	}
	out["proof"] = append(proofs, proof)
	return out, nil
}

// hashData is SHA-256(canonical proof config) || SHA-256(canonical unsecured document), the
// message both suites sign. The proof config carries the document's @context so its terms
// expand the same way.
func hashData(unsecured map[string]any, proofOptions map[string]any, docContext any) ([]byte, error) {
	config := make(map[string]any, len(proofOptions)+1)
	for k, v := range proofOptions {
		if k != "proofValue" {
			config[k] = v
		}
	}
	config["@context"] = docContext
	proofCanon, err := canonicalize(config)
	if err != nil {
		return nil, fmt.Errorf("canonicalize proof options: %w", err)
	}
	docCanon, err := canonicalize(unsecured)
	if err != nil {
		return nil, fmt.Errorf("canonicalize document: %w", err)
	}
	ph := sha256.Sum256([]byte(proofCanon))
	dh := sha256.Sum256([]byte(docCanon))
	return append(ph[:], dh[:]...), nil
}

func withoutProof(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "proof" {
			out[k] = v
		}
	}
	return out
}

// proofList returns the document's proofs, accepting a single object or an array.
func proofList(doc map[string]any) ([]map[string]any, error) {
	raw, ok := doc["proof"]
	if !ok || raw == nil {
		return nil, ErrNoProof
	}
	switch p := raw.(type) {
	case map[string]any:
		return []map[string]any{p}, nil
	case []any:
		if len(p) == 0 {
			return nil, ErrNoProof
		}
		out := make([]map[string]any, 0, len(p))
		for i, item := range p {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: proof[%d] is not an object", ErrMalformedProof, i)
			}
			out = append(out, m)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: proof must be an object or an array of objects", ErrMalformedProof)
}

// VerificationKey is a resolved verification method.
type VerificationKey struct {
	ID         string
	Controller string
	Public     crypto.PublicKey
}

// Resolver resolves a verificationMethod URL to its key and controller (did:web, did:key, ...).
type Resolver func(ctx context.Context, verificationMethod string) (VerificationKey, error)

// ProofResult is the outcome for one proof of a proof set.
type ProofResult struct {
	Type               string
	Cryptosuite        string
	VerificationMethod string
	Controller         string // from the resolved verification method
	ProofPurpose       string
	Created            time.Time
	Err                error // nil when the proof verifies
}

// Verify checks every proof on doc. It returns one result per proof and an error when the
// document has no proof or any proof fails, so a caller that only wants a verdict checks err.
// Unknown proof types fail: a verifier that skipped what it cannot check would fail open.
func Verify(ctx context.Context, doc map[string]any, resolve Resolver) ([]ProofResult, error) {
	proofs, err := proofList(doc)
	if err != nil {
		return nil, err
	}
	unsecured := withoutProof(doc)
	results := make([]ProofResult, 0, len(proofs))
	var firstErr error
	for i, p := range proofs {
		r := verifyOne(ctx, unsecured, p, resolve)
		if r.Err != nil && firstErr == nil {
			firstErr = fmt.Errorf("proof %d: %w", i, r.Err)
		}
		results = append(results, r)
	}
	return results, firstErr
}

func verifyOne(ctx context.Context, unsecured, proof map[string]any, resolve Resolver) ProofResult {
	str := func(k string) string { s, _ := proof[k].(string); return s }
	r := ProofResult{Type: str("type"), Cryptosuite: str("cryptosuite"), VerificationMethod: str("verificationMethod"), ProofPurpose: str("proofPurpose")}
	fail := func(err error) ProofResult { r.Err = err; return r }

	switch {
	case r.Type == TypeDataIntegrityProof && r.Cryptosuite == CryptosuiteEdDSARDFC2022:
	case r.Type == TypeEd25519Signature2020 && r.Cryptosuite == "":
	default:
		return fail(fmt.Errorf("%w: type %q cryptosuite %q", ErrUnsupportedProof, r.Type, r.Cryptosuite))
	}
	if r.VerificationMethod == "" {
		return fail(fmt.Errorf("%w: verificationMethod is missing", ErrMalformedProof))
	}
	if r.ProofPurpose == "" {
		return fail(fmt.Errorf("%w: proofPurpose is missing", ErrMalformedProof))
	}
	if c := str("created"); c != "" {
		t, err := time.Parse(time.RFC3339, c)
		if err != nil {
			return fail(fmt.Errorf("%w: created %q is not an RFC 3339 date-time", ErrMalformedProof, c))
		}
		r.Created = t
	}
	pv := str("proofValue")
	if pv == "" {
		return fail(fmt.Errorf("%w: proofValue is missing", ErrMalformedProof))
	}
	sig, err := keys.DecodeMultibase(pv)
	if err != nil {
		return fail(fmt.Errorf("%w: proofValue: %v", ErrMalformedProof, err))
	}
	if len(sig) != ed25519.SignatureSize {
		return fail(fmt.Errorf("%w: proofValue holds %d bytes, an Ed25519 signature has 64", ErrMalformedProof, len(sig)))
	}

	// vc-di-eddsa §3.3.2: a proof that names its own @context must name a prefix of the
	// document's, and then the document is read with exactly that context.
	docContext := unsecured["@context"]
	if pc, ok := proof["@context"]; ok {
		if !contextPrefix(pc, docContext) {
			return fail(fmt.Errorf("%w: proof @context is not a prefix of the document's @context", ErrMalformedProof))
		}
		docContext = pc
	}
	options := make(map[string]any, len(proof))
	for k, v := range proof {
		if k != "proofValue" && k != "@context" {
			options[k] = v
		}
	}
	doc := unsecured
	if _, ok := proof["@context"]; ok {
		doc = withoutProof(unsecured)
		doc["@context"] = docContext
	}
	data, err := hashData(doc, options, docContext)
	if err != nil {
		return fail(err)
	}
	key, err := resolve(ctx, r.VerificationMethod)
	if err != nil {
		return fail(fmt.Errorf("resolve verification method %s: %w", r.VerificationMethod, err))
	}
	r.Controller = key.Controller
	pub, ok := key.Public.(ed25519.PublicKey)
	if !ok {
		return fail(fmt.Errorf("%w: verification method %s is a %T, not an Ed25519 key", ErrUnsupportedProof, r.VerificationMethod, key.Public))
	}
	if !ed25519.Verify(pub, data, sig) {
		return fail(ErrBadSignature)
	}
	return r
}

func contextPrefix(prefix, full any) bool {
	asList := func(v any) []any {
		if l, ok := v.([]any); ok {
			return l
		}
		return []any{v}
	}
	p, f := asList(prefix), asList(full)
	if len(p) > len(f) {
		return false
	}
	for i := range p {
		ps, ok1 := p[i].(string)
		fs, ok2 := f[i].(string)
		if !ok1 || !ok2 || ps != fs {
			return false
		}
	}
	return true
}
