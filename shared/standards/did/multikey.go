package did

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"fmt"
	"strings"

	"github.com/credence-oss/credence/shared/standards/keys"
)

// Multicodec varint prefixes of the public key types did:key and Multikey carry. The
// shared keys package handles Ed25519; P-256 is here until it moves there.
var (
	multicodecEd25519 = []byte{0xed, 0x01} // ed25519-pub
	multicodecP256    = []byte{0x80, 0x24} // p256-pub (0x1200), compressed SEC1 point
)

// named multicodec prefixes, for an error that says which key type was refused.
var otherMulticodecs = map[[2]byte]string{
	{0xe7, 0x01}: "secp256k1-pub",
	{0x81, 0x24}: "p384-pub",
	{0x82, 0x24}: "p521-pub",
	{0x85, 0x24}: "rsa-pub",
	{0xec, 0x01}: "x25519-pub",
	{0xeb, 0x01}: "bls12_381-g2-pub",
}

// Multikey encodes an Ed25519 or P-256 public key as a publicKeyMultibase value (z6Mk… or
// zDn…).
func Multikey(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("%w: Ed25519 key of %d bytes", ErrMalformedKey, len(k))
		}
		return keys.Ed25519Multikey(k), nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve != elliptic.P256() {
			return "", fmt.Errorf("%w: only P-256 ECDSA keys", ErrUnsupported)
		}
		raw, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrMalformedKey, err)
		}
		compressed := make([]byte, 0, 2+33)
		compressed = append(compressed, multicodecP256...)
		compressed = append(compressed, 2|raw[64]&1)
		compressed = append(compressed, raw[1:33]...)
		return keys.Multibase(compressed), nil
	}
	return "", fmt.Errorf("%w: %T", ErrUnsupported, pub)
}

// ParseMultikey decodes a publicKeyMultibase holding an Ed25519 or a compressed P-256 key.
func ParseMultikey(mb string) (crypto.PublicKey, error) {
	raw, err := keys.DecodeMultibase(mb)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	if len(raw) < 2 {
		return nil, fmt.Errorf("%w: multikey too short", ErrMalformedKey)
	}
	prefix, body := [2]byte{raw[0], raw[1]}, raw[2:]
	switch prefix {
	case [2]byte(multicodecEd25519):
		if len(body) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 multikey must hold 32 bytes, has %d", ErrMalformedKey, len(body))
		}
		return ed25519.PublicKey(body), nil
	case [2]byte(multicodecP256):
		return decompressP256(body)
	}
	if name, ok := otherMulticodecs[prefix]; ok {
		return nil, fmt.Errorf("%w: multikey type %s", ErrUnsupported, name)
	}
	return nil, fmt.Errorf("%w: unknown multicodec prefix %x", ErrUnsupported, raw[:2])
}

// decompressP256 parses a 33-byte compressed SEC1 point, refusing points off the curve.
func decompressP256(b []byte) (*ecdsa.PublicKey, error) {
	if len(b) != 33 || (b[0] != 2 && b[0] != 3) {
		return nil, fmt.Errorf("%w: P-256 multikey must be a 33-byte compressed point", ErrMalformedKey)
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), b)
	if x == nil {
		return nil, fmt.Errorf("%w: P-256 multikey is not a point on the curve", ErrMalformedKey)
	}
	raw := make([]byte, 65)
	raw[0] = 4
	x.FillBytes(raw[1:33])
	y.FillBytes(raw[33:65])
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return nil, fmt.Errorf("%w: P-256 multikey: %v", ErrMalformedKey, err)
	}
	return pub, nil
}

// KeyDID returns the did:key DID of an Ed25519 or P-256 public key.
func KeyDID(pub crypto.PublicKey) (string, error) {
	mb, err := Multikey(pub)
	if err != nil {
		return "", err
	}
	return "did:key:" + mb, nil
}

// resolveDIDKey decodes did:key:<multibase>[#<multibase>] without any network access.
func resolveDIDKey(did, fragment string) (Key, error) {
	mb := strings.TrimPrefix(did, "did:key:")
	if mb == "" || strings.ContainsAny(mb, ":/?") {
		return Key{}, fmt.Errorf("%w: %q is not did:key:<multibase>", ErrInvalidDID, did)
	}
	if fragment != "" && fragment != mb {
		return Key{}, fmt.Errorf("%w: did:key verification method must be %s#%s, not #%s", ErrNotFound, did, mb, fragment)
	}
	pub, err := ParseMultikey(mb)
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", did, err)
	}
	return Key{ID: did + "#" + mb, Controller: did, Public: pub, AssertionMethod: true}, nil
}
