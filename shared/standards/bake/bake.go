// Package bake embeds ("bakes") an Open Badges 3.0 credential into a PNG or SVG badge image and
// extracts it again, per OB 3.0 §"Baked Badge" (https://www.imsglobal.org/spec/ob/v3p0/#baked-badge):
// a PNG carries it in one iTXt chunk with keyword "openbadgecredential", an SVG in one
// <openbadges:credential> element (namespace https://purl.imsglobal.org/ob/v3p0) right after the
// root tag. The credential is the JSON text of a credential with an embedded proof, or the compact
// JWS of a VC-JWT. Extraction also reads the OB 2.0 names ("openbadges" chunk, <openbadges:assertion>
// in http://openbadges.org) and says so. Inputs are untrusted: sizes, nesting and decompression are
// bounded, and malformed images fail with an error, never a panic.
package bake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

const (
	// MaxImageBytes bounds the images read and written. Badge images are a few KB to a few
	// hundred KB; the bound is far above that and far below what would strain a Lambda.
	MaxImageBytes = 16 << 20
	// MaxCredentialBytes bounds a baked credential, compressed or not (a credential with an
	// embedded achievement image as a data URI can reach a few MB).
	MaxCredentialBytes = 8 << 20

	// KeywordOB3 is the PNG iTXt keyword of OB 3.0; KeywordOB2 the OB 2.0 one.
	KeywordOB3 = "openbadgecredential"
	KeywordOB2 = "openbadges"
	// NamespaceOB3 is the SVG namespace of the OB 3.0 credential element; NamespaceOB2 that of the
	// OB 2.0 assertion element.
	NamespaceOB3 = "https://purl.imsglobal.org/ob/v3p0"
	NamespaceOB2 = "http://openbadges.org"

	FormatPNG = "png"
	FormatSVG = "svg"
)

var (
	// ErrTooLarge marks an image or credential over the package's size bounds.
	ErrTooLarge = errors.New("bake: too large")
	// ErrMalformed marks an image whose structure is broken (bad chunk, bad CRC, bad XML, ...).
	ErrMalformed = errors.New("bake: malformed image")
	// ErrUnknownFormat marks input that is neither PNG nor SVG.
	ErrUnknownFormat = errors.New("bake: not a PNG or SVG image")
	// ErrNoCredential means the image carries no baked credential.
	ErrNoCredential = errors.New("bake: no baked credential in the image")
	// ErrDuplicate means the image carries more than one credential, which OB 3.0 forbids; which
	// one a displayer would show is anyone's guess, so none is trusted.
	ErrDuplicate = errors.New("bake: more than one baked credential")
	// ErrPayload marks a credential to bake that is neither a JSON object nor a compact JWS.
	ErrPayload = errors.New("bake: credential is neither a JSON object nor a compact JWS")
)

// Extracted is a credential found in an image.
type Extracted struct {
	Credential []byte // JSON text or compact JWS, whitespace-trimmed
	Format     string // FormatPNG or FormatSVG
	// Legacy is set when the credential was found only under the OB 2.0 name (PNG keyword
	// "openbadges", SVG <assertion> in http://openbadges.org): it is an OB 2.0 assertion, a JWS,
	// or the URL of a hosted assertion, not an OB 3.0 credential.
	Legacy bool
	// Compressed is set when a PNG iTXt chunk used zlib compression, which OB 3.0 forbids but
	// which readers of iTXt are expected to handle.
	Compressed bool
}

// Unbake extracts the credential of a PNG or SVG image, sniffing the format; format is FormatPNG
// or FormatSVG. Use Extract to learn whether it was found under a legacy name.
func Unbake(b []byte) (credential []byte, format string, err error) {
	e, err := Extract(b)
	return e.Credential, e.Format, err
}

// Extract is Unbake with the details.
func Extract(b []byte) (Extracted, error) {
	if bytes.HasPrefix(b, pngSignature) {
		return extractPNG(b)
	}
	rest := bytes.TrimLeft(bytes.TrimPrefix(b, utf8BOM), " \t\r\n")
	if len(rest) > 0 && rest[0] == '<' {
		return extractSVG(b)
	}
	return Extracted{}, ErrUnknownFormat
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// checkPayload validates a credential to bake and returns it trimmed, and whether it is a JWS.
// Baking something else would produce an image no verifier can use, so it is refused up front.
func checkPayload(cred []byte) (payload []byte, jws bool, err error) {
	p := bytes.TrimSpace(cred)
	switch {
	case len(p) == 0:
		return nil, false, fmt.Errorf("%w: empty", ErrPayload)
	case len(p) > MaxCredentialBytes:
		return nil, false, fmt.Errorf("%w: credential of %d bytes (limit %d)", ErrTooLarge, len(p), MaxCredentialBytes)
	case !utf8.Valid(p):
		return nil, false, fmt.Errorf("%w: not UTF-8", ErrPayload)
	case p[0] == '{':
		if !json.Valid(p) {
			return nil, false, fmt.Errorf("%w: invalid JSON", ErrPayload)
		}
		return p, false, nil
	}
	parts := bytes.Split(p, []byte("."))
	if len(parts) != 3 {
		return nil, false, fmt.Errorf("%w: a compact JWS has 3 dot-separated parts, this has %d", ErrPayload, len(parts))
	}
	for i, part := range parts {
		if len(part) == 0 || !isBase64URL(part) {
			return nil, false, fmt.Errorf("%w: JWS part %d is not base64url", ErrPayload, i+1)
		}
	}
	header, err := base64.RawURLEncoding.DecodeString(string(parts[0]))
	if err != nil || !json.Valid(header) {
		return nil, false, fmt.Errorf("%w: JWS header is not base64url JSON", ErrPayload)
	}
	return p, true, nil
}

func isBase64URL(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
