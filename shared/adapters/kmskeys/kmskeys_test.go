package kmskeys

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/credence-oss/credence/shared/adapters/awstest"
	"github.com/credence-oss/credence/shared/adapters/kmskeys/kmsfake"
	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/standards/keys"
)

// These tests run the Ed25519 path against kmsfake, a wire-level KMS stand-in, because no KMS
// emulator signs with Ed25519 keys. RSA and P-256 run against local-kms (localkms_test.go).

// quickRetryer retries like DefaultRetryer but without sleeping, so throttling tests stay fast.
func quickRetryer(attempts int) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

func newFake(t *testing.T, opts ...Option) (*Signer, *kmsfake.Server) {
	t.Helper()
	fake := kmsfake.New()
	t.Cleanup(fake.Close)
	client := kms.NewFromConfig(awstest.Config(t, fake.URL))
	return New(client, opts...), fake
}

func TestEd25519AgainstStandIn(t *testing.T) {
	s, fake := newFake(t, WithTags(map[string]string{"team": "registrar", ManagedTagKey: "false"}))
	ctx := t.Context()
	ref, err := s.CreateKey(ctx, keys.EdDSA, "issuer 42 Data Integrity key")
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	if !strings.HasPrefix(string(ref), "arn:aws:kms:") {
		t.Fatalf("ref %q is not a key ARN", ref)
	}
	k, ok := fake.Key(string(ref))
	if !ok {
		t.Fatalf("stand-in has no key %s", ref)
	}
	wantTags := map[string]string{ManagedTagKey: ManagedTagValue, AlgTagKey: "EdDSA", "team": "registrar"}
	if len(k.Tags) != len(wantTags) {
		t.Fatalf("tags %v, want %v", k.Tags, wantTags)
	}
	for tk, tv := range wantTags {
		if k.Tags[tk] != tv {
			t.Fatalf("tag %s=%q, want %q (all: %v)", tk, k.Tags[tk], tv, k.Tags)
		}
	}
	if k.Description != "issuer 42 Data Integrity key" {
		t.Fatalf("description %q", k.Description)
	}

	// The eddsa-rdfc-2022 message shape: proof hash || document hash.
	msg := make([]byte, 64)
	_, _ = rand.Read(msg)
	sig, err := s.Sign(ctx, ref, keys.EdDSA, msg)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	pub, err := s.PublicKey(ctx, ref)
	if err != nil {
		t.Fatalf("PublicKey: %v", err)
	}
	edPub, ok := pub.(ed25519.PublicKey)
	if !ok {
		t.Fatalf("public key is %T", pub)
	}
	if !ed25519.Verify(edPub, msg, sig) {
		t.Fatal("signature from KMS does not verify with the KMS public key")
	}
	msg[0] ^= 1
	if ed25519.Verify(edPub, msg, sig) {
		t.Fatal("signature verifies for a different message")
	}
}

func TestPublicKeyIsCachedAndConcurrencySafe(t *testing.T) {
	s, fake := newFake(t)
	ctx := t.Context()
	ref, err := s.CreateKey(ctx, keys.EdDSA, "")
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.PublicKey(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub, err := s.PublicKey(ctx, ref)
			if err == nil && !bytes.Equal(pub.(ed25519.PublicKey), first.(ed25519.PublicKey)) {
				err = errors.New("cached key differs")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.Calls("GetPublicKey"); n != 1 {
		t.Fatalf("GetPublicKey reached KMS %d times, want 1 (cache)", n)
	}
}

func TestWrongAlgorithm(t *testing.T) {
	s, fake := newFake(t, WithRetryer(quickRetryer(1)))
	ctx := t.Context()
	ref, err := s.CreateKey(ctx, keys.EdDSA, "")
	if err != nil {
		t.Fatal(err)
	}
	// Before the public key is known KMS itself refuses (InvalidKeyUsageException).
	if _, err := s.Sign(ctx, ref, keys.ES256, []byte("m")); !errors.Is(err, ErrAlgMismatch) {
		t.Fatalf("ES256 with an Ed25519 key: %v, want ErrAlgMismatch", err)
	}
	if _, err := s.PublicKey(ctx, ref); err != nil {
		t.Fatal(err)
	}
	before := fake.Calls("Sign")
	if _, err := s.Sign(ctx, ref, keys.RS256, []byte("m")); !errors.Is(err, ErrAlgMismatch) {
		t.Fatalf("RS256 with a cached Ed25519 key: %v, want ErrAlgMismatch", err)
	}
	if fake.Calls("Sign") != before {
		t.Fatal("a mismatch known from the cached public key still went to KMS")
	}
	if _, err := s.Sign(ctx, ref, "HS256", []byte("m")); !errors.Is(err, ErrUnsupportedAlg) {
		t.Fatalf("HS256: %v, want ErrUnsupportedAlg", err)
	}
	if _, err := s.CreateKey(ctx, "PS256", ""); !errors.Is(err, ErrUnsupportedAlg) {
		t.Fatalf("CreateKey PS256: %v, want ErrUnsupportedAlg", err)
	}
}

func TestEdDSAMessageLimits(t *testing.T) {
	s, fake := newFake(t)
	ctx := t.Context()
	ref, err := s.CreateKey(ctx, keys.EdDSA, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(ctx, ref, keys.EdDSA, make([]byte, MaxRawMessage)); err != nil {
		t.Fatalf("Sign %d bytes: %v", MaxRawMessage, err)
	}
	for _, n := range []int{0, MaxRawMessage + 1} {
		if _, err := s.Sign(ctx, ref, keys.EdDSA, make([]byte, n)); err == nil || !strings.Contains(err.Error(), "1 to 4096 bytes") {
			t.Fatalf("Sign %d bytes: %v, want a size error", n, err)
		}
	}
	if n := fake.Calls("Sign"); n != 1 {
		t.Fatalf("Sign reached KMS %d times, want 1 (bad sizes refused locally)", n)
	}
}

func TestNotFound(t *testing.T) {
	s, _ := newFake(t)
	ctx := t.Context()
	missing := domain.KeyRef("arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000")
	if _, err := s.Sign(ctx, missing, keys.EdDSA, []byte("m")); !errors.Is(err, domain.ErrKeyNotFound) {
		t.Fatalf("Sign: %v, want ErrKeyNotFound", err)
	}
	if _, err := s.PublicKey(ctx, missing); !errors.Is(err, domain.ErrKeyNotFound) {
		t.Fatalf("PublicKey: %v, want ErrKeyNotFound", err)
	}
	if _, err := s.PublicKey(ctx, ""); !errors.Is(err, domain.ErrKeyNotFound) {
		t.Fatalf("PublicKey(\"\"): %v, want ErrKeyNotFound", err)
	}
}

func TestThrottlingIsRetriedThenReported(t *testing.T) {
	s, fake := newFake(t, WithRetryer(quickRetryer(3)))
	ctx := t.Context()
	ref, err := s.CreateKey(ctx, keys.EdDSA, "")
	if err != nil {
		t.Fatal(err)
	}

	// Two throttles, then success: the SDK retryer absorbs them.
	fake.ThrottleNext(2)
	if _, err := s.Sign(ctx, ref, keys.EdDSA, []byte("m")); err != nil {
		t.Fatalf("Sign after 2 throttles with 3 attempts: %v", err)
	}
	if n := fake.Calls("Sign"); n != 3 {
		t.Fatalf("Sign reached KMS %d times, want 3", n)
	}

	cases := []struct {
		name, errType string
		status        int
	}{
		{"ThrottlingException", "ThrottlingException", http.StatusBadRequest},
		{"LimitExceededException", "LimitExceededException", http.StatusBadRequest},
		{"KMSInternalException", "KMSInternalException", http.StatusInternalServerError},
		{"bare 429", "", http.StatusTooManyRequests},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A fresh stand-in per case: a failure the retryer did not consume must not leak
			// into the next case.
			s, fake := newFake(t, WithRetryer(quickRetryer(3)))
			ref, err := s.CreateKey(ctx, keys.EdDSA, "")
			if err != nil {
				t.Fatal(err)
			}
			fake.FailNext(3, c.status, c.errType)
			_, err = s.Sign(ctx, ref, keys.EdDSA, []byte("m"))
			if !errors.Is(err, domain.ErrThrottled) {
				t.Fatalf("Sign under sustained %s: %v, want ErrThrottled", c.name, err)
			}
			if errors.Is(err, domain.ErrKeyNotFound) {
				t.Fatalf("throttling reported as not found: %v", err)
			}
			if !strings.Contains(err.Error(), string(ref)) {
				t.Fatalf("error %q does not name the key", err)
			}
		})
	}

	// Errors that are not throttling pass through unmarked.
	fake.FailNext(1, http.StatusBadRequest, "AccessDeniedException")
	if _, err := s.Sign(ctx, ref, keys.EdDSA, []byte("m")); err == nil || errors.Is(err, domain.ErrThrottled) || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("AccessDeniedException: %v", err)
	}
}

// The Signer's own adaptive retryer applies even to a client built to never retry.
func TestDefaultRetryerOverridesClientRetryer(t *testing.T) {
	r, ok := DefaultRetryer().(*retry.AdaptiveMode)
	if !ok {
		t.Fatalf("DefaultRetryer is %T, want adaptive mode", DefaultRetryer())
	}
	if r.MaxAttempts() != DefaultMaxAttempts {
		t.Fatalf("MaxAttempts %d, want %d", r.MaxAttempts(), DefaultMaxAttempts)
	}

	fake := kmsfake.New()
	defer fake.Close()
	client := kms.NewFromConfig(awstest.Config(t, fake.URL), func(o *kms.Options) { o.Retryer = aws.NopRetryer{} })
	ctx := t.Context()
	ref, err := New(client).CreateKey(ctx, keys.EdDSA, "")
	if err != nil {
		t.Fatal(err)
	}
	fake.ThrottleNext(1)
	if _, err := New(client).Sign(ctx, ref, keys.EdDSA, []byte("m")); err != nil {
		t.Fatalf("Sign with default retryer after one throttle: %v", err)
	}
	fake.ThrottleNext(1)
	if _, err := New(client, WithRetryer(nil)).Sign(ctx, ref, keys.EdDSA, []byte("m")); !errors.Is(err, domain.ErrThrottled) {
		t.Fatalf("Sign with the client's no-retry retryer: %v, want ErrThrottled at once", err)
	}
}

func TestECDSADERToRaw(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("m"))
	for range 50 { // enough draws that some R or S is shorter than 32 bytes
		der, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		raw, err := ecdsaDERToRaw(der)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != 64 {
			t.Fatalf("raw signature of %d bytes", len(raw))
		}
		r, s := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
		if !ecdsa.Verify(&priv.PublicKey, digest[:], r, s) {
			t.Fatal("converted signature does not verify")
		}
	}
	// A short R must be left-padded, not shifted.
	short, _ := asn1.Marshal(struct{ R, S *big.Int }{big.NewInt(1), big.NewInt(2)})
	raw, err := ecdsaDERToRaw(short)
	if err != nil {
		t.Fatal(err)
	}
	if raw[31] != 1 || raw[63] != 2 || !bytes.Equal(raw[:31], make([]byte, 31)) {
		t.Fatalf("padding wrong: %x", raw)
	}

	n := elliptic.P256().Params().N
	bad := map[string][]byte{
		"not DER":  []byte("garbage"),
		"trailing": append(append([]byte{}, short...), 0),
		"zero R":   must(asn1.Marshal(struct{ R, S *big.Int }{big.NewInt(0), big.NewInt(2)})),
		"R = N":    must(asn1.Marshal(struct{ R, S *big.Int }{n, big.NewInt(2)})),
		"neg S":    must(asn1.Marshal(struct{ R, S *big.Int }{big.NewInt(1), big.NewInt(-2)})),
	}
	for name, der := range bad {
		if _, err := ecdsaDERToRaw(der); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestContextCancelStopsCall(t *testing.T) {
	s, _ := newFake(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.CreateKey(ctx, keys.EdDSA, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateKey with a cancelled context: %v", err)
	}
}
