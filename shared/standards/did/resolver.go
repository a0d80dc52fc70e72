package did

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/credence-oss/credence/shared/standards/keys"
)

// Errors a Resolver wraps, so callers can tell the failures apart with errors.Is.
var (
	ErrNotFound           = errors.New("did: verification method not found")
	ErrControllerMismatch = errors.New("did: controller mismatch")
	ErrUnsupported        = errors.New("did: unsupported")
	ErrMalformedKey       = errors.New("did: malformed key")
	ErrMalformedDocument  = errors.New("did: malformed document")
	ErrNoFetcher          = errors.New("did: resolving this needs the network, and the Resolver has no Fetch")
)

// MaxDocumentSize bounds a fetched DID document, controller document or JWK set. A Fetch
// implementation should stop reading past it (io.LimitReader(body, MaxDocumentSize+1)); the
// Resolver refuses anything larger either way.
const MaxDocumentSize = 256 << 10

// Key is a resolved public key.
type Key struct {
	// ID is the absolute id of the verification method (a DID URL or an https URL).
	ID string
	// Controller is the verification method's controller, checked against the document that
	// published it: the DID for did:web, did:key and did:jwk, the document id for an https
	// controller document. It is empty for a bare JWK or a JWK set, which name no controller;
	// a verifier that binds the key to a credential's issuer must then refuse the binding or
	// establish it some other way.
	Controller string
	Public     crypto.PublicKey
	// AssertionMethod reports that the controller lets this key assert claims (sign
	// credentials): it is listed in the document's assertionMethod, or it comes from a
	// method or format without verification relationships (did:key, did:jwk, bare JWK, JWK
	// set), where every key may.
	AssertionMethod bool
}

// Resolver resolves verification methods to public keys. Fetch retrieves a URL (did:web
// documents, https controller documents and JWKs) and is the only network access; a zero
// Resolver resolves did:key and did:jwk and refuses the others with ErrNoFetcher. Fetch
// should guard against requests to private addresses when the URL comes from untrusted input
// (anything in a credential does).
type Resolver struct {
	Fetch func(ctx context.Context, url string) ([]byte, error)
}

// ResolveKey resolves a verification method id (a DID URL with a fragment, or an https URL)
// to its public key:
//   - did:key: decoded locally (Ed25519 z6Mk…, P-256 zDn…);
//   - did:jwk: decoded locally (the fragment, if any, must be "0");
//   - did:web: the DID document is fetched, its id must equal the DID, the method is looked
//     up by full id or by fragment, and its controller must be the DID;
//   - https: the URL may return a controller document (looked up like a DID document), a
//     single verification method document (its controller's document is then fetched to see
//     the key is listed there), a bare JWK, or a JWK set (the key whose kid is the fragment).
func (r Resolver) ResolveKey(ctx context.Context, verificationMethod string) (Key, error) {
	vm := strings.TrimSpace(verificationMethod)
	if vm == "" {
		return Key{}, fmt.Errorf("%w: empty verification method", ErrInvalidDID)
	}
	if len(vm) > maxDIDLength {
		return Key{}, fmt.Errorf("%w: verification method of %d characters is too long", ErrInvalidDID, len(vm))
	}
	base, fragment, _ := strings.Cut(vm, "#")
	switch {
	case strings.HasPrefix(base, "did:key:"):
		return resolveDIDKey(base, fragment)
	case strings.HasPrefix(base, "did:jwk:"):
		return resolveDIDJWK(base, fragment)
	case strings.HasPrefix(base, "did:web:"):
		doc, err := r.ResolveDocument(ctx, base)
		if err != nil {
			return Key{}, err
		}
		return doc.findKey(base, fragment)
	case strings.HasPrefix(base, "did:"):
		method, _, _ := strings.Cut(strings.TrimPrefix(base, "did:"), ":")
		return Key{}, fmt.Errorf("%w: DID method %q (supported: web, key, jwk)", ErrUnsupported, method)
	case strings.HasPrefix(strings.ToLower(base), "https://"), strings.HasPrefix(strings.ToLower(base), "http://"):
		return r.resolveURL(ctx, base, fragment)
	}
	return Key{}, fmt.Errorf("%w: verification method %q is neither a DID URL nor an https URL", ErrUnsupported, vm)
}

// ResolveDocument returns the DID document of a did:web, did:key or did:jwk DID (no
// fragment). For did:web it is fetched and its id must equal the DID; for did:key and did:jwk
// it is generated.
func (r Resolver) ResolveDocument(ctx context.Context, did string) (*Document, error) {
	switch {
	case strings.HasPrefix(did, "did:web:"):
		u, err := WebDocumentURL(did)
		if err != nil {
			return nil, err
		}
		doc, err := r.fetchDocument(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", did, err)
		}
		if doc.ID != did {
			return nil, fmt.Errorf("%w: document at %s has id %q, want %q", ErrControllerMismatch, u, doc.ID, did)
		}
		return doc, nil
	case strings.HasPrefix(did, "did:key:"), strings.HasPrefix(did, "did:jwk:"):
		if strings.Contains(did, "#") {
			return nil, fmt.Errorf("%w: %q is a DID URL; pass the DID", ErrInvalidDID, did)
		}
		var k Key
		var err error
		if strings.HasPrefix(did, "did:key:") {
			k, err = resolveDIDKey(did, "")
		} else {
			k, err = resolveDIDJWK(did, "")
		}
		if err != nil {
			return nil, err
		}
		vm := VerificationMethod{ID: k.ID, Type: TypeJSONWebKey, Controller: did}
		if strings.HasPrefix(did, "did:key:") {
			vm.Type, vm.PublicKeyMultibase = TypeMultikey, strings.TrimPrefix(did, "did:key:")
		} else {
			j, err := keys.JWKFromPublic(k.Public)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", did, err)
			}
			vm.PublicKeyJwk = &j
		}
		doc := &Document{Context: Contexts{ContextDID}, ID: did}
		doc.addAssertion(vm)
		doc.Authentication = []Relationship{{Ref: vm.ID}}
		return doc, nil
	}
	return nil, fmt.Errorf("%w: cannot resolve %q (supported: did:web, did:key, did:jwk)", ErrUnsupported, did)
}

// resolveDIDJWK decodes did:jwk:<base64url JWK>[#0].
func resolveDIDJWK(did, fragment string) (Key, error) {
	enc := strings.TrimPrefix(did, "did:jwk:")
	if fragment != "" && fragment != "0" {
		return Key{}, fmt.Errorf("%w: did:jwk verification method is %s#0, not #%s", ErrNotFound, did, fragment)
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(raw) == 0 {
		return Key{}, fmt.Errorf("%w: did:jwk value is not base64url", ErrInvalidDID)
	}
	pub, err := parsePublicJWK(raw)
	if err != nil {
		return Key{}, fmt.Errorf("did:jwk: %w", err)
	}
	return Key{ID: did + "#0", Controller: did, Public: pub, AssertionMethod: true}, nil
}

// privateJWKMembers are the JWK members of private or symmetric keys (RFC 7518 §6).
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// parsePublicJWK decodes a JSON JWK, refusing private key members and malformed keys.
func parsePublicJWK(raw []byte) (crypto.PublicKey, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, fmt.Errorf("%w: JWK is not a JSON object", ErrMalformedKey)
	}
	for _, m := range privateJWKMembers {
		if _, ok := members[m]; ok {
			return nil, fmt.Errorf("%w: JWK carries private or symmetric key member %q", ErrMalformedKey, m)
		}
	}
	var j keys.JWK
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("%w: JWK: %v", ErrMalformedKey, err)
	}
	pub, err := j.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	return pub, nil
}

// fetch retrieves a URL through Fetch, bounding the size.
func (r Resolver) fetch(ctx context.Context, u string) ([]byte, error) {
	if r.Fetch == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoFetcher, u)
	}
	body, err := r.Fetch(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	if len(body) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: %s is %d bytes (limit %d)", ErrMalformedDocument, u, len(body), MaxDocumentSize)
	}
	return body, nil
}

func (r Resolver) fetchDocument(ctx context.Context, u string) (*Document, error) {
	body, err := r.fetch(ctx, u)
	if err != nil {
		return nil, err
	}
	return parseDocument(body, u)
}

func parseDocument(body []byte, from string) (*Document, error) {
	var doc Document
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformedDocument, from, err)
	}
	if doc.ID == "" {
		return nil, fmt.Errorf("%w: %s: document has no id", ErrMalformedDocument, from)
	}
	return &doc, nil
}

// findKey looks up a verification method of the document by absolute id or fragment (with
// no fragment, the document must hold exactly one) and checks its controller.
func (d *Document) findKey(controller, fragment string) (Key, error) {
	var candidates []VerificationMethod
	candidates = append(candidates, d.VerificationMethod...)
	for _, rel := range [][]Relationship{d.AssertionMethod, d.Authentication} {
		for _, r := range rel {
			if r.Embedded != nil {
				candidates = append(candidates, *r.Embedded)
			}
		}
	}
	var found *VerificationMethod
	want := controller + "#" + fragment
	if fragment == "" {
		if len(candidates) != 1 {
			return Key{}, fmt.Errorf("%w: %q names a document with %d verification methods; add a fragment naming one", ErrNotFound, controller, len(candidates))
		}
		found = &candidates[0]
		want = absID(d.ID, found.ID)
	} else {
		for i := range candidates {
			if absID(d.ID, candidates[i].ID) == want {
				if found != nil && !sameVM(*found, candidates[i]) {
					return Key{}, fmt.Errorf("%w: %s: two different verification methods share the id %q", ErrMalformedDocument, controller, want)
				}
				found = &candidates[i]
			}
		}
		if found == nil {
			return Key{}, fmt.Errorf("%w: %q is not in the document of %s", ErrNotFound, want, controller)
		}
	}
	if absID(d.ID, found.Controller) != d.ID {
		return Key{}, fmt.Errorf("%w: verification method %q is controlled by %q, not %q", ErrControllerMismatch, want, found.Controller, d.ID)
	}
	pub, err := found.PublicKey()
	if err != nil {
		return Key{}, err
	}
	return Key{ID: want, Controller: d.ID, Public: pub, AssertionMethod: d.lists(d.AssertionMethod, want)}, nil
}

func sameVM(a, b VerificationMethod) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// lists reports whether a relationship names the verification method id.
func (d *Document) lists(rel []Relationship, id string) bool {
	for _, r := range rel {
		ref := r.Ref
		if r.Embedded != nil {
			ref = r.Embedded.ID
		}
		if absID(d.ID, ref) == id {
			return true
		}
	}
	return false
}

// resolveURL dereferences an https verification method URL. http is accepted only for the
// loopback hosts, for the same reason as in WebDocumentURL.
func (r Resolver) resolveURL(ctx context.Context, base, fragment string) (Key, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || u.User != nil {
		return Key{}, fmt.Errorf("%w: %q is not a usable URL", ErrInvalidDID, base)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && !(scheme == "http" && isLoopback(hostOnly(u.Host))) {
		return Key{}, fmt.Errorf("%w: %q: key URLs must be https (http only on localhost)", ErrUnsupported, base)
	}
	body, err := r.fetch(ctx, base)
	if err != nil {
		return Key{}, err
	}
	var shape map[string]json.RawMessage
	if err := json.Unmarshal(body, &shape); err != nil {
		return Key{}, fmt.Errorf("%w: %s is not a JSON object: %v", ErrMalformedDocument, base, err)
	}
	full := base
	if fragment != "" {
		full += "#" + fragment
	}
	switch {
	case shape["keys"] != nil:
		return resolveJWKSet(shape["keys"], full, fragment)
	case shape["kty"] != nil:
		pub, err := parsePublicJWK(body)
		if err != nil {
			return Key{}, fmt.Errorf("%s: %w", base, err)
		}
		return Key{ID: full, Public: pub, AssertionMethod: true}, nil
	case shape["verificationMethod"] != nil || shape["assertionMethod"] != nil || shape["authentication"] != nil:
		doc, err := parseDocument(body, base)
		if err != nil {
			return Key{}, err
		}
		if doc.ID != base {
			return Key{}, fmt.Errorf("%w: document at %s has id %q", ErrControllerMismatch, base, doc.ID)
		}
		return doc.findKey(base, fragment)
	case shape["type"] != nil && (shape["publicKeyMultibase"] != nil || shape["publicKeyJwk"] != nil || shape["publicKeyBase58"] != nil):
		return r.resolveStandaloneVM(ctx, body, full)
	}
	return Key{}, fmt.Errorf("%w: %s is neither a controller document, a verification method, a JWK nor a JWK set", ErrMalformedDocument, base)
}

// resolveStandaloneVM handles a URL that returns one verification method: its id must be the
// URL, and its controller's document (fetched once, no further hops) must list it.
func (r Resolver) resolveStandaloneVM(ctx context.Context, body []byte, full string) (Key, error) {
	var vm VerificationMethod
	if err := json.Unmarshal(body, &vm); err != nil {
		return Key{}, fmt.Errorf("%w: %s: %v", ErrMalformedDocument, full, err)
	}
	if vm.ID != full {
		return Key{}, fmt.Errorf("%w: verification method at %s has id %q", ErrNotFound, full, vm.ID)
	}
	if vm.Controller == "" {
		return Key{}, fmt.Errorf("%w: verification method %s names no controller", ErrControllerMismatch, full)
	}
	pub, err := vm.PublicKey()
	if err != nil {
		return Key{}, err
	}
	var ctrl *Document
	switch {
	case strings.HasPrefix(vm.Controller, "did:web:"):
		ctrl, err = r.ResolveDocument(ctx, vm.Controller)
	case strings.HasPrefix(strings.ToLower(vm.Controller), "https://"):
		ctrl, err = r.fetchDocument(ctx, vm.Controller)
		if err == nil && ctrl.ID != vm.Controller {
			err = fmt.Errorf("%w: document at %s has id %q", ErrControllerMismatch, vm.Controller, ctrl.ID)
		}
	default:
		return Key{}, fmt.Errorf("%w: controller %q of %s cannot be dereferenced", ErrUnsupported, vm.Controller, full)
	}
	if err != nil {
		return Key{}, fmt.Errorf("controller of %s: %w", full, err)
	}
	if !ctrl.lists(ctrl.AssertionMethod, full) && !ctrl.lists(ctrl.Authentication, full) && !ctrl.listsVM(full) {
		return Key{}, fmt.Errorf("%w: controller %s does not list %s", ErrControllerMismatch, vm.Controller, full)
	}
	return Key{ID: full, Controller: vm.Controller, Public: pub, AssertionMethod: ctrl.lists(ctrl.AssertionMethod, full)}, nil
}

func (d *Document) listsVM(id string) bool {
	for _, vm := range d.VerificationMethod {
		if absID(d.ID, vm.ID) == id {
			return true
		}
	}
	return false
}

// resolveJWKSet picks the key whose kid is the fragment (or the only key, when there is no
// fragment).
func resolveJWKSet(raw json.RawMessage, full, fragment string) (Key, error) {
	var set []json.RawMessage
	if err := json.Unmarshal(raw, &set); err != nil {
		return Key{}, fmt.Errorf("%w: %s: keys is not an array", ErrMalformedDocument, full)
	}
	var match json.RawMessage
	for _, k := range set {
		var head struct {
			Kid string `json:"kid"`
		}
		if json.Unmarshal(k, &head) != nil {
			continue
		}
		if (fragment == "" && len(set) == 1) || (fragment != "" && head.Kid == fragment) {
			if match != nil {
				return Key{}, fmt.Errorf("%w: %s: two keys have kid %q", ErrMalformedDocument, full, fragment)
			}
			match = k
		}
	}
	if match == nil {
		if fragment == "" {
			return Key{}, fmt.Errorf("%w: %s holds %d keys; add a fragment naming one by kid", ErrNotFound, full, len(set))
		}
		return Key{}, fmt.Errorf("%w: no key with kid %q in %s", ErrNotFound, fragment, full)
	}
	pub, err := parsePublicJWK(match)
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", full, err)
	}
	return Key{ID: full, Public: pub, AssertionMethod: true}, nil
}

func hostOnly(hostport string) string {
	if strings.HasPrefix(hostport, "[") {
		if i := strings.IndexByte(hostport, ']'); i >= 0 {
			return hostport[:i+1]
		}
	}
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		return hostport[:i]
	}
	return hostport
}
