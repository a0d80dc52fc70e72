package vcjwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/credence-oss/credence/shared/standards/did"
	"github.com/credence-oss/credence/shared/standards/keys"
)

// ErrSignature reports a signature that does not verify with the token's key.
var ErrSignature = errors.New("vcjwt: signature does not verify")

// ErrClaimMismatch reports registered claims that disagree with the credential they secure.
var ErrClaimMismatch = errors.New("vcjwt: JWT claims do not match the credential")

// KeyResolver resolves a header kid to a public key. did.Resolver satisfies it (did:web,
// did:key, did:jwk, https JWKs and controller documents).
type KeyResolver interface {
	ResolveKey(ctx context.Context, kid string) (did.Key, error)
}

// Verify parses the token, finds its key, checks the signature and checks the JWT claims
// against the credential. It returns the token with Key, KeySource, ValidFrom and
// ValidUntil set.
//
// Which key: with a kid that is a DID URL or an http(s) URL, the kid is resolved through r
// (a nil r resolves did:key and did:jwk only) and, if the header also carries a jwk, the jwk
// must be that same key; the resolved key is used, so the result names a controller. Only a
// header with a jwk and no resolvable kid (none, or an opaque string such as "key-1") is
// verified with the jwk alone, and then the result names no controller. A kid that is a URL
// but does not resolve is an error even when a jwk is present: falling back to a key the
// token carries itself would let anyone sign.
//
// The key must fit the alg (an RSA key cannot verify an EdDSA token; ES256 needs P-256),
// RSA keys must have at least 2048 bits, and a resolved key must be one its controller lets
// assert claims (assertionMethod).
//
// Claims: iss must equal the issuer id, jti the credential id, sub a credentialSubject id,
// nbf validFrom and exp validUntil (to the second), when both sides are present. A token with
// typ "JWT" or none (OB 3.0) must also carry iss, and jti, sub, nbf and exp wherever the
// credential has the property they mirror; a VC-JOSE-COSE token (typ vc+jwt) need not. The
// validity window itself is not judged here: a verifier compares ValidFrom and ValidUntil
// with its clock.
func Verify(ctx context.Context, token string, r KeyResolver) (*Token, error) {
	t, err := Parse(token)
	if err != nil {
		return nil, err
	}
	if err := t.resolveKey(ctx, r); err != nil {
		return nil, err
	}
	if err := t.VerifySignature(t.Key.Public); err != nil {
		return nil, err
	}
	if err := t.checkClaims(); err != nil {
		return nil, err
	}
	return t, nil
}

// resolveKey picks the verification key as Verify documents.
func (t *Token) resolveKey(ctx context.Context, r KeyResolver) error {
	kid := t.Header.Kid
	if isResolvable(kid) {
		if r == nil {
			r = did.Resolver{}
		}
		k, err := r.ResolveKey(ctx, kid)
		if err != nil {
			return fmt.Errorf("vcjwt: resolve kid %q: %w", kid, err)
		}
		if k.Public == nil {
			return fmt.Errorf("vcjwt: resolve kid %q: no key returned", kid)
		}
		if !k.AssertionMethod {
			return fmt.Errorf("vcjwt: key %q is not an assertion method of %q: its controller does not let it sign credentials", k.ID, k.Controller)
		}
		if t.Header.JWK != nil {
			hk, err := t.Header.JWK.PublicKey()
			if err != nil {
				return fmt.Errorf("vcjwt: header jwk: %w", err)
			}
			if !sameKey(hk, k.Public) {
				return fmt.Errorf("vcjwt: the header jwk is not the key its kid %q resolves to", kid)
			}
		}
		t.Key, t.KeySource = k, "kid"
		return nil
	}
	if t.Header.JWK == nil {
		if kid == "" {
			return fmt.Errorf("%w: the header names no key (neither kid nor jwk)", ErrInvalidToken)
		}
		return fmt.Errorf("vcjwt: kid %q is neither a DID URL nor an https URL, and the header has no jwk", kid)
	}
	pub, err := t.Header.JWK.PublicKey()
	if err != nil {
		return fmt.Errorf("vcjwt: header jwk: %w", err)
	}
	t.Key, t.KeySource = did.Key{ID: kid, Public: pub}, "jwk"
	return nil
}

func isResolvable(kid string) bool {
	l := strings.ToLower(kid)
	return strings.HasPrefix(l, "did:") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}

func sameKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// VerifySignature checks the token's signature with pub, which must suit the token's alg.
func (t *Token) VerifySignature(pub crypto.PublicKey) error {
	return verifySignature(t.Header.Alg, pub, []byte(t.SigningInput), t.Signature)
}

func verifySignature(alg keys.Alg, pub crypto.PublicKey, signingInput, sig []byte) error {
	switch alg {
	case keys.RS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok || k == nil {
			return fmt.Errorf("%w: alg RS256 needs an RSA key, the key is %s", ErrSignature, keyKind(pub))
		}
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("%w: RSA key of %d bits (2048 minimum)", ErrSignature, k.N.BitLen())
		}
		h := sha256.Sum256(signingInput)
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig); err != nil {
			return ErrSignature
		}
	case keys.ES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k == nil || k.Curve != elliptic.P256() {
			return fmt.Errorf("%w: alg ES256 needs a P-256 key, the key is %s", ErrSignature, keyKind(pub))
		}
		if len(sig) != 64 {
			return fmt.Errorf("%w: ES256 signature must be 64 bytes", ErrSignature)
		}
		h := sha256.Sum256(signingInput)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(k, h[:], r, s) {
			return ErrSignature
		}
	case keys.EdDSA:
		k, ok := pub.(ed25519.PublicKey)
		if !ok || len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: alg EdDSA needs an Ed25519 key, the key is %s", ErrSignature, keyKind(pub))
		}
		if !ed25519.Verify(k, signingInput, sig) {
			return ErrSignature
		}
	default:
		return fmt.Errorf("%w: %v", ErrSignature, checkAlg(alg))
	}
	return nil
}

func keyKind(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case ed25519.PublicKey:
		return "Ed25519"
	case *ecdsa.PublicKey:
		if k != nil && k.Curve != nil {
			return "ECDSA " + k.Curve.Params().Name
		}
	case nil:
		return "missing"
	}
	return fmt.Sprintf("%T", pub)
}

// checkClaims compares the registered claims with the credential and sets the validity
// window.
func (t *Token) checkClaims() error {
	c, cl := t.Credential, t.Claims
	strict := isOBTyp(t.Header.Typ)
	var problems []string
	mismatch := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	iss, issErr := issuerID(c["issuer"])
	switch {
	case issErr != nil:
		mismatch("%v", issErr)
	case cl.Present[claimIss] && cl.Issuer != iss:
		mismatch("iss %q is not the issuer %q", cl.Issuer, iss)
	case !cl.Present[claimIss] && strict:
		mismatch("iss claim is missing (issuer %q)", iss)
	}

	if id, ok := c["id"].(string); ok && id != "" {
		if cl.Present[claimJti] && cl.ID != id {
			mismatch("jti %q is not the credential id %q", cl.ID, id)
		} else if !cl.Present[claimJti] && strict {
			mismatch("jti claim is missing (credential id %q)", id)
		}
	} else if cl.Present[claimJti] {
		mismatch("jti %q but the credential has no id", cl.ID)
	}

	subs := subjectIDs(c["credentialSubject"])
	if cl.Present[claimSub] {
		found := false
		for _, s := range subs {
			found = found || s == cl.Subject
		}
		if !found {
			mismatch("sub %q is not a credentialSubject id %q", cl.Subject, subs)
		}
	} else if len(subs) > 0 && strict {
		mismatch("sub claim is missing (credentialSubject id %q)", subs[0])
	}

	from, fromName, err := credentialTime(c, "validFrom", "issuanceDate")
	if err != nil {
		mismatch("%v", err)
	}
	until, untilName, err := credentialTime(c, "validUntil", "expirationDate")
	if err != nil {
		mismatch("%v", err)
	}
	t.ValidFrom, t.ValidUntil = from, until
	switch {
	case cl.Present[claimNbf] && !from.IsZero():
		if cl.NotBefore.Unix() != from.Unix() {
			mismatch("nbf %d is not %s %s", cl.NotBefore.Unix(), fromName, from.Format(time.RFC3339))
		}
	case cl.Present[claimNbf]:
		t.ValidFrom = cl.NotBefore
	case !from.IsZero() && strict:
		mismatch("nbf claim is missing (%s %s)", fromName, from.Format(time.RFC3339))
	}
	switch {
	case cl.Present[claimExp] && !until.IsZero():
		if cl.Expires.Unix() != until.Unix() {
			mismatch("exp %d is not %s %s", cl.Expires.Unix(), untilName, until.Format(time.RFC3339))
		}
	case cl.Present[claimExp]:
		// OB 3.0: exp, when present, sets validUntil.
		t.ValidUntil = cl.Expires
	case !until.IsZero() && strict:
		mismatch("exp claim is missing (%s %s)", untilName, until.Format(time.RFC3339))
	}
	if !t.ValidFrom.IsZero() && !t.ValidUntil.IsZero() && t.ValidUntil.Before(t.ValidFrom) {
		mismatch("the credential expires (%s) before it becomes valid (%s)", t.ValidUntil.Format(time.RFC3339), t.ValidFrom.Format(time.RFC3339))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrClaimMismatch, strings.Join(problems, "; "))
	}
	return nil
}
