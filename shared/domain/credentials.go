package domain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/credence-oss/credence/shared/standards/dataintegrity"
	"github.com/credence-oss/credence/shared/standards/did"
	"github.com/credence-oss/credence/shared/standards/jsonld"
	"github.com/credence-oss/credence/shared/standards/keys"
	"github.com/credence-oss/credence/shared/standards/ob3"
	"github.com/credence-oss/credence/shared/standards/vcjwt"
)

// IssueInput is one credential to issue.
type IssueInput struct {
	AchievementID string          `json:"achievementId" validate:"required,max=64"`
	Recipient     RecipientInput  `json:"recipient"`
	ValidFrom     *time.Time      `json:"validFrom,omitempty"`
	ValidUntil    *time.Time      `json:"validUntil,omitempty"`
	Evidence      []EvidenceInput `json:"evidence,omitempty" validate:"max=20,dive"`
	Result        []ResultInput   `json:"result,omitempty" validate:"max=20,dive"`
	Notify        bool            `json:"notify,omitempty"`
}

// RecipientInput names the learner. The e-mail address goes into the credential only as a
// salted hash.
type RecipientInput struct {
	Name  string `json:"name" validate:"required,max=200"`
	Email string `json:"email" validate:"required,email,max=320"`
}

// EvidenceInput is one piece of evidence: a URL, a narrative, or both.
type EvidenceInput struct {
	ID          string `json:"id,omitempty" validate:"omitempty,http_url,max=2000"`
	Name        string `json:"name,omitempty" validate:"max=200"`
	Description string `json:"description,omitempty" validate:"max=4000"`
	Narrative   string `json:"narrative,omitempty" validate:"max=10000"`
	Genre       string `json:"genre,omitempty" validate:"max=100"`
}

// ResultInput is one result (a grade, a score, a status).
type ResultInput struct {
	Value  string `json:"value,omitempty" validate:"max=200"`
	Status string `json:"status,omitempty" validate:"omitempty,oneof=Completed Enrolled Failed InProgress OnHold Provisional Withdrew"`
}

// IssueOptions carry what the caller, not the body, decides.
type IssueOptions struct {
	Actor string // API key id, "job:<id>", ...
	// IdempotencyKey (from the Idempotency-Key header) or JobID+Row make the credential id
	// deterministic, so a retry finds the first credential instead of making a second.
	IdempotencyKey string
	JobID          string
	Row            int
	RequestID      string
	// Slot, when given, keeps the status index the first attempt claimed for the caller's
	// retries of the same credential (signing throttled, say). The index is part of the signed
	// document, so it is claimed before signing; without the slot each retry would claim
	// another and leave the earlier ones claimed and never used.
	Slot *StatusSlot
}

// StatusSlot is a claimed status list index, carried from one Issue attempt to the next.
type StatusSlot struct {
	listID string
	index  int
}

// StatusListSize is the length of every status list: the Bitstring Status List minimum,
// which gives group privacy (a list fetch does not reveal which credential is checked).
const StatusListSize = 131072

// listFillLimit is how many indexes of a list are handed out before a new list starts, so a
// random probe still finds a free index in a couple of tries.
const listFillLimit = StatusListSize * 3 / 4

// Issue builds, signs (both proof formats) and stores one credential and queues its mail when
// asked. It returns created=false when the credential already existed (a retried request or a
// redelivered message), with the stored record.
func (s *Service) Issue(ctx context.Context, p Principal, issuerID string, in IssueInput, opt IssueOptions) (Credential, bool, error) {
	iss, err := s.GetIssuer(ctx, p, issuerID)
	if err != nil {
		return Credential{}, false, err
	}
	if err := check(in); err != nil {
		return Credential{}, false, err
	}
	email := NormalizeEmail(in.Recipient.Email)
	name := strings.Join(strings.Fields(in.Recipient.Name), " ")
	if name == "" {
		return Credential{}, false, Invalid("validation_failed", "the request has invalid fields", FieldError{Field: "recipient.name", Message: "required"})
	}
	ach, err := s.Store.GetAchievement(ctx, issuerID, in.AchievementID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Credential{}, false, Invalid("unknown_achievement", "the achievement does not exist for this issuer", FieldError{Field: "achievementId", Message: "no such achievement"})
		}
		return Credential{}, false, fmt.Errorf("issue: load achievement: %w", err)
	}

	now := s.Clock().UTC().Truncate(time.Second)
	validFrom := now
	if in.ValidFrom != nil {
		validFrom = in.ValidFrom.UTC().Truncate(time.Second)
	}
	var validUntil time.Time
	switch {
	case in.ValidUntil != nil:
		validUntil = in.ValidUntil.UTC().Truncate(time.Second)
	case ach.ValidForDays > 0:
		validUntil = validFrom.AddDate(0, 0, ach.ValidForDays)
	}
	if !validUntil.IsZero() && !validUntil.After(validFrom) {
		return Credential{}, false, Invalid("validation_failed", "the request has invalid fields", FieldError{Field: "validUntil", Message: "must be after validFrom"})
	}

	id := NewID()
	switch {
	case opt.JobID != "":
		id = DerivedID("job", opt.JobID, strconv.Itoa(opt.Row))
	case opt.IdempotencyKey != "":
		id = DerivedID("idem", issuerID, opt.Actor, opt.IdempotencyKey)
	}
	if opt.JobID != "" || opt.IdempotencyKey != "" {
		if existing, err := s.Store.GetCredential(ctx, id); err == nil {
			return existing, false, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Credential{}, false, fmt.Errorf("issue: look up %s: %w", id, err)
		}
	}

	var (
		listID string
		index  int
	)
	if opt.Slot != nil && opt.Slot.listID != "" {
		listID, index = opt.Slot.listID, opt.Slot.index
	} else {
		if listID, index, err = s.claimStatusIndex(ctx, issuerID); err != nil {
			return Credential{}, false, err
		}
		if opt.Slot != nil {
			opt.Slot.listID, opt.Slot.index = listID, index
		}
	}
	salt, err := newSalt()
	if err != nil {
		return Credential{}, false, err
	}
	cred := s.buildCredential(iss, ach, id, name, email, salt, validFrom, validUntil, in, listID, index)
	doc, err := cred.ToMap()
	if err != nil {
		return Credential{}, false, fmt.Errorf("issue: %w", err)
	}
	ldp, jwt, err := s.sign(ctx, iss, doc, now)
	if err != nil {
		return Credential{}, false, err
	}
	rec := Credential{
		ID: id, IssuerID: issuerID, AchievementID: ach.ID, RecipientName: name, RecipientEmail: email,
		EmailKey: EmailLookupKey(issuerID, email), ValidFrom: validFrom, ValidUntil: validUntil, IssuedAt: now,
		Status: StatusActive, StatusListID: listID, StatusIndex: index, LDP: ldp, JWT: jwt,
		JobID: opt.JobID, Row: opt.Row,
	}
	if in.Notify {
		rec.Mail = MailState{State: MailQueued, At: now}
	}
	issued := AuditEvent{IssuerID: issuerID, CredentialID: id, Action: "issue", Actor: opt.Actor, At: now, RequestID: opt.RequestID}
	audited, oneWrite := s.Store.(AuditedCreator)
	if oneWrite {
		err = audited.CreateCredentialAudited(ctx, rec, &issued)
	} else {
		err = s.Store.CreateCredential(ctx, rec)
	}
	if err != nil {
		if errors.Is(err, ErrConflict) {
			// Another delivery of the same request won the race: its credential is the one.
			existing, gerr := s.Store.GetCredential(ctx, id)
			if gerr != nil {
				return Credential{}, false, fmt.Errorf("issue: load raced credential: %w", gerr)
			}
			return existing, false, nil
		}
		return Credential{}, false, fmt.Errorf("issue: store: %w", err)
	}
	if !oneWrite {
		if err := s.Store.AppendAudit(ctx, issued); err != nil {
			s.log(ctx).Warn("audit append failed", "credentialId", id, "err", err)
		}
	}
	if in.Notify {
		if err := s.QueueMail(ctx, id); err != nil {
			return Credential{}, false, err
		}
	}
	return rec, true, nil
}

// MailMessage is the body of a TopicMail message.
type MailMessage struct {
	CredentialID string `json:"credentialId"`
	Resend       bool   `json:"resend,omitempty"`
}

// QueueMail queues the notification mail of a credential.
func (s *Service) QueueMail(ctx context.Context, credentialID string) error {
	body, _ := json.Marshal(MailMessage{CredentialID: credentialID})
	if err := s.Queue.Publish(ctx, TopicMail, body); err != nil {
		return fmt.Errorf("queue mail for %s: %w", credentialID, err)
	}
	return nil
}

// CredentialURL is the public page of a credential; it is also the credential's id.
func (s *Service) CredentialURL(id string) string { return s.base() + "/c/" + id }

// StatusListURL is where a status list credential is served.
func (s *Service) StatusListURL(issuerID, listID, purpose string) string {
	return s.base() + "/status/" + issuerID + "/" + purpose + "-" + listID
}

func (s *Service) buildCredential(iss Issuer, ach Achievement, id, name, email, salt string, validFrom, validUntil time.Time, in IssueInput, listID string, index int) *ob3.Credential {
	achievement := ob3.Achievement{
		ID:              s.base() + "/issuers/" + iss.ID + "/achievements/" + ach.ID,
		Type:            ob3.Many[string]{"Achievement"},
		Name:            ach.Name,
		Description:     ach.Description,
		Criteria:        &ob3.Criteria{ID: ach.Criteria.ID, Narrative: ach.Criteria.Narrative},
		AchievementType: ach.AchievementType,
		Tag:             ob3.Many[string](ach.Skills),
		Creator:         nil,
	}
	if ach.Image != "" {
		achievement.Image = &ob3.Image{ID: ach.Image, Type: "Image", Caption: ach.Name}
	}
	for _, a := range ach.Alignments {
		achievement.Alignment = append(achievement.Alignment, ob3.Alignment{
			Type: ob3.Many[string]{"Alignment"}, TargetName: a.TargetName, TargetURL: a.TargetURL,
			TargetDescription: a.TargetDescription, TargetFramework: a.TargetFramework, TargetCode: a.TargetCode, TargetType: a.TargetType,
		})
	}
	subject := ob3.AchievementSubject{
		Type:        ob3.Many[string]{"AchievementSubject"},
		Achievement: &achievement,
	}
	// The name as the first identifier (what current wallets display) and as
	// credentialSubject.name (what older ones read); the e-mail only as a salted hash.
	subject.SetRecipient(name, email, salt)
	for _, r := range in.Result {
		subject.Result = append(subject.Result, ob3.Result{Type: ob3.Many[string]{"Result"}, Value: r.Value, Status: r.Status})
	}
	profile := &ob3.Profile{ID: iss.DID, Type: ob3.Many[string]{"Profile"}, Name: iss.Name, URL: iss.URL, Description: iss.Description}
	if iss.Image != "" {
		profile.Image = &ob3.Image{ID: iss.Image, Type: "Image", Caption: iss.Name}
	}
	c := &ob3.Credential{
		Context:           ob3.Many[any]{jsonld.CredentialsV2, jsonld.OB303},
		ID:                s.CredentialURL(id),
		Type:              ob3.Many[string]{"VerifiableCredential", "OpenBadgeCredential"},
		Name:              ach.Name,
		Issuer:            profile,
		ValidFrom:         validFrom.Format(time.RFC3339),
		CredentialSubject: &subject,
	}
	for _, purpose := range iss.Purposes() {
		c.CredentialStatus = append(c.CredentialStatus, statusEntry(s.StatusListURL(iss.ID, listID, purpose), purpose, index))
	}
	if !validUntil.IsZero() {
		c.ValidUntil = validUntil.Format(time.RFC3339)
	}
	for _, e := range in.Evidence {
		c.Evidence = append(c.Evidence, ob3.Evidence{Type: ob3.Many[string]{"Evidence"}, ID: e.ID, Name: e.Name,
			Description: e.Description, Narrative: e.Narrative, Genre: e.Genre})
	}
	return c
}

func statusEntry(listURL, purpose string, index int) ob3.CredentialStatus {
	return ob3.CredentialStatus{
		ID: listURL + "#" + strconv.Itoa(index), Type: "BitstringStatusListEntry", StatusPurpose: purpose,
		StatusListIndex: strconv.Itoa(index), StatusListCredential: listURL,
	}
}

// sign produces both forms: the JSON credential with its eddsa-rdfc-2022 proof, and the RS256
// VC-JWT of the same credential.
func (s *Service) sign(ctx context.Context, iss Issuer, doc map[string]any, now time.Time) ([]byte, string, error) {
	edPub, err := s.Signer.PublicKey(ctx, iss.EdKey)
	if err != nil {
		return nil, "", unavailable("issuer Ed25519 key", err)
	}
	vm, err := did.VerificationMethodID(iss.DID, edPub)
	if err != nil {
		return nil, "", fmt.Errorf("issuer Ed25519 key: %w", err)
	}
	signed, err := dataintegrity.Sign(ctx, doc, dataintegrity.Options{VerificationMethod: vm, Created: now},
		SignFunc(s.Signer, iss.EdKey, keys.EdDSA))
	if err != nil {
		return nil, "", unavailable("sign credential", err)
	}
	ldp, err := json.Marshal(signed)
	if err != nil {
		return nil, "", fmt.Errorf("encode signed credential: %w", err)
	}
	rsaPub, err := s.Signer.PublicKey(ctx, iss.RSAKey)
	if err != nil {
		return nil, "", unavailable("issuer RSA key", err)
	}
	kid, err := did.VerificationMethodID(iss.DID, rsaPub)
	if err != nil {
		return nil, "", fmt.Errorf("issuer RSA key: %w", err)
	}
	jwt, err := vcjwt.Sign(ctx, doc, vcjwt.SignOptions{Alg: keys.RS256, Kid: kid, Sign: SignFunc(s.Signer, iss.RSAKey, keys.RS256)})
	if err != nil {
		return nil, "", unavailable("sign VC-JWT", err)
	}
	return ldp, jwt, nil
}

// claimStatusIndex hands out a random free index of the issuer's current list pair.
func (s *Service) claimStatusIndex(ctx context.Context, issuerID string) (string, int, error) {
	for n := 1; n < 10000; n++ {
		listID := strconv.Itoa(n)
		used, err := s.Store.CountStatusIndexes(ctx, issuerID, listID)
		if err != nil {
			return "", 0, fmt.Errorf("status list %s: %w", listID, err)
		}
		if used >= listFillLimit {
			continue
		}
		for try := 0; try < 8; try++ {
			i, err := rand.Int(rand.Reader, big.NewInt(StatusListSize))
			if err != nil {
				return "", 0, fmt.Errorf("status index: %w", err)
			}
			err = s.Store.ClaimStatusIndex(ctx, issuerID, listID, int(i.Int64()))
			if err == nil {
				return listID, int(i.Int64()), nil
			}
			if !errors.Is(err, ErrConflict) {
				return "", 0, fmt.Errorf("claim status index: %w", err)
			}
		}
	}
	return "", 0, errors.New("status lists exhausted")
}

func newSalt() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// NormalizeEmail is the one form of an address that is hashed, stored and compared.
func NormalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// EmailLookupKey lets an issuer find a recipient's credentials without indexing the address
// itself.
func EmailLookupKey(issuerID, email string) string {
	return DerivedID("email", issuerID, NormalizeEmail(email))
}
