// Package keys holds the key formats the standards share: JOSE algorithm names, JSON Web Keys,
// Multikey (multibase, multicodec) Ed25519 public keys and base58btc. Pure encoding, no I/O.
package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
)

// Alg is a signature algorithm by its JOSE name.
type Alg string

// The algorithms Credence signs and verifies with.
const (
	EdDSA Alg = "EdDSA" // Ed25519 over the raw message (Data Integrity eddsa-rdfc-2022, VC-JWT)
	RS256 Alg = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256 (the OB 3.0 VC-JWT minimum)
	ES256 Alg = "ES256" // ECDSA P-256 with SHA-256, signature as raw R||S
)

// SignFunc signs a message with one key. The message is the full message: an implementation for
// RS256 or ES256 hashes it with SHA-256 itself; EdDSA signs it as is.
type SignFunc func(ctx context.Context, message []byte) ([]byte, error)

// JWK is a public JSON Web Key (RFC 7517) for the key types Credence handles.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	// D is never set by Credence; it is decoded only so a private key smuggled into a header
	// can be detected and refused.
	D string `json:"d,omitempty"`
}

var b64 = base64.RawURLEncoding

// ErrUnsupportedKey is returned for key types or curves Credence does not handle.
var ErrUnsupportedKey = errors.New("keys: unsupported key type")

// JWKFromPublic encodes a public key as a JWK.
func JWKFromPublic(pub crypto.PublicKey) (JWK, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(k)}, nil
	case *rsa.PublicKey:
		return JWK{Kty: "RSA", N: b64.EncodeToString(k.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return JWK{}, fmt.Errorf("%w: curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
		}
		raw, err := k.Bytes() // uncompressed point 0x04||X||Y
		if err != nil {
			return JWK{}, fmt.Errorf("keys: encode P-256 key: %w", err)
		}
		return JWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(raw[1:33]), Y: b64.EncodeToString(raw[33:65])}, nil
	}
	return JWK{}, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}

// PublicKey decodes the JWK into a Go public key, refusing private keys and malformed values.
func (j JWK) PublicKey() (crypto.PublicKey, error) {
	if j.D != "" {
		return nil, errors.New("keys: JWK carries a private key")
	}
	switch j.Kty {
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, fmt.Errorf("%w: OKP curve %q", ErrUnsupportedKey, j.Crv)
		}
		x, err := b64.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("keys: Ed25519 JWK x must be 32 bytes of base64url")
		}
		return ed25519.PublicKey(x), nil
	case "RSA":
		n, err := b64.DecodeString(j.N)
		if err != nil || len(n) == 0 {
			return nil, errors.New("keys: RSA JWK n is not base64url")
		}
		e, err := b64.DecodeString(j.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("keys: RSA JWK e is not a small base64url integer")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			return nil, fmt.Errorf("keys: RSA key of %d bits is too small (2048 minimum)", pub.N.BitLen())
		}
		return pub, nil
	case "EC":
		if j.Crv != "P-256" {
			return nil, fmt.Errorf("%w: EC curve %q", ErrUnsupportedKey, j.Crv)
		}
		x, errX := b64.DecodeString(j.X)
		y, errY := b64.DecodeString(j.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("keys: P-256 JWK x and y must be 32 bytes of base64url")
		}
		raw := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return nil, fmt.Errorf("keys: P-256 JWK is not a point on the curve: %w", err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("%w: kty %q", ErrUnsupportedKey, j.Kty)
}

// AlgFor names the JOSE algorithm a public key signs with.
func AlgFor(pub crypto.PublicKey) (Alg, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return EdDSA, nil
	case *rsa.PublicKey:
		return RS256, nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return ES256, nil
		}
	}
	return "", fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}
