// Package kmskeys is the AWS Signer: every issuer key is an asymmetric AWS KMS key, so private
// keys never leave KMS.
//
//	EdDSA  KMS ECC_NIST_EDWARDS25519, ED25519_SHA_512, MessageType RAW (pure Ed25519)
//	RS256  KMS RSA_2048, RSASSA_PKCS1_V1_5_SHA_256 over the SHA-256 digest (MessageType DIGEST)
//	ES256  KMS ECC_NIST_P256, ECDSA_SHA_256 over the SHA-256 digest; KMS's DER signature is
//	       converted to the raw R||S that JOSE wants
//
// Retries: every call goes through one adaptive-mode SDK retryer owned by the Signer (see
// DefaultRetryer), whatever retryer the client was built with, because the KMS Sign quota is what
// limits bulk issuance and adaptive mode slows the whole process down when KMS throttles instead
// of letting each call retry blindly. When retries are exhausted the error wraps
// domain.ErrThrottled, so the queue consumer can hand the message back for a later attempt.
package kmskeys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/standards/keys"
)

// The tag every key created here carries. The deployed IAM policy allows kms:CreateKey only with
// this tag in the request and kms:Sign / kms:GetPublicKey only on keys that carry it, so the
// functions cannot use any other key in the account.
const (
	ManagedTagKey   = "credence:managed"
	ManagedTagValue = "true"
	// AlgTagKey records which JOSE algorithm a key was made for, for operators reading the console.
	AlgTagKey = "credence:alg"
)

// MaxRawMessage is the largest message KMS signs with MessageType RAW. Only EdDSA is signed raw
// (KMS has no pure-Ed25519 digest mode), so EdDSA messages are limited to it; Data Integrity
// proofs sign 64 bytes, far below.
const MaxRawMessage = 4096

// Retry settings of DefaultRetryer.
const (
	DefaultMaxAttempts = 5
	DefaultMaxBackoff  = 5 * time.Second
)

// ErrAlgMismatch is returned when a key cannot sign with the requested algorithm (KMS answers
// InvalidKeyUsageException, or the cached public key already tells).
var ErrAlgMismatch = errors.New("kmskeys: key cannot sign with this algorithm")

// ErrUnsupportedAlg is returned for an algorithm other than EdDSA, RS256 or ES256.
var ErrUnsupportedAlg = errors.New("kmskeys: unsupported algorithm")

// Signer is a domain.Signer on AWS KMS. It is safe for concurrent use.
type Signer struct {
	client   *kms.Client
	tags     []types.Tag
	callOpts []func(*kms.Options)

	mu   sync.RWMutex
	pubs map[domain.KeyRef]crypto.PublicKey // public keys never change, so they are cached forever
}

var _ domain.Signer = (*Signer)(nil)

// Option configures a Signer.
type Option func(*config)

type config struct {
	extraTags map[string]string
	retryer   aws.Retryer
	ownRetry  bool
}

// WithTags adds tags to every key CreateKey makes (for cost allocation, ownership...). The managed
// tag is always set and cannot be overridden.
func WithTags(tags map[string]string) Option {
	return func(c *config) {
		if c.extraTags == nil {
			c.extraTags = map[string]string{}
		}
		for k, v := range tags {
			c.extraTags[k] = v
		}
	}
}

// WithRetryer replaces DefaultRetryer for every call. WithRetryer(nil) keeps the retryer the
// kms.Client was built with.
func WithRetryer(r aws.Retryer) Option {
	return func(c *config) {
		c.retryer = r
		c.ownRetry = r == nil
	}
}

// DefaultRetryer is the SDK's adaptive retry mode (RetryModeAdaptive: a client-side token bucket
// whose rate drops when KMS throttles and recovers as calls succeed, on top of the standard
// exponential backoff with jitter), with DefaultMaxAttempts attempts per call and backoff capped at
// DefaultMaxBackoff so a throttled call gives up within a Lambda's time and its queue message is
// retried later instead.
func DefaultRetryer() aws.Retryer {
	return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
		o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
			so.MaxAttempts = DefaultMaxAttempts
			so.MaxBackoff = DefaultMaxBackoff
		})
	})
}

// New returns a Signer that uses client. One Signer per process: its retryer's rate estimate is
// shared by all calls made through it.
func New(client *kms.Client, opts ...Option) *Signer {
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	s := &Signer{client: client, pubs: map[domain.KeyRef]crypto.PublicKey{}}

	names := make([]string, 0, len(c.extraTags))
	for k := range c.extraTags {
		if k != ManagedTagKey && k != AlgTagKey {
			names = append(names, k)
		}
	}
	sort.Strings(names) // stable requests make the tag list easy to check in tests and logs
	s.tags = append(s.tags, types.Tag{TagKey: aws.String(ManagedTagKey), TagValue: aws.String(ManagedTagValue)})
	for _, k := range names {
		s.tags = append(s.tags, types.Tag{TagKey: aws.String(k), TagValue: aws.String(c.extraTags[k])})
	}

	if !c.ownRetry {
		r := c.retryer
		if r == nil {
			r = DefaultRetryer()
		}
		s.callOpts = append(s.callOpts, func(o *kms.Options) { o.Retryer = r })
	}
	return s
}

func keySpec(alg keys.Alg) (types.KeySpec, error) {
	switch alg {
	case keys.EdDSA:
		return types.KeySpecEccNistEdwards25519, nil
	case keys.RS256:
		return types.KeySpecRsa2048, nil
	case keys.ES256:
		return types.KeySpecEccNistP256, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnsupportedAlg, alg)
}

// CreateKey creates an asymmetric SIGN_VERIFY KMS key for alg, tagged as managed by Credence, and
// returns its ARN.
func (s *Signer) CreateKey(ctx context.Context, alg keys.Alg, description string) (domain.KeyRef, error) {
	spec, err := keySpec(alg)
	if err != nil {
		return "", err
	}
	tags := append(append([]types.Tag{}, s.tags...),
		types.Tag{TagKey: aws.String(AlgTagKey), TagValue: aws.String(string(alg))})
	in := &kms.CreateKeyInput{
		KeySpec:  spec,
		KeyUsage: types.KeyUsageTypeSignVerify,
		Tags:     tags,
	}
	if description != "" {
		in.Description = aws.String(description)
	}
	out, err := s.client.CreateKey(ctx, in, s.callOpts...)
	if err != nil {
		return "", mapErr(err, "create %s key", spec)
	}
	if out.KeyMetadata == nil {
		return "", fmt.Errorf("kmskeys: create %s key: response without key metadata", spec)
	}
	switch {
	case out.KeyMetadata.Arn != nil && *out.KeyMetadata.Arn != "":
		return domain.KeyRef(*out.KeyMetadata.Arn), nil
	case out.KeyMetadata.KeyId != nil && *out.KeyMetadata.KeyId != "":
		return domain.KeyRef(*out.KeyMetadata.KeyId), nil
	}
	return "", fmt.Errorf("kmskeys: create %s key: response names no key", spec)
}

// Sign signs message with key. See the package comment for how each algorithm maps onto KMS.
func (s *Signer) Sign(ctx context.Context, key domain.KeyRef, alg keys.Alg, message []byte) ([]byte, error) {
	if key == "" {
		return nil, fmt.Errorf("kmskeys: sign: empty key ref: %w", domain.ErrKeyNotFound)
	}
	in := &kms.SignInput{KeyId: aws.String(string(key))}
	switch alg {
	case keys.EdDSA:
		// KMS refuses empty messages and RAW messages over 4 KiB; say so here rather than
		// relay a ValidationException.
		if len(message) == 0 || len(message) > MaxRawMessage {
			return nil, fmt.Errorf("kmskeys: EdDSA message of %d bytes: KMS signs raw messages of 1 to %d bytes", len(message), MaxRawMessage)
		}
		in.Message = message
		in.MessageType = types.MessageTypeRaw
		in.SigningAlgorithm = types.SigningAlgorithmSpecEd25519Sha512
	case keys.RS256:
		digest := sha256.Sum256(message)
		in.Message = digest[:]
		in.MessageType = types.MessageTypeDigest
		in.SigningAlgorithm = types.SigningAlgorithmSpecRsassaPkcs1V15Sha256
	case keys.ES256:
		digest := sha256.Sum256(message)
		in.Message = digest[:]
		in.MessageType = types.MessageTypeDigest
		in.SigningAlgorithm = types.SigningAlgorithmSpecEcdsaSha256
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlg, alg)
	}
	if pub, ok := s.cached(key); ok {
		if have, err := keys.AlgFor(pub); err == nil && have != alg {
			return nil, fmt.Errorf("%w: %s is an %s key, asked for %s", ErrAlgMismatch, key, have, alg)
		}
	}
	out, err := s.client.Sign(ctx, in, s.callOpts...)
	if err != nil {
		return nil, mapErr(err, "sign with %s as %s", key, alg)
	}
	if len(out.Signature) == 0 {
		return nil, fmt.Errorf("kmskeys: sign with %s: empty signature in response", key)
	}
	if alg == keys.ES256 {
		raw, err := ecdsaDERToRaw(out.Signature)
		if err != nil {
			return nil, fmt.Errorf("kmskeys: sign with %s: %w", key, err)
		}
		return raw, nil
	}
	return out.Signature, nil
}

// PublicKey returns key's public half (ed25519.PublicKey, *rsa.PublicKey or *ecdsa.PublicKey),
// from KMS the first time and from memory afterwards.
func (s *Signer) PublicKey(ctx context.Context, key domain.KeyRef) (crypto.PublicKey, error) {
	if pub, ok := s.cached(key); ok {
		return pub, nil
	}
	if key == "" {
		return nil, fmt.Errorf("kmskeys: public key: empty key ref: %w", domain.ErrKeyNotFound)
	}
	out, err := s.client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(string(key))}, s.callOpts...)
	if err != nil {
		return nil, mapErr(err, "get public key of %s", key)
	}
	if out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("kmskeys: %s has key usage %s, not SIGN_VERIFY", key, out.KeyUsage)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("kmskeys: public key of %s: %w", key, err)
	}
	if err := checkSpec(out.KeySpec, pub); err != nil {
		return nil, fmt.Errorf("kmskeys: public key of %s: %w", key, err)
	}
	s.mu.Lock()
	s.pubs[key] = pub
	s.mu.Unlock()
	return pub, nil
}

func (s *Signer) cached(key domain.KeyRef) (crypto.PublicKey, bool) {
	s.mu.RLock()
	pub, ok := s.pubs[key]
	s.mu.RUnlock()
	return pub, ok
}

// checkSpec refuses a key whose parsed type disagrees with the key spec KMS reports, or whose spec
// Credence does not sign with, so a wrong key cannot end up published in a DID document.
func checkSpec(spec types.KeySpec, pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if spec == types.KeySpecEccNistEdwards25519 {
			return nil
		}
	case *rsa.PublicKey:
		if spec == types.KeySpecRsa2048 || spec == types.KeySpecRsa3072 || spec == types.KeySpecRsa4096 {
			return nil
		}
	case *ecdsa.PublicKey:
		if spec == types.KeySpecEccNistP256 && k.Curve == elliptic.P256() {
			return nil
		}
	}
	return fmt.Errorf("%w: key spec %s with a %T public key", keys.ErrUnsupportedKey, spec, pub)
}

// ecdsaDERToRaw turns KMS's ASN.1 ECDSA-Sig-Value into the fixed 32+32-byte R||S of JWS ES256.
func ecdsaDERToRaw(der []byte) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil {
		return nil, fmt.Errorf("ECDSA signature is not DER: %w", err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("ECDSA signature has %d trailing bytes", len(rest))
	}
	n := elliptic.P256().Params().N
	for _, v := range []*big.Int{sig.R, sig.S} {
		if v.Sign() <= 0 || v.Cmp(n) >= 0 {
			return nil, errors.New("ECDSA signature value out of range for P-256")
		}
	}
	out := make([]byte, 64)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}

// throttleCodes are the KMS error codes that mean "slow down and try again": request-rate
// throttling, quota limits, and KMS's own transient failures.
var throttleCodes = map[string]bool{
	"ThrottlingException":      true,
	"LimitExceededException":   true,
	"KMSInternalException":     true,
	"TooManyRequestsException": true,
}

// mapErr wraps an SDK error with context and, where callers act on the kind, a domain sentinel.
func mapErr(err error, format string, args ...any) error {
	msg := "kmskeys: " + fmt.Sprintf(format, args...)
	var nf *types.NotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("%s: %w: %w", msg, domain.ErrKeyNotFound, err)
	}
	var iku *types.InvalidKeyUsageException
	if errors.As(err, &iku) {
		return fmt.Errorf("%s: %w: %w", msg, ErrAlgMismatch, err)
	}
	if isThrottle(err) {
		return fmt.Errorf("%s: %w: %w", msg, domain.ErrThrottled, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

func isThrottle(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && throttleCodes[apiErr.ErrorCode()] {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	return errors.As(err, &status) && status.HTTPStatusCode() == 429
}
