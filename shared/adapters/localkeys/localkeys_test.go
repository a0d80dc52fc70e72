package localkeys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/standards/keys"
)

var ctx = context.Background()

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "keys.json")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, path
}

// verify checks sig the way a relying party would, with nothing but the public key.
func verify(t *testing.T, alg keys.Alg, pub crypto.PublicKey, msg, sig []byte) {
	t.Helper()
	digest := sha256.Sum256(msg)
	switch alg {
	case keys.EdDSA:
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			t.Fatalf("EdDSA public key is %T", pub)
		}
		if !ed25519.Verify(k, msg, sig) {
			t.Fatal("Ed25519 signature does not verify")
		}
	case keys.RS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			t.Fatalf("RS256 public key is %T", pub)
		}
		if k.N.BitLen() != 2048 {
			t.Fatalf("RSA key has %d bits, want 2048", k.N.BitLen())
		}
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig); err != nil {
			t.Fatalf("RS256 signature does not verify: %v", err)
		}
	case keys.ES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			t.Fatalf("ES256 public key is %T", pub)
		}
		if k.Curve != elliptic.P256() {
			t.Fatalf("ECDSA key on %s", k.Curve.Params().Name)
		}
		if len(sig) != 64 {
			t.Fatalf("ES256 signature is %d bytes, want raw R||S of 64", len(sig))
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(k, digest[:], r, s) {
			t.Fatal("ES256 signature does not verify")
		}
	default:
		t.Fatalf("unknown alg %s", alg)
	}
}

func TestCreateSignVerifyEachAlg(t *testing.T) {
	s, _ := openTemp(t)
	msg := []byte("eyJhbGciOi.payload-to-sign")
	for _, alg := range []keys.Alg{keys.EdDSA, keys.RS256, keys.ES256} {
		t.Run(string(alg), func(t *testing.T) {
			ref, err := s.CreateKey(ctx, alg, "test "+string(alg))
			if err != nil {
				t.Fatalf("CreateKey: %v", err)
			}
			if !strings.HasPrefix(string(ref), RefPrefix) {
				t.Fatalf("ref %q lacks prefix %q", ref, RefPrefix)
			}
			sig, err := s.Sign(ctx, ref, alg, msg)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			pub, err := s.PublicKey(ctx, ref)
			if err != nil {
				t.Fatalf("PublicKey: %v", err)
			}
			verify(t, alg, pub, msg, sig)
			if got, err := keys.AlgFor(pub); err != nil || got != alg {
				t.Fatalf("AlgFor(public key) = %s, %v; want %s", got, err, alg)
			}
			// A signature over a different message must not verify: guards against a Sign that
			// ignores its input.
			other, err := s.Sign(ctx, ref, alg, []byte("another message"))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if bytes.Equal(other, sig) {
				t.Fatal("two different messages gave the same signature")
			}
		})
	}
}

// The OB 3.0 test vector's key signs the vector's data byte for byte (Ed25519 is deterministic).
func TestEd25519MatchesOB3Vector(t *testing.T) {
	var kp struct {
		PrivateKeyHex string `json:"privateKeyHex"`
		PublicKeyHex  string `json:"publicKeyHex"`
	}
	var iv struct {
		DataToSignHex string `json:"dataToSignHex"`
		SignatureHex  string `json:"signatureHex"`
	}
	readJSON(t, "ob3-ldp-test-vector/keypair.json", &kp)
	readJSON(t, "ob3-ldp-test-vector/intermediate-values.json", &iv)

	s, _ := openTemp(t)
	ref, err := s.Import(keys.EdDSA, "OB 3.0 test vector", ed25519.PrivateKey(mustHex(t, kp.PrivateKeyHex)))
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	sig, err := s.Sign(ctx, ref, keys.EdDSA, mustHex(t, iv.DataToSignHex))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if got := hex.EncodeToString(sig); got != iv.SignatureHex {
		t.Fatalf("signature\n got %s\nwant %s", got, iv.SignatureHex)
	}
	pub, _ := s.PublicKey(ctx, ref)
	if got := hex.EncodeToString(pub.(ed25519.PublicKey)); got != kp.PublicKeyHex {
		t.Fatalf("public key %s, want %s", got, kp.PublicKeyHex)
	}
}

// The W3C vc-di-eddsa vector's key (a multibase multicodec seed) signs its combined hash byte
// for byte, and survives a reopen of the file.
func TestEd25519MatchesW3CVectorAfterRestart(t *testing.T) {
	var kp struct {
		PrivateKeyMultibase string `json:"privateKeyMultibase"`
		PublicKeyMultibase  string `json:"publicKeyMultibase"`
	}
	readJSON(t, "w3c-vc-di-eddsa/keyPair.json", &kp)
	raw, err := keys.DecodeMultibase(kp.PrivateKeyMultibase)
	if err != nil {
		t.Fatalf("decode private key: %v", err)
	}
	// ed25519-priv multicodec 0x1300 is varint 0x80 0x26, followed by the 32-byte seed.
	if len(raw) != 34 || raw[0] != 0x80 || raw[1] != 0x26 {
		t.Fatalf("unexpected private key encoding %x", raw)
	}
	priv := ed25519.NewKeyFromSeed(raw[2:])
	message := mustHex(t, strings.TrimSpace(readFile(t, "w3c-vc-di-eddsa/eddsa-rdfc-2022/combinedHashDataInt.txt")))
	want := strings.TrimSpace(readFile(t, "w3c-vc-di-eddsa/eddsa-rdfc-2022/sigHexDataInt.txt"))

	s, path := openTemp(t)
	ref, err := s.Import(keys.EdDSA, "W3C vector", priv)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	sig, err := s2.Sign(ctx, ref, keys.EdDSA, message)
	if err != nil {
		t.Fatalf("Sign after reopen: %v", err)
	}
	if got := hex.EncodeToString(sig); got != want {
		t.Fatalf("signature\n got %s\nwant %s", got, want)
	}
	pub, _ := s2.PublicKey(ctx, ref)
	if got := keys.Ed25519Multikey(pub.(ed25519.PublicKey)); got != kp.PublicKeyMultibase {
		t.Fatalf("public key %s, want %s", got, kp.PublicKeyMultibase)
	}
}

func TestRestartKeepsEveryKey(t *testing.T) {
	s, path := openTemp(t)
	msg := []byte("signed after restart")
	refs := map[keys.Alg]domain.KeyRef{}
	pubs := map[keys.Alg]crypto.PublicKey{}
	for _, alg := range []keys.Alg{keys.EdDSA, keys.RS256, keys.ES256} {
		ref, err := s.CreateKey(ctx, alg, "restart "+string(alg))
		if err != nil {
			t.Fatalf("CreateKey %s: %v", alg, err)
		}
		refs[alg] = ref
		pubs[alg], _ = s.PublicKey(ctx, ref)
	}

	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if got := len(s2.Refs()); got != 3 {
		t.Fatalf("reopened store holds %d keys, want 3", got)
	}
	for alg, ref := range refs {
		pub, err := s2.PublicKey(ctx, ref)
		if err != nil {
			t.Fatalf("PublicKey %s after reopen: %v", alg, err)
		}
		if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(pubs[alg]) {
			t.Fatalf("%s public key changed across restart", alg)
		}
		sig, err := s2.Sign(ctx, ref, alg, msg)
		if err != nil {
			t.Fatalf("Sign %s after reopen: %v", alg, err)
		}
		// Verify with the key seen before the restart: the reloaded private key is the same one.
		verify(t, alg, pubs[alg], msg, sig)
	}
}

func TestFileModesAndContent(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.CreateKey(ctx, keys.EdDSA, "mode check"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("key directory mode %v, want 0700", di.Mode().Perm())
	}
	var f map[string]any
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("key file is not JSON: %v", err)
	}
	if c, _ := f["comment"].(string); !strings.Contains(c, "PRIVATE") || !strings.Contains(c, "never commit") {
		t.Fatalf("comment %q does not warn about private keys", c)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the key file (temp files left behind?)", len(entries))
	}
}

func TestUnknownKey(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := s.Sign(ctx, "local:00000000-0000-4000-8000-000000000000", keys.EdDSA, []byte("x")); !errors.Is(err, domain.ErrKeyNotFound) {
		t.Fatalf("Sign unknown key: %v, want ErrKeyNotFound", err)
	}
	if _, err := s.PublicKey(ctx, "arn:aws:kms:us-east-1:111122223333:key/abc"); !errors.Is(err, domain.ErrKeyNotFound) {
		t.Fatalf("PublicKey unknown key: %v, want ErrKeyNotFound", err)
	}
}

func TestWrongAlgForKey(t *testing.T) {
	s, _ := openTemp(t)
	ref, err := s.CreateKey(ctx, keys.ES256, "p256")
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []keys.Alg{keys.EdDSA, keys.RS256, "HS256"} {
		if _, err := s.Sign(ctx, ref, alg, []byte("x")); !errors.Is(err, ErrAlgMismatch) {
			t.Fatalf("Sign ES256 key with %s: %v, want ErrAlgMismatch", alg, err)
		}
	}
	if _, err := s.CreateKey(ctx, "HS256", "no"); !errors.Is(err, ErrUnsupportedAlg) {
		t.Fatalf("CreateKey HS256: %v, want ErrUnsupportedAlg", err)
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := s.Import(keys.RS256, "mismatch", edPriv); !errors.Is(err, ErrAlgMismatch) {
		t.Fatalf("Import Ed25519 key as RS256: %v, want ErrAlgMismatch", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := s.Import(keys.ES256, "P-384", p384); err == nil || !strings.Contains(err.Error(), "P-256") {
		t.Fatalf("Import P-384 key as ES256: %v, want a P-256 error", err)
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := s.Import(keys.RS256, "small", small); err == nil || !strings.Contains(err.Error(), "1024 bits") {
		t.Fatalf("Import RSA-1024: %v, want a key size error", err)
	}
	if got := len(s.Refs()); got != 1 {
		t.Fatalf("store holds %d keys after refused imports, want 1", got)
	}
}

func TestConcurrentCreateKey(t *testing.T) {
	s, path := openTemp(t)
	const n = 16
	var wg sync.WaitGroup
	refs := make([]domain.KeyRef, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			alg := []keys.Alg{keys.EdDSA, keys.ES256}[i%2]
			refs[i], errs[i] = s.CreateKey(ctx, alg, "concurrent")
			if errs[i] == nil {
				_, errs[i] = s.Sign(ctx, refs[i], alg, []byte("m"))
			}
		}()
	}
	wg.Wait()
	seen := map[domain.KeyRef]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
		if seen[refs[i]] {
			t.Fatalf("duplicate ref %s", refs[i])
		}
		seen[refs[i]] = true
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s2.Refs()); got != n {
		t.Fatalf("file holds %d keys after %d concurrent creates", got, n)
	}
	for ref := range seen {
		if _, err := s2.PublicKey(ctx, ref); err != nil {
			t.Fatalf("key %s lost: %v", ref, err)
		}
	}
}

func TestOpenRefusesDamagedFiles(t *testing.T) {
	ed := func() string {
		s, path := openTemp(t)
		if _, err := s.CreateKey(ctx, keys.EdDSA, ""); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		return string(b)
	}()
	cases := map[string]struct{ content, want string }{
		"not json":      {"hello", "not a key file"},
		"wrong version": {`{"version": 9, "keys": {}}`, "version 9"},
		"bad prefix":    {`{"version": 1, "keys": {"kms:x": {"alg": "EdDSA", "pkcs8": ""}}}`, "must start with"},
		"bad base64":    {`{"version": 1, "keys": {"local:x": {"alg": "EdDSA", "pkcs8": "!!"}}}`, "not base64"},
		"bad der":       {`{"version": 1, "keys": {"local:x": {"alg": "EdDSA", "pkcs8": "AAAA"}}}`, "local:x"},
		"alg swapped":   {strings.Replace(ed, `"alg": "EdDSA"`, `"alg": "RS256"`, 1), "does not match"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys.json")
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestCancelledContext(t *testing.T) {
	s, _ := openTemp(t)
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.CreateKey(c, keys.EdDSA, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateKey with cancelled context: %v", err)
	}
}

func BenchmarkSignEdDSA(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "keys.json"))
	if err != nil {
		b.Fatal(err)
	}
	ref, err := s.CreateKey(ctx, keys.EdDSA, "bench")
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(ctx, ref, keys.EdDSA, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "standards", rel))
	if err != nil {
		t.Fatalf("read vector: %v", err)
	}
	return string(b)
}

func readJSON(t *testing.T, rel string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(readFile(t, rel)), v); err != nil {
		t.Fatalf("parse %s: %v", rel, err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}
