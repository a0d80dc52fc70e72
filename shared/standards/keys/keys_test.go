package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"testing"
)

// The OB 3.0 test vector's key (testdata/standards/ob3-ldp-test-vector/keypair.json).
const (
	vectorPubHex    = "4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5"
	vectorMultibase = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
)

func TestEd25519MultikeyMatchesVector(t *testing.T) {
	raw, _ := hex.DecodeString(vectorPubHex)
	if got := Ed25519Multikey(ed25519.PublicKey(raw)); got != vectorMultibase {
		t.Fatalf("Ed25519Multikey = %s, want %s", got, vectorMultibase)
	}
	back, err := ParseEd25519Multikey(vectorMultibase)
	if err != nil || !bytes.Equal(back, raw) {
		t.Fatalf("ParseEd25519Multikey = %x, %v", back, err)
	}
}

func TestBase58LeadingZeros(t *testing.T) {
	in := []byte{0, 0, 1, 2, 255}
	enc := Base58(in)
	if enc[:2] != "11" {
		t.Fatalf("leading zero bytes must become '1's: %s", enc)
	}
	out, err := DecodeBase58(enc)
	if err != nil || !bytes.Equal(out, in) {
		t.Fatalf("round trip: %x, %v", out, err)
	}
	if _, err := DecodeBase58("0OIl"); err == nil {
		t.Fatal("characters outside the alphabet must be refused")
	}
}

func TestJWKRoundTrip(t *testing.T) {
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, pub := range []any{edPub, &rsaKey.PublicKey, &ecKey.PublicKey} {
		j, err := JWKFromPublic(pub)
		if err != nil {
			t.Fatal(err)
		}
		back, err := j.PublicKey()
		if err != nil {
			t.Fatalf("%T: %v", pub, err)
		}
		if !back.(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
			t.Fatalf("%T did not round-trip", pub)
		}
	}
}

func TestJWKRefusesPrivateAndSmallKeys(t *testing.T) {
	j := JWK{Kty: "OKP", Crv: "Ed25519", X: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", D: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}
	if _, err := j.PublicKey(); err == nil {
		t.Fatal("a JWK with d must be refused")
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	sj, _ := JWKFromPublic(&small.PublicKey)
	if _, err := sj.PublicKey(); err == nil {
		t.Fatal("a 1024-bit RSA key must be refused")
	}
}
