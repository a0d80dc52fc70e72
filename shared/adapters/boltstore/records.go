package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/credence-oss/credence/shared/domain"
)

// The stored form of each entity. It is separate from the domain types on purpose: their JSON
// tags shape the public API and hide fields (keys, e-mail lookup key, signed artefacts, key
// hashes) that the store must keep, and an API rename must never change what is on disk.
// Short names keep the file small; times are stored in UTC.

type issuerRec struct {
	ID           string    `json:"id"`
	Name         string    `json:"n,omitempty"`
	URL          string    `json:"u,omitempty"`
	Email        string    `json:"e,omitempty"`
	Description  string    `json:"d,omitempty"`
	Image        string    `json:"i,omitempty"`
	PrimaryColor string    `json:"bc,omitempty"`
	Logo         string    `json:"bl,omitempty"`
	DID          string    `json:"did,omitempty"`
	Purposes     []string  `json:"sp,omitempty"`
	EdKey        string    `json:"ed,omitempty"`
	RSAKey       string    `json:"rsa,omitempty"`
	CreatedAt    time.Time `json:"ca"`
	UpdatedAt    time.Time `json:"ua"`
}

func toIssuerRec(i domain.Issuer) issuerRec {
	return issuerRec{
		ID: i.ID, Name: i.Name, URL: i.URL, Email: i.Email, Description: i.Description, Image: i.Image,
		PrimaryColor: i.Branding.PrimaryColor, Logo: i.Branding.Logo, DID: i.DID, Purposes: i.StatusPurposes,
		EdKey: string(i.EdKey), RSAKey: string(i.RSAKey), CreatedAt: i.CreatedAt.UTC(), UpdatedAt: i.UpdatedAt.UTC(),
	}
}

func (r issuerRec) domain() domain.Issuer {
	return domain.Issuer{
		ID: r.ID, Name: r.Name, URL: r.URL, Email: r.Email, Description: r.Description, Image: r.Image,
		Branding: domain.Branding{PrimaryColor: r.PrimaryColor, Logo: r.Logo}, DID: r.DID, StatusPurposes: r.Purposes,
		EdKey: domain.KeyRef(r.EdKey), RSAKey: domain.KeyRef(r.RSAKey), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

type alignmentRec struct {
	TargetName        string `json:"n,omitempty"`
	TargetURL         string `json:"u,omitempty"`
	TargetDescription string `json:"d,omitempty"`
	TargetFramework   string `json:"f,omitempty"`
	TargetCode        string `json:"c,omitempty"`
	TargetType        string `json:"t,omitempty"`
}

type achievementRec struct {
	ID                string         `json:"id"`
	IssuerID          string         `json:"iss"`
	Name              string         `json:"n,omitempty"`
	Description       string         `json:"d,omitempty"`
	CriteriaID        string         `json:"cid,omitempty"`
	CriteriaNarrative string         `json:"cn,omitempty"`
	Image             string         `json:"i,omitempty"`
	AchievementType   string         `json:"t,omitempty"`
	Alignments        []alignmentRec `json:"al,omitempty"`
	Skills            []string       `json:"sk,omitempty"`
	ValidForDays      int            `json:"vd,omitempty"`
	MailSubject       string         `json:"ms,omitempty"`
	MailBody          string         `json:"mb,omitempty"`
	CreatedAt         time.Time      `json:"ca"`
	UpdatedAt         time.Time      `json:"ua"`
}

func toAchievementRec(a domain.Achievement) achievementRec {
	r := achievementRec{
		ID: a.ID, IssuerID: a.IssuerID, Name: a.Name, Description: a.Description,
		CriteriaID: a.Criteria.ID, CriteriaNarrative: a.Criteria.Narrative, Image: a.Image,
		AchievementType: a.AchievementType, Skills: a.Skills, ValidForDays: a.ValidForDays,
		MailSubject: a.Mail.Subject, MailBody: a.Mail.Body, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(),
	}
	for _, al := range a.Alignments {
		r.Alignments = append(r.Alignments, alignmentRec(al))
	}
	return r
}

func (r achievementRec) domain() domain.Achievement {
	a := domain.Achievement{
		ID: r.ID, IssuerID: r.IssuerID, Name: r.Name, Description: r.Description,
		Criteria: domain.Criteria{ID: r.CriteriaID, Narrative: r.CriteriaNarrative}, Image: r.Image,
		AchievementType: r.AchievementType, Skills: r.Skills, ValidForDays: r.ValidForDays,
		Mail: domain.MailText{Subject: r.MailSubject, Body: r.MailBody}, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	for _, al := range r.Alignments {
		a.Alignments = append(a.Alignments, domain.Alignment(al))
	}
	return a
}

type mailRec struct {
	State     string    `json:"s,omitempty"`
	MessageID string    `json:"id,omitempty"`
	At        time.Time `json:"at,omitzero"`
	Detail    string    `json:"d,omitempty"`
}

type credentialRec struct {
	ID              string    `json:"id"`
	IssuerID        string    `json:"iss"`
	AchievementID   string    `json:"ach"`
	RecipientName   string    `json:"rn,omitempty"`
	RecipientEmail  string    `json:"re,omitempty"`
	EmailKey        string    `json:"ek,omitempty"`
	ValidFrom       time.Time `json:"vf,omitzero"`
	ValidUntil      time.Time `json:"vu,omitzero"`
	IssuedAt        time.Time `json:"ia"`
	Status          string    `json:"st"`
	StatusReason    string    `json:"sr,omitempty"`
	StatusChangedAt time.Time `json:"sc,omitzero"`
	StatusListID    string    `json:"sl,omitempty"`
	StatusIndex     int       `json:"si"`
	JobID           string    `json:"job,omitempty"`
	Row             int       `json:"row,omitempty"`
	Mail            mailRec   `json:"m,omitzero"`
}

func toCredentialRec(c domain.Credential) credentialRec {
	return credentialRec{
		ID: c.ID, IssuerID: c.IssuerID, AchievementID: c.AchievementID, RecipientName: c.RecipientName,
		RecipientEmail: c.RecipientEmail, EmailKey: c.EmailKey, ValidFrom: c.ValidFrom.UTC(), ValidUntil: c.ValidUntil.UTC(),
		IssuedAt: c.IssuedAt.UTC(), Status: string(c.Status), StatusReason: c.StatusReason, StatusChangedAt: c.StatusChangedAt.UTC(),
		StatusListID: c.StatusListID, StatusIndex: c.StatusIndex, JobID: c.JobID, Row: c.Row,
		Mail: toMailRec(c.Mail),
	}
}

// docRec holds a credential's signed artefacts, apart from the record so that listings and
// status or mail updates never read or rewrite them. It is stored as a format byte, the
// length of LDP, LDP and JWT, byte for byte: in JSON the LDP would be base64 (a third larger)
// and every issue and mail would encode or decode some 6 KB of it. Values stored as JSON
// before (they start with '{') are still read.
type docRec struct {
	LDP []byte `json:"ldp,omitempty"`
	JWT string `json:"jwt,omitempty"`
}

func (d docRec) encode() []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(d.LDP)+len(d.JWT))
	b = append(b, binFormat)
	b = binary.AppendUvarint(b, uint64(len(d.LDP)))
	b = append(b, d.LDP...)
	return append(b, d.JWT...)
}

func getDoc(tx *bolt.Tx, k []byte, what string) (docRec, error) {
	v := tx.Bucket(bCredDocs).Get(k)
	switch {
	case v == nil:
		return docRec{}, fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	case len(v) == 0:
		return docRec{}, fmt.Errorf("%s: decode stored record: %w", what, errBadValue)
	case v[0] == '{':
		var d docRec
		if err := json.Unmarshal(v, &d); err != nil {
			return d, fmt.Errorf("%s: decode stored record: %w", what, err)
		}
		return d, nil
	case v[0] != binFormat:
		return docRec{}, fmt.Errorf("%s: decode stored record: %w", what, errBadValue)
	}
	n, w := binary.Uvarint(v[1:])
	if w <= 0 || n > uint64(len(v)-1-w) {
		return docRec{}, fmt.Errorf("%s: decode stored record: %w", what, errBadValue)
	}
	rest := v[1+w:]
	var d docRec
	if n > 0 {
		d.LDP = append([]byte(nil), rest[:n]...)
	}
	d.JWT = string(rest[n:])
	return d, nil
}

func toMailRec(m domain.MailState) mailRec {
	return mailRec{State: m.State, MessageID: m.MessageID, At: m.At.UTC(), Detail: m.Detail}
}

func (r credentialRec) domain() domain.Credential {
	return domain.Credential{
		ID: r.ID, IssuerID: r.IssuerID, AchievementID: r.AchievementID, RecipientName: r.RecipientName,
		RecipientEmail: r.RecipientEmail, EmailKey: r.EmailKey, ValidFrom: r.ValidFrom.UTC(), ValidUntil: r.ValidUntil.UTC(),
		IssuedAt: r.IssuedAt.UTC(), Status: domain.Status(r.Status), StatusReason: r.StatusReason, StatusChangedAt: r.StatusChangedAt.UTC(),
		StatusListID: r.StatusListID, StatusIndex: r.StatusIndex, JobID: r.JobID, Row: r.Row,
		Mail: domain.MailState{State: r.Mail.State, MessageID: r.Mail.MessageID, At: r.Mail.At.UTC(), Detail: r.Mail.Detail},
	}
}

type apiKeyRec struct {
	ID        string    `json:"id"`
	Name      string    `json:"n,omitempty"`
	IssuerID  string    `json:"iss,omitempty"`
	Hash      string    `json:"h"`
	Prefix    string    `json:"p,omitempty"`
	CreatedAt time.Time `json:"ca"`
	RevokedAt time.Time `json:"ra,omitzero"`
}

func toAPIKeyRec(k domain.APIKey) apiKeyRec {
	return apiKeyRec{ID: k.ID, Name: k.Name, IssuerID: k.IssuerID, Hash: k.Hash, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC(), RevokedAt: k.RevokedAt.UTC()}
}

func (r apiKeyRec) domain() domain.APIKey {
	return domain.APIKey{ID: r.ID, Name: r.Name, IssuerID: r.IssuerID, Hash: r.Hash, Prefix: r.Prefix, CreatedAt: r.CreatedAt.UTC(), RevokedAt: r.RevokedAt.UTC()}
}

type statusListRec struct {
	IssuerID   string    `json:"iss"`
	ListID     string    `json:"id"`
	Purpose    string    `json:"p,omitempty"`
	Encoded    string    `json:"enc,omitempty"`
	Credential []byte    `json:"cred,omitempty"`
	Version    int64     `json:"v"`
	UpdatedAt  time.Time `json:"ua"`
}

func toStatusListRec(l domain.StatusList) statusListRec {
	return statusListRec{IssuerID: l.IssuerID, ListID: l.ListID, Purpose: l.Purpose, Encoded: l.Encoded, Credential: l.Credential, Version: l.Version, UpdatedAt: l.UpdatedAt.UTC()}
}

func (r statusListRec) domain() domain.StatusList {
	return domain.StatusList{IssuerID: r.IssuerID, ListID: r.ListID, Purpose: r.Purpose, Encoded: r.Encoded, Credential: r.Credential, Version: r.Version, UpdatedAt: r.UpdatedAt.UTC()}
}

type auditRec struct {
	IssuerID     string    `json:"iss,omitempty"`
	CredentialID string    `json:"cred,omitempty"`
	Action       string    `json:"a"`
	Actor        string    `json:"by,omitempty"`
	Reason       string    `json:"r,omitempty"`
	At           time.Time `json:"at"`
	RequestID    string    `json:"req,omitempty"`
}

func toAuditRec(e domain.AuditEvent) auditRec {
	return auditRec{IssuerID: e.IssuerID, CredentialID: e.CredentialID, Action: e.Action, Actor: e.Actor, Reason: e.Reason, At: e.At.UTC(), RequestID: e.RequestID}
}

func (r auditRec) domain() domain.AuditEvent {
	return domain.AuditEvent{IssuerID: r.IssuerID, CredentialID: r.CredentialID, Action: r.Action, Actor: r.Actor, Reason: r.Reason, At: r.At.UTC(), RequestID: r.RequestID}
}

type idemRec struct {
	Scope       string    `json:"s"`
	Key         string    `json:"k"`
	RequestHash string    `json:"h,omitempty"`
	ResultID    string    `json:"r,omitempty"`
	CreatedAt   time.Time `json:"ca"`
	ExpiresAt   time.Time `json:"ea,omitzero"`
}

func toIdemRec(r domain.Idempotency) idemRec {
	return idemRec{Scope: r.Scope, Key: r.Key, RequestHash: r.RequestHash, ResultID: r.ResultID, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC()}
}

func (r idemRec) domain() domain.Idempotency {
	return domain.Idempotency{Scope: r.Scope, Key: r.Key, RequestHash: r.RequestHash, ResultID: r.ResultID, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC()}
}
