package did

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/credence-oss/credence/shared/standards/keys"
)

// Context URLs of the issuer DID document.
const (
	ContextDID      = "https://www.w3.org/ns/did/v1"
	ContextMultikey = "https://w3id.org/security/multikey/v1"
	// ContextCID is the context that Controlled Identifiers v1.0 (W3C Recommendation, 2025)
	// defines for the JsonWebKey verification method type and publicKeyJwk; the VC-JOSE-COSE
	// controller-document examples use it too. The embedded contexts in
	// shared/standards/jsonld do not include it: the DID document is served and consumed as
	// plain JSON (resolvers look up verification methods by id, nobody canonicalizes a DID
	// document), so it is never expanded offline.
	ContextCID = "https://www.w3.org/ns/cid/v1"
)

// Verification method types.
const (
	TypeMultikey   = "Multikey"
	TypeJSONWebKey = "JsonWebKey"
	// Legacy types, read when resolving keys other platforms published.
	typeEd25519VerificationKey2020 = "Ed25519VerificationKey2020"
	typeEd25519VerificationKey2018 = "Ed25519VerificationKey2018"
	typeJSONWebKey2020             = "JsonWebKey2020"
)

// Document is a DID document (or a Controlled Identifier document for an https controller).
// It reads the shapes found in the wild (a single @context string, a relationship entry that
// embeds its verification method) and writes the canonical shape.
type Document struct {
	Context            Contexts             `json:"@context"`
	ID                 string               `json:"id"`
	Controller         StringSet            `json:"controller,omitempty"`
	VerificationMethod []VerificationMethod `json:"verificationMethod,omitempty"`
	AssertionMethod    []Relationship       `json:"assertionMethod,omitempty"`
	Authentication     []Relationship       `json:"authentication,omitempty"`
}

// VerificationMethod is one public key of a controller. Exactly one key representation is
// set: publicKeyMultibase (Multikey, Ed25519VerificationKey2020), publicKeyJwk (JsonWebKey,
// JsonWebKey2020) or, read only, publicKeyBase58 (Ed25519VerificationKey2018).
type VerificationMethod struct {
	Context            Contexts  `json:"@context,omitempty"`
	ID                 string    `json:"id"`
	Type               string    `json:"type"`
	Controller         string    `json:"controller"`
	PublicKeyMultibase string    `json:"publicKeyMultibase,omitempty"`
	PublicKeyJwk       *keys.JWK `json:"publicKeyJwk,omitempty"`
	PublicKeyBase58    string    `json:"publicKeyBase58,omitempty"`
}

// Contexts is an @context value: context URLs or inline context objects; a single string is
// read as a one-element list.
type Contexts []any

// UnmarshalJSON accepts a string or an array.
func (c *Contexts) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*c = Contexts{one}
		return nil
	}
	var many []any
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("@context must be a string or an array: %w", err)
	}
	*c = many
	return nil
}

// StringSet is a property that may be one string or an array of strings (controller).
type StringSet []string

// UnmarshalJSON accepts a string or an array of strings.
func (s *StringSet) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = StringSet{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be a string or an array of strings")
	}
	*s = many
	return nil
}

// MarshalJSON writes a single value as a string, as DID documents usually do.
func (s StringSet) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return json.Marshal(s[0])
	}
	return json.Marshal([]string(s))
}

// Relationship is an entry of a verification relationship (assertionMethod, authentication):
// a reference to a verification method by id, or an embedded one.
type Relationship struct {
	Ref      string
	Embedded *VerificationMethod
}

// UnmarshalJSON accepts a string reference or an embedded verification method object.
func (r *Relationship) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &r.Ref)
	}
	var vm VerificationMethod
	if err := json.Unmarshal(b, &vm); err != nil {
		return fmt.Errorf("relationship entry must be an id or a verification method: %w", err)
	}
	r.Embedded = &vm
	return nil
}

// MarshalJSON writes the reference string or the embedded object.
func (r Relationship) MarshalJSON() ([]byte, error) {
	if r.Embedded != nil {
		return json.Marshal(r.Embedded)
	}
	return json.Marshal(r.Ref)
}

// Keys are the public keys an issuer publishes in its DID document; nil fields are left out.
type Keys struct {
	Ed25519 ed25519.PublicKey // Multikey: Data Integrity eddsa-rdfc-2022 proofs
	RSA     *rsa.PublicKey    // JsonWebKey: VC-JWT RS256
	P256    *ecdsa.PublicKey  // JsonWebKey: VC-JWT ES256
}

// NewDocument returns the issuer's DID document with a Multikey verification method for the
// Ed25519 key and a JsonWebKey verification method for the RSA key, both listed in
// assertionMethod. Either key may be nil; a malformed key (an Ed25519 key that is not 32
// bytes) is left out, so use NewDocumentKeys where that must be an error.
func NewDocument(id string, ed25519Pub ed25519.PublicKey, rsaPub *rsa.PublicKey) Document {
	k := Keys{RSA: rsaPub}
	if len(ed25519Pub) == ed25519.PublicKeySize {
		k.Ed25519 = ed25519Pub
	}
	doc, err := NewDocumentKeys(id, k)
	if err != nil {
		// Only the Ed25519 length can fail above it, and it was checked.
		return Document{Context: Contexts{ContextDID}, ID: id}
	}
	return doc
}

// NewDocumentKeys is NewDocument for any of the keys Credence signs with, P-256 included.
//
// Verification method ids are absolute DID URLs, because verifiers such as Digital Bazaar's
// jsonld-signatures compare the proof's verificationMethod with the ids listed in
// assertionMethod as strings:
//   - Ed25519: <did>#<publicKeyMultibase>, the id Digital Bazaar's Ed25519Multikey derives
//     from a controller and its fingerprint, the form did:key uses, and the form of the OB 3.0
//     test vector's verificationMethod (…/issuers/565049#z6Mk…). It changes with the key,
//     so a rotated key never reuses an id.
//   - RSA and P-256: <did>#<RFC 7638 JWK thumbprint>, as DID Core recommends for JWKs ("use
//     the value of kid as the fragment; set kid to the public key fingerprint"). The same
//     string is the VC-JWT header's kid.
func NewDocumentKeys(id string, k Keys) (Document, error) {
	doc := Document{Context: Contexts{ContextDID}, ID: id}
	if k.Ed25519 != nil {
		if len(k.Ed25519) != ed25519.PublicKeySize {
			return Document{}, fmt.Errorf("did: Ed25519 public key must be %d bytes, got %d", ed25519.PublicKeySize, len(k.Ed25519))
		}
		mb := keys.Ed25519Multikey(k.Ed25519)
		doc.Context = append(doc.Context, ContextMultikey)
		doc.addAssertion(VerificationMethod{ID: id + "#" + mb, Type: TypeMultikey, Controller: id, PublicKeyMultibase: mb})
	}
	jwkAdded := false
	for _, pub := range []crypto.PublicKey{k.RSA, k.P256} {
		if pub == nil || pub == (*rsa.PublicKey)(nil) || pub == (*ecdsa.PublicKey)(nil) {
			continue
		}
		j, err := keys.JWKFromPublic(pub)
		if err != nil {
			return Document{}, fmt.Errorf("did: %w", err)
		}
		tp, err := Thumbprint(j)
		if err != nil {
			return Document{}, err
		}
		if !jwkAdded {
			doc.Context = append(doc.Context, ContextCID)
			jwkAdded = true
		}
		doc.addAssertion(VerificationMethod{ID: id + "#" + tp, Type: TypeJSONWebKey, Controller: id, PublicKeyJwk: &j})
	}
	return doc, nil
}

func (d *Document) addAssertion(vm VerificationMethod) {
	d.VerificationMethod = append(d.VerificationMethod, vm)
	d.AssertionMethod = append(d.AssertionMethod, Relationship{Ref: vm.ID})
}

// VerificationMethodID is the id NewDocumentKeys gives the verification method of pub in the
// document of did: the value for a Data Integrity proof's verificationMethod (Ed25519) or a
// VC-JWT kid (RSA, P-256).
func VerificationMethodID(did string, pub crypto.PublicKey) (string, error) {
	if k, ok := pub.(ed25519.PublicKey); ok {
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("did: Ed25519 public key must be %d bytes, got %d", ed25519.PublicKeySize, len(k))
		}
		return did + "#" + keys.Ed25519Multikey(k), nil
	}
	j, err := keys.JWKFromPublic(pub)
	if err != nil {
		return "", fmt.Errorf("did: %w", err)
	}
	tp, err := Thumbprint(j)
	if err != nil {
		return "", err
	}
	return did + "#" + tp, nil
}

// Thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url) of a public JWK: the hash of
// the required members in lexicographic order with no whitespace.
func Thumbprint(j keys.JWK) (string, error) {
	var members [][2]string
	switch j.Kty {
	case "RSA":
		members = [][2]string{{"e", j.E}, {"kty", j.Kty}, {"n", j.N}}
	case "EC":
		members = [][2]string{{"crv", j.Crv}, {"kty", j.Kty}, {"x", j.X}, {"y", j.Y}}
	case "OKP":
		members = [][2]string{{"crv", j.Crv}, {"kty", j.Kty}, {"x", j.X}}
	default:
		return "", fmt.Errorf("did: JWK thumbprint: %w: kty %q", keys.ErrUnsupportedKey, j.Kty)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range members {
		if m[1] == "" {
			return "", fmt.Errorf("did: JWK thumbprint: member %q is missing", m[0])
		}
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m[0])
		v, _ := json.Marshal(m[1])
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	sum := sha256.Sum256(b.Bytes())
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// PublicKey decodes the verification method's key material according to its type.
func (vm VerificationMethod) PublicKey() (crypto.PublicKey, error) {
	n := 0
	for _, set := range []bool{vm.PublicKeyMultibase != "", vm.PublicKeyJwk != nil, vm.PublicKeyBase58 != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("%w: verification method %q must carry exactly one key representation, has %d", ErrMalformedKey, vm.ID, n)
	}
	switch vm.Type {
	case TypeMultikey, typeEd25519VerificationKey2020:
		if vm.PublicKeyMultibase == "" {
			return nil, fmt.Errorf("%w: %s %q has no publicKeyMultibase", ErrMalformedKey, vm.Type, vm.ID)
		}
		pub, err := ParseMultikey(vm.PublicKeyMultibase)
		if err != nil {
			return nil, fmt.Errorf("verification method %q: %w", vm.ID, err)
		}
		if _, ok := pub.(ed25519.PublicKey); !ok && vm.Type == typeEd25519VerificationKey2020 {
			return nil, fmt.Errorf("%w: %s %q does not hold an Ed25519 key", ErrMalformedKey, vm.Type, vm.ID)
		}
		return pub, nil
	case TypeJSONWebKey, typeJSONWebKey2020:
		if vm.PublicKeyJwk == nil {
			return nil, fmt.Errorf("%w: %s %q has no publicKeyJwk", ErrMalformedKey, vm.Type, vm.ID)
		}
		pub, err := vm.PublicKeyJwk.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("%w: verification method %q: %v", ErrMalformedKey, vm.ID, err)
		}
		return pub, nil
	case typeEd25519VerificationKey2018:
		raw, err := keys.DecodeBase58(vm.PublicKeyBase58)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: %s %q: publicKeyBase58 is not a 32-byte Ed25519 key", ErrMalformedKey, vm.Type, vm.ID)
		}
		return ed25519.PublicKey(raw), nil
	}
	return nil, fmt.Errorf("%w: verification method type %q", ErrUnsupported, vm.Type)
}

// absID resolves a verification method id relative to its document ("#key-1").
func absID(docID, id string) string {
	if strings.HasPrefix(id, "#") {
		return docID + id
	}
	return id
}
