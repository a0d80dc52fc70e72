package vcjwt

import (
	"context"
	"strings"
	"testing"

	"github.com/credence-oss/credence/shared/standards/keys"
)

// FuzzParse feeds Parse arbitrary strings: it must never panic, and what it accepts must be
// internally consistent. Memory stays bounded because Parse refuses anything over
// MaxTokenSize before decoding and JSON nesting past maxJSONDepth.
func FuzzParse(f *testing.F) {
	ctx := context.Background()
	for _, alg := range algs {
		k := localKeys(f)[alg]
		issuer, kid := didJWK(f, k.pub)
		cred := credentialFor(f, issuer)
		cred["validUntil"] = "2030-01-01T00:00:00Z"
		tok, err := Sign(ctx, cred, SignOptions{Alg: alg, Kid: kid, Sign: k.sign})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
		j, _ := keys.JWKFromPublic(k.pub)
		if tok, err = Sign(ctx, cred, SignOptions{Alg: alg, JWK: &j, Sign: k.sign}); err == nil {
			f.Add(tok)
		}
	}
	for _, s := range []string{
		"", ".", "..", "...", "a.b.c", "eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
		b64.EncodeToString([]byte(`{"alg":"EdDSA","kid":"k"}`)) + "." + b64.EncodeToString([]byte(`{"vc":{"credentialSubject":[]},"nbf":-1e20}`)) + "." + strings.Repeat("A", 86),
		b64.EncodeToString([]byte(`{"alg":"RS256","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}`)) + "." + b64.EncodeToString([]byte(`{"a":[[[[[[[[]]]]]]]]}`)) + "." + strings.Repeat("A", 342),
		strings.Repeat("[", 1000),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err != nil {
			if tok != nil {
				t.Fatal("a token returned with an error")
			}
			return
		}
		if !strings.HasPrefix(tok.Raw, tok.SigningInput+".") {
			t.Fatal("SigningInput is not the token's first two parts")
		}
		if tok.Payload == nil || tok.Credential == nil {
			t.Fatal("accepted token without payload or credential")
		}
		if err := checkAlg(tok.Header.Alg); err != nil {
			t.Fatalf("accepted alg %q", tok.Header.Alg)
		}
		if tok.Header.JWK != nil && tok.Header.JWK.D != "" {
			t.Fatal("accepted a private jwk")
		}
		// Verification of a fuzzed token must fail cleanly or succeed, never panic; only keys
		// that resolve without a network are tried.
		_, _ = Verify(context.Background(), s, nil)
	})
}
