package domain

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/credence-oss/credence/shared/standards/dataintegrity"
	"github.com/credence-oss/credence/shared/standards/did"
	"github.com/credence-oss/credence/shared/standards/keys"
	"github.com/credence-oss/credence/shared/standards/statuslist"
)

// GetCredential returns a credential the principal can see.
func (s *Service) GetCredential(ctx context.Context, p Principal, id string) (Credential, error) {
	c, err := s.Store.GetCredential(ctx, id)
	if err != nil {
		return Credential{}, storeErr(err, "credential")
	}
	if !p.CanAccess(c.IssuerID) {
		return Credential{}, NotFound("credential")
	}
	return c, nil
}

// PublicCredential returns a credential for the public site.
func (s *Service) PublicCredential(ctx context.Context, id string) (Credential, error) {
	c, err := s.Store.GetCredential(ctx, id)
	if err != nil {
		return Credential{}, storeErr(err, "credential")
	}
	return c, nil
}

// ListCredentials pages an issuer's credentials; email filters by recipient address.
func (s *Service) ListCredentials(ctx context.Context, p Principal, issuerID, achievementID, email string, page Page) ([]Credential, string, error) {
	if _, err := s.GetIssuer(ctx, p, issuerID); err != nil {
		return nil, "", err
	}
	f := CredentialFilter{AchievementID: achievementID}
	if email != "" {
		f.EmailKey = EmailLookupKey(issuerID, email)
	}
	if page.Limit <= 0 || page.Limit > 100 {
		page.Limit = 50
	}
	return s.Store.ListCredentials(ctx, issuerID, f, page)
}

// Status actions of the API.
const (
	ActionRevoke    = "revoke"
	ActionSuspend   = "suspend"
	ActionReinstate = "reinstate"
)

// ChangeStatus revokes, suspends or reinstates a credential: it flips the bit in the matching
// status list, re-signs and stores that list, records the change with its reason in the audit
// trail, and drops cached public copies.
func (s *Service) ChangeStatus(ctx context.Context, p Principal, id, action, reason, requestID string) (Credential, error) {
	c, err := s.GetCredential(ctx, p, id)
	if err != nil {
		return Credential{}, err
	}
	reason = strings.TrimSpace(reason)
	if len(reason) > 1000 {
		return Credential{}, Invalid("validation_failed", "the request has invalid fields", FieldError{Field: "reason", Message: "must be at most 1000 long"})
	}
	var to Status
	switch action {
	case ActionRevoke:
		if !slices.Contains(credentialPurposes(c), PurposeRevocation) {
			return Credential{}, Conflict("revocation_not_enabled", "the credential has no revocation status entry")
		}
		if c.Status == StatusRevoked {
			return Credential{}, Conflict("already_revoked", "the credential is already revoked")
		}
		to = StatusRevoked
	case ActionSuspend:
		if !slices.Contains(credentialPurposes(c), PurposeSuspension) {
			return Credential{}, Conflict("suspension_not_enabled", "the credential has no suspension status entry, so it can be revoked but not suspended; issuers that want suspension set statusPurposes to [\"revocation\", \"suspension\"] for the credentials they issue next")
		}
		if c.Status != StatusActive {
			return Credential{}, Conflict("not_active", "only an active credential can be suspended; it is "+string(c.Status))
		}
		to = StatusSuspended
	case ActionReinstate:
		if c.Status != StatusSuspended {
			return Credential{}, Conflict("not_suspended", "only a suspended credential can be reinstated; it is "+string(c.Status))
		}
		to = StatusActive
	default:
		return Credential{}, Invalid("unknown_action", "action must be revoke, suspend or reinstate")
	}
	now := s.Clock().UTC()
	// Publish the list first: if the list update fails, the record still says the old status and
	// a retry does the whole change again; the reverse order could show "revoked" in our API
	// while verifiers still see a valid credential.
	if err := s.publishStatus(ctx, c, to); err != nil {
		return Credential{}, err
	}
	audit := AuditEvent{IssuerID: c.IssuerID, CredentialID: id, Action: action, Actor: p.KeyID, Reason: reason, At: now, RequestID: requestID}
	updated, err := s.Store.UpdateCredentialStatus(ctx, id, c.Status, to, reason, now, audit)
	if err != nil {
		return Credential{}, storeErr(err, "credential")
	}
	if err := s.Invalidator.Invalidate(ctx, "/c/"+id, "/c/"+id+".*"); err != nil {
		s.log(ctx).Warn("cache invalidation failed; pages refresh when their cache expires", "credentialId", id, "err", err)
	}
	return updated, nil
}

// publishStatus sets the bits of c in the status lists it has entries in to match status to.
func (s *Service) publishStatus(ctx context.Context, c Credential, to Status) error {
	want := map[string]bool{PurposeRevocation: to == StatusRevoked, PurposeSuspension: to == StatusSuspended}
	for _, purpose := range credentialPurposes(c) {
		if err := s.setBit(ctx, c.IssuerID, c.StatusListID, purpose, c.StatusIndex, want[purpose]); err != nil {
			return err
		}
	}
	return nil
}

// credentialPurposes reads the status purposes a credential was signed with from its
// credentialStatus (an object or an array). Credentials stored without their documents (never
// the case for GetCredential) fall back to the default.
func credentialPurposes(c Credential) []string {
	var doc struct {
		Status json.RawMessage `json:"credentialStatus"`
	}
	if len(c.LDP) == 0 || json.Unmarshal(c.LDP, &doc) != nil {
		return []string{PurposeRevocation}
	}
	var entries []struct {
		Purpose string `json:"statusPurpose"`
	}
	if err := json.Unmarshal(doc.Status, &entries); err != nil {
		entries = entries[:0]
		var one struct {
			Purpose string `json:"statusPurpose"`
		}
		if json.Unmarshal(doc.Status, &one) == nil {
			entries = append(entries, one)
		}
	}
	var out []string
	for _, e := range entries {
		if (e.Purpose == PurposeRevocation || e.Purpose == PurposeSuspension) && !slices.Contains(out, e.Purpose) {
			out = append(out, e.Purpose)
		}
	}
	return out
}

// setBit updates one list with optimistic locking, retrying when another change won.
func (s *Service) setBit(ctx context.Context, issuerID, listID, purpose string, index int, value bool) error {
	for attempt := 0; attempt < 20; attempt++ {
		l, err := s.loadList(ctx, issuerID, listID, purpose)
		if err != nil {
			return err
		}
		bits, err := statuslist.Decode(l.Encoded)
		if err != nil {
			return fmt.Errorf("status list %s: %w", l.ListID, err)
		}
		cur, err := bits.Get(index)
		if err != nil {
			return fmt.Errorf("status list %s: %w", l.ListID, err)
		}
		if cur == value && l.Version > 0 {
			return nil
		}
		if err := bits.Set(index, value); err != nil {
			return fmt.Errorf("status list %s: %w", l.ListID, err)
		}
		next, err := s.signList(ctx, issuerID, listID, purpose, bits, l.Version+1)
		if err != nil {
			return err
		}
		err = s.Store.PutStatusList(ctx, next)
		if err == nil {
			// The list is stored: a failed invalidation (CloudFront throttles mass revocations)
			// must not fail the change, or the credential record would lag behind the list; the
			// list's short cache lifetime bounds how long a stale copy lives.
			if err := s.Invalidator.Invalidate(ctx, "/status/"+issuerID+"/"+next.ListID); err != nil {
				s.log(ctx).Warn("status list invalidation failed; it refreshes when its cache expires", "issuerId", issuerID, "list", next.ListID, "err", err)
			}
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			return fmt.Errorf("store status list: %w", err)
		}
	}
	return &Error{Kind: KindUnavailable, Code: "busy", Message: "the status list is being changed by many requests; retry"}
}

// loadList returns the stored list, or an unsigned empty one at version 0.
func (s *Service) loadList(ctx context.Context, issuerID, listID, purpose string) (StatusList, error) {
	full := purpose + "-" + listID
	l, err := s.Store.GetStatusList(ctx, issuerID, full)
	if errors.Is(err, ErrNotFound) {
		empty, err := statuslist.New(StatusListSize)
		if err != nil {
			return StatusList{}, err
		}
		enc, err := empty.Encode()
		if err != nil {
			return StatusList{}, err
		}
		return StatusList{IssuerID: issuerID, ListID: full, Purpose: purpose, Encoded: enc}, nil
	}
	if err != nil {
		return StatusList{}, fmt.Errorf("load status list %s: %w", full, err)
	}
	return l, nil
}

func (s *Service) signList(ctx context.Context, issuerID, listID, purpose string, bits *statuslist.List, version int64) (StatusList, error) {
	iss, err := s.Store.GetIssuer(ctx, issuerID)
	if err != nil {
		return StatusList{}, storeErr(err, "issuer")
	}
	now := s.Clock().UTC().Truncate(time.Second)
	url := s.StatusListURL(issuerID, listID, purpose)
	doc, err := statuslist.Credential(url, iss.DID, purpose, bits, now)
	if err != nil {
		return StatusList{}, fmt.Errorf("build status list credential: %w", err)
	}
	edPub, err := s.Signer.PublicKey(ctx, iss.EdKey)
	if err != nil {
		return StatusList{}, unavailable("issuer Ed25519 key", err)
	}
	vm, err := did.VerificationMethodID(iss.DID, edPub)
	if err != nil {
		return StatusList{}, err
	}
	signed, err := dataintegrity.Sign(ctx, doc, dataintegrity.Options{VerificationMethod: vm, Created: now}, SignFunc(s.Signer, iss.EdKey, keys.EdDSA))
	if err != nil {
		return StatusList{}, unavailable("sign status list", err)
	}
	raw, err := json.Marshal(signed)
	if err != nil {
		return StatusList{}, err
	}
	enc, err := bits.Encode()
	if err != nil {
		return StatusList{}, err
	}
	return StatusList{IssuerID: issuerID, ListID: purpose + "-" + listID, Purpose: purpose, Encoded: enc, Credential: raw, Version: version, UpdatedAt: now}, nil
}

// StatusListCredential returns the signed status list credential served at
// /status/{issuerId}/{listId}; a list nobody has changed yet is signed on first request.
func (s *Service) StatusListCredential(ctx context.Context, issuerID, fullListID string) ([]byte, error) {
	purpose, listID, ok := strings.Cut(fullListID, "-")
	if !ok || (purpose != PurposeRevocation && purpose != PurposeSuspension) {
		return nil, NotFound("status_list")
	}
	if n, err := strconv.Atoi(listID); err != nil || n < 1 || strconv.Itoa(n) != listID {
		return nil, NotFound("status_list")
	}
	for attempt := 0; attempt < 5; attempt++ {
		l, err := s.loadList(ctx, issuerID, listID, purpose)
		if err != nil {
			return nil, err
		}
		if l.Version > 0 {
			return l.Credential, nil
		}
		if _, err := s.Store.GetIssuer(ctx, issuerID); err != nil {
			return nil, storeErr(err, "issuer")
		}
		if used, err := s.Store.CountStatusIndexes(ctx, issuerID, listID); err != nil || used == 0 {
			return nil, NotFound("status_list")
		}
		bits, err := statuslist.Decode(l.Encoded)
		if err != nil {
			return nil, err
		}
		next, err := s.signList(ctx, issuerID, listID, purpose, bits, 1)
		if err != nil {
			return nil, err
		}
		if err := s.Store.PutStatusList(ctx, next); err == nil {
			return next.Credential, nil
		} else if !errors.Is(err, ErrConflict) {
			return nil, fmt.Errorf("store status list: %w", err)
		}
	}
	return nil, &Error{Kind: KindUnavailable, Code: "busy", Message: "retry"}
}

// DIDDocument is the issuer's did:web document listing both of its keys.
func (s *Service) DIDDocument(ctx context.Context, issuerID string) (did.Document, error) {
	iss, err := s.PublicIssuer(ctx, issuerID)
	if err != nil {
		return did.Document{}, err
	}
	edPub, err := s.Signer.PublicKey(ctx, iss.EdKey)
	if err != nil {
		return did.Document{}, unavailable("issuer Ed25519 key", err)
	}
	rsaPub, err := s.Signer.PublicKey(ctx, iss.RSAKey)
	if err != nil {
		return did.Document{}, unavailable("issuer RSA key", err)
	}
	ed, ok1 := edPub.(ed25519.PublicKey)
	rs, ok2 := rsaPub.(*rsa.PublicKey)
	if !ok1 || !ok2 {
		return did.Document{}, fmt.Errorf("issuer %s keys have unexpected types %T, %T", issuerID, edPub, rsaPub)
	}
	return did.NewDocument(iss.DID, ed, rs), nil
}

// Audit lists a credential's audit trail.
func (s *Service) Audit(ctx context.Context, p Principal, credentialID string) ([]AuditEvent, error) {
	if _, err := s.GetCredential(ctx, p, credentialID); err != nil {
		return nil, err
	}
	return s.Store.ListAudit(ctx, credentialID)
}
