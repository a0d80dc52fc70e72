package vcjwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/credence-oss/credence/shared/standards/did"
	"github.com/credence-oss/credence/shared/standards/keys"
)

// Token is a parsed VC-JWT. Parse fills everything but the fields Verify sets.
type Token struct {
	// Raw is the compact serialization.
	Raw    string
	Header Header
	// Payload is the JWT claims set as decoded JSON.
	Payload map[string]any
	// Credential is the credential the token secures: the payload without the registered JWT
	// claims (iss, sub, aud, exp, nbf, iat, jti), or, for a VC 1.1 token, the "vc" claim with
	// the properties the claims carry filled in where it lacks them (VC Data Model 1.1
	// §6.3.1), so it always reads as a complete credential.
	Credential map[string]any
	// LegacyVC reports a VC 1.1 token (credential in the "vc" claim).
	LegacyVC bool
	// Claims are the registered claims as found in the payload.
	Claims Claims
	// SigningInput is BASE64URL(header) "." BASE64URL(payload), the signed bytes.
	SigningInput string
	Signature    []byte

	// Set by Verify:

	// Key is the key that verified the signature. Key.Controller is what a verifier binds
	// to the credential's issuer; it is empty when the key came from the header's jwk alone
	// or from a bare JWK or JWK set, which name no controller.
	Key did.Key
	// KeySource says where the key came from: "kid" (resolved) or "jwk" (the header).
	KeySource string
	// ValidFrom and ValidUntil are the credential's validity window (from validFrom /
	// validUntil, their VC 1.1 names, or the nbf / exp claims); zero when absent. Verify
	// checks them against each other but does not judge them against the clock.
	ValidFrom, ValidUntil time.Time
}

// Claims are the registered JWT claims of a token; empty or zero when absent.
type Claims struct {
	Issuer    string
	ID        string
	Subject   string
	NotBefore time.Time
	Expires   time.Time
	// Present records which claims the payload holds (by claim name).
	Present map[string]bool
}

// Parse splits and decodes a compact JWS strictly: three non-empty base64url parts (no
// padding, canonical encoding), at most MaxTokenSize, a JSON-object header with an alg of
// RS256, ES256 or EdDSA, no crit, no private key in jwk, a credential typ, and a JSON-object
// payload. (That the header names its key, by kid or jwk, is checked by Verify.) Duplicate member names anywhere in the header or payload are refused: two
// parsers reading one token differently is how signatures get bypassed. Parse does not check
// the signature: use Verify.
func Parse(token string) (*Token, error) {
	parts, err := split(token)
	if err != nil {
		return nil, err
	}
	t := &Token{Raw: strings.TrimSpace(token), SigningInput: parts.signingInput, Signature: parts.signature}
	if t.Header, err = parseHeader(parts.header); err != nil {
		return nil, err
	}
	if err := checkSignatureLength(t.Header.Alg, t.Signature); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if err := checkJSON(parts.payload); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrInvalidToken, err)
	}
	if err := json.Unmarshal(parts.payload, &t.Payload); err != nil || t.Payload == nil {
		return nil, fmt.Errorf("%w: payload is not a JSON object", ErrInvalidToken)
	}
	if t.Claims, err = readClaims(t.Payload); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if t.Credential, t.LegacyVC, err = credentialOf(t.Payload, t.Claims); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return t, nil
}

// jws is a split compact JWS.
type jws struct {
	header, payload []byte
	signingInput    string
	signature       []byte
}

// split decodes the three parts of a compact JWS without interpreting them.
func split(token string) (jws, error) {
	if len(token) > MaxTokenSize {
		return jws{}, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrInvalidToken, len(token), MaxTokenSize)
	}
	token = strings.TrimSpace(token)
	if strings.Count(token, ".") != 2 {
		return jws{}, fmt.Errorf("%w: a compact JWS has exactly three dot-separated parts", ErrInvalidToken)
	}
	p := strings.SplitN(token, ".", 3)
	names := [3]string{"header", "payload", "signature"}
	var dec [3][]byte
	for i, s := range p {
		if s == "" {
			return jws{}, fmt.Errorf("%w: empty %s (detached payloads and unsigned tokens are refused)", ErrInvalidToken, names[i])
		}
		b, err := b64.DecodeString(s)
		if err != nil {
			return jws{}, fmt.Errorf("%w: %s is not unpadded base64url: %v", ErrInvalidToken, names[i], err)
		}
		dec[i] = b
	}
	return jws{header: dec[0], payload: dec[1], signingInput: p[0] + "." + p[1], signature: dec[2]}, nil
}

// parseHeader decodes and checks the JOSE header.
func parseHeader(b []byte) (Header, error) {
	if err := checkJSON(b); err != nil {
		return Header{}, fmt.Errorf("%w: header: %v", ErrInvalidToken, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return Header{}, fmt.Errorf("%w: header is not a JSON object", ErrInvalidToken)
	}
	if _, ok := raw["crit"]; ok {
		return Header{}, fmt.Errorf("%w: header has crit: no critical extensions are understood", ErrInvalidToken)
	}
	var h Header
	var alg any
	if err := json.Unmarshal(raw["alg"], &alg); err != nil || alg == nil {
		return Header{}, fmt.Errorf("%w: header has no alg", ErrInvalidToken)
	}
	s, ok := alg.(string)
	if !ok {
		return Header{}, fmt.Errorf("%w: alg must be a string", ErrInvalidToken)
	}
	h.Alg = keys.Alg(s)
	if err := checkAlg(h.Alg); err != nil {
		return Header{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if v, ok := raw["kid"]; ok {
		if err := json.Unmarshal(v, &h.Kid); err != nil || h.Kid == "" {
			return Header{}, fmt.Errorf("%w: kid must be a non-empty string", ErrInvalidToken)
		}
	}
	if v, ok := raw["typ"]; ok {
		if err := json.Unmarshal(v, &h.Typ); err != nil {
			return Header{}, fmt.Errorf("%w: typ must be a string", ErrInvalidToken)
		}
		if err := checkTyp(h.Typ); err != nil {
			return Header{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
		}
	}
	if v, ok := raw["jwk"]; ok {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(v, &members); err != nil || members == nil {
			return Header{}, fmt.Errorf("%w: jwk must be a JSON object", ErrInvalidToken)
		}
		for _, m := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := members[m]; ok {
				return Header{}, fmt.Errorf("%w: the header jwk carries private or symmetric key material (%q)", ErrInvalidToken, m)
			}
		}
		h.JWK = new(keys.JWK)
		if err := json.Unmarshal(v, h.JWK); err != nil {
			return Header{}, fmt.Errorf("%w: jwk: %v", ErrInvalidToken, err)
		}
	}
	return h, nil
}

// readClaims reads the registered claims, checking their JSON types.
func readClaims(p map[string]any) (Claims, error) {
	c := Claims{Present: map[string]bool{}}
	for name, dst := range map[string]*string{claimIss: &c.Issuer, claimJti: &c.ID, claimSub: &c.Subject} {
		v, ok := p[name]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return Claims{}, fmt.Errorf("%s claim must be a string", name)
		}
		*dst = s
		c.Present[name] = true
	}
	for name, dst := range map[string]*time.Time{claimNbf: &c.NotBefore, claimExp: &c.Expires} {
		v, ok := p[name]
		if !ok {
			continue
		}
		t, err := numericDate(name, v)
		if err != nil {
			return Claims{}, err
		}
		*dst = t
		c.Present[name] = true
	}
	return c, nil
}

// credentialOf extracts the credential from the payload.
func credentialOf(p map[string]any, c Claims) (map[string]any, bool, error) {
	if v, ok := p[claimVC]; ok {
		vc, ok := v.(map[string]any)
		if !ok {
			return nil, false, errors.New("vc claim must be a JSON object")
		}
		cred := make(map[string]any, len(vc)+4)
		for k, v := range vc {
			cred[k] = v
		}
		// VC 1.1 §6.3.1 (JWT decoding): claims stand in for the properties they replace.
		if _, ok := cred["issuer"]; !ok && c.Issuer != "" {
			cred["issuer"] = c.Issuer
		}
		if _, ok := cred["id"]; !ok && c.ID != "" {
			cred["id"] = c.ID
		}
		if _, ok := cred["issuanceDate"]; !ok && c.Present[claimNbf] {
			if _, ok := cred["validFrom"]; !ok {
				cred["issuanceDate"] = c.NotBefore.Format(time.RFC3339)
			}
		}
		if _, ok := cred["expirationDate"]; !ok && c.Present[claimExp] {
			if _, ok := cred["validUntil"]; !ok {
				cred["expirationDate"] = c.Expires.Format(time.RFC3339)
			}
		}
		if subj, ok := cred["credentialSubject"].(map[string]any); ok && c.Subject != "" {
			if _, ok := subj["id"]; !ok {
				s := make(map[string]any, len(subj)+1)
				for k, v := range subj {
					s[k] = v
				}
				s["id"] = c.Subject
				cred["credentialSubject"] = s
			}
		}
		return cred, true, nil
	}
	cred := make(map[string]any, len(p))
	for k, v := range p {
		switch k {
		case claimIss, claimSub, claimAud, claimExp, claimNbf, claimIat, claimJti:
			continue
		}
		cred[k] = v
	}
	return cred, false, nil
}

// checkJSON walks a JSON document, refusing duplicate object member names, nesting deeper
// than maxJSONDepth and trailing data.
func checkJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := walkJSON(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func walkJSON(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("malformed JSON: %v", err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return fmt.Errorf("malformed JSON: %v", err)
			}
			k, _ := kt.(string)
			if seen[k] {
				return fmt.Errorf("duplicate member %q", k)
			}
			seen[k] = true
			if err := walkJSON(dec, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := walkJSON(dec, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return fmt.Errorf("malformed JSON: %v", err)
	}
	return nil
}
