// Package site is the public side of Credence served through CloudFront: credential documents,
// issuer DID documents and profiles, status lists, and (in later files) the human pages and the
// verify tool. Everything here is public and cacheable; nothing needs a key.
package site

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/web"
)

// Cache lifetimes per kind of path (browser max-age, CDN s-maxage). Credential documents never
// change once signed (status lives in the status list), so they are cached for long;
// pages and status lists are invalidated on every status change, and kept short besides so a
// missed invalidation heals itself.
const (
	CacheDocument = "public, max-age=86400, s-maxage=31536000, immutable"
	CachePage     = "public, max-age=300, s-maxage=86400, stale-while-revalidate=60"
	CacheMedium   = "public, max-age=300, s-maxage=3600, stale-while-revalidate=300"
	CacheStatus   = "public, max-age=60, s-maxage=300"
	CacheNone     = "no-store"
)

// Site serves the public paths.
type Site struct {
	svc *domain.Service
	mux *http.ServeMux
}

// New returns the public site handler.
func New(svc *domain.Service) *Site {
	s := &Site{svc: svc, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /c/{file}", s.credential)
	s.mux.HandleFunc("GET /issuers/{issuerId}/did.json", s.didDocument)
	s.mux.HandleFunc("GET /issuers/{issuerId}", s.issuer)
	s.mux.HandleFunc("GET /status/{issuerId}/{listId}", s.statusList)
	s.mux.HandleFunc("GET /assets/{name}", s.asset)
	s.registerVerifyTool()
	return s
}

func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Handle lets later parts of the site (pages, verify tool, beacon) register their routes.
func (s *Site) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

func (s *Site) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", CacheNone)
	web.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// serve writes body with an ETag and answers conditional requests with 304.
func serve(w http.ResponseWriter, r *http.Request, contentType, cache string, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("Access-Control-Allow-Origin", "*") // verifiers and wallets fetch these cross-origin
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(body)
}

func notFound(w http.ResponseWriter, r *http.Request, what string) {
	w.Header().Set("Cache-Control", "public, max-age=30, s-maxage=30")
	web.WriteError(w, r, web.Errorf(http.StatusNotFound, what+"_not_found", "no such %s", what))
}

func (s *Site) fail(w http.ResponseWriter, r *http.Request, err error, what string) {
	if domain.KindOf(err) == domain.KindNotFound {
		notFound(w, r, what)
		return
	}
	web.WriteError(w, r, err)
}

func (s *Site) credential(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	id, ext, _ := strings.Cut(file, ".")
	if id == "" || len(id) > 64 {
		notFound(w, r, "credential")
		return
	}
	switch ext {
	case "":
		s.page(w, r, id)
		return
	case "png", "svg":
		s.badge(w, r, id, ext)
		return
	case "json", "jwt":
	default:
		notFound(w, r, "credential")
		return
	}
	c, err := s.svc.PublicCredential(r.Context(), id)
	if err != nil {
		s.fail(w, r, err, "credential")
		return
	}
	switch ext {
	case "json":
		serve(w, r, "application/vc+ld+json", CacheDocument, c.LDP)
	case "jwt":
		serve(w, r, "application/vc+jwt", CacheDocument, []byte(c.JWT))
	}
}

func (s *Site) didDocument(w http.ResponseWriter, r *http.Request) {
	doc, err := s.svc.DIDDocument(r.Context(), r.PathValue("issuerId"))
	if err != nil {
		s.fail(w, r, err, "issuer")
		return
	}
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	serve(w, r, "application/did+json", CacheMedium, body)
}

// issuer serves the issuer's public OB 3.0 Profile as JSON, or as a page to a browser.
func (s *Site) issuer(w http.ResponseWriter, r *http.Request) {
	iss, err := s.svc.PublicIssuer(r.Context(), r.PathValue("issuerId"))
	if err != nil {
		s.fail(w, r, err, "issuer")
		return
	}
	w.Header().Set("Vary", "Accept")
	if acceptsHTML(r) {
		s.issuerHTML(w, r, iss)
		return
	}
	profile := map[string]any{
		"@context": []any{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"},
		"id":       iss.DID, "type": []any{"Profile"}, "name": iss.Name, "url": iss.URL, "email": iss.Email,
	}
	if iss.Description != "" {
		profile["description"] = iss.Description
	}
	if iss.Image != "" {
		profile["image"] = map[string]any{"id": iss.Image, "type": "Image"}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(profile); err != nil {
		web.WriteError(w, r, err)
		return
	}
	w.Header().Set("Vary", "Accept")
	serve(w, r, "application/ld+json", CacheMedium, buf.Bytes())
}

func (s *Site) statusList(w http.ResponseWriter, r *http.Request) {
	body, err := s.svc.StatusListCredential(r.Context(), r.PathValue("issuerId"), r.PathValue("listId"))
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) && de.Kind == domain.KindNotFound {
			notFound(w, r, "status_list")
			return
		}
		web.WriteError(w, r, err)
		return
	}
	serve(w, r, "application/vc+ld+json", CacheStatus, body)
}
