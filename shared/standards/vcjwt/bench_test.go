package vcjwt

import (
	"context"
	"testing"

	"github.com/credence-oss/credence/shared/standards/keys"
)

// The benchmarks sign and verify the official OB 3.0 sample credential
// (testdata/standards/ob3-spec/basic-openbadgecredential.json) with local keys.

func benchSign(b *testing.B, alg keys.Alg) {
	ctx := context.Background()
	k := localKeys(b)[alg]
	issuer, kid := didJWK(b, k.pub)
	cred := credentialFor(b, issuer)
	opts := SignOptions{Alg: alg, Kid: kid, Sign: k.sign}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(ctx, cred, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignRS256(b *testing.B) { benchSign(b, keys.RS256) }
func BenchmarkSignEdDSA(b *testing.B) { benchSign(b, keys.EdDSA) }
func BenchmarkSignES256(b *testing.B) { benchSign(b, keys.ES256) }

func benchVerify(b *testing.B, alg keys.Alg) {
	ctx := context.Background()
	k := localKeys(b)[alg]
	issuer, kid := didJWK(b, k.pub)
	tok, err := Sign(ctx, credentialFor(b, issuer), SignOptions{Alg: alg, Kid: kid, Sign: k.sign})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(ctx, tok, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS256(b *testing.B) { benchVerify(b, keys.RS256) }
func BenchmarkVerifyEdDSA(b *testing.B) { benchVerify(b, keys.EdDSA) }
