package domain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/credence-oss/credence/shared/standards/did"
	"github.com/credence-oss/credence/shared/standards/keys"
)

// Service is the domain: every use case, over the ports. Construct it with all ports set.
type Service struct {
	Store       Store
	Signer      Signer
	Queue       Queue
	Invalidator Invalidator
	Analytics   Analytics // engagement counters (analytics.go); nil: nothing is counted
	Clock       Clock
	// BaseURL is the public site, e.g. https://badges.example.edu; credential ids, status lists
	// and issuer DIDs are built from it.
	BaseURL string
	// BootstrapKeyHash is the hex SHA-256 of the deployment's bootstrap admin key, if any.
	BootstrapKeyHash string
	Log              *slog.Logger
}

func (s *Service) log(ctx context.Context) *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Host is the public host (with port) of BaseURL.
func (s *Service) Host() string {
	u, err := url.Parse(s.BaseURL)
	if err != nil {
		return ""
	}
	return u.Host
}

func (s *Service) base() string { return strings.TrimRight(s.BaseURL, "/") }

// IssuerInput creates an issuer.
type IssuerInput struct {
	Name        string        `json:"name" validate:"required,max=200"`
	URL         string        `json:"url" validate:"required,http_url,max=2000"`
	Email       string        `json:"email" validate:"required,email,max=320"`
	Description string        `json:"description,omitempty" validate:"max=4000"`
	Image       string        `json:"image,omitempty" validate:"omitempty,http_url,max=2000"`
	Branding    *BrandingData `json:"branding,omitempty"`
	// StatusPurposes default to ["revocation"]; see Issuer.StatusPurposes for why suspension
	// is opt-in.
	StatusPurposes []string `json:"statusPurposes,omitempty" validate:"omitempty,max=2,dive,oneof=revocation suspension"`
}

// BrandingData is the branding part of an issuer request.
type BrandingData struct {
	PrimaryColor string `json:"primaryColor,omitempty" validate:"omitempty,hexcolor"`
	Logo         string `json:"logo,omitempty" validate:"omitempty,http_url,max=2000"`
}

// IssuerPatch changes an issuer; absent fields stay as they are.
type IssuerPatch struct {
	Name        *string       `json:"name,omitempty" validate:"omitempty,min=1,max=200"`
	URL         *string       `json:"url,omitempty" validate:"omitempty,http_url,max=2000"`
	Email       *string       `json:"email,omitempty" validate:"omitempty,email,max=320"`
	Description *string       `json:"description,omitempty" validate:"omitempty,max=4000"`
	Image       *string       `json:"image,omitempty" validate:"omitempty,http_url,max=2000"`
	Branding    *BrandingData `json:"branding,omitempty"`
	// StatusPurposes apply to credentials issued from now on; issued ones keep their entries.
	StatusPurposes []string `json:"statusPurposes,omitempty" validate:"omitempty,max=2,dive,oneof=revocation suspension"`
}

// CreateIssuer provisions an issuer: its two signing keys and its did:web identity. Admin only.
func (s *Service) CreateIssuer(ctx context.Context, p Principal, in IssuerInput) (Issuer, error) {
	if !p.Admin() {
		return Issuer{}, &Error{Kind: KindForbidden, Code: "forbidden", Message: "only an admin key can create issuers"}
	}
	if err := check(in); err != nil {
		return Issuer{}, err
	}
	id := NewID()
	didID, err := did.WebDID(s.Host(), "issuers", id)
	if err != nil {
		return Issuer{}, fmt.Errorf("create issuer: public host %q: %w", s.Host(), err)
	}
	edKey, err := s.Signer.CreateKey(ctx, keys.EdDSA, "credence issuer "+id+" eddsa-rdfc-2022")
	if err != nil {
		return Issuer{}, unavailable("create Ed25519 key", err)
	}
	rsaKey, err := s.Signer.CreateKey(ctx, keys.RS256, "credence issuer "+id+" VC-JWT RS256")
	if err != nil {
		return Issuer{}, unavailable("create RSA key", err)
	}
	now := s.Clock().UTC()
	iss := Issuer{
		ID: id, Name: strings.TrimSpace(in.Name), URL: in.URL, Email: in.Email, Description: in.Description,
		Image: in.Image, DID: didID, EdKey: edKey, RSAKey: rsaKey, CreatedAt: now, UpdatedAt: now,
	}
	if in.Branding != nil {
		if err := check(in.Branding); err != nil {
			return Issuer{}, err
		}
		iss.Branding = Branding(*in.Branding)
	}
	if iss.StatusPurposes, err = statusPurposes(in.StatusPurposes); err != nil {
		return Issuer{}, err
	}
	if err := s.Store.CreateIssuer(ctx, iss); err != nil {
		return Issuer{}, fmt.Errorf("create issuer: %w", err)
	}
	s.log(ctx).Info("issuer created", "issuerId", id, "did", didID)
	return iss, nil
}

// GetIssuer returns an issuer the principal can see.
func (s *Service) GetIssuer(ctx context.Context, p Principal, id string) (Issuer, error) {
	if !p.CanAccess(id) {
		return Issuer{}, NotFound("issuer")
	}
	iss, err := s.Store.GetIssuer(ctx, id)
	if err != nil {
		return Issuer{}, storeErr(err, "issuer")
	}
	return iss, nil
}

// PublicIssuer returns an issuer for the public site.
func (s *Service) PublicIssuer(ctx context.Context, id string) (Issuer, error) {
	iss, err := s.Store.GetIssuer(ctx, id)
	if err != nil {
		return Issuer{}, storeErr(err, "issuer")
	}
	return iss, nil
}

// UpdateIssuer applies a patch. Credentials already issued keep the profile they were signed
// with; new ones carry the new one.
func (s *Service) UpdateIssuer(ctx context.Context, p Principal, id string, patch IssuerPatch) (Issuer, error) {
	if err := check(patch); err != nil {
		return Issuer{}, err
	}
	iss, err := s.GetIssuer(ctx, p, id)
	if err != nil {
		return Issuer{}, err
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&iss.Name, patch.Name)
	set(&iss.URL, patch.URL)
	set(&iss.Email, patch.Email)
	set(&iss.Description, patch.Description)
	set(&iss.Image, patch.Image)
	if patch.Branding != nil {
		if err := check(patch.Branding); err != nil {
			return Issuer{}, err
		}
		iss.Branding = Branding(*patch.Branding)
	}
	if patch.StatusPurposes != nil {
		if iss.StatusPurposes, err = statusPurposes(patch.StatusPurposes); err != nil {
			return Issuer{}, err
		}
	}
	iss.UpdatedAt = s.Clock().UTC()
	if err := s.Store.UpdateIssuer(ctx, iss); err != nil {
		return Issuer{}, storeErr(err, "issuer")
	}
	return iss, nil
}

// ListIssuers pages through the issuers the principal can see.
func (s *Service) ListIssuers(ctx context.Context, p Principal, page Page) ([]Issuer, string, error) {
	if !p.Admin() {
		iss, err := s.GetIssuer(ctx, p, p.IssuerID)
		if err != nil {
			return nil, "", err
		}
		return []Issuer{iss}, "", nil
	}
	return s.Store.ListIssuers(ctx, page)
}

func unavailable(what string, err error) error {
	if errors.Is(err, ErrThrottled) {
		return &Error{Kind: KindUnavailable, Code: "throttled", Message: what + ": the key service is busy; retry", Err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// statusPurposes normalizes an issuer's status purposes: revocation is required (a credential
// that cannot be revoked is not one a registrar can stand behind), suspension optional, in
// that order; none given means revocation only.
func statusPurposes(in []string) ([]string, error) {
	var rev, susp bool
	for _, p := range in {
		rev = rev || p == PurposeRevocation
		susp = susp || p == PurposeSuspension
	}
	if len(in) > 0 && !rev {
		return nil, Invalid("validation_failed", "the request has invalid fields",
			FieldError{Field: "statusPurposes", Message: "must include revocation"})
	}
	if susp {
		return []string{PurposeRevocation, PurposeSuspension}, nil
	}
	return []string{PurposeRevocation}, nil
}
