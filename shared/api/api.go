// Package api is the admin REST API (/v1) as a plain net/http handler: authentication,
// request decoding and validation, idempotency, and the documented error shape over the domain.
// functions/api runs it on Lambda; `credence serve` runs it locally.
package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/web"
)

// API serves /v1.
type API struct {
	svc  *domain.Service
	bulk *domain.Bulk // nil: the job and resend routes answer 503
	mux  *http.ServeMux
}

// New returns the admin API handler (without the logging middleware; wrap it with web.Middleware).
func New(svc *domain.Service, opts ...Option) *API {
	a := &API{svc: svc, mux: http.NewServeMux()}
	for _, o := range opts {
		o(a)
	}
	a.routes()
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

type handler func(w http.ResponseWriter, r *http.Request, p domain.Principal) error

// Route lists every route with its method, for the authorization tests and the docs.
type Route struct{ Method, Pattern string }

// Routes is every authenticated route of the API.
var Routes = []Route{
	{"POST", "/v1/issuers"},
	{"GET", "/v1/issuers"},
	{"GET", "/v1/issuers/{issuerId}"},
	{"PATCH", "/v1/issuers/{issuerId}"},
	{"POST", "/v1/issuers/{issuerId}/achievements"},
	{"GET", "/v1/issuers/{issuerId}/achievements"},
	{"GET", "/v1/issuers/{issuerId}/achievements/{achievementId}"},
	{"PATCH", "/v1/issuers/{issuerId}/achievements/{achievementId}"},
	{"POST", "/v1/issuers/{issuerId}/credentials"},
	{"GET", "/v1/issuers/{issuerId}/credentials"},
	{"GET", "/v1/credentials/{credentialId}"},
	{"GET", "/v1/credentials/{credentialId}/audit"},
	{"POST", "/v1/credentials/{credentialId}/revoke"},
	{"POST", "/v1/credentials/{credentialId}/suspend"},
	{"POST", "/v1/credentials/{credentialId}/reinstate"},
	{"POST", "/v1/keys"},
	{"GET", "/v1/keys"},
	{"POST", "/v1/keys/{keyId}/revoke"},
	{"POST", "/v1/issuers/{issuerId}/jobs"},
	{"GET", "/v1/jobs/{jobId}"},
	{"POST", "/v1/credentials/{credentialId}/resend"},
	{"GET", "/v1/issuers/{issuerId}/analytics"},
}

func (a *API) routes() {
	h := map[string]handler{
		"POST /v1/issuers":                                          a.createIssuer,
		"GET /v1/issuers":                                           a.listIssuers,
		"GET /v1/issuers/{issuerId}":                                a.getIssuer,
		"PATCH /v1/issuers/{issuerId}":                              a.patchIssuer,
		"POST /v1/issuers/{issuerId}/achievements":                  a.createAchievement,
		"GET /v1/issuers/{issuerId}/achievements":                   a.listAchievements,
		"GET /v1/issuers/{issuerId}/achievements/{achievementId}":   a.getAchievement,
		"PATCH /v1/issuers/{issuerId}/achievements/{achievementId}": a.patchAchievement,
		"POST /v1/issuers/{issuerId}/credentials":                   a.issue,
		"GET /v1/issuers/{issuerId}/credentials":                    a.listCredentials,
		"GET /v1/credentials/{credentialId}":                        a.getCredential,
		"GET /v1/credentials/{credentialId}/audit":                  a.audit,
		"POST /v1/credentials/{credentialId}/revoke":                a.status(domain.ActionRevoke),
		"POST /v1/credentials/{credentialId}/suspend":               a.status(domain.ActionSuspend),
		"POST /v1/credentials/{credentialId}/reinstate":             a.status(domain.ActionReinstate),
		"POST /v1/keys":                                             a.createKey,
		"GET /v1/keys":                                              a.listKeys,
		"POST /v1/keys/{keyId}/revoke":                              a.revokeKey,
		"POST /v1/issuers/{issuerId}/jobs":                          a.createJob,
		"GET /v1/jobs/{jobId}":                                      a.getJob,
		"POST /v1/credentials/{credentialId}/resend":                a.resend,
		"GET /v1/issuers/{issuerId}/analytics":                      a.analytics,
	}
	for pattern, fn := range h {
		a.mux.Handle(pattern, a.authenticated(fn))
	}
	a.mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		web.WriteError(w, r, web.Errorf(http.StatusNotFound, "route_not_found", "no route %s %s", r.Method, r.URL.Path))
	})
}

func (a *API) authenticated(fn handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		secret, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			writeErr(w, r, domain.Unauthorized)
			return
		}
		p, err := a.svc.Authenticate(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			writeErr(w, r, err)
			return
		}
		if err := fn(w, r, p); err != nil {
			writeErr(w, r, err)
		}
	})
}

// writeErr maps domain errors to the documented HTTP error shape.
func writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var de *domain.Error
	if errors.As(err, &de) {
		status := map[domain.Kind]int{
			domain.KindInvalid: http.StatusUnprocessableEntity, domain.KindNotFound: http.StatusNotFound,
			domain.KindConflict: http.StatusConflict, domain.KindUnauthorized: http.StatusUnauthorized,
			domain.KindForbidden: http.StatusForbidden, domain.KindUnavailable: http.StatusServiceUnavailable,
		}[de.Kind]
		if de.Kind == domain.KindUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		p := &web.Problem{Status: status, Code: de.Code, Message: de.Message}
		for _, f := range de.Fields {
			p.Details = append(p.Details, web.Detail{Field: f.Field, Message: f.Message})
		}
		web.WriteError(w, r, p)
		return
	}
	if errors.Is(err, domain.ErrInvalidCursor) {
		web.WriteError(w, r, web.Errorf(http.StatusBadRequest, "invalid_cursor", "the cursor is not one this API returned"))
		return
	}
	web.WriteError(w, r, err)
}

func page(r *http.Request) (domain.Page, error) {
	q := r.URL.Query()
	p := domain.Page{Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return p, web.Errorf(http.StatusBadRequest, "invalid_limit", "limit must be a whole number from 1 to 100")
		}
		p.Limit = n
	}
	if len(p.Cursor) > 2048 {
		return p, web.Errorf(http.StatusBadRequest, "invalid_cursor", "the cursor is not one this API returned")
	}
	return p, nil
}

type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

func listOf[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items, NextCursor: next}
}

// --- idempotency for creates -------------------------------------------------------------

const maxIdempotencyKey = 255

// readBody reads and keeps the body so it can be hashed for idempotency and then decoded.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, web.MaxBody+1))
	if err != nil {
		return nil, web.Errorf(http.StatusBadRequest, "unreadable_body", "cannot read the request body")
	}
	if len(b) > web.MaxBody {
		return nil, web.Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is larger than %d bytes", web.MaxBody)
	}
	r.Body = io.NopCloser(strings.NewReader(string(b)))
	return b, nil
}

// idempotency looks up an Idempotency-Key: it returns the id the first request produced (""
// when this is the first), or an error when the key was used with another body.
func (a *API) idempotency(ctx context.Context, r *http.Request, p domain.Principal, route string, body []byte) (key, scope, hash, existing string, err error) {
	key = r.Header.Get("Idempotency-Key")
	if key == "" {
		return "", "", "", "", nil
	}
	if len(key) > maxIdempotencyKey {
		return "", "", "", "", web.Errorf(http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must be at most %d characters", maxIdempotencyKey)
	}
	sum := sha256.Sum256(body)
	hash = hex.EncodeToString(sum[:])
	scope = p.KeyID + " " + route
	rec, gerr := a.svc.Store.GetIdempotency(ctx, scope, key)
	switch {
	case gerr == nil && rec.RequestHash != hash:
		return "", "", "", "", web.Errorf(http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was used with a different request body")
	case gerr == nil:
		return key, scope, hash, rec.ResultID, nil
	case !errors.Is(gerr, domain.ErrNotFound):
		return "", "", "", "", gerr
	}
	return key, scope, hash, "", nil
}

// create runs an idempotent create: the body is read once (for the Idempotency-Key's hash),
// a request retried with the same key gets the first object back through replay (marked
// Idempotent-Replayed) instead of a second one, and a new object is remembered under the key.
func (a *API) create(w http.ResponseWriter, r *http.Request, p domain.Principal, route string,
	location func(id string) string, replay func(id string) (any, error), create func() (string, any, error)) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	key, scope, hash, prior, err := a.idempotency(r.Context(), r, p, route, body)
	if err != nil {
		return err
	}
	var (
		id  = prior
		out any
	)
	if prior != "" {
		if out, err = replay(prior); err != nil {
			return err
		}
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		if id, out, err = create(); err != nil {
			return err
		}
		if err := a.remember(r.Context(), key, scope, hash, id); err != nil {
			return err
		}
	}
	w.Header().Set("Location", location(id))
	web.WriteJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) remember(ctx context.Context, key, scope, hash, resultID string) error {
	if key == "" {
		return nil
	}
	now := time.Now().UTC()
	_, err := a.svc.Store.PutIdempotency(ctx, domain.Idempotency{Scope: scope, Key: key, RequestHash: hash, ResultID: resultID, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)})
	if err != nil && !errors.Is(err, domain.ErrConflict) {
		return err
	}
	return nil
}
