package domain

import (
	"context"
	"fmt"
	"time"
)

// Public states of a credential, as its page shows them. They are what a viewer needs to
// know right now, so time matters as much as the status lists: an active credential past its
// validUntil is expired, one before its validFrom is not valid yet.
const (
	PublicValid       = "valid"
	PublicExpired     = "expired"
	PublicRevoked     = "revoked"
	PublicSuspended   = "suspended"
	PublicNotYetValid = "not-yet-valid"
)

// PublicStatus is the current state of a credential with when it began and, for a revocation
// or suspension, the issuer's stated reason.
type PublicStatus struct {
	State  string
	Since  time.Time // zero when unknown (a valid credential: its validFrom)
	Reason string
}

// PublicView is what the public credential page shows: the stored credential with its issuer
// and achievement as they are now, and the credential's current status.
type PublicView struct {
	Credential  Credential
	Issuer      Issuer
	Achievement Achievement
	Status      PublicStatus
	URL         string // the page, which is also the credential's id
}

// PublicView gathers a credential's page data. The issuer and achievement are read as they
// are today (branding changes show on old credentials); what was signed stays in the LDP/JWT.
func (s *Service) PublicView(ctx context.Context, id string) (PublicView, error) {
	c, err := s.PublicCredential(ctx, id)
	if err != nil {
		return PublicView{}, err
	}
	iss, err := s.Store.GetIssuer(ctx, c.IssuerID)
	if err != nil {
		return PublicView{}, fmt.Errorf("credential %s: %w", id, storeErr(err, "issuer"))
	}
	ach, err := s.Store.GetAchievement(ctx, c.IssuerID, c.AchievementID)
	if err != nil {
		return PublicView{}, fmt.Errorf("credential %s: %w", id, storeErr(err, "achievement"))
	}
	return PublicView{
		Credential: c, Issuer: iss, Achievement: ach,
		Status: CurrentStatus(c, s.Clock()),
		URL:    s.CredentialURL(c.ID),
	}, nil
}

// CurrentStatus is the public state of c at now. Revocation outranks suspension, which outranks
// the validity period: a revoked credential that has also expired is shown as revoked, since
// that is the stronger statement and the one with a reason.
func CurrentStatus(c Credential, now time.Time) PublicStatus {
	switch c.Status {
	case StatusRevoked:
		return PublicStatus{State: PublicRevoked, Since: c.StatusChangedAt, Reason: c.StatusReason}
	case StatusSuspended:
		return PublicStatus{State: PublicSuspended, Since: c.StatusChangedAt, Reason: c.StatusReason}
	}
	switch {
	case !c.ValidUntil.IsZero() && !now.Before(c.ValidUntil):
		return PublicStatus{State: PublicExpired, Since: c.ValidUntil}
	case !c.ValidFrom.IsZero() && now.Before(c.ValidFrom):
		return PublicStatus{State: PublicNotYetValid, Since: c.ValidFrom}
	}
	return PublicStatus{State: PublicValid, Since: c.ValidFrom}
}
