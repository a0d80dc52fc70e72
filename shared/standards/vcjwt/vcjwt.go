// Package vcjwt signs, parses and verifies Open Badges 3.0 credentials in the JSON Web Token
// proof format (OB 3.0 §8.2 "JSON Web Token Proof Format", VC-JWT): a compact JWS whose
// payload is the credential itself, all its properties at the top level as OB 3.0 (aligned
// with VC Data Model 2.0) specifies, plus the registered claims iss, jti, sub, nbf and exp
// derived from it. Credentials in the VC 1.1 shape (the credential in a "vc" claim) are
// accepted when verifying.
package vcjwt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/credence-oss/credence/shared/standards/keys"
)

// MaxTokenSize bounds a compact JWS accepted by Parse. A large OB credential with embedded
// images and evidence is tens of kilobytes; 1 MiB leaves room for data: URLs without letting
// a hostile token cost much.
const MaxTokenSize = 1 << 20

// maxJSONDepth bounds the nesting of header and payload JSON (credentials nest about ten
// levels deep).
const maxJSONDepth = 64

// TypJWT is the typ OB 3.0 requires ("If present, MUST be set to 'JWT'").
const TypJWT = "JWT"

// The registered JWT claims OB 3.0 derives from the credential.
const (
	claimIss = "iss"
	claimJti = "jti"
	claimSub = "sub"
	claimNbf = "nbf"
	claimExp = "exp"
	claimIat = "iat"
	claimAud = "aud"
	claimVC  = "vc"
)

// ErrInvalidToken reports a token that is not a well-formed, acceptable compact JWS.
var ErrInvalidToken = errors.New("vcjwt: invalid token")

var b64 = base64.RawURLEncoding.Strict()

// SignOptions says how to sign: the algorithm, what the header names the key by (kid, jwk or
// both: at least one), the typ (default "JWT") and the signing function.
type SignOptions struct {
	Alg keys.Alg
	// Kid is a URI that dereferences to the public key, such as the issuer's did:web
	// verification method id.
	Kid string
	// JWK is the public key to embed in the header. It must not carry a private key.
	JWK *keys.JWK
	// Typ defaults to "JWT", the only value OB 3.0 allows.
	Typ  string
	Sign keys.SignFunc
}

// Header is the JOSE header Credence writes: nothing beyond these members.
type Header struct {
	Alg keys.Alg  `json:"alg"`
	Kid string    `json:"kid,omitempty"`
	JWK *keys.JWK `json:"jwk,omitempty"`
	Typ string    `json:"typ,omitempty"`
}

// Sign encodes the credential as a VC-JWT and signs it. The payload is the credential's
// properties plus iss (the issuer id; the issuer may be a string or a Profile object), jti
// (the credential id), sub (credentialSubject.id when there is one), nbf (validFrom in
// seconds) and exp (validUntil, only when set). VC 1.1 credentials' issuanceDate and
// expirationDate stand in for validFrom and validUntil. JSON is written by encoding/json, so
// the payload's members are in sorted order and the output is deterministic.
func Sign(ctx context.Context, credential map[string]any, opts SignOptions) (string, error) {
	if credential == nil {
		return "", errors.New("vcjwt: sign: no credential")
	}
	if opts.Sign == nil {
		return "", errors.New("vcjwt: sign: no signing function")
	}
	if err := checkAlg(opts.Alg); err != nil {
		return "", fmt.Errorf("vcjwt: sign: %w", err)
	}
	if opts.Kid == "" && opts.JWK == nil {
		return "", errors.New("vcjwt: sign: the header needs a kid or a jwk (OB 3.0 §8.2.2)")
	}
	if opts.JWK != nil && opts.JWK.D != "" {
		return "", errors.New("vcjwt: sign: the header jwk carries a private key")
	}
	typ := opts.Typ
	if typ == "" {
		typ = TypJWT
	}
	if err := checkTyp(typ); err != nil {
		return "", fmt.Errorf("vcjwt: sign: %w", err)
	}
	header := Header{Alg: opts.Alg, Kid: opts.Kid, JWK: opts.JWK, Typ: typ}

	claims, err := claimsFor(credential)
	if err != nil {
		return "", fmt.Errorf("vcjwt: sign: %w", err)
	}
	payload := make(map[string]any, len(credential)+len(claims))
	for k, v := range credential {
		payload[k] = v
	}
	for k, v := range claims {
		if old, ok := credential[k]; ok && !sameJSON(old, v) {
			return "", fmt.Errorf("vcjwt: sign: the credential has a %q property (%v) that differs from the claim derived from it (%v)", k, old, v)
		}
		payload[k] = v
	}

	hb, err := encodeJSON(header)
	if err != nil {
		return "", fmt.Errorf("vcjwt: sign: header: %w", err)
	}
	pb, err := encodeJSON(payload)
	if err != nil {
		return "", fmt.Errorf("vcjwt: sign: payload: %w", err)
	}
	signingInput := b64.EncodeToString(hb) + "." + b64.EncodeToString(pb)
	sig, err := opts.Sign(ctx, []byte(signingInput))
	if err != nil {
		return "", fmt.Errorf("vcjwt: sign: %w", err)
	}
	if err := checkSignatureLength(opts.Alg, sig); err != nil {
		return "", fmt.Errorf("vcjwt: sign: the signer returned %w", err)
	}
	return signingInput + "." + b64.EncodeToString(sig), nil
}

// claimsFor derives the registered claims from a credential.
func claimsFor(c map[string]any) (map[string]any, error) {
	claims := map[string]any{}
	iss, err := issuerID(c["issuer"])
	if err != nil {
		return nil, err
	}
	claims[claimIss] = iss
	id, ok := c["id"].(string)
	if !ok || id == "" {
		return nil, errors.New("the credential has no id (jti is required)")
	}
	claims[claimJti] = id
	if subs := subjectIDs(c["credentialSubject"]); len(subs) == 1 {
		claims[claimSub] = subs[0]
	}
	from, fromName, err := credentialTime(c, "validFrom", "issuanceDate")
	if err != nil {
		return nil, err
	}
	if from.IsZero() {
		return nil, errors.New("the credential has no validFrom (nbf is required)")
	}
	claims[claimNbf] = from.Unix()
	until, untilName, err := credentialTime(c, "validUntil", "expirationDate")
	if err != nil {
		return nil, err
	}
	if !until.IsZero() {
		if until.Before(from) {
			return nil, fmt.Errorf("%s is before %s", untilName, fromName)
		}
		claims[claimExp] = until.Unix()
	}
	return claims, nil
}

// issuerID reads the issuer: a URI string or an object with an id.
func issuerID(v any) (string, error) {
	switch iss := v.(type) {
	case string:
		if iss != "" {
			return iss, nil
		}
	case map[string]any:
		if id, ok := iss["id"].(string); ok && id != "" {
			return id, nil
		}
		return "", errors.New("the credential's issuer has no id")
	case nil:
		return "", errors.New("the credential has no issuer")
	}
	return "", fmt.Errorf("the credential's issuer must be a URI or an object with an id, not %T", v)
}

// subjectIDs lists the ids of the credential's subjects (one object or an array of them).
func subjectIDs(v any) []string {
	var ids []string
	add := func(s any) {
		if m, ok := s.(map[string]any); ok {
			if id, ok := m["id"].(string); ok && id != "" {
				ids = append(ids, id)
			}
		}
	}
	if list, ok := v.([]any); ok {
		for _, s := range list {
			add(s)
		}
	} else {
		add(v)
	}
	return ids
}

// credentialTime reads a date-time property (VC 2.0 name first, then the VC 1.1 name). A zero
// time means neither is present.
func credentialTime(c map[string]any, name, legacy string) (time.Time, string, error) {
	for _, n := range []string{name, legacy} {
		v, ok := c[n]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return time.Time{}, n, fmt.Errorf("%s must be a date-time string", n)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, n, fmt.Errorf("%s %q is not an RFC 3339 date-time with a time zone", n, s)
		}
		return t, n, nil
	}
	return time.Time{}, "", nil
}

func checkAlg(alg keys.Alg) error {
	switch alg {
	case keys.RS256, keys.ES256, keys.EdDSA:
		return nil
	case "":
		return errors.New("no alg")
	case "none":
		return errors.New(`alg "none" (an unsigned token) is refused`)
	}
	if strings.HasPrefix(string(alg), "HS") {
		return fmt.Errorf("alg %q is refused: symmetric (MAC) algorithms cannot prove who issued a credential", alg)
	}
	return fmt.Errorf("alg %q is not supported (RS256, ES256, EdDSA)", alg)
}

// acceptedTyps are the typ values accepted when parsing: OB 3.0's "JWT" and the media types of
// VC-JOSE-COSE and its drafts (RFC 7515 §4.1.9 lets "application/" be left out; compared
// case-insensitively). Other values name other token kinds and are refused, so a token
// minted for another purpose is not taken for a credential.
var acceptedTyps = map[string]bool{"jwt": true, "vc+jwt": true, "vc+ld+jwt": true}

func checkTyp(typ string) error {
	t := strings.TrimPrefix(strings.ToLower(typ), "application/")
	if !acceptedTyps[t] {
		return fmt.Errorf("typ %q is not a credential token type (JWT, vc+jwt)", typ)
	}
	return nil
}

// isOBTyp reports whether the typ follows OB 3.0 (absent or "JWT"), whose registered claims
// are required; VC-JOSE-COSE (vc+jwt) makes them optional.
func isOBTyp(typ string) bool { return typ == "" || strings.EqualFold(typ, TypJWT) }

func checkSignatureLength(alg keys.Alg, sig []byte) error {
	switch alg {
	case keys.ES256:
		if len(sig) != 64 {
			return fmt.Errorf("an ES256 signature of %d bytes (must be 64 bytes of raw R||S, not DER)", len(sig))
		}
	case keys.EdDSA:
		if len(sig) != 64 {
			return fmt.Errorf("an EdDSA signature of %d bytes (must be 64)", len(sig))
		}
	case keys.RS256:
		if len(sig) < 256 {
			return fmt.Errorf("an RS256 signature of %d bytes (a 2048-bit key gives 256)", len(sig))
		}
	}
	return nil
}

// encodeJSON is json.Marshal without HTML escaping (so "<" stays "<"), without the trailing
// newline of json.Encoder.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// sameJSON compares two values by their JSON encodings (numbers decoded as float64 compare
// equal to the int64 claims derived from them).
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// numericDate converts a NumericDate claim (seconds since the epoch, possibly fractional) to a
// time, refusing values no credential carries.
func numericDate(name string, v any) (time.Time, error) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case json.Number:
		var err error
		if f, err = n.Float64(); err != nil {
			return time.Time{}, fmt.Errorf("%s claim %q is not a number", name, n)
		}
	default:
		return time.Time{}, fmt.Errorf("%s claim must be a NumericDate (a number of seconds), not %T", name, v)
	}
	// Year 0 to 9999: what an RFC 3339 date-time can express.
	if math.IsNaN(f) || f < -62167219200 || f > 253402300799 {
		return time.Time{}, fmt.Errorf("%s claim %v is out of range", name, f)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
