package site

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/credence-oss/credence/shared/adapters/httpfetch"
	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/standards/verifier"
	"github.com/credence-oss/credence/shared/web"
)

// MaxVerifyInput bounds one credential given to the verify tool, however it arrives (upload,
// paste, raw body or fetched URL). Baked badge images are the largest honest input; 5 MiB is
// far above any of them and keeps a request's memory bounded.
const MaxVerifyInput = 5 << 20

// multipartSlack is room for the multipart boundaries and the form's other small fields.
const multipartSlack = 64 << 10

// maxBeaconBody bounds a beacon: {credentialId, event} is well under 200 bytes.
const maxBeaconBody = 2 << 10

// verifyTimeout bounds one verification, every fetch (URL, DID documents, status lists) included.
const verifyTimeout = 20 * time.Second

//go:embed templates_verify/*.html
var verifyTemplates embed.FS

var verifyPage = template.Must(template.New("verify.html").Funcs(template.FuncMap{
	"checkTitle": checkTitle,
}).ParseFS(verifyTemplates, "templates_verify/verify.html"))

// verifyOptions are what tests replace; the zero value is the production setup.
type verifyOptions struct {
	// Remote fetches URLs outside this deployment: a user's URL, other issuers' DID documents
	// and status lists. Default: https only, no private addresses, MaxVerifyInput, 10 s.
	Remote verifier.Fetch
	Now    func() time.Time
}

// verifyTool is the public verify page, the verify API and the engagement beacon, and counts
// fetches of credential documents as verifications.
type verifyTool struct {
	site   *Site
	remote verifier.Fetch
	now    func() time.Time
}

func newVerifyTool(s *Site, o verifyOptions) *verifyTool {
	if o.Remote == nil {
		o.Remote = httpfetch.New(httpfetch.Options{BlockPrivate: true, MaxBytes: MaxVerifyInput, Timeout: 10 * time.Second}).Fetch
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &verifyTool{site: s, remote: o.Remote, now: o.Now}
}

// registerVerifyTool adds /verify, /api/verify and /e, and puts the verification counter in
// front of every route registered so far. It must run at the end of New: the counter wraps
// the credential documents without touching their handler, by moving the routes registered so
// far behind a catch-all of a new outer mux (the more specific routes below win over it).
func (s *Site) registerVerifyTool() {
	s.mountVerifyTool(newVerifyTool(s, verifyOptions{}))
}

func (s *Site) mountVerifyTool(t *verifyTool) {
	inner := s.mux
	s.mux = http.NewServeMux()
	s.mux.Handle("/", t.countFetches(inner))
	s.mux.HandleFunc("GET /verify", t.form)
	s.mux.HandleFunc("POST /verify", t.formPost)
	s.mux.HandleFunc("POST /api/verify", t.api)
	s.mux.HandleFunc("OPTIONS /api/verify", t.preflight)
	s.mux.HandleFunc("POST /e", t.beacon)
	// Without these the catch-all above would answer other methods with the inner mux's 404.
	s.mux.Handle("/verify", methodNotAllowed("GET, HEAD, POST"))
	s.mux.Handle("/api/verify", methodNotAllowed("POST, OPTIONS"))
	s.mux.Handle("/e", methodNotAllowed("POST"))
}

func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verifyNoStore(w)
		w.Header().Set("Allow", allow)
		web.WriteError(w, r, web.Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "%s is not allowed here; use %s", r.Method, allow))
	})
}

// --- input ---------------------------------------------------------------------------------

// verifyInput is what a request gave: exactly one of a file, pasted text and a URL.
type verifyInput struct {
	File, Pasted []byte
	URL          string
}

func (in verifyInput) count() int {
	n := 0
	if len(bytes.TrimSpace(in.File)) > 0 {
		n++
	}
	if len(bytes.TrimSpace(in.Pasted)) > 0 {
		n++
	}
	if strings.TrimSpace(in.URL) != "" {
		n++
	}
	return n
}

func verifyTooLarge() *web.Problem {
	return web.Errorf(http.StatusRequestEntityTooLarge, "input_too_large", "the credential is larger than %d MiB", MaxVerifyInput>>20)
}

// readVerifyInput reads a multipart form (file, credential, url), a url-encoded form (credential,
// url), a JSON {"url": ...}, or else the raw body as the credential itself (JSON, a JWT, a
// PNG or an SVG).
func readVerifyInput(r *http.Request) (verifyInput, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxVerifyInput+multipartSlack+1))
	if err != nil {
		return verifyInput{}, web.Errorf(http.StatusBadRequest, "unreadable_body", "cannot read the request body: %v", err)
	}
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var in verifyInput
	switch mediaType {
	case "multipart/form-data":
		if int64(len(body)) > MaxVerifyInput+multipartSlack {
			return in, verifyTooLarge()
		}
		if in, err = readMultipart(body, params["boundary"]); err != nil {
			return in, err
		}
	case "application/x-www-form-urlencoded":
		if len(body) > MaxVerifyInput {
			return in, verifyTooLarge()
		}
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return in, web.Errorf(http.StatusBadRequest, "malformed_form", "the form is not url-encoded: %v", err)
		}
		in.Pasted, in.URL = []byte(q.Get("credential")), q.Get("url")
	default:
		if len(body) > MaxVerifyInput {
			return in, verifyTooLarge()
		}
		if u, ok := urlRequest(body); ok {
			in.URL = u
		} else {
			in.File = body
		}
	}
	switch in.count() {
	case 0:
		return in, web.Errorf(http.StatusBadRequest, "empty_input", "no credential given: upload a file, paste a credential or give its URL")
	case 1:
		return in, nil
	}
	return in, web.Errorf(http.StatusBadRequest, "ambiguous_input", "give one credential only: a file, a pasted credential or a URL")
}

// urlRequest recognizes {"url": "..."}: a credential always has more members than that.
func urlRequest(body []byte) (string, bool) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || len(trimmed) > 8<<10 {
		return "", false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(trimmed, &m) != nil || len(m) != 1 {
		return "", false
	}
	var u string
	if json.Unmarshal(m["url"], &u) != nil {
		return "", false
	}
	return u, true
}

func readMultipart(body []byte, boundary string) (verifyInput, error) {
	var in verifyInput
	if boundary == "" {
		return in, web.Errorf(http.StatusBadRequest, "malformed_form", "multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return in, nil
		}
		if err != nil {
			return in, web.Errorf(http.StatusBadRequest, "malformed_form", "the multipart form cannot be read: %v", err)
		}
		data, err := io.ReadAll(io.LimitReader(part, MaxVerifyInput+1))
		if err != nil {
			return in, web.Errorf(http.StatusBadRequest, "malformed_form", "the multipart form cannot be read: %v", err)
		}
		if len(data) > MaxVerifyInput {
			return in, verifyTooLarge()
		}
		switch part.FormName() {
		case "file":
			in.File = data
		case "credential":
			in.Pasted = data
		case "url":
			in.URL = string(data)
		}
	}
}

// --- fetching ------------------------------------------------------------------------------

type internalKey struct{}

// fetch reads a URL for the verifier: this deployment's own URLs from the site itself, in
// process (no network, never a stale CDN copy, and it works for `credence serve` on loopback
// http), everything else through the guarded remote fetcher.
func (t *verifyTool) fetch(ctx context.Context, raw string) ([]byte, error) {
	if path, ok := t.ownPath(raw); ok {
		return t.fetchOwn(ctx, path)
	}
	return t.remote(ctx, raw)
}

func (t *verifyTool) ownPath(raw string) (string, bool) {
	base := strings.TrimRight(t.site.svc.BaseURL, "/")
	if base == "" {
		return "", false
	}
	rest, ok := strings.CutPrefix(raw, base)
	if !ok || !strings.HasPrefix(rest, "/") {
		return "", false
	}
	u, err := url.Parse(rest)
	if err != nil {
		return "", false
	}
	return u.Path, true
}

func (t *verifyTool) fetchOwn(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(context.WithValue(ctx, internalKey{}, true), http.MethodGet, path, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	rec := &verifyBufferWriter{header: http.Header{}, limit: MaxVerifyInput}
	t.site.ServeHTTP(rec, req)
	if rec.status != 0 && rec.status != http.StatusOK {
		return nil, fmt.Errorf("%s answered %d", path, rec.status)
	}
	if rec.overflow {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxVerifyInput)
	}
	return rec.body.Bytes(), nil
}

// verifyBufferWriter collects an in-process response.
type verifyBufferWriter struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	limit    int
	overflow bool
}

func (b *verifyBufferWriter) Header() http.Header { return b.header }
func (b *verifyBufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *verifyBufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.body.Len()+len(p) > b.limit {
		b.overflow = true
		return 0, errors.New("response too large")
	}
	return b.body.Write(p)
}

// fetchURL reads the credential a user named by URL. The page URL of one of this
// deployment's credentials stands for its JSON.
func (t *verifyTool) fetchURL(ctx context.Context, raw string) ([]byte, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, web.Errorf(http.StatusBadRequest, "invalid_url", "the URL must be an absolute https URL")
	}
	if path, ok := t.ownPath(raw); ok {
		if id, found := strings.CutPrefix(path, "/c/"); found && id != "" && !strings.ContainsAny(id, "./") {
			path += ".json"
		}
		body, err := t.fetchOwn(ctx, path)
		if err != nil {
			return nil, web.Errorf(http.StatusBadRequest, "fetch_failed", "cannot read %s: %v", u.Redacted(), err)
		}
		return body, nil
	}
	if u.Scheme != "https" {
		return nil, web.Errorf(http.StatusBadRequest, "url_not_allowed", "only https URLs are fetched")
	}
	body, err := t.remote(ctx, raw)
	switch {
	case err == nil:
		return body, nil
	case errors.Is(err, httpfetch.ErrTooLarge):
		return nil, web.Errorf(http.StatusRequestEntityTooLarge, "input_too_large", "the credential at that URL is larger than %d MiB", MaxVerifyInput>>20)
	case errors.Is(err, httpfetch.ErrRefused):
		return nil, web.Errorf(http.StatusBadRequest, "url_not_allowed", "%v", err)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, web.Errorf(http.StatusGatewayTimeout, "fetch_timeout", "%s did not answer in time", u.Redacted())
	}
	return nil, web.Errorf(http.StatusBadGateway, "fetch_failed", "cannot read %s: %v", u.Redacted(), err)
}

// --- verifying -----------------------------------------------------------------------------

// run verifies what a request gave; the error is a *web.Problem for the caller.
func (t *verifyTool) run(r *http.Request) (verifier.Result, verifyInput, error) {
	in, err := readVerifyInput(r)
	if err != nil {
		return verifier.Result{}, in, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), verifyTimeout)
	defer cancel()
	data := in.File
	if len(bytes.TrimSpace(data)) == 0 {
		data = in.Pasted
	}
	if in.URL != "" {
		if data, err = t.fetchURL(ctx, in.URL); err != nil {
			return verifier.Result{}, in, err
		}
	}
	res := verifier.Verify(ctx, data, verifier.Options{Fetch: t.fetch, Now: t.now()})
	t.countVerification(r, res)
	return res, in, nil
}

// countVerification counts a verification of one of this deployment's credentials whose proof
// held (a tampered copy is not a verification of the credential). Counting never fails the
// response.
func (t *verifyTool) countVerification(r *http.Request, res verifier.Result) {
	path, ok := t.ownPath(res.CredentialID)
	if !ok || !checkPassed(res, verifier.CheckProof) {
		return
	}
	id, ok := strings.CutPrefix(path, "/c/")
	if !ok || id == "" || strings.ContainsAny(id, "./") {
		return
	}
	t.record(r, id)
}

func (t *verifyTool) record(r *http.Request, id string) {
	if err := t.site.svc.RecordVerification(r.Context(), id, r.Header.Get("CloudFront-Viewer-Country")); err != nil {
		web.Logger(r.Context()).Warn("verification not counted", "credentialId", id, "err", err)
	}
}

func checkPassed(res verifier.Result, check string) bool {
	for _, c := range res.Checks {
		if c.Name == check {
			return c.OK
		}
	}
	return false
}

func verifyNoStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", CacheNone)
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

// api is POST /api/verify: the verdict in the JSON shape of `credence verify --json`. A
// credential that fails verification is still a 200: the verification itself succeeded.
func (t *verifyTool) api(w http.ResponseWriter, r *http.Request) {
	verifyNoStore(w)
	w.Header().Set("Access-Control-Allow-Origin", "*") // no cookies or keys: any page may ask
	res, _, err := t.run(r)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, res)
}

func (t *verifyTool) preflight(w http.ResponseWriter, r *http.Request) {
	verifyNoStore(w)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	w.Header().Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// --- the HTML page ------------------------------------------------------------------------

type verifyCheckView struct {
	Name, Message string
	OK            bool
}

type verifyPageData struct {
	Error   string
	Result  *verifier.Result
	Verdict string
	Checks  []verifyCheckView
	Pasted  string
	URL     string
	MaxMiB  int
}

var verifyVerdicts = map[string]string{
	verifier.StatusValid:       "This credential is valid.",
	verifier.StatusRevoked:     "This credential was revoked by its issuer.",
	verifier.StatusSuspended:   "This credential is suspended by its issuer.",
	verifier.StatusExpired:     "This credential has expired.",
	verifier.StatusNotYetValid: "This credential is not valid yet.",
	verifier.StatusInvalid:     "This credential could not be verified.",
}

func checkTitle(name string) string {
	switch name {
	case verifier.CheckFormat:
		return "Readable credential"
	case verifier.CheckProof:
		return "Signature"
	case verifier.CheckSchema:
		return "Open Badges 3.0 structure"
	case verifier.CheckContext:
		return "Vocabulary"
	case verifier.CheckIssuer:
		return "Issuer's key"
	case verifier.CheckValidity:
		return "Dates"
	case verifier.CheckStatus:
		return "Revocation and suspension"
	}
	return name
}

func (t *verifyTool) render(w http.ResponseWriter, r *http.Request, status int, d verifyPageData) {
	verifyNoStore(w)
	// The page has no scripts at all; its only inline style is the <style> element.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	d.MaxMiB = MaxVerifyInput >> 20
	var buf bytes.Buffer
	if err := verifyPage.Execute(&buf, d); err != nil {
		web.WriteError(w, r, fmt.Errorf("render verify page: %w", err))
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (t *verifyTool) form(w http.ResponseWriter, r *http.Request) {
	t.render(w, r, http.StatusOK, verifyPageData{})
}

func (t *verifyTool) formPost(w http.ResponseWriter, r *http.Request) {
	res, in, err := t.run(r)
	d := verifyPageData{URL: in.URL}
	if len(in.Pasted) <= 64<<10 {
		d.Pasted = string(in.Pasted) // give a short paste back to fix; a huge one is not worth the page weight
	}
	if err != nil {
		var p *web.Problem
		if !errors.As(err, &p) {
			web.WriteError(w, r, err)
			return
		}
		d.Error = p.Message
		t.render(w, r, p.Status, d)
		return
	}
	d.Result = &res
	d.Verdict = verifyVerdicts[res.Status]
	for _, c := range res.Checks {
		d.Checks = append(d.Checks, verifyCheckView{Name: c.Name, OK: c.OK, Message: c.Message})
	}
	t.render(w, r, http.StatusOK, d)
}

// --- engagement ----------------------------------------------------------------------------

// beacon is POST /e from the credential page (navigator.sendBeacon sends text/plain).
func (t *verifyTool) beacon(w http.ResponseWriter, r *http.Request) {
	verifyNoStore(w)
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "", "application/json", "text/plain":
	default:
		web.WriteError(w, r, web.Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the beacon as application/json or text/plain, not %s", mediaType))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBeaconBody+1))
	if err != nil {
		web.WriteError(w, r, web.Errorf(http.StatusBadRequest, "unreadable_body", "cannot read the beacon: %v", err))
		return
	}
	if len(body) > maxBeaconBody {
		web.WriteError(w, r, web.Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "a beacon is at most %d bytes", maxBeaconBody))
		return
	}
	var in struct {
		CredentialID string `json:"credentialId"`
		Event        string `json:"event"`
	}
	if len(bytes.TrimSpace(body)) == 0 {
		web.WriteError(w, r, web.Errorf(http.StatusBadRequest, "empty_body", "the beacon is empty; send {\"credentialId\", \"event\"}"))
		return
	}
	if err := json.Unmarshal(body, &in); err != nil {
		web.WriteError(w, r, web.Errorf(http.StatusBadRequest, "malformed_json", "the beacon is not a JSON object {credentialId, event}: %v", err))
		return
	}
	switch {
	case in.CredentialID == "":
		web.WriteError(w, r, web.Errorf(http.StatusBadRequest, "missing_credential_id", "the beacon names no credentialId"))
		return
	case in.Event == "":
		web.WriteError(w, r, web.Errorf(http.StatusBadRequest, "missing_event", "the beacon names no event (one of %s)", strings.Join(domain.BeaconEvents, ", ")))
		return
	}
	err = t.site.svc.RecordEngagement(r.Context(), in.CredentialID, in.Event, r.Header.Get("CloudFront-Viewer-Country"))
	var de *domain.Error
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.As(err, &de) && de.Kind == domain.KindInvalid:
		web.WriteError(w, r, web.Errorf(http.StatusBadRequest, de.Code, "%s", de.Message))
	case errors.As(err, &de) && de.Kind == domain.KindNotFound:
		web.WriteError(w, r, web.Errorf(http.StatusNotFound, "credential_not_found", "no such credential"))
	default:
		web.WriteError(w, r, fmt.Errorf("beacon: %w", err))
	}
}

// countFetches counts a successful GET of a credential's JSON or JWT as a verification (a
// verifier or wallet reading the signed document), except the site's own in-process reads.
func (t *verifyTool) countFetches(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := documentFetch(r)
		if !ok || r.Context().Value(internalKey{}) != nil {
			next.ServeHTTP(w, r)
			return
		}
		sw := &countingWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusOK || sw.status == http.StatusNotModified {
			t.record(r, id)
		}
	})
}

func documentFetch(r *http.Request) (string, bool) {
	if r.Method != http.MethodGet {
		return "", false
	}
	file, ok := strings.CutPrefix(r.URL.Path, "/c/")
	if !ok {
		return "", false
	}
	id, ext, _ := strings.Cut(file, ".")
	if id == "" || strings.Contains(id, "/") || (ext != "json" && ext != "jwt") {
		return "", false
	}
	return id, true
}

type countingWriter struct {
	http.ResponseWriter
	status int
}

func (s *countingWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *countingWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *countingWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
