package verifier

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/standards/bake"
	"github.com/credence-oss/credence/shared/standards/dataintegrity"
	"github.com/credence-oss/credence/shared/standards/did"
	"github.com/credence-oss/credence/shared/standards/keys"
	"github.com/credence-oss/credence/shared/standards/statuslist"
	"github.com/credence-oss/credence/shared/standards/vcjwt"
	"github.com/credence-oss/credence/shared/standards/vectors"
)

func obj(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func enc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fetchMap serves documents from memory, the way a test stands in for the web.
func fetchMap(docs map[string][]byte) Fetch {
	return func(_ context.Context, url string) ([]byte, error) {
		if b, ok := docs[url]; ok {
			return b, nil
		}
		return nil, fmt.Errorf("404 %s", url)
	}
}

func failing(r Result) []string {
	var out []string
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c.Name)
		}
	}
	return out
}

func expect(t *testing.T, r Result, status string, failed ...string) {
	t.Helper()
	got := strings.Join(failing(r), ",")
	if r.Status != status || got != strings.Join(failed, ",") || r.Valid != (status == StatusValid) {
		var b strings.Builder
		for _, c := range r.Checks {
			fmt.Fprintf(&b, "  %s ok=%v %s\n", c.Name, c.OK, c.Message)
		}
		t.Fatalf("status %s (valid %v) failing [%s]; want %s failing [%s]\n%s", r.Status, r.Valid, got, status, strings.Join(failed, ","), b.String())
	}
}

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// TestOB3OfficialSignedVector: the OB 3.0 spec's signed credential (single-object proof, https
// controller) verifies when its controller document is served.
func TestOB3OfficialSignedVector(t *testing.T) {
	kp := obj(t, vectors.Read(t, "ob3-ldp-test-vector", "keypair.json"))
	controller := kp["controller"].(string)
	vm := kp["verificationMethod"].(string)
	ctrlDoc := map[string]any{
		"@context": []any{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"},
		"id":       controller,
		"verificationMethod": []any{map[string]any{"id": vm, "type": "Multikey", "controller": controller,
			"publicKeyMultibase": kp["publicKeyMultibase"]}},
		"assertionMethod": []any{vm},
	}
	fetch := fetchMap(map[string][]byte{controller: enc(t, ctrlDoc)})
	r := Verify(context.Background(), vectors.Read(t, "ob3-ldp-test-vector", "credential-signed.json"), Options{Fetch: fetch, Now: now})
	expect(t, r, StatusValid)
	if r.Format != "ldp" || r.Issuer.ID != controller || r.CredentialID != "http://example.com/credentials/3527" {
		t.Fatalf("description: %+v", r)
	}
	// Without the controller document the proof cannot be checked: fail closed.
	r = Verify(context.Background(), vectors.Read(t, "ob3-ldp-test-vector", "credential-signed.json"), Options{Fetch: fetchMap(nil), Now: now})
	expect(t, r, StatusInvalid, CheckProof)
}

// TestW3CVectorsAreNotOpenBadges: the W3C credentials verify cryptographically but are not OB 3.0.
func TestW3CVectorsAreNotOpenBadges(t *testing.T) {
	for _, f := range [][]string{{"eddsa-rdfc-2022", "signedDataInt.json"}, {"Ed25519Signature2020", "signedEdSig.json"}} {
		r := Verify(context.Background(), vectors.Read(t, append([]string{"w3c-vc-di-eddsa"}, f...)...), Options{Now: now})
		// The proof verifies, but the did:key is not the issuer's, and the document is no badge.
		expect(t, r, StatusInvalid, CheckSchema, CheckContext, CheckIssuer)
		if !hasOK(r, CheckProof) {
			t.Fatalf("%s: the proof itself must verify: %+v", f[1], r.Checks)
		}
	}
}

func hasOK(r Result, name string) bool {
	for _, c := range r.Checks {
		if c.Name == name && c.OK {
			return true
		}
	}
	return false
}

func TestOfficialUnsignedExamplesHaveNoProof(t *testing.T) {
	files, _ := filepath.Glob(vectors.Path("ob3-spec", "*.json"))
	if len(files) < 7 {
		t.Fatalf("examples missing: %v", files)
	}
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		r := Verify(context.Background(), raw, Options{Fetch: fetchMap(nil), Now: now})
		if r.Valid || !contains(failing(r), CheckProof) {
			t.Errorf("%s: valid=%v failing=%v", filepath.Base(f), r.Valid, failing(r))
		}
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// issuerKey is a did:key issuer of test credentials.
type issuerKey struct {
	priv ed25519.PrivateKey
	did  string
	vm   string
}

func newIssuer(t testing.TB) issuerKey {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	d, err := did.KeyDID(pub)
	if err != nil {
		t.Fatal(err)
	}
	return issuerKey{priv: priv, did: d, vm: d + "#" + strings.TrimPrefix(d, "did:key:")}
}

func (k issuerKey) sign(ctx context.Context, msg []byte) ([]byte, error) {
	return ed25519.Sign(k.priv, msg), nil
}

// credential returns the OB vector credential re-issued by k (optionally changed by edit).
func credential(t testing.TB, k issuerKey, edit func(map[string]any)) map[string]any {
	c := obj(t, vectors.Read(t, "ob3-ldp-test-vector", "credential-unsigned.json"))
	c["issuer"].(map[string]any)["id"] = k.did
	if edit != nil {
		edit(c)
	}
	return c
}

func signLDP(t testing.TB, k issuerKey, c map[string]any) []byte {
	signed, err := dataintegrity.Sign(context.Background(), c, dataintegrity.Options{VerificationMethod: k.vm, Created: now.Add(-time.Hour)}, k.sign)
	if err != nil {
		t.Fatal(err)
	}
	return enc(t, signed)
}

func TestOurOwnFormatsAndContainers(t *testing.T) {
	k := newIssuer(t)
	c := credential(t, k, nil)
	ldp := signLDP(t, k, c)

	edJWT, err := vcjwt.Sign(context.Background(), c, vcjwt.SignOptions{Alg: keys.EdDSA, Kid: k.vm, Sign: k.sign})
	if err != nil {
		t.Fatal(err)
	}
	// ES256 with a did:jwk issuer.
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := keys.JWKFromPublic(&ecKey.PublicKey)
	jwkJSON, _ := json.Marshal(map[string]string{"kty": jwk.Kty, "crv": jwk.Crv, "x": jwk.X, "y": jwk.Y})
	jwkDID := "did:jwk:" + base64.RawURLEncoding.EncodeToString(jwkJSON)
	ec := credential(t, k, func(m map[string]any) { m["issuer"].(map[string]any)["id"] = jwkDID })
	esJWT, err := vcjwt.Sign(context.Background(), ec, vcjwt.SignOptions{Alg: keys.ES256, Kid: jwkDID + "#0", Sign: func(_ context.Context, msg []byte) ([]byte, error) {
		h := sha256.Sum256(msg)
		r, s, err := ecdsa.Sign(rand.Reader, ecKey, h[:])
		if err != nil {
			return nil, err
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	png := vectors.Read(t, "..", "bake", "badge.png")
	svg := vectors.Read(t, "..", "bake", "badge.svg")
	bakedPNG, err := bake.BakePNG(png, ldp)
	if err != nil {
		t.Fatal(err)
	}
	bakedSVG, err := bake.BakeSVG(svg, []byte(edJWT))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		in        []byte
		format    string
		container string
	}{
		"ldp": {ldp, "ldp", ""}, "eddsa jwt": {[]byte(edJWT), "jwt", ""}, "es256 did:jwk": {[]byte(esJWT), "jwt", ""},
		"png+ldp": {bakedPNG, "ldp", "png"}, "svg+jwt": {bakedSVG, "jwt", "svg"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := Verify(context.Background(), tc.in, Options{Now: now})
			expect(t, r, StatusValid)
			if r.Format != tc.format || r.Container != tc.container {
				t.Fatalf("format %s container %s", r.Format, r.Container)
			}
		})
	}
}

func TestEverySingleByteChangeOfContentIsCaught(t *testing.T) {
	k := newIssuer(t)
	ldp := signLDP(t, k, credential(t, k, nil))
	proofAt := strings.Index(string(ldp), `"proof"`)
	checked := 0
	for i := 0; i < proofAt; i++ {
		b := ldp[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9') {
			continue // changing JSON punctuation makes it unreadable, which is another failure
		}
		mut := append([]byte(nil), ldp...)
		if b == 'z' || b == 'Z' || b == '9' {
			mut[i] = b - 1
		} else {
			mut[i] = b + 1
		}
		if r := Verify(context.Background(), mut, Options{Now: now}); r.Valid {
			t.Fatalf("changing byte %d (%q) still verifies", i, b)
		}
		checked++
	}
	if checked < 300 {
		t.Fatalf("only %d bytes mutated", checked)
	}
}

func TestFailingChecksAreNamed(t *testing.T) {
	k, other := newIssuer(t), newIssuer(t)
	tests := []struct {
		name   string
		in     []byte
		status string
		failed []string
	}{
		{"expired", signLDP(t, k, credential(t, k, func(m map[string]any) { m["validUntil"] = "2020-01-01T00:00:00Z" })), StatusExpired, []string{CheckValidity}},
		{"not yet valid", signLDP(t, k, credential(t, k, func(m map[string]any) { m["validFrom"] = "2030-01-01T00:00:00Z" })), StatusNotYetValid, []string{CheckValidity}},
		{"signed by someone else", signLDP(t, other, credential(t, k, nil)), StatusInvalid, []string{CheckIssuer}},
		{"undefined term added after signing", func() []byte {
			signed := obj(t, signLDP(t, k, credential(t, k, nil)))
			signed["credentialSubject"].(map[string]any)["achievement"].(map[string]any)["bogusTerm"] = "x"
			return enc(t, signed)
		}(), StatusInvalid, []string{CheckContext, CheckProof}},
		{"no issuer", enc(t, credential(t, k, func(m map[string]any) { delete(m, "issuer") })), StatusInvalid, []string{CheckSchema, CheckProof}},
		{"garbage", []byte("hello"), StatusInvalid, []string{CheckFormat}},
		{"png without credential", vectors.Read(t, "..", "bake", "badge.png"), StatusInvalid, []string{CheckFormat}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, Verify(context.Background(), tc.in, Options{Now: now}), tc.status, tc.failed...)
		})
	}
}

func TestStatusListRevocationAndSuspension(t *testing.T) {
	k := newIssuer(t)
	listURL := "https://status.example/lists/1"
	for _, purpose := range []string{"revocation", "suspension"} {
		for _, set := range []bool{false, true} {
			bits, _ := statuslist.New(131072)
			if set {
				_ = bits.Set(4242, true)
			}
			lc, err := statuslist.Credential(listURL, k.did, purpose, bits, now.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			listDoc := signLDP(t, k, lc)
			c := credential(t, k, func(m map[string]any) {
				m["credentialStatus"] = []any{statuslist.NewEntry(listURL, purpose, 4242).Map()}
			})
			r := Verify(context.Background(), signLDP(t, k, c), Options{Now: now, Fetch: fetchMap(map[string][]byte{listURL: listDoc})})
			switch {
			case !set:
				expect(t, r, StatusValid)
			case purpose == "revocation":
				expect(t, r, StatusRevoked, CheckStatus)
			default:
				expect(t, r, StatusSuspended, CheckStatus)
			}
			// A list signed by another key is not the issuer's word.
			forged := signLDP(t, newIssuer(t), lc)
			r = Verify(context.Background(), signLDP(t, k, c), Options{Now: now, Fetch: fetchMap(map[string][]byte{listURL: forged})})
			expect(t, r, StatusInvalid, CheckStatus)
			// Unreachable list: fail closed.
			r = Verify(context.Background(), signLDP(t, k, c), Options{Now: now, Fetch: fetchMap(nil)})
			expect(t, r, StatusInvalid, CheckStatus)
		}
	}
}

func TestVC11FormIsAccepted(t *testing.T) {
	k := newIssuer(t)
	c := credential(t, k, func(m map[string]any) {
		m["@context"] = []any{"https://www.w3.org/2018/credentials/v1", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", "https://w3id.org/security/data-integrity/v2"}
		m["issuanceDate"] = m["validFrom"]
		delete(m, "validFrom")
		m["expirationDate"] = "2030-01-01T00:00:00Z"
	})
	r := Verify(context.Background(), signLDP(t, k, c), Options{Now: now})
	expect(t, r, StatusValid)
}
