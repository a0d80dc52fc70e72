package vcjwt

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/standards/did"
	"github.com/credence-oss/credence/shared/standards/keys"
)

var algs = []keys.Alg{keys.RS256, keys.ES256, keys.EdDSA}

func TestSignVerifyEachAlg(t *testing.T) {
	ctx := context.Background()
	for _, alg := range algs {
		t.Run(string(alg), func(t *testing.T) {
			k := localKeys(t)[alg]
			issuer, kid := didJWK(t, k.pub)
			cred := credentialFor(t, issuer)
			tok, err := Sign(ctx, cred, SignOptions{Alg: alg, Kid: kid, Sign: k.sign})
			if err != nil {
				t.Fatal(err)
			}
			v, err := Verify(ctx, tok, nil) // did:jwk resolves without a fetcher
			if err != nil {
				t.Fatal(err)
			}
			if v.KeySource != "kid" || v.Key.ID != kid || v.Key.Controller != issuer || !sameKey(v.Key.Public, k.pub) {
				t.Fatalf("verified with %+v from %s", v.Key, v.KeySource)
			}
			if v.Header != (Header{Alg: alg, Kid: kid, Typ: "JWT"}) {
				t.Fatalf("header = %+v", v.Header)
			}
			want, _ := time.Parse(time.RFC3339, "2010-01-01T00:00:00Z")
			if !v.ValidFrom.Equal(want) || !v.ValidUntil.IsZero() {
				t.Fatalf("validity = %v .. %v", v.ValidFrom, v.ValidUntil)
			}
			if !sameJSON(v.Credential, cred) {
				t.Fatalf("credential changed in transit:\n%v\n%v", v.Credential, cred)
			}

			// The same token verifies with the public key in the header instead of a kid.
			j, _ := keys.JWKFromPublic(k.pub)
			tok2, err := Sign(ctx, cred, SignOptions{Alg: alg, JWK: &j, Sign: k.sign})
			if err != nil {
				t.Fatal(err)
			}
			v2, err := Verify(ctx, tok2, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v2.KeySource != "jwk" || v2.Key.Controller != "" || !sameKey(v2.Key.Public, k.pub) {
				t.Fatalf("jwk-only key = %+v", v2.Key)
			}
		})
	}
}

// The payload is the credential with its properties at the top level plus the OB 3.0 claims.
func TestPayloadShape(t *testing.T) {
	ctx := context.Background()
	k := localKeys(t)[keys.EdDSA]
	cred := basicCredential(t)
	tok, err := Sign(ctx, cred, SignOptions{Alg: keys.EdDSA, Kid: "https://example.com/issuers/876543#key-1", Sign: k.sign})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	hb, _ := b64.DecodeString(parts[0])
	if string(hb) != `{"alg":"EdDSA","kid":"https://example.com/issuers/876543#key-1","typ":"JWT"}` {
		t.Fatalf("header = %s", hb)
	}
	pb, _ := b64.DecodeString(parts[1])
	var p map[string]any
	if err := json.Unmarshal(pb, &p); err != nil {
		t.Fatal(err)
	}
	// Values from testdata/standards/ob3-spec/basic-openbadgecredential.json.
	want := map[string]any{
		"iss": "https://example.com/issuers/876543",
		"jti": "http://example.com/credentials/3527",
		"sub": "did:example:ebfeb1f712ebc6f1c276e12ec21",
		"nbf": float64(1262304000), // 2010-01-01T00:00:00Z
	}
	for name, v := range want {
		if p[name] != v {
			t.Errorf("%s = %v, want %v", name, p[name], v)
		}
	}
	if _, ok := p["exp"]; ok {
		t.Error("exp without validUntil")
	}
	if _, ok := p["vc"]; ok {
		t.Error("OB 3.0 (VC 2.0) puts the credential at the top level, not in vc")
	}
	for name := range cred {
		if !sameJSON(p[name], cred[name]) {
			t.Errorf("property %s is not carried over", name)
		}
	}
	if len(p) != len(cred)+len(want) {
		t.Errorf("payload has %d members, want %d", len(p), len(cred)+len(want))
	}
	// Deterministic: Ed25519 and sorted JSON members give the same token every time.
	tok2, _ := Sign(ctx, basicCredential(t), SignOptions{Alg: keys.EdDSA, Kid: "https://example.com/issuers/876543#key-1", Sign: k.sign})
	if tok2 != tok {
		t.Error("signing the same credential twice gave two tokens")
	}
	if strings.Contains(tok, "=") || strings.ContainsAny(tok, "+/") {
		t.Error("token is not unpadded base64url")
	}
}

func TestExpIffValidUntil(t *testing.T) {
	ctx := context.Background()
	k := localKeys(t)[keys.EdDSA]
	issuer, kid := didJWK(t, k.pub)
	cred := credentialFor(t, issuer)
	cred["validUntil"] = "2030-06-30T12:34:56.789Z"
	tok, err := Sign(ctx, cred, SignOptions{Alg: keys.EdDSA, Kid: kid, Sign: k.sign})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(ctx, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Payload["exp"] != float64(1909053296) || !v.Claims.Present["exp"] {
		t.Fatalf("exp = %v", v.Payload["exp"])
	}
	until, _ := time.Parse(time.RFC3339Nano, "2030-06-30T12:34:56.789Z")
	if !v.ValidUntil.Equal(until) {
		t.Fatalf("ValidUntil = %v", v.ValidUntil)
	}
	// An expired credential still verifies: the validity window is the verifier's call.
	cred["validUntil"] = "2011-01-01T00:00:00Z"
	tok, _ = Sign(ctx, cred, SignOptions{Alg: keys.EdDSA, Kid: kid, Sign: k.sign})
	if v, err := Verify(ctx, tok, nil); err != nil || v.ValidUntil.Year() != 2011 {
		t.Fatalf("expired credential: %v", err)
	}
	cred["validUntil"] = "2009-01-01T00:00:00Z"
	if _, err := Sign(ctx, cred, SignOptions{Alg: keys.EdDSA, Kid: kid, Sign: k.sign}); err == nil {
		t.Fatal("validUntil before validFrom must be refused")
	}
}

func TestSignRefuses(t *testing.T) {
	ctx := context.Background()
	k := localKeys(t)[keys.EdDSA]
	ok := SignOptions{Alg: keys.EdDSA, Kid: "did:example:1#k", Sign: k.sign}
	mutate := func(f func(map[string]any)) map[string]any {
		c := basicCredential(t)
		f(c)
		return c
	}
	cases := []struct {
		why  string
		cred map[string]any
		opts SignOptions
	}{
		{"no issuer", mutate(func(c map[string]any) { delete(c, "issuer") }), ok},
		{"issuer without id", mutate(func(c map[string]any) { delete(c["issuer"].(map[string]any), "id") }), ok},
		{"issuer of wrong type", mutate(func(c map[string]any) { c["issuer"] = 5.0 }), ok},
		{"no id", mutate(func(c map[string]any) { delete(c, "id") }), ok},
		{"no validFrom", mutate(func(c map[string]any) { delete(c, "validFrom") }), ok},
		{"validFrom not a date", mutate(func(c map[string]any) { c["validFrom"] = "yesterday" }), ok},
		{"validFrom without zone", mutate(func(c map[string]any) { c["validFrom"] = "2010-01-01T00:00:00" }), ok},
		{"conflicting iss property", mutate(func(c map[string]any) { c["iss"] = "https://evil.example" }), ok},
		{"nil credential", nil, ok},
		{"no signer", basicCredential(t), SignOptions{Alg: keys.EdDSA, Kid: "k"}},
		{"no key named", basicCredential(t), SignOptions{Alg: keys.EdDSA, Sign: k.sign}},
		{"alg none", basicCredential(t), SignOptions{Alg: "none", Kid: "k", Sign: k.sign}},
		{"alg HS256", basicCredential(t), SignOptions{Alg: "HS256", Kid: "k", Sign: k.sign}},
		{"private jwk", basicCredential(t), SignOptions{Alg: keys.EdDSA, JWK: &keys.JWK{Kty: "OKP", Crv: "Ed25519", X: "x", D: "d"}, Sign: k.sign}},
		{"other typ", basicCredential(t), SignOptions{Alg: keys.EdDSA, Kid: "k", Typ: "at+jwt", Sign: k.sign}},
		{"DER ES256 signature", basicCredential(t), SignOptions{Alg: keys.ES256, Kid: "k", Sign: func(context.Context, []byte) ([]byte, error) {
			return make([]byte, 71), nil
		}}},
		{"signer error", basicCredential(t), SignOptions{Alg: keys.EdDSA, Kid: "k", Sign: func(context.Context, []byte) ([]byte, error) {
			return nil, errors.New("kms throttled")
		}}},
	}
	for _, c := range cases {
		if tok, err := Sign(ctx, c.cred, c.opts); err == nil {
			t.Errorf("%s: Sign = %.40s…, want an error", c.why, tok)
		}
	}
	// An equal iss property is not a conflict; Profile objects and string issuers both work.
	c := basicCredential(t)
	c["iss"] = "https://example.com/issuers/876543"
	if _, err := Sign(ctx, c, ok); err != nil {
		t.Errorf("equal iss property: %v", err)
	}
	c["issuer"] = "https://example.com/issuers/876543"
	if _, err := Sign(ctx, c, ok); err != nil {
		t.Errorf("string issuer: %v", err)
	}
}

// Changing any character of the token, or any byte of a decoded part, must break it.
func TestTamperFails(t *testing.T) {
	ctx := context.Background()
	for _, alg := range algs {
		k := localKeys(t)[alg]
		issuer, kid := didJWK(t, k.pub)
		tok, err := Sign(ctx, credentialFor(t, issuer), SignOptions{Alg: alg, Kid: kid, Sign: k.sign})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(ctx, tok, nil); err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(tok, ".")
		for pi := range parts {
			raw, _ := b64.DecodeString(parts[pi])
			for i := range raw {
				mod := append([]byte(nil), raw...)
				mod[i] ^= 0x01
				p := append([]string(nil), parts...)
				p[pi] = b64.EncodeToString(mod)
				if _, err := Verify(ctx, strings.Join(p, "."), nil); err == nil {
					t.Fatalf("%s: flipping bit 0 of byte %d of part %d still verifies", alg, i, pi)
				}
			}
		}
		if alg != keys.EdDSA {
			continue // the character-level sweep below is the same for every alg; run it once
		}
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		for i := 0; i < len(tok); i++ {
			if tok[i] == '.' {
				continue
			}
			c := alphabet[(strings.IndexByte(alphabet, tok[i])+1)%len(alphabet)]
			mod := tok[:i] + string(c) + tok[i+1:]
			if _, err := Verify(ctx, mod, nil); err == nil {
				t.Fatalf("changing character %d (%q -> %q) still verifies", i, tok[i], c)
			}
		}
	}
}

func TestAlgConfusionRefused(t *testing.T) {
	ctx := context.Background()
	ks := localKeys(t)
	ed, rsaK := ks[keys.EdDSA], ks[keys.RS256]
	edIssuer, edKid := didJWK(t, ed.pub)
	_, rsaKid := didJWK(t, rsaK.pub)
	cred := credentialFor(t, edIssuer)
	good, _ := Sign(ctx, cred, SignOptions{Alg: keys.EdDSA, Kid: edKid, Sign: ed.sign})
	payload := strings.Split(good, ".")[1]
	pb, _ := b64.DecodeString(payload)

	// An RS256 token whose kid is an Ed25519 key.
	tok := rawToken(t, map[string]any{"alg": "RS256", "kid": edKid}, pb, rsaK.sign)
	if _, err := Verify(ctx, tok, nil); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "RSA key") {
		t.Errorf("RS256 with an Ed25519 key: %v", err)
	}
	// An EdDSA token whose kid is an RSA key.
	tok = rawToken(t, map[string]any{"alg": "EdDSA", "kid": rsaKid}, pb, ed.sign)
	if _, err := Verify(ctx, tok, nil); !errors.Is(err, ErrSignature) {
		t.Errorf("EdDSA with an RSA key: %v", err)
	}
	// ES256 with an Ed25519 key.
	tok = rawToken(t, map[string]any{"alg": "ES256", "kid": edKid}, pb, ks[keys.ES256].sign)
	if _, err := Verify(ctx, tok, nil); !errors.Is(err, ErrSignature) {
		t.Errorf("ES256 with an Ed25519 key: %v", err)
	}
	// alg none, with and without a signature part.
	none := b64.EncodeToString([]byte(`{"alg":"none","kid":"`+edKid+`"}`)) + "." + payload
	for _, tok := range []string{none + ".", none + "." + b64.EncodeToString([]byte("x"))} {
		if _, err := Verify(ctx, tok, nil); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("alg none: %v", err)
		}
	}
	// HS256 keyed with the public key bytes, the classic confusion attack.
	hs := func(_ context.Context, msg []byte) ([]byte, error) {
		m := hmac.New(sha256.New, ed.pub.(ed25519.PublicKey))
		m.Write(msg)
		return m.Sum(nil), nil
	}
	for _, alg := range []string{"HS256", "HS512", "PS256", "ES256K", "RS512", "Ed25519"} {
		tok = rawToken(t, map[string]any{"alg": alg, "kid": edKid}, pb, hs)
		if _, err := Verify(ctx, tok, nil); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("alg %s: %v", alg, err)
		}
	}
}

func TestRSAKeySize(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	sig := signerFor(small)
	tok := rawToken(t, map[string]any{"alg": "RS256", "kid": "x"}, map[string]any{"a": 1}, sig)
	parsed, err := split(tok)
	if err != nil {
		t.Fatal(err)
	}
	// Parse refuses the short signature already; the key check stands on its own too.
	if _, err := Parse(tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("128-byte RS256 signature: %v", err)
	}
	if err := verifySignature(keys.RS256, &small.PublicKey, []byte(parsed.signingInput), parsed.signature); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "1024") {
		t.Errorf("1024-bit key: %v", err)
	}
}

// RFC 8037 Appendix A.4: the Ed25519 JWS example, with the key of Appendix A.1. Its payload
// is not JSON, so it goes through the JWS layer below Parse.
func TestRFC8037EdDSAVector(t *testing.T) {
	const (
		token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
		d     = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
		x     = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	)
	j, err := split(token)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeader(j.header)
	if err != nil || h.Alg != keys.EdDSA {
		t.Fatalf("header: %+v, %v", h, err)
	}
	if string(j.payload) != "Example of Ed25519 signing" {
		t.Fatalf("payload = %q", j.payload)
	}
	pub, err := keys.JWK{Kty: "OKP", Crv: "Ed25519", X: x}.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := verifySignature(h.Alg, pub, []byte(j.signingInput), j.signature); err != nil {
		t.Fatalf("RFC 8037 A.4 signature: %v", err)
	}
	// Signing with the RFC's private key reproduces the signature (Ed25519 is deterministic).
	seed, _ := b64.DecodeString(d)
	sig, _ := signerFor(ed25519.NewKeyFromSeed(seed))(context.Background(), []byte(j.signingInput))
	if b64.EncodeToString(sig) != strings.Split(token, ".")[2] {
		t.Fatal("signing the RFC 8037 input does not reproduce its signature")
	}
	j.signature[10] ^= 0x80
	if err := verifySignature(h.Alg, pub, []byte(j.signingInput), j.signature); !errors.Is(err, ErrSignature) {
		t.Fatalf("tampered RFC 8037 signature: %v", err)
	}
}

// RFC 7515 Appendix A.2: the RS256 JWS example and its RSA public key.
func TestRFC7515RS256Vector(t *testing.T) {
	const (
		token = "eyJhbGciOiJSUzI1NiJ9" +
			".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
			".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
		n = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
	)
	pub, err := keys.JWK{Kty: "RSA", N: n, E: "AQAB"}.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Parse(token)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Claims.Issuer != "joe" || tok.Claims.Expires.Unix() != 1300819380 || tok.Credential["http://example.com/is_root"] != true || len(tok.Credential) != 1 {
		t.Fatalf("parsed %+v", tok)
	}
	if err := tok.VerifySignature(pub); err != nil {
		t.Fatalf("RFC 7515 A.2 signature: %v", err)
	}
	tok.SigningInput = strings.Replace(tok.SigningInput, "eyJpc3MiOiJqb2Ui", "eyJpc3MiOiJqb2Ii", 1)
	if err := tok.VerifySignature(pub); !errors.Is(err, ErrSignature) {
		t.Fatalf("changed payload: %v", err)
	}
	// A token that names no key cannot go through Verify.
	if _, err := Verify(context.Background(), token, nil); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify without kid or jwk: %v", err)
	}
}

func TestVerifyDIDWebKid(t *testing.T) {
	ctx := context.Background()
	issuer, r := webIssuer(t)
	for _, alg := range []keys.Alg{keys.RS256, keys.ES256} {
		k := localKeys(t)[alg]
		kid, err := did.VerificationMethodID(issuer, k.pub)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := Sign(ctx, credentialFor(t, issuer), SignOptions{Alg: alg, Kid: kid, Sign: k.sign})
		if err != nil {
			t.Fatal(err)
		}
		v, err := Verify(ctx, tok, r)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		// The issuer binding a verifier checks: the key's controller is the issuer.
		if v.Key.Controller != issuer || v.Claims.Issuer != issuer || v.Key.ID != kid {
			t.Fatalf("%s: key %+v, iss %s", alg, v.Key, v.Claims.Issuer)
		}
		// Without a fetcher the did:web kid cannot be resolved.
		if _, err := Verify(ctx, tok, nil); !errors.Is(err, did.ErrNoFetcher) {
			t.Fatalf("%s without fetcher: %v", alg, err)
		}
	}
	// A kid in the right document but signed by another key fails the signature.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	kid, _ := did.VerificationMethodID(issuer, localKeys(t)[keys.RS256].pub)
	tok, _ := Sign(ctx, credentialFor(t, issuer), SignOptions{Alg: keys.RS256, Kid: kid, Sign: signerFor(other)})
	if _, err := Verify(ctx, tok, r); !errors.Is(err, ErrSignature) {
		t.Fatalf("wrong key: %v", err)
	}
	// An unknown fragment is not found.
	tok, _ = Sign(ctx, credentialFor(t, issuer), SignOptions{Alg: keys.RS256, Kid: issuer + "#nope", Sign: localKeys(t)[keys.RS256].sign})
	if _, err := Verify(ctx, tok, r); !errors.Is(err, did.ErrNotFound) {
		t.Fatalf("unknown kid: %v", err)
	}
}

func TestKidAndJWKTogether(t *testing.T) {
	ctx := context.Background()
	ks := localKeys(t)
	k := ks[keys.ES256]
	issuer, kid := didJWK(t, k.pub)
	j, _ := keys.JWKFromPublic(k.pub)
	tok, err := Sign(ctx, credentialFor(t, issuer), SignOptions{Alg: keys.ES256, Kid: kid, JWK: &j, Sign: k.sign})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(ctx, tok, nil)
	if err != nil || v.KeySource != "kid" || v.Key.Controller != issuer {
		t.Fatalf("matching kid and jwk: %+v, %v", v, err)
	}
	// A jwk that is not the kid's key: an attacker's own key next to the victim's kid.
	attacker := ks[keys.EdDSA]
	aj, _ := keys.JWKFromPublic(attacker.pub)
	tok = rawToken(t, map[string]any{"alg": "EdDSA", "kid": kid, "jwk": aj}, credentialFor(t, issuer), attacker.sign)
	if _, err := Verify(ctx, tok, nil); err == nil || !strings.Contains(err.Error(), "not the key its kid") {
		t.Fatalf("mismatched jwk: %v", err)
	}
	// A kid that is a URL but cannot be resolved does not fall back to the jwk.
	tok = rawToken(t, map[string]any{"alg": "EdDSA", "kid": "did:web:victim.example#k", "jwk": aj}, credentialFor(t, "did:web:victim.example"), attacker.sign)
	if _, err := Verify(ctx, tok, nil); !errors.Is(err, did.ErrNoFetcher) {
		t.Fatalf("unresolvable kid with jwk: %v", err)
	}
	// An opaque kid with a jwk: verified with the jwk, no controller.
	tok, err = Sign(ctx, credentialFor(t, "did:web:x.example"), SignOptions{Alg: keys.EdDSA, Kid: "key-1", JWK: &aj, Sign: attacker.sign})
	if err != nil {
		t.Fatal(err)
	}
	v, err = Verify(ctx, tok, nil)
	if err != nil || v.KeySource != "jwk" || v.Key.Controller != "" || v.Key.ID != "key-1" {
		t.Fatalf("opaque kid: %+v, %v", v, err)
	}
	// An opaque kid alone names no usable key.
	tok = rawToken(t, map[string]any{"alg": "EdDSA", "kid": "key-1"}, credentialFor(t, "did:web:x.example"), attacker.sign)
	if _, err := Verify(ctx, tok, nil); err == nil {
		t.Fatal("opaque kid without jwk verified")
	}
}

// A key its controller lists only for authentication may not sign credentials.
func TestKeyMustBeAssertionMethod(t *testing.T) {
	ctx := context.Background()
	k := localKeys(t)[keys.EdDSA]
	issuer := did.Web("auth.example")
	mb := keys.Ed25519Multikey(k.pub.(ed25519.PublicKey))
	doc := `{"id":"` + issuer + `","verificationMethod":[{"id":"` + issuer + `#k","type":"Multikey","controller":"` + issuer + `","publicKeyMultibase":"` + mb + `"}],"authentication":["` + issuer + `#k"]}`
	r := did.Resolver{Fetch: memFetcher{"https://auth.example/.well-known/did.json": []byte(doc)}.fetch}
	tok, _ := Sign(ctx, credentialFor(t, issuer), SignOptions{Alg: keys.EdDSA, Kid: issuer + "#k", Sign: k.sign})
	if _, err := Verify(ctx, tok, r); err == nil || !strings.Contains(err.Error(), "assertion method") {
		t.Fatalf("authentication key: %v", err)
	}
}

func TestClaimsMustMatchCredential(t *testing.T) {
	ctx := context.Background()
	k := localKeys(t)[keys.EdDSA]
	issuer, kid := didJWK(t, k.pub)
	header := map[string]any{"alg": "EdDSA", "kid": kid, "typ": "JWT"}
	base := func() map[string]any {
		p := credentialFor(t, issuer)
		p["iss"], p["jti"], p["sub"], p["nbf"] = issuer, p["id"], "did:example:ebfeb1f712ebc6f1c276e12ec21", 1262304000
		return p
	}
	if _, err := Verify(ctx, rawToken(t, header, base(), k.sign), nil); err != nil {
		t.Fatalf("consistent claims: %v", err)
	}
	cases := []struct {
		why string
		f   func(p map[string]any)
	}{
		{"iss of another issuer", func(p map[string]any) { p["iss"] = "did:web:evil.example" }},
		{"jti of another credential", func(p map[string]any) { p["jti"] = "urn:uuid:other" }},
		{"sub of another subject", func(p map[string]any) { p["sub"] = "did:example:mallory" }},
		{"nbf a second off", func(p map[string]any) { p["nbf"] = 1262304001 }},
		{"exp without validUntil matching", func(p map[string]any) { p["validUntil"] = "2030-01-01T00:00:00Z"; p["exp"] = 1 }},
		{"exp missing for validUntil", func(p map[string]any) { p["validUntil"] = "2030-01-01T00:00:00Z" }},
		{"iss missing", func(p map[string]any) { delete(p, "iss") }},
		{"jti missing", func(p map[string]any) { delete(p, "jti") }},
		{"sub missing", func(p map[string]any) { delete(p, "sub") }},
		{"nbf missing", func(p map[string]any) { delete(p, "nbf") }},
		{"nbf a string", func(p map[string]any) { p["nbf"] = "1262304000" }},
		{"iss a number", func(p map[string]any) { p["iss"] = 7 }},
		{"exp before nbf", func(p map[string]any) { delete(p, "validFrom"); p["exp"] = 1 }},
		{"no issuer at all", func(p map[string]any) { delete(p, "issuer") }},
	}
	for _, c := range cases {
		p := base()
		c.f(p)
		_, err := Verify(ctx, rawToken(t, header, p, k.sign), nil)
		want := ErrClaimMismatch
		if strings.Contains(c.why, "a string") || strings.Contains(c.why, "a number") {
			want = ErrInvalidToken // a claim of the wrong JSON type is malformed, not mismatched
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", c.why, err, want)
		}
	}
	// exp without validUntil sets the validity window (OB 3.0 §8.2.4.1).
	p := base()
	p["exp"] = 1893456000
	v, err := Verify(ctx, rawToken(t, header, p, k.sign), nil)
	if err != nil || v.ValidUntil.Unix() != 1893456000 {
		t.Fatalf("exp alone: %v, %v", v, err)
	}
	// VC-JOSE-COSE tokens (typ vc+jwt) need no registered claims, but those present must match.
	jose := map[string]any{"alg": "EdDSA", "kid": kid, "typ": "vc+jwt"}
	if _, err := Verify(ctx, rawToken(t, jose, credentialFor(t, issuer), k.sign), nil); err != nil {
		t.Fatalf("vc+jwt without claims: %v", err)
	}
	p = credentialFor(t, issuer)
	p["iss"] = "did:web:evil.example"
	if _, err := Verify(ctx, rawToken(t, jose, p, k.sign), nil); !errors.Is(err, ErrClaimMismatch) {
		t.Fatalf("vc+jwt with a wrong iss: %v", err)
	}
}

// VC Data Model 1.1 tokens carry the credential in the vc claim and may leave out what the
// claims say.
func TestLegacyVCClaim(t *testing.T) {
	ctx := context.Background()
	k := localKeys(t)[keys.ES256]
	issuer, kid := didJWK(t, k.pub)
	vc := map[string]any{
		"@context":          []any{"https://www.w3.org/2018/credentials/v1", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"},
		"type":              []any{"VerifiableCredential", "OpenBadgeCredential"},
		"credentialSubject": map[string]any{"type": []any{"AchievementSubject"}},
		"expirationDate":    "2031-01-01T00:00:00Z",
	}
	p := map[string]any{"vc": vc, "iss": issuer, "jti": "urn:uuid:1", "sub": "did:example:alice", "nbf": 1262304000, "exp": 1924992000}
	v, err := Verify(ctx, rawToken(t, map[string]any{"alg": "ES256", "kid": kid}, p, k.sign), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := v.Credential
	if !v.LegacyVC || c["issuer"] != issuer || c["id"] != "urn:uuid:1" || c["issuanceDate"] != "2010-01-01T00:00:00Z" ||
		c["credentialSubject"].(map[string]any)["id"] != "did:example:alice" || c["expirationDate"] != "2031-01-01T00:00:00Z" {
		t.Fatalf("credential = %v", c)
	}
	if v.ValidFrom.Unix() != 1262304000 || v.ValidUntil.Unix() != 1924992000 {
		t.Fatalf("window %v .. %v", v.ValidFrom, v.ValidUntil)
	}
	if vc["issuer"] != nil {
		t.Fatal("filling in the credential must not change the payload")
	}
	p["exp"] = 1924992001
	if _, err := Verify(ctx, rawToken(t, map[string]any{"alg": "ES256", "kid": kid}, p, k.sign), nil); !errors.Is(err, ErrClaimMismatch) {
		t.Fatalf("exp not matching expirationDate: %v", err)
	}
	p["vc"] = "not an object"
	if _, err := Verify(ctx, rawToken(t, map[string]any{"alg": "ES256", "kid": kid}, p, k.sign), nil); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("vc not an object: %v", err)
	}
}

func TestParseRefusesHostileTokens(t *testing.T) {
	k := localKeys(t)[keys.EdDSA]
	sig := func(h, p string) string {
		in := b64.EncodeToString([]byte(h)) + "." + b64.EncodeToString([]byte(p))
		s, _ := k.sign(context.Background(), []byte(in))
		return in + "." + b64.EncodeToString(s)
	}
	okH, okP := `{"alg":"EdDSA","kid":"did:example:1#k"}`, `{"iss":"x"}`
	if _, err := Parse(sig(okH, okP)); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	good := sig(okH, okP)
	cases := map[string]string{
		"empty":                "",
		"two parts":            strings.Join(strings.Split(good, ".")[:2], "."),
		"four parts":           good + ".x",
		"empty signature":      strings.Join(strings.Split(good, ".")[:2], ".") + ".",
		"padding":              good + "==",
		"std base64":           strings.ReplaceAll(sig(okH, `{"iss":"???>>>"}`), "_", "/"),
		"oversized":            strings.Repeat("a", MaxTokenSize+1),
		"header not JSON":      sig(`alg=EdDSA`, okP),
		"header array":         sig(`["EdDSA"]`, okP),
		"header null":          sig(`null`, okP),
		"duplicate alg":        sig(`{"alg":"EdDSA","alg":"none","kid":"k"}`, okP),
		"crit":                 sig(`{"alg":"EdDSA","kid":"k","crit":["b64"],"b64":false}`, okP),
		"alg missing":          sig(`{"kid":"k"}`, okP),
		"alg number":           sig(`{"alg":1,"kid":"k"}`, okP),
		"alg lower case":       sig(`{"alg":"eddsa","kid":"k"}`, okP),
		"kid number":           sig(`{"alg":"EdDSA","kid":1}`, okP),
		"kid empty":            sig(`{"alg":"EdDSA","kid":""}`, okP),
		"jwk with d":           sig(`{"alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}}`, okP),
		"jwk symmetric":        sig(`{"alg":"EdDSA","jwk":{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"}}`, okP),
		"jwk not an object":    sig(`{"alg":"EdDSA","jwk":"key"}`, okP),
		"typ of another token": sig(`{"alg":"EdDSA","kid":"k","typ":"at+jwt"}`, okP),
		"typ number":           sig(`{"alg":"EdDSA","kid":"k","typ":5}`, okP),
		"payload array":        sig(okH, `[1]`),
		"payload string":       sig(okH, `"hello"`),
		"payload not JSON":     sig(okH, `hello`),
		"payload trailing":     sig(okH, `{"a":1} {"b":2}`),
		"duplicate issuer":     sig(okH, `{"issuer":"did:web:a.example","issuer":"did:web:b.example"}`),
		"nested duplicate":     sig(okH, `{"credentialSubject":{"id":"a","id":"b"}}`),
		"deep nesting":         sig(okH, `{"a":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`),
		"nbf NaN-ish":          sig(okH, `{"nbf":1e400}`),
		"exp far future":       sig(okH, `{"exp":1e300}`),
		"short EdDSA sig":      b64.EncodeToString([]byte(okH)) + "." + b64.EncodeToString([]byte(okP)) + "." + b64.EncodeToString([]byte("short")),
	}
	for why, tok := range cases {
		if _, err := Parse(tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Parse = %v, want ErrInvalidToken", why, err)
		}
	}
	// Whitespace around a token (a file with a final newline) is fine.
	if _, err := Parse(" " + good + "\n"); err != nil {
		t.Errorf("surrounding whitespace: %v", err)
	}
	// Unknown typ spellings that are VC media types are accepted.
	for _, typ := range []string{"JWT", "jwt", "vc+jwt", "application/vc+jwt", "vc+ld+jwt"} {
		if _, err := Parse(sig(`{"alg":"EdDSA","kid":"k","typ":"`+typ+`"}`, okP)); err != nil {
			t.Errorf("typ %s: %v", typ, err)
		}
	}
}

func TestVerifyWithHTTPSJWKS(t *testing.T) {
	ctx := context.Background()
	k := localKeys(t)[keys.RS256]
	j, _ := keys.JWKFromPublic(k.pub)
	j.Kid = "key-1"
	set, _ := json.Marshal(map[string]any{"keys": []keys.JWK{j}})
	r := did.Resolver{Fetch: memFetcher{"https://example.edu/keys": set}.fetch}
	tok, err := Sign(ctx, credentialFor(t, "https://example.edu/issuers/565049"), SignOptions{Alg: keys.RS256, Kid: "https://example.edu/keys#key-1", Sign: k.sign})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(ctx, tok, r)
	if err != nil {
		t.Fatal(err)
	}
	if v.Key.Controller != "" || v.Key.ID != "https://example.edu/keys#key-1" {
		t.Fatalf("JWKS key = %+v (a JWK set names no controller)", v.Key)
	}
}

var _ KeyResolver = did.Resolver{}

// A P-256 public key in the header jwk that is off the curve must not verify anything.
func TestHeaderJWKOffCurve(t *testing.T) {
	k := localKeys(t)[keys.ES256]
	j, _ := keys.JWKFromPublic(k.pub)
	j.Y = j.X
	tok := rawToken(t, map[string]any{"alg": "ES256", "jwk": j}, credentialFor(t, "did:example:1"), k.sign)
	if _, err := Verify(context.Background(), tok, nil); err == nil || !strings.Contains(err.Error(), "jwk") {
		t.Fatalf("off-curve jwk: %v", err)
	}
}
