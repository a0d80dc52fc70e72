// Package ob3 is the Open Badges 3.0 data model: Go types for OpenBadgeCredential and its parts,
// JSON that reads every form the VC data model allows and writes the form the OB 3.0 JSON Schema
// wants, validation with JSON paths, and the recipient identity rules.
//
// Verification never re-marshals a credential: proofs are checked over the bytes as received.
// These types are for building credentials to sign and for reading the fields of one that was
// verified; they keep unknown properties so that a round trip loses nothing anyway.
package ob3

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/credence-oss/credence/shared/standards/jsonld"
)

// Vocabulary Credence issues with.
const (
	ContextVC = jsonld.CredentialsV2 // must be first
	ContextOB = jsonld.OB303         // OB 3.0 context, second

	TypeVerifiableCredential  = "VerifiableCredential"
	TypeOpenBadgeCredential   = "OpenBadgeCredential"
	TypeAchievementCredential = "AchievementCredential"
	TypeEndorsementCredential = "EndorsementCredential"

	// SchemaAchievementCredential is the credentialSchema id the spec's examples use, with
	// SchemaValidatorType as its type.
	SchemaAchievementCredential = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
	SchemaValidatorType         = "1EdTechJsonSchemaValidator2019"
)

// MaxSize bounds the JSON Parse accepts. Credentials are a few KB; a data: URI image can make
// one a few hundred. Anything larger is refused before it is decoded.
const MaxSize = 2 << 20

// ErrTooLarge and ErrNotObject are returned by Parse for input it refuses outright.
var (
	ErrTooLarge  = fmt.Errorf("ob3: document larger than %d bytes", MaxSize)
	ErrNotObject = errors.New("ob3: document is not a JSON object")
)

// DefaultContext returns the @context Credence issues with, in the required order.
func DefaultContext() Many[any] {
	return Many[any]{ContextVC, ContextOB}
}

// NewCredential returns an OpenBadgeCredential with its context and type set.
func NewCredential(id string) *Credential {
	return &Credential{
		Context: DefaultContext(),
		ID:      id,
		Type:    Many[string]{TypeVerifiableCredential, TypeOpenBadgeCredential},
	}
}

// NewProfile returns a Profile with its type set.
func NewProfile(id, name string) *Profile {
	return &Profile{ID: id, Type: Many[string]{"Profile"}, Name: name}
}

// NewAchievement returns an Achievement with its type set.
func NewAchievement(id, name, description string, criteria Criteria) *Achievement {
	return &Achievement{ID: id, Type: Many[string]{"Achievement"}, Name: name, Description: description, Criteria: &criteria}
}

// FormatTime writes t the way Credence writes dates: RFC 3339 in UTC, whole seconds.
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// Parse decodes an OpenBadgeCredential. It checks the shape (JSON types of known properties),
// not the rules: call Validate for those. It never panics on any input.
func Parse(data []byte) (*Credential, error) {
	if err := precheck(data); err != nil {
		return nil, err
	}
	var c Credential
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("ob3: parse credential: %w", err)
	}
	return &c, nil
}

// ParseEndorsement decodes an EndorsementCredential like Parse.
func ParseEndorsement(data []byte) (*EndorsementCredential, error) {
	if err := precheck(data); err != nil {
		return nil, err
	}
	var e EndorsementCredential
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("ob3: parse endorsement: %w", err)
	}
	return &e, nil
}

func precheck(data []byte) error {
	if len(data) > MaxSize {
		return ErrTooLarge
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return ErrNotObject
	}
	return nil
}

// IssuerID reports the issuer's id, whether the issuer is written as an object or a bare IRI.
func (c *Credential) IssuerID() string {
	if c.Issuer == nil {
		return ""
	}
	return c.Issuer.ID
}

// ValidFromTime parses validFrom.
func (c *Credential) ValidFromTime() (time.Time, error) {
	return time.Parse(time.RFC3339Nano, c.ValidFrom)
}

// ValidUntilTime parses validUntil; ok is false when the credential does not expire.
func (c *Credential) ValidUntilTime() (t time.Time, ok bool, err error) {
	if c.ValidUntil == "" {
		return time.Time{}, false, nil
	}
	t, err = time.Parse(time.RFC3339Nano, c.ValidUntil)
	return t, err == nil, err
}
