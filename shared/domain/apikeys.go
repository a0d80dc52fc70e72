package domain

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// APIKeyPrefix starts every secret, so a leaked key is recognisable by secret scanners.
const APIKeyPrefix = "cred_"

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random, URL-safe identifier (128 bits, 26 characters).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// DerivedID returns the identifier derived from parts: the same parts always give the same id,
// which is how a retried request or a redelivered queue message finds the credential it made.
func DerivedID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s|", len(p), p)
	}
	return idEncoding.EncodeToString(h.Sum(nil)[:16])
}

// HashSecret is how API key secrets are stored.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewAPIKey makes a key scoped to issuerID ("" for admin-wide) and returns it with its secret,
// which is shown once and never stored.
func NewAPIKey(name, issuerID string, now Clock) (APIKey, string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	secret := APIKeyPrefix + idEncoding.EncodeToString(b[:])
	return APIKey{
		ID: NewID(), Name: name, IssuerID: issuerID, Hash: HashSecret(secret),
		Prefix: secret[:len(APIKeyPrefix)+6], CreatedAt: now().UTC(),
	}, secret
}

// Principal is who is calling: the API key, or the bootstrap admin.
type Principal struct {
	KeyID    string
	IssuerID string // "" for admin-wide
}

// Admin reports whether the principal acts on every issuer.
func (p Principal) Admin() bool { return p.IssuerID == "" }

// CanAccess reports whether the principal may see or change issuerID's objects. Callers answer
// "not found" when it may not, so a scoped key cannot even learn that another issuer's ids exist.
func (p Principal) CanAccess(issuerID string) bool { return p.Admin() || p.IssuerID == issuerID }

// Unauthorized is the error for a missing, unknown or revoked key.
var Unauthorized = &Error{Kind: KindUnauthorized, Code: "unauthorized", Message: "a valid API key is required: Authorization: Bearer <key>"}

// Authenticate resolves a bearer secret to a principal. bootstrapHash, when set, is the hex
// SHA-256 of the deployment's bootstrap admin key (configured, not stored).
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	// Keys Credence makes start with APIKeyPrefix; a bootstrap key an operator chose need not,
	// but it must be long enough not to be guessed.
	if len(secret) < 16 || len(secret) > 200 {
		return Principal{}, Unauthorized
	}
	h := HashSecret(secret)
	if s.BootstrapKeyHash != "" && subtle.ConstantTimeCompare([]byte(h), []byte(strings.ToLower(s.BootstrapKeyHash))) == 1 {
		return Principal{KeyID: "bootstrap"}, nil
	}
	k, err := s.Store.GetAPIKeyByHash(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, Unauthorized
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	if !k.RevokedAt.IsZero() {
		return Principal{}, Unauthorized
	}
	return Principal{KeyID: k.ID, IssuerID: k.IssuerID}, nil
}

// CreateAPIKey creates a key. Only an admin may create admin-wide keys or keys for any issuer;
// an issuer-scoped key may create keys for its own issuer.
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, name, issuerID string) (APIKey, string, error) {
	if strings.TrimSpace(name) == "" {
		return APIKey{}, "", Invalid("invalid_request", "the key needs a name", FieldError{Field: "name", Message: "required"})
	}
	if issuerID == "" && !p.Admin() {
		return APIKey{}, "", &Error{Kind: KindForbidden, Code: "forbidden", Message: "only an admin key can create admin-wide keys"}
	}
	if issuerID != "" {
		if !p.CanAccess(issuerID) {
			return APIKey{}, "", NotFound("issuer")
		}
		if _, err := s.Store.GetIssuer(ctx, issuerID); err != nil {
			return APIKey{}, "", storeErr(err, "issuer")
		}
	}
	k, secret := NewAPIKey(name, issuerID, s.Clock)
	if err := s.Store.CreateAPIKey(ctx, k); err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return k, secret, nil
}

// ListAPIKeys lists the keys of one issuer ("" for admin-wide keys).
func (s *Service) ListAPIKeys(ctx context.Context, p Principal, issuerID string) ([]APIKey, error) {
	if issuerID == "" && !p.Admin() {
		return nil, &Error{Kind: KindForbidden, Code: "forbidden", Message: "only an admin key can list admin-wide keys"}
	}
	if !p.CanAccess(issuerID) {
		return nil, NotFound("issuer")
	}
	return s.Store.ListAPIKeys(ctx, issuerID)
}

// RevokeAPIKey revokes a key the principal can see.
func (s *Service) RevokeAPIKey(ctx context.Context, p Principal, id string) (APIKey, error) {
	k, err := s.Store.GetAPIKey(ctx, id)
	if err != nil {
		return APIKey{}, storeErr(err, "api_key")
	}
	if !p.CanAccess(k.IssuerID) || (k.IssuerID == "" && !p.Admin()) {
		return APIKey{}, NotFound("api_key")
	}
	if !k.RevokedAt.IsZero() {
		return k, nil
	}
	return s.Store.RevokeAPIKey(ctx, id, s.Clock().UTC())
}

// storeErr turns a store sentinel into a domain error for the object kind named.
func storeErr(err error, what string) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return NotFound(what)
	case errors.Is(err, ErrConflict):
		return Conflict(what+"_conflict", what+" was changed concurrently; retry")
	}
	return err
}
