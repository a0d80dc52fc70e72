package ob3

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// The validate tags below mirror the `required` lists and formats of the official OB 3.0 JSON
// Schema (ob_v3p0_achievementcredential-jsonschema1.json) and the spec's MUSTs the schema leaves
// out (absolute IRIs, "either id or identifier", validUntil after validFrom). Custom tags are
// registered in validate.go.
//
// Types that the schema leaves open (additionalProperties: true) keep every property they do not
// name in Extra, so a credential from another issuer survives Parse and Marshal without losing
// signed data. The closed types (Image, IdentityObject, IdentifierEntry, GeoCoordinates) keep
// extras too: the input may be invalid, but it is still what was signed.

// Credential is an OpenBadgeCredential (AchievementCredential).
type Credential struct {
	Context           Many[any]                   `json:"@context,omitempty" validate:"ob_context"`
	ID                string                      `json:"id,omitempty" validate:"required,iri"`
	Type              Many[string]                `json:"type,omitempty" validate:"has_type=VerifiableCredential,has_any_type=OpenBadgeCredential AchievementCredential"`
	Name              string                      `json:"name,omitempty"`
	Description       string                      `json:"description,omitempty"`
	Image             *Image                      `json:"image,omitempty"`
	Issuer            *Profile                    `json:"issuer,omitempty" validate:"required"`
	ValidFrom         string                      `json:"validFrom,omitempty" validate:"required,rfc3339"`
	ValidUntil        string                      `json:"validUntil,omitempty" validate:"omitempty,rfc3339"`
	AwardedDate       string                      `json:"awardedDate,omitempty" validate:"omitempty,rfc3339"`
	CredentialSubject *AchievementSubject         `json:"credentialSubject,omitempty" validate:"required"`
	Evidence          Many[Evidence]              `json:"evidence,omitempty" validate:"dive"`
	Endorsement       Many[EndorsementCredential] `json:"endorsement,omitempty" validate:"dive"`
	EndorsementJwt    Many[string]                `json:"endorsementJwt,omitempty" validate:"dive,compact_jws"`
	CredentialSchema  Many[CredentialSchema]      `json:"credentialSchema,omitempty" validate:"dive"`
	CredentialStatus  StatusEntries               `json:"credentialStatus,omitempty" validate:"omitempty,min=1,dive"`
	RefreshService    *RefreshService             `json:"refreshService,omitempty"`
	TermsOfUse        Many[TermsOfUse]            `json:"termsOfUse,omitempty" validate:"dive"`
	Proof             Many[Proof]                 `json:"proof,omitempty" validate:"dive"`
	Extra             map[string]any              `json:"-"`
}

type plainCredential Credential

// MarshalJSON writes the credential with its extension properties.
func (c Credential) MarshalJSON() ([]byte, error) {
	return marshalExtra(plainCredential(c), c.Extra)
}

// UnmarshalJSON reads the credential and keeps unknown properties in Extra.
func (c *Credential) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainCredential)(c), &c.Extra)
}

// EndorsementCredential is an OB 3.0 EndorsementCredential: a claim by a third party about a
// credential, an achievement or a profile.
type EndorsementCredential struct {
	Context           Many[any]              `json:"@context,omitempty" validate:"ob_context"`
	ID                string                 `json:"id,omitempty" validate:"required,iri"`
	Type              Many[string]           `json:"type,omitempty" validate:"has_type=VerifiableCredential,has_type=EndorsementCredential"`
	Name              string                 `json:"name,omitempty" validate:"required"`
	Description       string                 `json:"description,omitempty"`
	Issuer            *Profile               `json:"issuer,omitempty" validate:"required"`
	ValidFrom         string                 `json:"validFrom,omitempty" validate:"required,rfc3339"`
	ValidUntil        string                 `json:"validUntil,omitempty" validate:"omitempty,rfc3339"`
	AwardedDate       string                 `json:"awardedDate,omitempty" validate:"omitempty,rfc3339"`
	CredentialSubject *EndorsementSubject    `json:"credentialSubject,omitempty" validate:"required"`
	CredentialSchema  Many[CredentialSchema] `json:"credentialSchema,omitempty" validate:"dive"`
	CredentialStatus  StatusEntries          `json:"credentialStatus,omitempty" validate:"omitempty,min=1,dive"`
	RefreshService    *RefreshService        `json:"refreshService,omitempty"`
	TermsOfUse        Many[TermsOfUse]       `json:"termsOfUse,omitempty" validate:"dive"`
	Proof             Many[Proof]            `json:"proof,omitempty" validate:"dive"`
	Extra             map[string]any         `json:"-"`
}

type plainEndorsement EndorsementCredential

// MarshalJSON writes the endorsement with its extension properties.
func (e EndorsementCredential) MarshalJSON() ([]byte, error) {
	return marshalExtra(plainEndorsement(e), e.Extra)
}

// UnmarshalJSON reads the endorsement and keeps unknown properties in Extra.
func (e *EndorsementCredential) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainEndorsement)(e), &e.Extra)
}

// EndorsementSubject is the subject of an EndorsementCredential.
type EndorsementSubject struct {
	ID                 string         `json:"id,omitempty" validate:"required,iri"`
	Type               Many[string]   `json:"type,omitempty" validate:"has_type=EndorsementSubject"`
	EndorsementComment string         `json:"endorsementComment,omitempty"`
	Extra              map[string]any `json:"-"`
}

type plainEndorsementSubject EndorsementSubject

// MarshalJSON writes the subject with its extension properties.
func (s EndorsementSubject) MarshalJSON() ([]byte, error) {
	return marshalExtra(plainEndorsementSubject(s), s.Extra)
}

// UnmarshalJSON reads the subject and keeps unknown properties in Extra.
func (s *EndorsementSubject) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainEndorsementSubject)(s), &s.Extra)
}

// Profile describes an issuer, a creator or another organisation or person. As a credential's
// issuer it may also be written as a bare IRI: Parse keeps that form and writes it back the same
// way, and ProfileRef builds one.
type Profile struct {
	ID               string                      `json:"id,omitempty" validate:"required,iri"`
	Type             Many[string]                `json:"type,omitempty"` // checked in profileLevel: a bare IRI has none
	Name             string                      `json:"name,omitempty"`
	URL              string                      `json:"url,omitempty" validate:"omitempty,iri"`
	Phone            string                      `json:"phone,omitempty"`
	Description      string                      `json:"description,omitempty"`
	Endorsement      Many[EndorsementCredential] `json:"endorsement,omitempty" validate:"dive"`
	EndorsementJwt   Many[string]                `json:"endorsementJwt,omitempty" validate:"dive,compact_jws"`
	Image            *Image                      `json:"image,omitempty"`
	Email            string                      `json:"email,omitempty" validate:"omitempty,email"`
	Address          *Address                    `json:"address,omitempty"`
	OtherIdentifier  Many[IdentifierEntry]       `json:"otherIdentifier,omitempty" validate:"dive"`
	Official         string                      `json:"official,omitempty"`
	ParentOrg        *Profile                    `json:"parentOrg,omitempty"`
	FamilyName       string                      `json:"familyName,omitempty"`
	GivenName        string                      `json:"givenName,omitempty"`
	AdditionalName   string                      `json:"additionalName,omitempty"`
	PatronymicName   string                      `json:"patronymicName,omitempty"`
	HonorificPrefix  string                      `json:"honorificPrefix,omitempty"`
	HonorificSuffix  string                      `json:"honorificSuffix,omitempty"`
	FamilyNamePrefix string                      `json:"familyNamePrefix,omitempty"`
	DateOfBirth      string                      `json:"dateOfBirth,omitempty" validate:"omitempty,datetime=2006-01-02"`
	Extra            map[string]any              `json:"-"`

	// bare marks a profile that was (or is to be) written as a plain IRI string.
	bare bool
}

type plainProfile Profile

// ProfileRef returns a profile that is written as the bare IRI id, the short form OB 3.0 allows
// for a credential's issuer.
func ProfileRef(id string) *Profile {
	return &Profile{ID: id, bare: true}
}

// IsRef reports whether the profile is (and will be written as) a bare IRI.
func (p *Profile) IsRef() bool {
	return p.bare && p.onlyID()
}

func (p *Profile) onlyID() bool {
	q := *p
	q.ID, q.bare = "", false
	return reflect.ValueOf(q).IsZero()
}

// MarshalJSON writes the profile, or its bare IRI if it came as one and nothing was added.
func (p Profile) MarshalJSON() ([]byte, error) {
	if p.IsRef() {
		return json.Marshal(p.ID)
	}
	return marshalExtra(plainProfile(p), p.Extra)
}

// UnmarshalJSON reads a profile object or a bare IRI.
func (p *Profile) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		*p = Profile{bare: true}
		return json.Unmarshal(b, &p.ID)
	}
	*p = Profile{}
	return unmarshalExtra(b, (*plainProfile)(p), &p.Extra)
}

// Image is an image with an optional caption. OB 3.0 requires the object form; a bare IRI is
// read (and written back) for other issuers' credentials but fails Validate.
type Image struct {
	ID      string         `json:"id,omitempty" validate:"required,iri"`
	Type    string         `json:"type,omitempty" validate:"eq=Image"`
	Caption string         `json:"caption,omitempty"`
	Extra   map[string]any `json:"-"`

	bare bool
}

type plainImage Image

// NewImage returns an Image object for the image at id (a URL or a data: URI).
func NewImage(id, caption string) *Image {
	return &Image{ID: id, Type: "Image", Caption: caption}
}

// IsRef reports whether the image is (and will be written as) a bare IRI.
func (i *Image) IsRef() bool {
	q := *i
	q.ID, q.bare = "", false
	return i.bare && reflect.ValueOf(q).IsZero()
}

// MarshalJSON writes the image object, or its bare IRI if it came as one.
func (i Image) MarshalJSON() ([]byte, error) {
	if i.IsRef() {
		return json.Marshal(i.ID)
	}
	return marshalExtra(plainImage(i), i.Extra)
}

// UnmarshalJSON reads an image object or a bare IRI.
func (i *Image) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		*i = Image{bare: true}
		return json.Unmarshal(b, &i.ID)
	}
	*i = Image{}
	return unmarshalExtra(b, (*plainImage)(i), &i.Extra)
}

// AchievementSubject is the recipient of the credential and what they achieved.
type AchievementSubject struct {
	ID   string       `json:"id,omitempty" validate:"omitempty,iri"`
	Type Many[string] `json:"type,omitempty" validate:"has_type=AchievementSubject"`
	// Name is the recipient's display name. It is not an AchievementSubject property in OB 3.0,
	// but the OB 3.0 context defines `name` (schema.org/name) at its top level, so it survives
	// JSON-LD safe mode, and wallets and verifiers that predate the IdentityObject "name" type
	// (older Learner Credential Wallet, Verifier Plus) show it as "Issued to". SetRecipient
	// writes the name here and as the first identifier; see NewNameIdentity.
	Name              string               `json:"name,omitempty"`
	Achievement       *Achievement         `json:"achievement,omitempty" validate:"required"`
	Identifier        Many[IdentityObject] `json:"identifier,omitempty" validate:"dive"`
	Result            Many[Result]         `json:"result,omitempty" validate:"dive"`
	ActivityStartDate string               `json:"activityStartDate,omitempty" validate:"omitempty,rfc3339"`
	ActivityEndDate   string               `json:"activityEndDate,omitempty" validate:"omitempty,rfc3339"`
	CreditsEarned     *float64             `json:"creditsEarned,omitempty"`
	Image             *Image               `json:"image,omitempty"`
	LicenseNumber     string               `json:"licenseNumber,omitempty"`
	Narrative         string               `json:"narrative,omitempty"`
	Role              string               `json:"role,omitempty"`
	Source            *Profile             `json:"source,omitempty"`
	Term              string               `json:"term,omitempty"`
	Extra             map[string]any       `json:"-"`
}

type plainSubject AchievementSubject

// MarshalJSON writes the subject with its extension properties.
func (s AchievementSubject) MarshalJSON() ([]byte, error) {
	return marshalExtra(plainSubject(s), s.Extra)
}

// UnmarshalJSON reads the subject and keeps unknown properties in Extra.
func (s *AchievementSubject) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainSubject)(s), &s.Extra)
}

// Achievement is what the credential recognises (the "badge class").
type Achievement struct {
	ID                string                      `json:"id,omitempty" validate:"required,iri"`
	Type              Many[string]                `json:"type,omitempty" validate:"has_type=Achievement"`
	Name              string                      `json:"name,omitempty" validate:"required"`
	Description       string                      `json:"description,omitempty" validate:"required"`
	Criteria          *Criteria                   `json:"criteria,omitempty" validate:"required"`
	Image             *Image                      `json:"image,omitempty"`
	AchievementType   string                      `json:"achievementType,omitempty" validate:"omitempty,achievement_type"`
	Alignment         Many[Alignment]             `json:"alignment,omitempty" validate:"dive"`
	Creator           *Profile                    `json:"creator,omitempty"`
	CreditsAvailable  *float64                    `json:"creditsAvailable,omitempty"`
	Endorsement       Many[EndorsementCredential] `json:"endorsement,omitempty" validate:"dive"`
	EndorsementJwt    Many[string]                `json:"endorsementJwt,omitempty" validate:"dive,compact_jws"`
	FieldOfStudy      string                      `json:"fieldOfStudy,omitempty"`
	HumanCode         string                      `json:"humanCode,omitempty"`
	InLanguage        string                      `json:"inLanguage,omitempty" validate:"omitempty,language"`
	OtherIdentifier   Many[IdentifierEntry]       `json:"otherIdentifier,omitempty" validate:"dive"`
	Related           Many[Related]               `json:"related,omitempty" validate:"dive"`
	ResultDescription Many[ResultDescription]     `json:"resultDescription,omitempty" validate:"dive"`
	Specialization    string                      `json:"specialization,omitempty"`
	Tag               Many[string]                `json:"tag,omitempty"`
	Version           string                      `json:"version,omitempty"`
	Extra             map[string]any              `json:"-"`
}

type plainAchievement Achievement

// MarshalJSON writes the achievement with its extension properties.
func (a Achievement) MarshalJSON() ([]byte, error) {
	return marshalExtra(plainAchievement(a), a.Extra)
}

// UnmarshalJSON reads the achievement and keeps unknown properties in Extra.
func (a *Achievement) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainAchievement)(a), &a.Extra)
}

// Criteria describes what a recipient must do to earn the achievement: a URL (ID), a Markdown
// narrative, or both.
type Criteria struct {
	ID        string         `json:"id,omitempty" validate:"omitempty,iri"`
	Narrative string         `json:"narrative,omitempty"`
	Extra     map[string]any `json:"-"`
}

type plainCriteria Criteria

// MarshalJSON writes the criteria with its extension properties.
func (c Criteria) MarshalJSON() ([]byte, error) { return marshalExtra(plainCriteria(c), c.Extra) }

// UnmarshalJSON reads the criteria and keeps unknown properties in Extra.
func (c *Criteria) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainCriteria)(c), &c.Extra)
}

// Alignment ties an achievement, result or rubric level to a node in a framework (a skill, a
// competency, a course).
type Alignment struct {
	Type              Many[string]   `json:"type,omitempty" validate:"has_type=Alignment"`
	TargetName        string         `json:"targetName,omitempty" validate:"required"`
	TargetURL         string         `json:"targetUrl,omitempty" validate:"required,iri"`
	TargetDescription string         `json:"targetDescription,omitempty"`
	TargetCode        string         `json:"targetCode,omitempty"`
	TargetFramework   string         `json:"targetFramework,omitempty"`
	TargetType        string         `json:"targetType,omitempty" validate:"omitempty,alignment_target_type"`
	Extra             map[string]any `json:"-"`
}

type plainAlignment Alignment

// NewAlignment returns an Alignment with its type set.
func NewAlignment(targetName, targetURL string) Alignment {
	return Alignment{Type: Many[string]{"Alignment"}, TargetName: targetName, TargetURL: targetURL}
}

// MarshalJSON writes the alignment with its extension properties.
func (a Alignment) MarshalJSON() ([]byte, error) { return marshalExtra(plainAlignment(a), a.Extra) }

// UnmarshalJSON reads the alignment and keeps unknown properties in Extra.
func (a *Alignment) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainAlignment)(a), &a.Extra)
}

// IdentityObject identifies the recipient: a (salted, hashed) e-mail address, a name, a student
// id. Hashed is a pointer because the schema requires the property to be present even when false.
type IdentityObject struct {
	Type         string         `json:"type,omitempty" validate:"eq=IdentityObject"`
	IdentityHash string         `json:"identityHash,omitempty" validate:"required"`
	IdentityType string         `json:"identityType,omitempty" validate:"required,identifier_type"`
	Hashed       *bool          `json:"hashed,omitempty" validate:"required"`
	Salt         string         `json:"salt,omitempty"`
	Extra        map[string]any `json:"-"`
}

type plainIdentity IdentityObject

// MarshalJSON writes the identity object with any extension properties it came with.
func (o IdentityObject) MarshalJSON() ([]byte, error) {
	return marshalExtra(plainIdentity(o), o.Extra)
}

// UnmarshalJSON reads the identity object and keeps unknown properties in Extra.
func (o *IdentityObject) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainIdentity)(o), &o.Extra)
}

// IdentifierEntry is another identifier of a Profile or an Achievement.
type IdentifierEntry struct {
	Type           string         `json:"type,omitempty" validate:"eq=IdentifierEntry"`
	Identifier     string         `json:"identifier,omitempty" validate:"required"`
	IdentifierType string         `json:"identifierType,omitempty" validate:"required,identifier_type"`
	Extra          map[string]any `json:"-"`
}

type plainIdentifierEntry IdentifierEntry

// MarshalJSON writes the entry with any extension properties it came with.
func (e IdentifierEntry) MarshalJSON() ([]byte, error) {
	return marshalExtra(plainIdentifierEntry(e), e.Extra)
}

// UnmarshalJSON reads the entry and keeps unknown properties in Extra.
func (e *IdentifierEntry) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainIdentifierEntry)(e), &e.Extra)
}

// Evidence is a piece of work or a page that supports the claim.
type Evidence struct {
	ID          string         `json:"id,omitempty" validate:"omitempty,iri"`
	Type        Many[string]   `json:"type,omitempty" validate:"has_type=Evidence"`
	Narrative   string         `json:"narrative,omitempty"`
	Name        string         `json:"name,omitempty"`
	Description string         `json:"description,omitempty"`
	Genre       string         `json:"genre,omitempty"`
	Audience    string         `json:"audience,omitempty"`
	Extra       map[string]any `json:"-"`
}

type plainEvidence Evidence

// MarshalJSON writes the evidence with its extension properties.
func (e Evidence) MarshalJSON() ([]byte, error) { return marshalExtra(plainEvidence(e), e.Extra) }

// UnmarshalJSON reads the evidence and keeps unknown properties in Extra.
func (e *Evidence) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainEvidence)(e), &e.Extra)
}

// Result is the recipient's result for one of the achievement's ResultDescriptions (a grade, a
// status, a rubric level).
type Result struct {
	Type              Many[string]    `json:"type,omitempty" validate:"has_type=Result"`
	AchievedLevel     string          `json:"achievedLevel,omitempty" validate:"omitempty,iri"`
	Alignment         Many[Alignment] `json:"alignment,omitempty" validate:"dive"`
	ResultDescription string          `json:"resultDescription,omitempty" validate:"omitempty,iri"`
	Status            string          `json:"status,omitempty" validate:"omitempty,oneof=Completed Enrolled Failed InProgress OnHold Provisional Withdrew"`
	Value             string          `json:"value,omitempty"`
	Extra             map[string]any  `json:"-"`
}

type plainResult Result

// MarshalJSON writes the result with its extension properties.
func (r Result) MarshalJSON() ([]byte, error) { return marshalExtra(plainResult(r), r.Extra) }

// UnmarshalJSON reads the result and keeps unknown properties in Extra.
func (r *Result) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainResult)(r), &r.Extra)
}

// ResultDescription describes a possible result of an achievement.
type ResultDescription struct {
	ID                   string                     `json:"id,omitempty" validate:"required,iri"`
	Type                 Many[string]               `json:"type,omitempty" validate:"has_type=ResultDescription"`
	Name                 string                     `json:"name,omitempty" validate:"required"`
	ResultType           string                     `json:"resultType,omitempty" validate:"required,result_type"`
	Alignment            Many[Alignment]            `json:"alignment,omitempty" validate:"dive"`
	AllowedValue         Many[string]               `json:"allowedValue,omitempty"`
	RequiredLevel        string                     `json:"requiredLevel,omitempty" validate:"omitempty,iri"`
	RequiredValue        string                     `json:"requiredValue,omitempty"`
	RubricCriterionLevel Many[RubricCriterionLevel] `json:"rubricCriterionLevel,omitempty" validate:"dive"`
	ValueMax             string                     `json:"valueMax,omitempty"`
	ValueMin             string                     `json:"valueMin,omitempty"`
	Extra                map[string]any             `json:"-"`
}

type plainResultDescription ResultDescription

// MarshalJSON writes the result description with its extension properties.
func (r ResultDescription) MarshalJSON() ([]byte, error) {
	return marshalExtra(plainResultDescription(r), r.Extra)
}

// UnmarshalJSON reads the result description and keeps unknown properties in Extra.
func (r *ResultDescription) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainResultDescription)(r), &r.Extra)
}

// RubricCriterionLevel is one level of a rubric criterion.
type RubricCriterionLevel struct {
	ID          string          `json:"id,omitempty" validate:"required,iri"`
	Type        Many[string]    `json:"type,omitempty" validate:"has_type=RubricCriterionLevel"`
	Name        string          `json:"name,omitempty" validate:"required"`
	Alignment   Many[Alignment] `json:"alignment,omitempty" validate:"dive"`
	Description string          `json:"description,omitempty"`
	Level       string          `json:"level,omitempty"`
	Points      string          `json:"points,omitempty"`
	Extra       map[string]any  `json:"-"`
}

type plainRubricLevel RubricCriterionLevel

// MarshalJSON writes the level with its extension properties.
func (r RubricCriterionLevel) MarshalJSON() ([]byte, error) {
	return marshalExtra(plainRubricLevel(r), r.Extra)
}

// UnmarshalJSON reads the level and keeps unknown properties in Extra.
func (r *RubricCriterionLevel) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainRubricLevel)(r), &r.Extra)
}

// Related points to another version of the achievement (another language, an older version).
type Related struct {
	ID         string         `json:"id,omitempty" validate:"required,iri"`
	Type       Many[string]   `json:"type,omitempty" validate:"has_type=Related"`
	InLanguage string         `json:"inLanguage,omitempty" validate:"omitempty,language"`
	Version    string         `json:"version,omitempty"`
	Extra      map[string]any `json:"-"`
}

type plainRelated Related

// MarshalJSON writes the entry with its extension properties.
func (r Related) MarshalJSON() ([]byte, error) { return marshalExtra(plainRelated(r), r.Extra) }

// UnmarshalJSON reads the entry and keeps unknown properties in Extra.
func (r *Related) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainRelated)(r), &r.Extra)
}

// Address is a postal address of a Profile.
type Address struct {
	Type                Many[string]    `json:"type,omitempty" validate:"has_type=Address"`
	AddressCountry      string          `json:"addressCountry,omitempty"`
	AddressCountryCode  string          `json:"addressCountryCode,omitempty" validate:"omitempty,iso3166_1_alpha2"`
	AddressRegion       string          `json:"addressRegion,omitempty"`
	AddressLocality     string          `json:"addressLocality,omitempty"`
	StreetAddress       string          `json:"streetAddress,omitempty"`
	PostOfficeBoxNumber string          `json:"postOfficeBoxNumber,omitempty"`
	PostalCode          string          `json:"postalCode,omitempty"`
	Geo                 *GeoCoordinates `json:"geo,omitempty"`
	Extra               map[string]any  `json:"-"`
}

type plainAddress Address

// MarshalJSON writes the address with its extension properties.
func (a Address) MarshalJSON() ([]byte, error) { return marshalExtra(plainAddress(a), a.Extra) }

// UnmarshalJSON reads the address and keeps unknown properties in Extra.
func (a *Address) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainAddress)(a), &a.Extra)
}

// GeoCoordinates is a WGS84 position. The coordinates are pointers because 0 is a valid
// latitude and the schema requires both to be present.
type GeoCoordinates struct {
	Type      string         `json:"type,omitempty" validate:"eq=GeoCoordinates"`
	Latitude  *float64       `json:"latitude,omitempty" validate:"required"`
	Longitude *float64       `json:"longitude,omitempty" validate:"required"`
	Extra     map[string]any `json:"-"`
}

type plainGeo GeoCoordinates

// MarshalJSON writes the coordinates with any extension properties they came with.
func (g GeoCoordinates) MarshalJSON() ([]byte, error) { return marshalExtra(plainGeo(g), g.Extra) }

// UnmarshalJSON reads the coordinates and keeps unknown properties in Extra.
func (g *GeoCoordinates) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainGeo)(g), &g.Extra)
}

// CredentialStatus is one credentialStatus entry, e.g. a BitstringStatusListEntry. The fields
// of the common status methods are named; anything else is kept in Extra.
type CredentialStatus struct {
	ID                   string         `json:"id,omitempty" validate:"required,iri"`
	Type                 string         `json:"type,omitempty" validate:"required"`
	StatusPurpose        string         `json:"statusPurpose,omitempty"`
	StatusListIndex      string         `json:"statusListIndex,omitempty" validate:"omitempty,number"`
	StatusListCredential string         `json:"statusListCredential,omitempty" validate:"omitempty,iri"`
	Extra                map[string]any `json:"-"`
}

type plainStatus CredentialStatus

// MarshalJSON writes the entry with its extension properties.
func (s CredentialStatus) MarshalJSON() ([]byte, error) { return marshalExtra(plainStatus(s), s.Extra) }

// UnmarshalJSON reads the entry and keeps unknown properties in Extra.
func (s *CredentialStatus) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainStatus)(s), &s.Extra)
}

// CredentialSchema names a schema the credential claims to conform to.
type CredentialSchema struct {
	ID    string         `json:"id,omitempty" validate:"required,iri"`
	Type  string         `json:"type,omitempty" validate:"required"`
	Extra map[string]any `json:"-"`
}

type plainCredentialSchema CredentialSchema

// MarshalJSON writes the entry with its extension properties.
func (s CredentialSchema) MarshalJSON() ([]byte, error) {
	return marshalExtra(plainCredentialSchema(s), s.Extra)
}

// UnmarshalJSON reads the entry and keeps unknown properties in Extra.
func (s *CredentialSchema) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainCredentialSchema)(s), &s.Extra)
}

// RefreshService tells a holder where to get a fresh copy of the credential.
type RefreshService struct {
	ID    string         `json:"id,omitempty" validate:"required,iri"`
	Type  string         `json:"type,omitempty" validate:"required"`
	Extra map[string]any `json:"-"`
}

type plainRefresh RefreshService

// MarshalJSON writes the entry with its extension properties.
func (s RefreshService) MarshalJSON() ([]byte, error) { return marshalExtra(plainRefresh(s), s.Extra) }

// UnmarshalJSON reads the entry and keeps unknown properties in Extra.
func (s *RefreshService) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainRefresh)(s), &s.Extra)
}

// TermsOfUse is a policy under which the credential was issued.
type TermsOfUse struct {
	ID    string         `json:"id,omitempty" validate:"omitempty,iri"`
	Type  string         `json:"type,omitempty" validate:"required"`
	Extra map[string]any `json:"-"`
}

type plainTerms TermsOfUse

// MarshalJSON writes the entry with its extension properties.
func (t TermsOfUse) MarshalJSON() ([]byte, error) { return marshalExtra(plainTerms(t), t.Extra) }

// UnmarshalJSON reads the entry and keeps unknown properties in Extra.
func (t *TermsOfUse) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainTerms)(t), &t.Extra)
}

// Proof is an embedded proof (DataIntegrityProof, Ed25519Signature2020, ...). Only the common
// fields are named; the rest (jws, domain, which may be a string or a list, @context,
// previousProof, ...) is kept in Extra, because a
// proof must be written back exactly as it was made.
type Proof struct {
	Type               string         `json:"type,omitempty" validate:"required"`
	Cryptosuite        string         `json:"cryptosuite,omitempty"`
	Created            string         `json:"created,omitempty" validate:"omitempty,rfc3339"`
	VerificationMethod string         `json:"verificationMethod,omitempty"`
	ProofPurpose       string         `json:"proofPurpose,omitempty"`
	ProofValue         string         `json:"proofValue,omitempty"`
	Challenge          string         `json:"challenge,omitempty"`
	Nonce              string         `json:"nonce,omitempty"`
	Extra              map[string]any `json:"-"`
}

type plainProof Proof

// MarshalJSON writes the proof with its extension properties.
func (p Proof) MarshalJSON() ([]byte, error) { return marshalExtra(plainProof(p), p.Extra) }

// UnmarshalJSON reads the proof and keeps unknown properties in Extra.
func (p *Proof) UnmarshalJSON(b []byte) error {
	return unmarshalExtra(b, (*plainProof)(p), &p.Extra)
}
