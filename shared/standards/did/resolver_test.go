package did

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/credence-oss/credence/shared/standards/keys"
)

// memFetcher serves documents from memory and records what was asked for.
type memFetcher struct {
	mu    sync.Mutex
	docs  map[string][]byte
	calls []string
}

func (m *memFetcher) fetch(_ context.Context, u string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, u)
	b, ok := m.docs[u]
	if !ok {
		return nil, fmt.Errorf("404 %s", u)
	}
	return b, nil
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func testRSAKey(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

// The OB 3.0 test vector's key pair (testdata/standards/ob3-ldp-test-vector/keypair.json).
type obKeyPair struct {
	Controller         string `json:"controller"`
	VerificationMethod string `json:"verificationMethod"`
	PublicKeyHex       string `json:"publicKeyHex"`
	PublicKeyMultibase string `json:"publicKeyMultibase"`
}

func loadOBKeyPair(t *testing.T) (obKeyPair, ed25519.PublicKey) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "standards", "ob3-ldp-test-vector", "keypair.json"))
	if err != nil {
		t.Fatal(err)
	}
	var kp obKeyPair
	if err := json.Unmarshal(b, &kp); err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(kp.PublicKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	return kp, ed25519.PublicKey(raw)
}

func TestNewDocumentShape(t *testing.T) {
	kp, edPub := loadOBKeyPair(t)
	rk := testRSAKey(t)
	id := Web("credence.example.edu", "issuers", "abc")
	doc := NewDocument(id, edPub, &rk.PublicKey)

	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	ctx := generic["@context"].([]any)
	if len(ctx) != 3 || ctx[0] != ContextDID || ctx[1] != ContextMultikey || ctx[2] != ContextCID {
		t.Fatalf("@context = %v", ctx)
	}
	if generic["id"] != id {
		t.Fatalf("id = %v", generic["id"])
	}
	vms := generic["verificationMethod"].([]any)
	if len(vms) != 2 {
		t.Fatalf("want 2 verification methods, got %d", len(vms))
	}
	ed := vms[0].(map[string]any)
	wantEdID := id + "#" + kp.PublicKeyMultibase
	if ed["id"] != wantEdID || ed["type"] != "Multikey" || ed["controller"] != id || ed["publicKeyMultibase"] != kp.PublicKeyMultibase {
		t.Fatalf("Ed25519 method = %v", ed)
	}
	rs := vms[1].(map[string]any)
	jwk := rs["publicKeyJwk"].(map[string]any)
	if rs["type"] != "JsonWebKey" || rs["controller"] != id || jwk["kty"] != "RSA" || jwk["e"] != "AQAB" || jwk["n"] == "" || len(jwk) != 3 {
		t.Fatalf("RSA method = %v", rs)
	}
	j, _ := keys.JWKFromPublic(&rk.PublicKey)
	tp, _ := Thumbprint(j)
	if rs["id"] != id+"#"+tp {
		t.Fatalf("RSA method id = %v, want %s#%s", rs["id"], id, tp)
	}
	am := generic["assertionMethod"].([]any)
	if len(am) != 2 || am[0] != wantEdID || am[1] != rs["id"] {
		t.Fatalf("assertionMethod = %v", am)
	}
	if _, ok := generic["authentication"]; ok {
		t.Fatal("issuer keys are for assertions only")
	}
	for _, pub := range []crypto.PublicKey{edPub, &rk.PublicKey} {
		vmID, err := VerificationMethodID(id, pub)
		if err != nil || !doc.lists(doc.AssertionMethod, vmID) {
			t.Fatalf("VerificationMethodID(%T) = %q, %v: not in the document", pub, vmID, err)
		}
	}
}

func TestNewDocumentNilKeys(t *testing.T) {
	id := Web("example.com", "issuers", "1")
	doc := NewDocument(id, nil, nil)
	if len(doc.VerificationMethod) != 0 || len(doc.Context) != 1 {
		t.Fatalf("doc = %+v", doc)
	}
	doc = NewDocument(id, nil, &testRSAKey(t).PublicKey)
	if len(doc.VerificationMethod) != 1 || doc.VerificationMethod[0].Type != TypeJSONWebKey || len(doc.Context) != 2 {
		t.Fatalf("RSA-only doc = %+v", doc)
	}
	if doc := NewDocument(id, ed25519.PublicKey{1, 2, 3}, nil); len(doc.VerificationMethod) != 0 {
		t.Fatal("a malformed Ed25519 key must be left out")
	}
	if _, err := NewDocumentKeys(id, Keys{Ed25519: ed25519.PublicKey{1, 2, 3}}); err == nil {
		t.Fatal("NewDocumentKeys must refuse a malformed Ed25519 key")
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := NewDocumentKeys(id, Keys{P256: p384.Public().(*ecdsa.PublicKey)}); err == nil {
		t.Fatal("a P-384 key must be refused")
	}
}

// RFC 7638 §3.1 gives the thumbprint of the RSA key of RFC 7517 Appendix A.1; RFC 8037 §A.3
// gives the thumbprint of its Ed25519 key (Appendix A.1).
func TestThumbprintRFCVectors(t *testing.T) {
	rsaJWK := keys.JWK{Kty: "RSA", E: "AQAB",
		N:   "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
		Kid: "2011-04-29", Alg: "RS256"}
	if tp, err := Thumbprint(rsaJWK); err != nil || tp != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Errorf("RSA thumbprint = %q, %v", tp, err)
	}
	okp := keys.JWK{Kty: "OKP", Crv: "Ed25519", X: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
	if tp, err := Thumbprint(okp); err != nil || tp != "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" {
		t.Errorf("OKP thumbprint = %q, %v", tp, err)
	}
	if _, err := Thumbprint(keys.JWK{Kty: "oct"}); err == nil {
		t.Error("oct keys have no thumbprint here")
	}
	if _, err := Thumbprint(keys.JWK{Kty: "EC", Crv: "P-256", X: "x"}); err == nil {
		t.Error("a missing member must be an error")
	}
}

// did:key vectors from w3c-ccg/did-method-key test-vectors/ed25519-x25519.json (seed 0 and
// seed 1; the public key is given there as publicKeyBase58) and test-vectors/nist-curves.json
// (the first two P-256 keys, given as JWKs).
func TestDIDKeyVectors(t *testing.T) {
	ctx := context.Background()
	var r Resolver // no Fetch: did:key needs no network
	edVectors := []struct{ seed, did, base58 string }{
		{"0000000000000000000000000000000000000000000000000000000000000000", "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS"},
		{"0000000000000000000000000000000000000000000000000000000000000001", "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG", "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt"},
	}
	for _, v := range edVectors {
		seed, _ := hex.DecodeString(v.seed)
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		if keys.Base58(pub) != v.base58 {
			t.Fatalf("seed %s: public key %s, vector says %s", v.seed, keys.Base58(pub), v.base58)
		}
		if got, err := KeyDID(pub); err != nil || got != v.did {
			t.Errorf("KeyDID = %q, %v; want %q", got, err, v.did)
		}
		mb := strings.TrimPrefix(v.did, "did:key:")
		k, err := r.ResolveKey(ctx, v.did+"#"+mb)
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(k.Public) || k.ID != v.did+"#"+mb || k.Controller != v.did || !k.AssertionMethod {
			t.Errorf("ResolveKey(%s) = %+v", v.did, k)
		}
		if k2, err := r.ResolveKey(ctx, v.did); err != nil || !pub.Equal(k2.Public) {
			t.Errorf("ResolveKey without fragment: %v", err)
		}
	}
	p256Vectors := []struct{ did, x, y string }{
		{"did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv", "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns", "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM"},
		{"did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169", "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI", "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU"},
	}
	for _, v := range p256Vectors {
		want, err := keys.JWK{Kty: "EC", Crv: "P-256", X: v.x, Y: v.y}.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		k, err := r.ResolveKey(ctx, v.did+"#"+strings.TrimPrefix(v.did, "did:key:"))
		if err != nil {
			t.Fatal(err)
		}
		if !want.(*ecdsa.PublicKey).Equal(k.Public) {
			t.Errorf("%s resolved to the wrong point", v.did)
		}
		if got, err := KeyDID(want); err != nil || got != v.did {
			t.Errorf("KeyDID(P-256) = %q, %v; want %q", got, err, v.did)
		}
	}
	// P-384 (nist-curves.json) and secp256k1 are valid did:keys Credence does not handle.
	_, err := r.ResolveKey(ctx, "did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "p384") {
		t.Errorf("P-384 did:key: %v", err)
	}
}

func TestOBVectorKeyAsDIDKey(t *testing.T) {
	kp, pub := loadOBKeyPair(t)
	d := "did:key:" + kp.PublicKeyMultibase
	k, err := Resolver{}.ResolveKey(context.Background(), d+"#"+kp.PublicKeyMultibase)
	if err != nil || !pub.Equal(k.Public) {
		t.Fatalf("resolve OB vector key: %v", err)
	}
}

func TestDIDKeyRefuses(t *testing.T) {
	ctx := context.Background()
	var r Resolver
	offCurve := append([]byte{0x80, 0x24, 0x02}, bytes.Repeat([]byte{0xff}, 32)...) // x >= p
	cases := map[string]error{
		"did:key:": ErrInvalidDID,
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#other": ErrNotFound,
		"did:key:6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp":        ErrMalformedKey, // not multibase
		"did:key:z0OIl": ErrMalformedKey,
		"did:key:" + keys.Multibase(append([]byte{0xed, 0x01}, make([]byte, 31)...)):       ErrMalformedKey, // 31-byte Ed25519
		"did:key:" + keys.Multibase(append([]byte{0x80, 0x24, 0x04}, make([]byte, 64)...)): ErrMalformedKey, // uncompressed
		"did:key:" + keys.Multibase(offCurve):                                              ErrMalformedKey,
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDoo":                           ErrUnsupported, // truncated: another prefix
	}
	for in, want := range cases {
		if _, err := r.ResolveKey(ctx, in); !errors.Is(err, want) {
			t.Errorf("ResolveKey(%q) = %v, want %v", in, err, want)
		}
	}
}

// The did:jwk spec's P-256 example (quartzjer/did-jwk spec.md, "P-256").
const didJWKP256 = "did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVVM3l6OTFQSDZDZEgyVjAiLCJ5IjoiX0tjeUxqOXZXTXB0bm1LdG00NkdxRHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9"

func TestDIDJWK(t *testing.T) {
	ctx := context.Background()
	var r Resolver
	k, err := r.ResolveKey(ctx, didJWKP256+"#0")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := keys.JWK{Kty: "EC", Crv: "P-256", X: "acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0", Y: "_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE"}.PublicKey()
	if !want.(*ecdsa.PublicKey).Equal(k.Public) || k.ID != didJWKP256+"#0" || k.Controller != didJWKP256 {
		t.Fatalf("did:jwk resolved to %+v", k)
	}
	doc, err := r.ResolveDocument(ctx, didJWKP256)
	if err != nil || doc.VerificationMethod[0].ID != didJWKP256+"#0" || doc.VerificationMethod[0].PublicKeyJwk == nil {
		t.Fatalf("ResolveDocument(did:jwk) = %+v, %v", doc, err)
	}

	enc := func(s string) string { return "did:jwk:" + base64.RawURLEncoding.EncodeToString([]byte(s)) }
	bad := map[string]string{
		"private key": enc(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`),
		"symmetric":   enc(`{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"}`),
		"not JSON":    enc(`hello`),
		"not base64":  "did:jwk:***",
		"bad point":   enc(`{"kty":"EC","crv":"P-256","x":"acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0","y":"_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSA"}`),
		"fragment":    didJWKP256 + "#1",
	}
	for why, in := range bad {
		if _, err := r.ResolveKey(ctx, in); err == nil {
			t.Errorf("%s: did:jwk accepted", why)
		}
	}
}

// issuerFixture is a did:web issuer served by an in-memory fetcher.
func issuerFixture(t *testing.T) (id string, edPub ed25519.PublicKey, rk *rsa.PrivateKey, f *memFetcher) {
	t.Helper()
	_, edPub = loadOBKeyPair(t)
	rk = testRSAKey(t)
	id = Web("credence.example.edu", "issuers", "abc")
	doc := NewDocument(id, edPub, &rk.PublicKey)
	f = &memFetcher{docs: map[string][]byte{"https://credence.example.edu/issuers/abc/did.json": mustJSON(t, doc)}}
	return id, edPub, rk, f
}

func TestResolveDIDWebRoundTrip(t *testing.T) {
	ctx := context.Background()
	id, edPub, rk, f := issuerFixture(t)
	r := Resolver{Fetch: f.fetch}

	edID, _ := VerificationMethodID(id, edPub)
	k, err := r.ResolveKey(ctx, edID)
	if err != nil {
		t.Fatal(err)
	}
	if !edPub.Equal(k.Public) || k.ID != edID || k.Controller != id || !k.AssertionMethod {
		t.Fatalf("Ed25519 key = %+v", k)
	}
	rsaID, _ := VerificationMethodID(id, &rk.PublicKey)
	k, err = r.ResolveKey(ctx, rsaID)
	if err != nil {
		t.Fatal(err)
	}
	if !rk.PublicKey.Equal(k.Public) || k.ID != rsaID || k.Controller != id {
		t.Fatalf("RSA key = %+v", k)
	}
	if f.calls[0] != "https://credence.example.edu/issuers/abc/did.json" {
		t.Fatalf("fetched %v", f.calls)
	}
	if _, err := r.ResolveKey(ctx, id+"#nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown fragment: %v", err)
	}
	if _, err := r.ResolveKey(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a DID with two keys and no fragment must be ambiguous: %v", err)
	}
	// Relative ids and a single @context string, as other platforms publish them.
	other := Web("other.example", "i")
	f.docs["https://other.example/i/did.json"] = []byte(`{"@context":"https://www.w3.org/ns/did/v1","id":"` + other + `",
		"verificationMethod":[{"id":"#k1","type":"Ed25519VerificationKey2020","controller":"` + other + `","publicKeyMultibase":"` + keys.Ed25519Multikey(edPub) + `"}],
		"assertionMethod":["#k1"]}`)
	k, err = r.ResolveKey(ctx, other+"#k1")
	if err != nil || !edPub.Equal(k.Public) || !k.AssertionMethod || k.ID != other+"#k1" {
		t.Fatalf("relative id: %+v, %v", k, err)
	}
	k, err = r.ResolveKey(ctx, other)
	if err != nil || k.ID != other+"#k1" {
		t.Fatalf("single key without fragment: %+v, %v", k, err)
	}
}

func TestResolverWithoutFetch(t *testing.T) {
	ctx := context.Background()
	var r Resolver
	for _, vm := range []string{Web("example.com", "i") + "#k", "https://example.com/keys#k"} {
		if _, err := r.ResolveKey(ctx, vm); !errors.Is(err, ErrNoFetcher) {
			t.Errorf("ResolveKey(%s) without Fetch: %v", vm, err)
		}
	}
	for _, vm := range []string{"did:ion:abc#k", "did:example:123#k", "urn:uuid:1", "ftp://example.com/k", "http://example.com/k", "#k"} {
		if _, err := r.ResolveKey(ctx, vm); !errors.Is(err, ErrUnsupported) {
			t.Errorf("ResolveKey(%s): %v, want ErrUnsupported", vm, err)
		}
	}
}

func TestResolveDIDWebHostileDocuments(t *testing.T) {
	ctx := context.Background()
	id := Web("credence.example.edu", "issuers", "abc")
	u := "https://credence.example.edu/issuers/abc/did.json"
	_, edPub := loadOBKeyPair(t)
	mb := keys.Ed25519Multikey(edPub)
	vmID := id + "#" + mb
	vm := func(ctrl string) string {
		return `{"id":"` + vmID + `","type":"Multikey","controller":"` + ctrl + `","publicKeyMultibase":"` + mb + `"}`
	}
	cases := []struct {
		why  string
		body string
		want error
	}{
		{"document id of another DID", `{"id":"did:web:evil.example","verificationMethod":[` + vm(id) + `],"assertionMethod":["` + vmID + `"]}`, ErrControllerMismatch},
		{"method controlled by someone else", `{"id":"` + id + `","verificationMethod":[` + vm("did:web:evil.example") + `],"assertionMethod":["` + vmID + `"]}`, ErrControllerMismatch},
		{"not JSON", `<html>hello</html>`, ErrMalformedDocument},
		{"JSON array", `[1,2,3]`, ErrMalformedDocument},
		{"no id", `{"verificationMethod":[]}`, ErrMalformedDocument},
		{"oversized", `{"id":"` + id + `","pad":"` + strings.Repeat("a", MaxDocumentSize) + `"}`, ErrMalformedDocument},
		{"unknown key type", `{"id":"` + id + `","verificationMethod":[{"id":"` + vmID + `","type":"RsaVerificationKey2018","controller":"` + id + `","publicKeyPem":"x"}]}`, ErrMalformedKey},
		{"two key representations", `{"id":"` + id + `","verificationMethod":[{"id":"` + vmID + `","type":"Multikey","controller":"` + id + `","publicKeyMultibase":"` + mb + `","publicKeyBase58":"abc"}]}`, ErrMalformedKey},
		{"private JWK", `{"id":"` + id + `","verificationMethod":[{"id":"` + vmID + `","type":"JsonWebKey","controller":"` + id + `","publicKeyJwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}}]}`, ErrMalformedKey},
		{"duplicate ids with different keys", `{"id":"` + id + `","verificationMethod":[` + vm(id) + `,{"id":"` + vmID + `","type":"Multikey","controller":"` + id + `","publicKeyMultibase":"z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"}]}`, ErrMalformedDocument},
		{"wrong @context type", `{"@context":5,"id":"` + id + `"}`, ErrMalformedDocument},
		{"relationship of wrong type", `{"id":"` + id + `","assertionMethod":[5]}`, ErrMalformedDocument},
		{"deep nesting", `{"id":"` + id + `","x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, ErrMalformedDocument},
	}
	for _, c := range cases {
		f := &memFetcher{docs: map[string][]byte{u: []byte(c.body)}}
		_, err := Resolver{Fetch: f.fetch}.ResolveKey(ctx, vmID)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.why, err, c.want)
		}
	}
	// A key published but not listed in assertionMethod resolves, flagged as not an assertion key.
	f := &memFetcher{docs: map[string][]byte{u: []byte(`{"id":"` + id + `","verificationMethod":[` + vm(id) + `],"authentication":["` + vmID + `"]}`)}}
	k, err := Resolver{Fetch: f.fetch}.ResolveKey(ctx, vmID)
	if err != nil || k.AssertionMethod {
		t.Fatalf("authentication-only key: %+v, %v", k, err)
	}
	// A fetch error is passed on with the URL.
	f = &memFetcher{docs: map[string][]byte{}}
	if _, err := (Resolver{Fetch: f.fetch}).ResolveKey(ctx, vmID); err == nil || !strings.Contains(err.Error(), u) {
		t.Fatalf("fetch error: %v", err)
	}
}

func TestResolveHTTPSForms(t *testing.T) {
	ctx := context.Background()
	_, edPub := loadOBKeyPair(t)
	rk := testRSAKey(t)
	rj, _ := keys.JWKFromPublic(&rk.PublicKey)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ej, _ := keys.JWKFromPublic(&ecKey.PublicKey)
	rj.Kid, ej.Kid = "key-1", "key-2"
	mb := keys.Ed25519Multikey(edPub)
	ctrl := "https://example.edu/issuers/565049"
	f := &memFetcher{docs: map[string][]byte{
		"https://example.edu/keys":      mustJSON(t, map[string]any{"keys": []keys.JWK{rj, ej}}),
		"https://example.edu/one.jwk":   mustJSON(t, ej),
		"https://example.edu/jwks-one":  mustJSON(t, map[string]any{"keys": []keys.JWK{ej}}),
		"https://example.edu/vm/1":      []byte(`{"id":"https://example.edu/vm/1","type":"Multikey","controller":"` + ctrl + `","publicKeyMultibase":"` + mb + `"}`),
		"https://example.edu/vm/stray":  []byte(`{"id":"https://example.edu/vm/stray","type":"Multikey","controller":"` + ctrl + `","publicKeyMultibase":"` + mb + `"}`),
		"https://example.edu/vm/liar":   []byte(`{"id":"https://example.edu/vm/other","type":"Multikey","controller":"` + ctrl + `","publicKeyMultibase":"` + mb + `"}`),
		"https://example.edu/something": []byte(`{"name":"a profile without keys"}`),
		ctrl: []byte(`{"@context":["https://www.w3.org/ns/cid/v1"],"id":"` + ctrl + `",
			"verificationMethod":[{"id":"` + ctrl + `#` + mb + `","type":"Multikey","controller":"` + ctrl + `","publicKeyMultibase":"` + mb + `"}],
			"assertionMethod":["` + ctrl + `#` + mb + `","https://example.edu/vm/1"]}`),
		"http://localhost:8080/keys": mustJSON(t, ej),
	}}
	r := Resolver{Fetch: f.fetch}
	check := func(vm string, want crypto.PublicKey, wantCtrl string) {
		t.Helper()
		k, err := r.ResolveKey(ctx, vm)
		if err != nil {
			t.Fatalf("ResolveKey(%s): %v", vm, err)
		}
		if !want.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public) || k.ID != vm || k.Controller != wantCtrl || !k.AssertionMethod {
			t.Fatalf("ResolveKey(%s) = %+v", vm, k)
		}
	}
	check("https://example.edu/keys#key-1", &rk.PublicKey, "")
	check("https://example.edu/keys#key-2", &ecKey.PublicKey, "")
	check("https://example.edu/one.jwk", &ecKey.PublicKey, "")
	check("https://example.edu/jwks-one", &ecKey.PublicKey, "")
	check(ctrl+"#"+mb, edPub, ctrl) // the OB 3.0 test vector's verificationMethod form
	check("https://example.edu/vm/1", edPub, ctrl)
	check("http://localhost:8080/keys", &ecKey.PublicKey, "")

	bad := map[string]error{
		"https://example.edu/keys#key-3":  ErrNotFound,
		"https://example.edu/keys":        ErrNotFound, // two keys, no kid
		"https://example.edu/vm/stray":    ErrControllerMismatch,
		"https://example.edu/vm/liar":     ErrNotFound,
		"https://example.edu/something":   ErrMalformedDocument,
		ctrl + "#other":                   ErrNotFound,
		"http://example.edu/keys#key-1":   ErrUnsupported,
		"https://user@example.edu/keys#k": ErrInvalidDID,
	}
	for vm, want := range bad {
		if _, err := r.ResolveKey(ctx, vm); !errors.Is(err, want) {
			t.Errorf("ResolveKey(%s) = %v, want %v", vm, err, want)
		}
	}
}

func TestResolveDocument(t *testing.T) {
	ctx := context.Background()
	id, edPub, _, f := issuerFixture(t)
	doc, err := Resolver{Fetch: f.fetch}.ResolveDocument(ctx, id)
	if err != nil || doc.ID != id || len(doc.VerificationMethod) != 2 {
		t.Fatalf("ResolveDocument: %+v, %v", doc, err)
	}
	dk, _ := KeyDID(edPub)
	doc, err = Resolver{}.ResolveDocument(ctx, dk)
	if err != nil || doc.VerificationMethod[0].PublicKeyMultibase != strings.TrimPrefix(dk, "did:key:") {
		t.Fatalf("ResolveDocument(did:key): %+v, %v", doc, err)
	}
	if _, err := (Resolver{}).ResolveDocument(ctx, dk+"#x"); err == nil {
		t.Fatal("a DID URL is not a DID")
	}
	if _, err := (Resolver{}).ResolveDocument(ctx, "did:example:1"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("did:example: %v", err)
	}
}

func TestDocumentJSONRoundTrip(t *testing.T) {
	id, edPub, rk, _ := issuerFixture(t)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	doc, err := NewDocumentKeys(id, Keys{Ed25519: edPub, RSA: &rk.PublicKey, P256: &ec.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	b := mustJSON(t, doc)
	var back Document
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustJSON(t, back), b) {
		t.Fatalf("round trip changed the document:\n%s\n%s", b, mustJSON(t, back))
	}
	for i, want := range []crypto.PublicKey{edPub, &rk.PublicKey, &ec.PublicKey} {
		pub, err := back.VerificationMethod[i].PublicKey()
		if err != nil || !want.(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
			t.Fatalf("method %d: %v", i, err)
		}
	}
	// A controller given as a string stays a string; embedded relationship entries survive.
	in := `{"@context":"https://www.w3.org/ns/did/v1","id":"did:web:a.example","controller":"did:web:b.example","assertionMethod":[{"id":"did:web:a.example#k","type":"Multikey","controller":"did:web:a.example","publicKeyMultibase":"` + keys.Ed25519Multikey(edPub) + `"}]}`
	var d Document
	if err := json.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	out := string(mustJSON(t, d))
	if !strings.Contains(out, `"controller":"did:web:b.example"`) || !strings.Contains(out, `"assertionMethod":[{"id":"did:web:a.example#k"`) {
		t.Fatalf("re-encoded: %s", out)
	}
	k, err := d.findKey("did:web:a.example", "k")
	if err != nil || !edPub.Equal(k.Public) || !k.AssertionMethod {
		t.Fatalf("embedded method: %+v, %v", k, err)
	}
}

func TestLegacyEd25519VerificationKey2018(t *testing.T) {
	_, edPub := loadOBKeyPair(t)
	vm := VerificationMethod{ID: "did:web:a.example#k", Type: "Ed25519VerificationKey2018", Controller: "did:web:a.example", PublicKeyBase58: keys.Base58(edPub)}
	pub, err := vm.PublicKey()
	if err != nil || !edPub.Equal(pub) {
		t.Fatalf("2018 key: %v", err)
	}
	vm.PublicKeyBase58 = keys.Base58(edPub[:31])
	if _, err := vm.PublicKey(); !errors.Is(err, ErrMalformedKey) {
		t.Fatalf("short 2018 key: %v", err)
	}
}
