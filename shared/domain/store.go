package domain

import (
	"context"
	"errors"
	"time"
)

// Errors every Store returns, so the domain and the API can map them without knowing the adapter.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict") // a conditional write lost: the item exists or changed
	// ErrInvalidCursor: a List method got a cursor it did not issue, or one issued for another
	// listing (another issuer, another filter). It is the caller's input error, never a restart.
	ErrInvalidCursor = errors.New("invalid cursor")
)

// Store is the persistence port. Every method is a single conditional operation or a query on a
// key path (never a scan), so the DynamoDB adapter maps each to one request and the embedded
// adapter to one transaction. Implementations: adapters/dynamostore (AWS) and
// adapters/boltstore (local mode), both checked by adapters/storetest.
type Store interface {
	// CreateIssuer fails with ErrConflict when the id exists.
	CreateIssuer(ctx context.Context, iss Issuer) error
	GetIssuer(ctx context.Context, id string) (Issuer, error)
	// UpdateIssuer replaces an existing issuer (ErrNotFound when absent).
	UpdateIssuer(ctx context.Context, iss Issuer) error
	ListIssuers(ctx context.Context, p Page) ([]Issuer, string, error)

	CreateAchievement(ctx context.Context, a Achievement) error
	GetAchievement(ctx context.Context, issuerID, id string) (Achievement, error)
	UpdateAchievement(ctx context.Context, a Achievement) error
	ListAchievements(ctx context.Context, issuerID string, p Page) ([]Achievement, string, error)

	// CreateCredential stores a new credential; ErrConflict when the id exists (this is what
	// makes issuing idempotent: ids derive from the idempotency key or the job row).
	CreateCredential(ctx context.Context, c Credential) error
	GetCredential(ctx context.Context, id string) (Credential, error)
	// ListCredentials pages an issuer's credentials, newest first, optionally filtered. The
	// records come without LDP and JWT (GetCredential has them): a listing is for managing
	// credentials, and keeping the signed artefacts out of it keeps DynamoDB's index copies small.
	ListCredentials(ctx context.Context, issuerID string, f CredentialFilter, p Page) ([]Credential, string, error)
	// UpdateCredentialStatus sets status, reason and time if the current status is `from`
	// (ErrConflict otherwise), and appends the audit event in the same write.
	UpdateCredentialStatus(ctx context.Context, id string, from, to Status, reason string, at time.Time, audit AuditEvent) (Credential, error)
	// UpdateCredentialMail records mail delivery state (unconditional, last write wins).
	UpdateCredentialMail(ctx context.Context, id string, m MailState) error

	// ClaimStatusIndex marks index as used in the issuer's list pair listID; ErrConflict when taken.
	ClaimStatusIndex(ctx context.Context, issuerID, listID string, index int) error
	// CountStatusIndexes tells how many indexes of a list pair are claimed.
	CountStatusIndexes(ctx context.Context, issuerID, listID string) (int, error)
	GetStatusList(ctx context.Context, issuerID, listID string) (StatusList, error)
	// PutStatusList writes l if the stored version equals l.Version-1 (or none exists and
	// l.Version == 1); ErrConflict otherwise.
	PutStatusList(ctx context.Context, l StatusList) error

	// CreateAPIKey fails with ErrConflict when the id exists.
	CreateAPIKey(ctx context.Context, k APIKey) error
	GetAPIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys lists keys scoped to issuerID; "" lists the admin-wide keys.
	ListAPIKeys(ctx context.Context, issuerID string) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) (APIKey, error)

	AppendAudit(ctx context.Context, e AuditEvent) error
	ListAudit(ctx context.Context, credentialID string) ([]AuditEvent, error)

	// PutIdempotency records that (scope, key) produced result; when the key is already
	// recorded it returns the stored record and ErrConflict. requestHash lets the caller refuse
	// a reused key with a different body.
	PutIdempotency(ctx context.Context, rec Idempotency) (Idempotency, error)
	GetIdempotency(ctx context.Context, scope, key string) (Idempotency, error)
}

// Idempotency remembers what a request with an Idempotency-Key produced.
type Idempotency struct {
	Scope       string    `json:"scope"` // e.g. the API key id + route
	Key         string    `json:"key"`
	RequestHash string    `json:"requestHash"`
	ResultID    string    `json:"resultId"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"` // TTL: 24 h is what Stripe-style clients expect
}

// AuditedCreator is a Store that can create a credential together with its "issue" audit event
// in one write (boltstore: one commit instead of two on the path every roster row takes;
// dynamostore: one more put in the credential's transaction). Both adapters have it and
// storetest.Run requires it; issuing falls back to create-then-append for a Store without it.
type AuditedCreator interface {
	// CreateCredentialAudited is CreateCredential that also appends issued (when not nil) in
	// the same write: both or neither.
	CreateCredentialAudited(ctx context.Context, c Credential, issued *AuditEvent) error
}
