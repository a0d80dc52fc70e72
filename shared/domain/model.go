package domain

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Issuer is an institution (or one of its departments) that issues credentials. Its public
// identity is did:web:{public host}:issuers:{ID}; its two keys sign every credential it issues.
type Issuer struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	URL         string   `json:"url"`
	Email       string   `json:"email"`
	Description string   `json:"description,omitempty"`
	Image       string   `json:"image,omitempty"`
	Branding    Branding `json:"branding"`
	DID         string   `json:"did"`
	// StatusPurposes are the status lists every new credential gets an entry in: always
	// "revocation", and "suspension" when the issuer opts in. OB 3.0 allows one credentialStatus
	// (its JSON schema wants a single object), so a second entry makes the credential a valid VC
	// 2.0 credential that fails the strict OB 3.0 schema: opt-in, not the default.
	StatusPurposes []string  `json:"statusPurposes"`
	EdKey          KeyRef    `json:"-"` // Ed25519: Data Integrity eddsa-rdfc-2022
	RSAKey         KeyRef    `json:"-"` // RSA-2048: VC-JWT RS256
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// Purposes are the status purposes of the issuer's new credentials. Issuers stored before
// purposes were configurable have none recorded and get the default.
func (i Issuer) Purposes() []string {
	if len(i.StatusPurposes) == 0 {
		return []string{PurposeRevocation}
	}
	return i.StatusPurposes
}

// Branding is how the issuer's pages and mails look.
type Branding struct {
	PrimaryColor string `json:"primaryColor,omitempty"` // #rrggbb
	Logo         string `json:"logo,omitempty"`         // https URL or data: URI
}

// Achievement is a badge template: what a credential attests.
type Achievement struct {
	ID              string      `json:"id"`
	IssuerID        string      `json:"issuerId"`
	Name            string      `json:"name"`
	Description     string      `json:"description"`
	Criteria        Criteria    `json:"criteria"`
	Image           string      `json:"image,omitempty"`
	AchievementType string      `json:"achievementType,omitempty"`
	Alignments      []Alignment `json:"alignments,omitempty"`
	Skills          []string    `json:"skills,omitempty"`
	ValidForDays    int         `json:"validForDays,omitempty"`
	Mail            MailText    `json:"mail,omitempty"`
	CreatedAt       time.Time   `json:"createdAt"`
	UpdatedAt       time.Time   `json:"updatedAt"`
}

// Criteria says how the achievement is earned.
type Criteria struct {
	ID        string `json:"id,omitempty"`
	Narrative string `json:"narrative,omitempty"`
}

// Alignment ties an achievement to a framework entry (a skill, a competency, a standard).
type Alignment struct {
	TargetName        string `json:"targetName"`
	TargetURL         string `json:"targetUrl"`
	TargetDescription string `json:"targetDescription,omitempty"`
	TargetFramework   string `json:"targetFramework,omitempty"`
	TargetCode        string `json:"targetCode,omitempty"`
	TargetType        string `json:"targetType,omitempty"`
}

// MailText overrides the notification mail for one achievement.
type MailText struct {
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body,omitempty"`
}

// Status of a credential.
type Status string

// Credential statuses. Revocation is final; suspension can be lifted.
const (
	StatusActive    Status = "active"
	StatusRevoked   Status = "revoked"
	StatusSuspended Status = "suspended"
)

// StatusPurpose names the two status lists every credential has an entry in.
const (
	PurposeRevocation = "revocation"
	PurposeSuspension = "suspension"
)

// Credential is the stored record of an issued credential: the signed artefacts exactly as
// issued (never re-serialized) plus what the service needs to manage it. The recipient's e-mail
// address lives here (for mail and resend) and never in the credential itself.
type Credential struct {
	ID             string    `json:"id"`
	IssuerID       string    `json:"issuerId"`
	AchievementID  string    `json:"achievementId"`
	RecipientName  string    `json:"recipientName"`
	RecipientEmail string    `json:"recipientEmail"`
	EmailKey       string    `json:"-"` // lookup key for filtering by e-mail (see EmailLookupKey)
	ValidFrom      time.Time `json:"validFrom"`
	ValidUntil     time.Time `json:"validUntil,omitzero"`
	IssuedAt       time.Time `json:"issuedAt"`

	Status          Status    `json:"status"`
	StatusReason    string    `json:"statusReason,omitempty"`
	StatusChangedAt time.Time `json:"statusChangedAt,omitzero"`

	StatusListID string `json:"-"` // list pair number, e.g. "1"
	StatusIndex  int    `json:"-"` // the same index in the revocation and the suspension list

	LDP []byte `json:"-"` // the credential with its eddsa-rdfc-2022 proof, as signed
	JWT string `json:"-"` // the VC-JWT (RS256), as signed

	JobID string `json:"jobId,omitempty"`
	Row   int    `json:"row,omitempty"`

	Mail MailState `json:"mail"`
}

// MailState tracks the delivery of the notification mail.
type MailState struct {
	State     string    `json:"state,omitempty"` // "", queued, sent, bounced, complained, suppressed
	MessageID string    `json:"messageId,omitempty"`
	At        time.Time `json:"at,omitzero"`
	Detail    string    `json:"detail,omitempty"`
}

// Mail states.
const (
	MailQueued     = "queued"
	MailSent       = "sent"
	MailBounced    = "bounced"
	MailComplained = "complained"
	MailSuppressed = "suppressed"
)

// APIKey authorizes calls to the admin API. Only the SHA-256 of the secret is stored.
type APIKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	IssuerID  string    `json:"issuerId,omitempty"` // "" means admin-wide
	Hash      string    `json:"-"`                  // hex SHA-256 of the secret
	Prefix    string    `json:"prefix"`             // first characters, to recognise a key in a list
	CreatedAt time.Time `json:"createdAt"`
	RevokedAt time.Time `json:"revokedAt,omitzero"`
}

// Admin reports whether the key may act on every issuer.
func (k APIKey) Admin() bool { return k.IssuerID == "" }

// StatusList is one signed Bitstring Status List of an issuer: the bits and the signed
// credential that publishes them. Version guards concurrent updates (optimistic locking).
type StatusList struct {
	IssuerID   string    `json:"issuerId"`
	ListID     string    `json:"listId"` // e.g. "1-revocation"
	Purpose    string    `json:"purpose"`
	Encoded    string    `json:"encoded"`    // encodedList of the bits
	Credential []byte    `json:"credential"` // the signed BitstringStatusListCredential
	Version    int64     `json:"version"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// AuditEvent records who changed what, when and why.
type AuditEvent struct {
	IssuerID     string    `json:"issuerId"`
	CredentialID string    `json:"credentialId,omitempty"`
	Action       string    `json:"action"` // issue, revoke, suspend, reinstate, resend, ...
	Actor        string    `json:"actor"`  // API key id, "system", "job:<id>"
	Reason       string    `json:"reason,omitempty"`
	At           time.Time `json:"at"`
	RequestID    string    `json:"requestId,omitempty"`
}

// Page is a cursor page request.
type Page struct {
	Cursor string
	Limit  int
}

// Page sizes every Store adapter applies alike: DefaultPageLimit when a Page asks for none,
// at most MaxPageLimit.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// Size is the number of items the page holds.
func (p Page) Size() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageLimit
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}

// CheckKeys refuses, for (name, value) pairs, values that cannot be a store key: empty ones,
// and text that is not UTF-8 (DynamoDB strings are UTF-8, so invalid bytes would be replaced
// and distinct ids could meet; every adapter refuses them alike).
func CheckKeys(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		what, id := pairs[i], pairs[i+1]
		if id == "" {
			return fmt.Errorf("%s is empty", what)
		}
		if !utf8.ValidString(id) {
			return fmt.Errorf("%s %q is not valid UTF-8", what, id)
		}
	}
	return nil
}

// CredentialFilter narrows a credential listing.
type CredentialFilter struct {
	AchievementID string
	EmailKey      string
}
