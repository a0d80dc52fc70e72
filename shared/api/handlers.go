package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/web"
)

func (a *API) createIssuer(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	return a.create(w, r, p, "POST /v1/issuers",
		func(id string) string { return "/v1/issuers/" + id },
		func(id string) (any, error) { return a.svc.GetIssuer(r.Context(), p, id) },
		func() (string, any, error) {
			var in domain.IssuerInput
			if err := web.DecodeJSON(r, &in, 0); err != nil {
				return "", nil, err
			}
			iss, err := a.svc.CreateIssuer(r.Context(), p, in)
			return iss.ID, iss, err
		})
}

func (a *API) listIssuers(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	items, next, err := a.svc.ListIssuers(r.Context(), p, pg)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, listOf(items, next))
	return nil
}

func (a *API) getIssuer(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	iss, err := a.svc.GetIssuer(r.Context(), p, r.PathValue("issuerId"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, iss)
	return nil
}

func (a *API) patchIssuer(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	id := r.PathValue("issuerId")
	if !p.CanAccess(id) {
		return domain.NotFound("issuer")
	}
	var in domain.IssuerPatch
	if err := web.DecodeJSON(r, &in, 0); err != nil {
		return err
	}
	iss, err := a.svc.UpdateIssuer(r.Context(), p, id, in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, iss)
	return nil
}

func (a *API) createAchievement(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	issuerID := r.PathValue("issuerId")
	if !p.CanAccess(issuerID) {
		return domain.NotFound("issuer")
	}
	return a.create(w, r, p, "POST achievements "+issuerID,
		func(id string) string { return "/v1/issuers/" + issuerID + "/achievements/" + id },
		func(id string) (any, error) { return a.svc.GetAchievement(r.Context(), p, issuerID, id) },
		func() (string, any, error) {
			var in domain.AchievementInput
			if err := web.DecodeJSON(r, &in, 0); err != nil {
				return "", nil, err
			}
			ach, err := a.svc.CreateAchievement(r.Context(), p, issuerID, in)
			return ach.ID, ach, err
		})
}

func (a *API) listAchievements(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	items, next, err := a.svc.ListAchievements(r.Context(), p, r.PathValue("issuerId"), pg)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, listOf(items, next))
	return nil
}

func (a *API) getAchievement(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	ach, err := a.svc.GetAchievement(r.Context(), p, r.PathValue("issuerId"), r.PathValue("achievementId"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, ach)
	return nil
}

func (a *API) patchAchievement(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	issuerID := r.PathValue("issuerId")
	if !p.CanAccess(issuerID) {
		return domain.NotFound("achievement")
	}
	var in domain.AchievementPatch
	if err := web.DecodeJSON(r, &in, 0); err != nil {
		return err
	}
	ach, err := a.svc.UpdateAchievement(r.Context(), p, issuerID, r.PathValue("achievementId"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, ach)
	return nil
}

// CredentialView is a credential record as the API returns it.
type CredentialView struct {
	ID              string           `json:"id"`
	URL             string           `json:"url"`
	IssuerID        string           `json:"issuerId"`
	AchievementID   string           `json:"achievementId"`
	Recipient       recipientView    `json:"recipient"`
	Status          domain.Status    `json:"status"`
	StatusReason    string           `json:"statusReason,omitempty"`
	StatusChangedAt time.Time        `json:"statusChangedAt,omitzero"`
	ValidFrom       time.Time        `json:"validFrom"`
	ValidUntil      time.Time        `json:"validUntil,omitzero"`
	IssuedAt        time.Time        `json:"issuedAt"`
	JobID           string           `json:"jobId,omitempty"`
	Mail            domain.MailState `json:"mail"`
	Credential      json.RawMessage  `json:"credential,omitempty"`
	JWT             string           `json:"jwt,omitempty"`
}

type recipientView struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

func (a *API) view(c domain.Credential, full bool) CredentialView {
	v := CredentialView{
		ID: c.ID, URL: a.svc.CredentialURL(c.ID), IssuerID: c.IssuerID, AchievementID: c.AchievementID,
		Recipient: recipientView{Name: c.RecipientName, Email: c.RecipientEmail}, Status: c.Status,
		StatusReason: c.StatusReason, StatusChangedAt: c.StatusChangedAt, ValidFrom: c.ValidFrom,
		ValidUntil: c.ValidUntil, IssuedAt: c.IssuedAt, JobID: c.JobID, Mail: c.Mail,
	}
	if full {
		v.Credential = json.RawMessage(c.LDP)
		v.JWT = c.JWT
	}
	return v
}

func (a *API) issue(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	issuerID := r.PathValue("issuerId")
	if !p.CanAccess(issuerID) {
		return domain.NotFound("issuer")
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	key, scope, hash, _, err := a.idempotency(r.Context(), r, p, "POST credentials "+issuerID, body)
	if err != nil {
		return err
	}
	var in domain.IssueInput
	if err := web.DecodeJSON(r, &in, 0); err != nil {
		return err
	}
	c, created, err := a.svc.Issue(r.Context(), p, issuerID, in, domain.IssueOptions{
		Actor: p.KeyID, IdempotencyKey: key, RequestID: web.RequestID(r.Context()),
	})
	if err != nil {
		return err
	}
	if err := a.remember(r.Context(), key, scope, hash, c.ID); err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/credentials/"+c.ID)
	web.WriteJSON(w, status, a.view(c, true))
	return nil
}

func (a *API) listCredentials(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	items, next, err := a.svc.ListCredentials(r.Context(), p, r.PathValue("issuerId"), q.Get("achievementId"), q.Get("email"), pg)
	if err != nil {
		return err
	}
	views := make([]CredentialView, 0, len(items))
	for _, c := range items {
		views = append(views, a.view(c, false))
	}
	web.WriteJSON(w, http.StatusOK, listOf(views, next))
	return nil
}

func (a *API) getCredential(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	c, err := a.svc.GetCredential(r.Context(), p, r.PathValue("credentialId"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, a.view(c, true))
	return nil
}

func (a *API) audit(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	events, err := a.svc.Audit(r.Context(), p, r.PathValue("credentialId"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, listOf(events, ""))
	return nil
}

type reasonBody struct {
	Reason string `json:"reason"`
}

func (a *API) status(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
		var in reasonBody
		if r.ContentLength != 0 {
			if err := web.DecodeJSON(r, &in, 16<<10); err != nil {
				return err
			}
		}
		c, err := a.svc.ChangeStatus(r.Context(), p, r.PathValue("credentialId"), action, in.Reason, web.RequestID(r.Context()))
		if err != nil {
			return err
		}
		web.WriteJSON(w, http.StatusOK, a.view(c, false))
		return nil
	}
}

type keyBody struct {
	Name     string `json:"name"`
	IssuerID string `json:"issuerId,omitempty"`
}

type keyCreated struct {
	domain.APIKey
	Secret string `json:"secret"`
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var in keyBody
	if err := web.DecodeJSON(r, &in, 16<<10); err != nil {
		return err
	}
	k, secret, err := a.svc.CreateAPIKey(r.Context(), p, in.Name, in.IssuerID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, keyCreated{APIKey: k, Secret: secret})
	return nil
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	issuerID := r.URL.Query().Get("issuerId")
	if issuerID == "" && !p.Admin() {
		issuerID = p.IssuerID
	}
	ks, err := a.svc.ListAPIKeys(r.Context(), p, issuerID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, listOf(ks, ""))
	return nil
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	k, err := a.svc.RevokeAPIKey(r.Context(), p, r.PathValue("keyId"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, k)
	return nil
}
