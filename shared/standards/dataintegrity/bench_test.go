package dataintegrity

import (
	"context"
	"crypto/ed25519"
	"github.com/credence-oss/credence/shared/standards/vectors"
	"testing"
	"time"
)

// BenchmarkSign is the issuing budget: canonicalize + sign an OB 3.0 credential with a local
// Ed25519 key (>= 5,000/s on one core: run with -cpu 1).
func BenchmarkSign(b *testing.B) {
	priv, vm := ob3Key(b)
	doc := vectors.JSON(b, "ob3-ldp-test-vector", "credential-unsigned.json")
	opts := Options{VerificationMethod: vm, Created: time.Now()}
	sign := localSigner(priv)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(ctx, doc, opts, sign); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "credentials/s")
}

func BenchmarkVerify(b *testing.B) {
	priv, vm := ob3Key(b)
	doc := vectors.JSON(b, "ob3-ldp-test-vector", "credential-signed.json")
	resolve := fixedResolver(vm, priv.Public().(ed25519.PublicKey), "x")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(ctx, doc, resolve); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "credentials/s")
}
