package vcjwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/credence-oss/credence/shared/standards/did"
	"github.com/credence-oss/credence/shared/standards/keys"
)

// testKey is a local key pair with a keys.SignFunc, the shape the Signer port hands out.
type testKey struct {
	alg  keys.Alg
	pub  crypto.PublicKey
	sign keys.SignFunc
}

var (
	keyOnce  sync.Once
	testKeys map[keys.Alg]testKey
)

func signerFor(priv crypto.Signer) keys.SignFunc {
	return func(_ context.Context, msg []byte) ([]byte, error) {
		switch k := priv.(type) {
		case ed25519.PrivateKey:
			return ed25519.Sign(k, msg), nil
		case *rsa.PrivateKey:
			h := sha256.Sum256(msg)
			return rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
		case *ecdsa.PrivateKey:
			h := sha256.Sum256(msg)
			r, s, err := ecdsa.Sign(rand.Reader, k, h[:])
			if err != nil {
				return nil, err
			}
			sig := make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
			return sig, nil
		}
		panic("unexpected key type")
	}
}

// localKeys generates one key per algorithm, once per test binary (RSA generation is slow).
func localKeys(t testing.TB) map[keys.Alg]testKey {
	t.Helper()
	keyOnce.Do(func() {
		_, ed, _ := ed25519.GenerateKey(rand.Reader)
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		testKeys = map[keys.Alg]testKey{
			keys.EdDSA: {keys.EdDSA, ed.Public(), signerFor(ed)},
			keys.RS256: {keys.RS256, &rk.PublicKey, signerFor(rk)},
			keys.ES256: {keys.ES256, &ek.PublicKey, signerFor(ek)},
		}
	})
	return testKeys
}

// didJWK returns the did:jwk DID of a public key and its verification method id.
func didJWK(t testing.TB, pub crypto.PublicKey) (string, string) {
	t.Helper()
	j, err := keys.JWKFromPublic(pub)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(j)
	d := "did:jwk:" + b64.EncodeToString(b)
	return d, d + "#0"
}

// basicCredential loads the official OB 3.0 "Sample OpenBadgeCredential"
// (testdata/standards/ob3-spec/basic-openbadgecredential.json).
func basicCredential(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "standards", "ob3-spec", "basic-openbadgecredential.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// credentialFor is the sample credential issued by the given issuer id.
func credentialFor(t testing.TB, issuer string) map[string]any {
	c := basicCredential(t)
	c["issuer"].(map[string]any)["id"] = issuer
	return c
}

// rawToken signs an arbitrary header and payload, for tokens Sign would refuse to make.
func rawToken(t testing.TB, header, payload any, sign keys.SignFunc) string {
	t.Helper()
	hb, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	pb, ok := payload.([]byte)
	if !ok {
		if pb, err = json.Marshal(payload); err != nil {
			t.Fatal(err)
		}
	}
	in := b64.EncodeToString(hb) + "." + b64.EncodeToString(pb)
	sig, err := sign(context.Background(), []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + b64.EncodeToString(sig)
}

// memFetcher serves documents from memory.
type memFetcher map[string][]byte

func (m memFetcher) fetch(_ context.Context, u string) ([]byte, error) {
	if b, ok := m[u]; ok {
		return b, nil
	}
	return nil, os.ErrNotExist
}

// webIssuer publishes a did:web DID document holding the RSA, P-256 and Ed25519 test keys.
func webIssuer(t testing.TB) (string, did.Resolver) {
	t.Helper()
	k := localKeys(t)
	id := did.Web("credence.example.edu", "issuers", "abc")
	doc, err := did.NewDocumentKeys(id, did.Keys{
		Ed25519: k[keys.EdDSA].pub.(ed25519.PublicKey),
		RSA:     k[keys.RS256].pub.(*rsa.PublicKey),
		P256:    k[keys.ES256].pub.(*ecdsa.PublicKey),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(doc)
	f := memFetcher{"https://credence.example.edu/issuers/abc/did.json": b}
	return id, did.Resolver{Fetch: f.fetch}
}
