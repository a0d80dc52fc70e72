package domain

import (
	"context"
	"crypto"
	"errors"

	"github.com/credence-oss/credence/shared/standards/keys"
)

// KeyRef names one signing key inside a Signer: a KMS key id or ARN on AWS, a key id in the
// local key file in local mode. It is opaque to the domain.
type KeyRef string

// Signer is the port through which every credential, JWT and status list is signed. Private keys
// never leave it: on AWS they live in KMS.
type Signer interface {
	// CreateKey provisions a new key pair for alg (EdDSA: Ed25519, RS256: RSA-2048, ES256: P-256).
	CreateKey(ctx context.Context, alg keys.Alg, description string) (KeyRef, error)
	// Sign signs the full message. For RS256 and ES256 the implementation hashes it with
	// SHA-256; for EdDSA the message is signed as is (pure Ed25519). ES256 signatures are raw R||S.
	Sign(ctx context.Context, key KeyRef, alg keys.Alg, message []byte) ([]byte, error)
	// PublicKey returns the key's public half (ed25519.PublicKey, *rsa.PublicKey or *ecdsa.PublicKey).
	PublicKey(ctx context.Context, key KeyRef) (crypto.PublicKey, error)
}

// ErrKeyNotFound is returned by a Signer for a KeyRef it does not hold.
var ErrKeyNotFound = errors.New("signer: key not found")

// ErrThrottled is returned by a Signer when the key service asks us to slow down; callers retry
// with backoff rather than fail the credential.
var ErrThrottled = errors.New("signer: throttled")

// SignFunc binds a Signer to one key and algorithm, in the shape the standards packages take.
func SignFunc(s Signer, key KeyRef, alg keys.Alg) keys.SignFunc {
	return func(ctx context.Context, message []byte) ([]byte, error) {
		return s.Sign(ctx, key, alg, message)
	}
}
