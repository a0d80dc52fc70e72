package keys

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/big"
)

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() [256]int8 {
	var idx [256]int8
	for i := range idx {
		idx[i] = -1
	}
	for i, c := range base58Alphabet {
		idx[c] = int8(i)
	}
	return idx
}()

// Base58 encodes b in the Bitcoin base58 alphabet (multibase base58btc without the 'z').
func Base58(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// Each byte needs log(256)/log(58) ~ 1.37 digits.
	out := make([]byte, 0, len(b)*138/100+1)
	num := new(big.Int).SetBytes(b)
	base, mod := big.NewInt(58), new(big.Int)
	for num.Sign() > 0 {
		num.DivMod(num, base, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for i := 0; i < zeros; i++ {
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// ErrBase58 reports a character outside the base58btc alphabet.
var ErrBase58 = errors.New("keys: invalid base58btc")

// maxBase58 bounds decoding: the quadratic big.Int loop must not be fed megabytes of input.
const maxBase58 = 4096

// DecodeBase58 decodes a base58btc string.
func DecodeBase58(s string) ([]byte, error) {
	if len(s) > maxBase58 {
		return nil, fmt.Errorf("%w: %d characters is too long", ErrBase58, len(s))
	}
	num := new(big.Int)
	base := big.NewInt(58)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		v := base58Index[s[i]]
		if v < 0 {
			return nil, fmt.Errorf("%w: character %q", ErrBase58, s[i])
		}
		num.Mul(num, base)
		num.Add(num, big.NewInt(int64(v)))
	}
	return append(make([]byte, zeros), num.Bytes()...), nil
}

// Multibase base58btc: 'z' + base58btc.
func Multibase(b []byte) string { return "z" + Base58(b) }

// DecodeMultibase decodes a base58btc ('z') multibase string, the only base Data Integrity uses.
func DecodeMultibase(s string) ([]byte, error) {
	if len(s) == 0 || s[0] != 'z' {
		return nil, errors.New("keys: multibase value must be base58btc (start with 'z')")
	}
	return DecodeBase58(s[1:])
}

// ed25519Multicodec is the varint of multicodec 0xed (ed25519-pub).
var ed25519Multicodec = []byte{0xed, 0x01}

// Ed25519Multikey encodes an Ed25519 public key as a Multikey publicKeyMultibase (z6Mk…).
func Ed25519Multikey(pub ed25519.PublicKey) string {
	return Multibase(append(append([]byte{}, ed25519Multicodec...), pub...))
}

// ParseEd25519Multikey decodes a publicKeyMultibase holding an Ed25519 public key.
func ParseEd25519Multikey(s string) (ed25519.PublicKey, error) {
	raw, err := DecodeMultibase(s)
	if err != nil {
		return nil, err
	}
	if len(raw) != 2+ed25519.PublicKeySize || raw[0] != 0xed || raw[1] != 0x01 {
		return nil, errors.New("keys: publicKeyMultibase is not an Ed25519 Multikey (0xed01 + 32 bytes)")
	}
	return ed25519.PublicKey(raw[2:]), nil
}
