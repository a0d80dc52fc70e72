package dataintegrity

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/standards/keys"
	"github.com/credence-oss/credence/shared/standards/vectors"
)

// ob3Key is the OB 3.0 test vector key pair (public test key, from the spec).
func ob3Key(t testing.TB) (ed25519.PrivateKey, string) {
	kp := vectors.JSON(t, "ob3-ldp-test-vector", "keypair.json")
	priv, err := hex.DecodeString(kp["privateKeyHex"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.PrivateKey(priv), kp["verificationMethod"].(string)
}

// w3cKey decodes the W3C vector's privateKeyMultibase (multicodec ed25519-priv 0x1300 + seed).
func w3cKey(t testing.TB) ed25519.PrivateKey {
	kp := vectors.JSON(t, "w3c-vc-di-eddsa", "keyPair.json")
	raw, err := keys.DecodeMultibase(kp["privateKeyMultibase"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 34 || raw[0] != 0x80 || raw[1] != 0x26 {
		t.Fatalf("unexpected private key multicodec %x", raw[:2])
	}
	return ed25519.NewKeyFromSeed(raw[2:])
}

func localSigner(priv ed25519.PrivateKey) keys.SignFunc {
	return func(_ context.Context, msg []byte) ([]byte, error) { return ed25519.Sign(priv, msg), nil }
}

func fixedResolver(vm string, pub ed25519.PublicKey, controller string) Resolver {
	return func(_ context.Context, got string) (VerificationKey, error) {
		if got != vm {
			return VerificationKey{}, fmt.Errorf("unknown verification method %s", got)
		}
		return VerificationKey{ID: vm, Controller: controller, Public: pub}, nil
	}
}

func TestOB3VectorByteForByte(t *testing.T) {
	priv, vm := ob3Key(t)
	doc := vectors.JSON(t, "ob3-ldp-test-vector", "credential-unsigned.json")
	opts := vectors.JSON(t, "ob3-ldp-test-vector", "proof-options.json")
	iv := vectors.JSON(t, "ob3-ldp-test-vector", "intermediate-values.json")

	docCanon, err := canonicalize(doc)
	if err != nil {
		t.Fatal(err)
	}
	if want := string(vectors.Read(t, "ob3-ldp-test-vector", "document-canon.nq")); docCanon != want {
		t.Fatalf("document N-Quads differ:\n%s", docCanon)
	}
	config := map[string]any{"@context": doc["@context"]}
	for k, v := range opts {
		config[k] = v
	}
	proofCanon, err := canonicalize(config)
	if err != nil {
		t.Fatal(err)
	}
	if want := string(vectors.Read(t, "ob3-ldp-test-vector", "proof-canon.nq")); proofCanon != want {
		t.Fatalf("proof N-Quads differ:\n%s", proofCanon)
	}
	dh, ph := sha256.Sum256([]byte(docCanon)), sha256.Sum256([]byte(proofCanon))
	if hex.EncodeToString(dh[:]) != iv["documentHashHex"] || hex.EncodeToString(ph[:]) != iv["proofHashHex"] {
		t.Fatalf("hashes differ: doc %x proof %x", dh, ph)
	}

	created, _ := time.Parse(time.RFC3339, opts["created"].(string))
	signed, err := Sign(context.Background(), doc, Options{VerificationMethod: vm, Created: created}, localSigner(priv))
	if err != nil {
		t.Fatal(err)
	}
	proof := signed["proof"].([]any)[0].(map[string]any)
	if proof["proofValue"] != iv["proofValue"] {
		t.Fatalf("proofValue = %s, want %s", proof["proofValue"], iv["proofValue"])
	}
	// The published signed credential verifies as published (single-object proof).
	published := vectors.JSON(t, "ob3-ldp-test-vector", "credential-signed.json")
	res, err := Verify(context.Background(), published, fixedResolver(vm, priv.Public().(ed25519.PublicKey), "https://example.edu/issuers/565049"))
	if err != nil {
		t.Fatalf("published vector does not verify: %v", err)
	}
	if len(res) != 1 || res[0].Controller != "https://example.edu/issuers/565049" {
		t.Fatalf("unexpected results %+v", res)
	}
}

func TestW3CEdDSARDFC2022Vector(t *testing.T) {
	priv := w3cKey(t)
	doc := vectors.JSON(t, "w3c-vc-di-eddsa", "unsigned.json")
	cfg := vectors.JSON(t, "w3c-vc-di-eddsa", "eddsa-rdfc-2022", "proofConfigDataInt.json")
	created, _ := time.Parse(time.RFC3339, cfg["created"].(string))
	vm := cfg["verificationMethod"].(string)

	docCanon, err := canonicalize(doc)
	if err != nil {
		t.Fatal(err)
	}
	if want := string(vectors.Read(t, "w3c-vc-di-eddsa", "eddsa-rdfc-2022", "canonDocDataInt.txt")); docCanon != want {
		t.Fatalf("document N-Quads differ:\n%s", docCanon)
	}
	signed, err := Sign(context.Background(), doc, Options{VerificationMethod: vm, Created: created}, localSigner(priv))
	if err != nil {
		t.Fatal(err)
	}
	got := signed["proof"].([]any)[0].(map[string]any)["proofValue"]
	want := strings.TrimSpace(string(vectors.Read(t, "w3c-vc-di-eddsa", "eddsa-rdfc-2022", "sigBTC58DataInt.txt")))
	if got != want {
		t.Fatalf("proofValue = %s, want %s", got, want)
	}
	published := vectors.JSON(t, "w3c-vc-di-eddsa", "eddsa-rdfc-2022", "signedDataInt.json")
	if _, err := Verify(context.Background(), published, fixedResolver(vm, priv.Public().(ed25519.PublicKey), "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")); err != nil {
		t.Fatalf("published W3C vector does not verify: %v", err)
	}
}

func TestW3CEd25519Signature2020VerifyOnly(t *testing.T) {
	priv := w3cKey(t)
	published := vectors.JSON(t, "w3c-vc-di-eddsa", "Ed25519Signature2020", "signedEdSig.json")
	vm := published["proof"].(map[string]any)["verificationMethod"].(string)
	docCanon, err := canonicalize(withoutProof(published))
	if err != nil {
		t.Fatal(err)
	}
	if want := string(vectors.Read(t, "w3c-vc-di-eddsa", "Ed25519Signature2020", "canonDocEdSig.txt")); docCanon != want {
		t.Fatalf("document N-Quads differ:\n%s", docCanon)
	}
	res, err := Verify(context.Background(), published, fixedResolver(vm, priv.Public().(ed25519.PublicKey), "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"))
	if err != nil {
		t.Fatalf("Ed25519Signature2020 vector does not verify: %v", err)
	}
	if res[0].Type != TypeEd25519Signature2020 {
		t.Fatalf("type = %s", res[0].Type)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	priv, vm := ob3Key(t)
	resolve := fixedResolver(vm, priv.Public().(ed25519.PublicKey), "https://example.edu/issuers/565049")
	tamper := map[string]func(m map[string]any){
		"name":          func(m map[string]any) { m["name"] = "Teamwork Badge!" },
		"validFrom":     func(m map[string]any) { m["validFrom"] = "2010-01-02T00:00:00Z" },
		"subject id":    func(m map[string]any) { m["credentialSubject"].(map[string]any)["id"] = "did:example:someone-else" },
		"proof created": func(m map[string]any) { m["proof"].(map[string]any)["created"] = "2010-01-01T19:23:25Z" },
		"proof purpose": func(m map[string]any) { m["proof"].(map[string]any)["proofPurpose"] = "authentication" },
		"signature": func(m map[string]any) {
			p := m["proof"].(map[string]any)
			v := p["proofValue"].(string)
			p["proofValue"] = v[:10] + string(rune(v[10]^1)) + v[11:]
		},
	}
	for name, mutate := range tamper {
		t.Run(name, func(t *testing.T) {
			doc := vectors.JSON(t, "ob3-ldp-test-vector", "credential-signed.json")
			mutate(doc)
			if _, err := Verify(context.Background(), doc, resolve); err == nil {
				t.Fatal("tampered credential verified")
			}
		})
	}
}

func TestUnsupportedAndMissingProofsFailClosed(t *testing.T) {
	priv, vm := ob3Key(t)
	resolve := fixedResolver(vm, priv.Public().(ed25519.PublicKey), "x")
	doc := vectors.JSON(t, "ob3-ldp-test-vector", "credential-unsigned.json")
	if _, err := Verify(context.Background(), doc, resolve); !errors.Is(err, ErrNoProof) {
		t.Fatalf("no proof: %v", err)
	}
	signed := vectors.JSON(t, "ob3-ldp-test-vector", "credential-signed.json")
	p := signed["proof"].(map[string]any)
	other := map[string]any{"type": "DataIntegrityProof", "cryptosuite": "ecdsa-sd-2023", "verificationMethod": vm, "proofPurpose": "assertionMethod", "proofValue": "u123"}
	signed["proof"] = []any{p, other}
	if _, err := Verify(context.Background(), signed, resolve); !errors.Is(err, ErrUnsupportedProof) {
		t.Fatalf("a proof set with an unsupported suite must fail: %v", err)
	}
}

func TestSignAppendsToProofSetAndBothVerify(t *testing.T) {
	priv, vm := ob3Key(t)
	_, priv2, _ := ed25519.GenerateKey(nil)
	vm2 := "did:example:second#key"
	signed := vectors.JSON(t, "ob3-ldp-test-vector", "credential-signed.json")
	twice, err := Sign(context.Background(), signed, Options{VerificationMethod: vm2, Created: time.Now()}, localSigner(priv2))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(twice["proof"].([]any)); n != 2 {
		t.Fatalf("proof set has %d proofs", n)
	}
	resolve := func(ctx context.Context, id string) (VerificationKey, error) {
		if id == vm2 {
			return VerificationKey{ID: id, Public: priv2.Public()}, nil
		}
		return fixedResolver(vm, priv.Public().(ed25519.PublicKey), "x")(ctx, id)
	}
	if _, err := Verify(context.Background(), twice, resolve); err != nil {
		t.Fatal(err)
	}
}

func TestWrongKeyTypeAndBadProofValue(t *testing.T) {
	_, vm := ob3Key(t)
	signed := vectors.JSON(t, "ob3-ldp-test-vector", "credential-signed.json")
	otherPub, _, _ := ed25519.GenerateKey(nil)
	if _, err := Verify(context.Background(), signed, fixedResolver(vm, otherPub, "x")); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("wrong key: %v", err)
	}
	signed["proof"].(map[string]any)["proofValue"] = "not-multibase"
	if _, err := Verify(context.Background(), signed, fixedResolver(vm, otherPub, "x")); !errors.Is(err, ErrMalformedProof) {
		t.Fatalf("bad proofValue: %v", err)
	}
}
