package kmskeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/credence-oss/credence/shared/adapters/awstest"
	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/standards/keys"
)

// Integration tests against local-kms (github.com/nsmithuk/local-kms), which `make test` builds
// and starts and names in CREDENCE_TEST_KMS_ENDPOINT. Signatures are checked with crypto/rsa and
// crypto/ecdsa and the public key KMS returns, never with KMS Verify, so a wrong digest, hash or
// signature encoding fails here as it would at a verifier.

func localKMS(t *testing.T) (*Signer, *kms.Client) {
	t.Helper()
	client := kms.NewFromConfig(awstest.Config(t, awstest.Endpoint(t, "KMS")))
	return New(client, WithTags(map[string]string{"credence:test": t.Name()})), client
}

func TestLocalKMSSignVerify(t *testing.T) {
	s, client := localKMS(t)
	ctx := t.Context()
	for _, alg := range []keys.Alg{keys.RS256, keys.ES256} {
		t.Run(string(alg), func(t *testing.T) {
			ref, err := s.CreateKey(ctx, alg, "integration "+string(alg))
			if err != nil {
				t.Fatalf("CreateKey: %v", err)
			}
			desc, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(string(ref))})
			if err != nil {
				t.Fatalf("DescribeKey: %v", err)
			}
			wantSpec := map[keys.Alg]types.KeySpec{keys.RS256: types.KeySpecRsa2048, keys.ES256: types.KeySpecEccNistP256}[alg]
			if desc.KeyMetadata.KeySpec != wantSpec || desc.KeyMetadata.KeyUsage != types.KeyUsageTypeSignVerify {
				t.Fatalf("key is %s/%s, want %s/SIGN_VERIFY", desc.KeyMetadata.KeySpec, desc.KeyMetadata.KeyUsage, wantSpec)
			}
			tags, err := client.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(string(ref))})
			if err != nil {
				t.Fatalf("ListResourceTags: %v", err)
			}
			got := map[string]string{}
			for _, tg := range tags.Tags {
				got[aws.ToString(tg.TagKey)] = aws.ToString(tg.TagValue)
			}
			if got[ManagedTagKey] != ManagedTagValue || got[AlgTagKey] != string(alg) {
				t.Fatalf("tags %v lack the managed/alg tags", got)
			}

			pub, err := s.PublicKey(ctx, ref)
			if err != nil {
				t.Fatalf("PublicKey: %v", err)
			}
			if a, err := keys.AlgFor(pub); err != nil || a != alg {
				t.Fatalf("public key %T is for %s (%v), want %s", pub, a, err, alg)
			}
			// Several messages: ES256 must hold up when R or S has leading zero bytes, and a
			// large message must be hashed locally, not sent raw.
			for i := range 12 {
				msg := []byte(strings.Repeat(fmt.Sprintf("header.payload-%d.", i), 1+i*50))
				sig, err := s.Sign(ctx, ref, alg, msg)
				if err != nil {
					t.Fatalf("Sign message %d (%d bytes): %v", i, len(msg), err)
				}
				if err := verify(alg, pub, msg, sig); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if err := verify(alg, pub, append(msg, '!'), sig); err == nil {
					t.Fatalf("message %d: signature verifies for another message", i)
				}
			}
		})
	}
}

func verify(alg keys.Alg, pub crypto.PublicKey, msg, sig []byte) error {
	digest := sha256.Sum256(msg)
	switch alg {
	case keys.RS256:
		k := pub.(*rsa.PublicKey)
		if k.N.BitLen() != 2048 {
			return fmt.Errorf("RSA key has %d bits", k.N.BitLen())
		}
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig)
	case keys.ES256:
		k := pub.(*ecdsa.PublicKey)
		if k.Curve != elliptic.P256() || len(sig) != 64 {
			return fmt.Errorf("ES256: curve %s, signature of %d bytes", k.Curve.Params().Name, len(sig))
		}
		if !ecdsa.Verify(k, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return errors.New("ES256 signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("no verifier for %s", alg)
}

func TestLocalKMSErrors(t *testing.T) {
	s, _ := localKMS(t)
	ctx := t.Context()
	missing := domain.KeyRef("arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000")
	if _, err := s.Sign(ctx, missing, keys.RS256, []byte("m")); !errors.Is(err, domain.ErrKeyNotFound) {
		t.Fatalf("Sign with a missing key: %v, want ErrKeyNotFound", err)
	}
	if _, err := s.PublicKey(ctx, missing); !errors.Is(err, domain.ErrKeyNotFound) {
		t.Fatalf("PublicKey of a missing key: %v, want ErrKeyNotFound", err)
	}
	ref, err := s.CreateKey(ctx, keys.ES256, "wrong alg")
	if err != nil {
		t.Fatal(err)
	}
	// Not yet cached, so this is KMS's own refusal being mapped.
	if _, err := s.Sign(ctx, ref, keys.RS256, []byte("m")); !errors.Is(err, ErrAlgMismatch) {
		t.Fatalf("RS256 with a P-256 key: %v, want ErrAlgMismatch", err)
	}
}

// local-kms has no Ed25519 keys, which is why the Ed25519 path is tested against kmsfake. If a
// newer local-kms gains them, this fails: move the Ed25519 tests onto the emulator then.
func TestLocalKMSLacksEd25519(t *testing.T) {
	s, _ := localKMS(t)
	_, err := s.CreateKey(t.Context(), keys.EdDSA, "ed25519 probe")
	if err == nil {
		t.Fatal("local-kms created an ECC_NIST_EDWARDS25519 key: test the Ed25519 path against it instead of kmsfake")
	}
	if !strings.Contains(err.Error(), "ECC_NIST_EDWARDS25519") {
		t.Fatalf("unexpected error from local-kms: %v", err)
	}
}
