package site_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/adapters/httpfetch"
	"github.com/credence-oss/credence/shared/app"
	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/site"
	"github.com/credence-oss/credence/shared/standards/verifier"
)

const testAdminKey = "verify-tool-admin-key-0123456789"

// vt is a running local Credence with one issuer, achievement and credential.
type vt struct {
	t                               *testing.T
	srv                             *httptest.Server
	local                           *app.Local
	issuer, achievement, credential string
	handler                         http.Handler // what srv serves; tests may swap it
	mu                              sync.Mutex
}

func newVT(t *testing.T) *vt {
	t.Helper()
	e := &vt{t: t}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		h := e.handler
		e.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	local, err := app.OpenLocal(app.LocalOptions{Dir: t.TempDir(), BaseURL: e.srv.URL, AdminKey: testAdminKey, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = local.Close(ctx)
	})
	e.local, e.handler = local, local.Handler
	e.issuer = e.admin("POST", "/v1/issuers", map[string]any{"name": "Example University", "url": "https://www.example.edu", "email": "registrar@example.edu"}, 201)["id"].(string)
	e.achievement = e.admin("POST", "/v1/issuers/"+e.issuer+"/achievements", map[string]any{"name": "Teamwork", "description": "Works well in teams.", "criteria": map[string]any{"narrative": "Nominated by peers."}}, 201)["id"].(string)
	e.credential = e.issue()
	return e
}

func (e *vt) issue() string {
	return e.admin("POST", "/v1/issuers/"+e.issuer+"/credentials", map[string]any{"achievementId": e.achievement, "recipient": map[string]any{"name": "Ada Lovelace", "email": "ada@example.org"}}, 201)["id"].(string)
}

func (e *vt) admin(method, path string, body any, want int) map[string]any {
	e.t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	res, out := e.do(method, path, "application/json", raw, "Authorization", "Bearer "+testAdminKey)
	if res.StatusCode != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, out)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil && want != 204 {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return m
}

func (e *vt) do(method, path, contentType string, body []byte, headers ...string) (*http.Response, []byte) {
	e.t.Helper()
	return doOn(e.t, e.srv.URL, method, path, contentType, body, headers...)
}

func doOn(t *testing.T, base, method, path, contentType string, body []byte, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, out
}

func (e *vt) get(path string) []byte {
	e.t.Helper()
	res, body := e.do("GET", path, "", nil)
	if res.StatusCode != 200 {
		e.t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
	}
	return body
}

// verifyOK posts to a verify API and decodes the verdict (status 200 required).
func verifyOK(t *testing.T, base, contentType string, body []byte) verifier.Result {
	t.Helper()
	res, out := doOn(t, base, "POST", "/api/verify", contentType, body)
	if res.StatusCode != 200 {
		t.Fatalf("POST /api/verify: %d %s", res.StatusCode, out)
	}
	if cc := res.Header.Get("Cache-Control"); cc != site.CacheNone {
		t.Fatalf("/api/verify Cache-Control %q", cc)
	}
	var r verifier.Result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("verdict %s: %v", out, err)
	}
	return r
}

// problem expects an error answer with status and code.
func problem(t *testing.T, what string, res *http.Response, body []byte, status int, code string) {
	t.Helper()
	var out struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(body, &out)
	if res.StatusCode != status || out.Error.Code != code {
		t.Errorf("%s: %d %s, want %d %s", what, res.StatusCode, body, status, code)
	}
}

func checkOf(r verifier.Result, name string) (verifier.Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return verifier.Check{}, false
}

func failed(r verifier.Result) []string {
	var out []string
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c.Name)
		}
	}
	return out
}

func multipartBody(t *testing.T, fields map[string][]byte, file []byte, filename string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, string(v)); err != nil {
			t.Fatal(err)
		}
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func tamper(t *testing.T, ldp []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(ldp, &doc); err != nil {
		t.Fatal(err)
	}
	doc["name"] = "Forged Degree"
	out, _ := json.Marshal(doc)
	return out
}

// TestVerifyAPIOnLocalCredential: every way of giving a credential to POST /api/verify yields
// the same verdict on a credential this deployment issued; a tampered copy fails its proof; a
// revoked one reports revoked.
func TestVerifyAPIOnLocalCredential(t *testing.T) {
	e := newVT(t)
	ldp, jwt := e.get("/c/"+e.credential+".json"), e.get("/c/"+e.credential+".jwt")
	urlBody := func(u string) []byte { b, _ := json.Marshal(map[string]string{"url": u}); return b }
	mpCT, mpBody := multipartBody(t, nil, jwt, "badge.jwt")
	cases := []struct {
		name, ct string
		body     []byte
		format   string
	}{
		{"raw json", "application/vc+ld+json", ldp, "ldp"},
		{"raw json no type", "", ldp, "ldp"},
		{"raw jwt", "application/vc+jwt", jwt, "jwt"},
		{"sendBeacon-like text", "text/plain", jwt, "jwt"},
		{"url of json", "application/json", urlBody(e.srv.URL + "/c/" + e.credential + ".json"), "ldp"},
		{"url of page", "application/json", urlBody(e.srv.URL + "/c/" + e.credential), "ldp"},
		{"url of jwt", "application/json", urlBody(e.srv.URL + "/c/" + e.credential + ".jwt"), "jwt"},
		{"form paste", "application/x-www-form-urlencoded", []byte(url.Values{"credential": {string(ldp)}}.Encode()), "ldp"},
		{"multipart file", mpCT, mpBody, "jwt"},
	}
	for _, c := range cases {
		r := verifyOK(t, e.srv.URL, c.ct, c.body)
		if !r.Valid || r.Status != verifier.StatusValid || r.Format != c.format {
			t.Errorf("%s: valid=%v status=%s format=%s failed=%v", c.name, r.Valid, r.Status, r.Format, failed(r))
			continue
		}
		if r.CredentialID != e.srv.URL+"/c/"+e.credential {
			t.Errorf("%s: credentialId %q", c.name, r.CredentialID)
		}
		for _, name := range []string{verifier.CheckProof, verifier.CheckSchema, verifier.CheckContext, verifier.CheckIssuer, verifier.CheckValidity, verifier.CheckStatus} {
			if ch, ok := checkOf(r, name); !ok || !ch.OK {
				t.Errorf("%s: check %s missing or failed: %+v", c.name, name, ch)
			}
		}
	}

	r := verifyOK(t, e.srv.URL, "application/json", tamper(t, ldp))
	if ch, _ := checkOf(r, verifier.CheckProof); r.Valid || r.Status != verifier.StatusInvalid || ch.OK || ch.Message == "" {
		t.Fatalf("tampered: valid=%v status=%s proof=%+v", r.Valid, r.Status, ch)
	}

	e.admin("POST", "/v1/credentials/"+e.credential+"/revoke", map[string]any{"reason": "issued in error"}, 200)
	for _, body := range [][]byte{ldp, jwt} {
		r := verifyOK(t, e.srv.URL, "", body)
		ch, _ := checkOf(r, verifier.CheckStatus)
		if r.Valid || r.Status != verifier.StatusRevoked || ch.OK || !strings.Contains(ch.Message, "revoked") {
			t.Fatalf("revoked %s: valid=%v status=%s status check=%+v", r.Format, r.Valid, r.Status, ch)
		}
		if p, _ := checkOf(r, verifier.CheckProof); !p.OK {
			t.Fatalf("revoked %s: the proof itself still holds: %+v", r.Format, p)
		}
	}
}

func readTestdata(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", "..", "testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorController is the controller document of the OB 3.0 signed test vector's key, which
// the spec publishes only as a key pair.
func vectorController(t *testing.T) (string, []byte) {
	var kp map[string]any
	if err := json.Unmarshal(readTestdata(t, "standards", "ob3-ldp-test-vector", "keypair.json"), &kp); err != nil {
		t.Fatal(err)
	}
	controller, vm := kp["controller"].(string), kp["verificationMethod"].(string)
	doc, _ := json.Marshal(map[string]any{
		"@context": []any{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"},
		"id":       controller,
		"verificationMethod": []any{map[string]any{"id": vm, "type": "Multikey", "controller": controller,
			"publicKeyMultibase": kp["publicKeyMultibase"]}},
		"assertionMethod": []any{vm},
	})
	return controller, doc
}

func fetchMap(docs map[string][]byte) verifier.Fetch {
	return func(_ context.Context, u string) ([]byte, error) {
		if b, ok := docs[u]; ok {
			return b, nil
		}
		return nil, fmt.Errorf("%s: not found (test network)", u)
	}
}

// TestVerifyAPIOnOfficialVectors: a credential of another issuer (the OB 3.0 spec's signed
// vector, with an https controller) verifies as JSON and baked in PNG and SVG, and fails
// closed when its controller document cannot be read.
func TestVerifyAPIOnOfficialVectors(t *testing.T) {
	e := newVT(t)
	controller, ctrlDoc := vectorController(t)
	srv := httptest.NewServer(site.VerifyToolWith(site.New(e.local.Service), fetchMap(map[string][]byte{controller: ctrlDoc})))
	defer srv.Close()

	signed := readTestdata(t, "standards", "ob3-ldp-test-vector", "credential-signed.json")
	r := verifyOK(t, srv.URL, "application/json", signed)
	if !r.Valid || r.Issuer == nil || r.Issuer.ID != controller || r.CredentialID != "http://example.com/credentials/3527" {
		t.Fatalf("signed vector: %+v failed=%v", r, failed(r))
	}
	for _, f := range []struct{ file, container string }{{"badge-ob3-vector.png", "png"}, {"badge-ob3-vector.svg", "svg"}} {
		ct, body := multipartBody(t, nil, readTestdata(t, "bake", f.file), f.file)
		r := verifyOK(t, srv.URL, ct, body)
		if !r.Valid || r.Container != f.container || r.Format != "ldp" {
			t.Errorf("%s: valid=%v container=%q failed=%v", f.file, r.Valid, r.Container, failed(r))
		}
		ctype := "image/png"
		if f.container == "svg" {
			ctype = "image/svg+xml"
		}
		if r := verifyOK(t, srv.URL, ctype, readTestdata(t, "bake", f.file)); !r.Valid || r.Container != f.container {
			t.Errorf("%s as raw body: valid=%v failed=%v", f.file, r.Valid, failed(r))
		}
	}
	// An image without a credential is a readable request with an invalid verdict.
	if r := verifyOK(t, srv.URL, "image/png", readTestdata(t, "bake", "badge.png")); r.Valid || failed(r)[0] != verifier.CheckFormat {
		t.Errorf("plain badge: %+v", r)
	}

	offline := httptest.NewServer(site.VerifyToolWith(site.New(e.local.Service), fetchMap(nil)))
	defer offline.Close()
	r = verifyOK(t, offline.URL, "application/json", signed)
	if ch, _ := checkOf(r, verifier.CheckProof); r.Valid || ch.OK || !strings.Contains(ch.Message, "example.edu") {
		t.Fatalf("without the controller document: valid=%v proof=%+v", r.Valid, ch)
	}
}

// fakeDNS answers from a table.
type fakeDNS map[string][]string

func (d fakeDNS) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	ips, ok := d[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

// TestVerifyURLFetching drives the production fetcher (https only, public addresses only)
// with a fake DNS and a dialer that reaches a local TLS server as the public 203.0.113.7, so
// the refusals are the fetcher's own decisions and no test touches the internet.
func TestVerifyURLFetching(t *testing.T) {
	e := newVT(t)
	signed := readTestdata(t, "standards", "ob3-ldp-test-vector", "credential-signed.json")
	mux := http.NewServeMux()
	mux.HandleFunc("/vector.json", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(signed) })
	mux.HandleFunc("/badge.png", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(readTestdata(t, "bake", "badge-ob3-vector.png"))
	})
	mux.HandleFunc("/huge.json", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte(" "), site.MaxVerifyInput+10))
	})
	mux.HandleFunc("/to-private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://internal.example.com/vector.json", http.StatusFound)
	})
	mux.HandleFunc("/to-loopback", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://127.0.0.1/vector.json", http.StatusFound)
	})
	mux.HandleFunc("/to-http", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://issuer.example.com/vector.json", http.StatusFound)
	})
	tlsSrv := httptest.NewTLSServer(mux)
	defer tlsSrv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(tlsSrv.Certificate())
	var dialed []string
	var dmu sync.Mutex
	f := httpfetch.New(httpfetch.Options{
		BlockPrivate: true, MaxBytes: site.MaxVerifyInput, Timeout: 5 * time.Second, TLSConfig: &tls.Config{RootCAs: pool},
		Resolver: fakeDNS{"issuer.example.com": {"203.0.113.7"}, "internal.example.com": {"10.20.30.40"}, "rebind.example.com": {"203.0.113.7", "169.254.169.254"}},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dmu.Lock()
			dialed = append(dialed, addr)
			dmu.Unlock()
			if addr != "203.0.113.7:443" {
				return nil, fmt.Errorf("test dialer: %s must never be dialed", addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, tlsSrv.Listener.Addr().String())
		},
	})
	controller, ctrlDoc := vectorController(t)
	remote := func(ctx context.Context, u string) ([]byte, error) {
		if u == controller {
			return ctrlDoc, nil // example.edu is not on the test network; its document is known
		}
		return f.Fetch(ctx, u)
	}
	srv := httptest.NewServer(site.VerifyToolWith(site.New(e.local.Service), remote))
	defer srv.Close()
	post := func(u string) (*http.Response, []byte) {
		body, _ := json.Marshal(map[string]string{"url": u})
		return doOn(t, srv.URL, "POST", "/api/verify", "application/json", body)
	}

	for _, u := range []string{"https://issuer.example.com/vector.json", "https://issuer.example.com/badge.png"} {
		res, out := post(u)
		var r verifier.Result
		_ = json.Unmarshal(out, &r)
		if res.StatusCode != 200 || !r.Valid {
			t.Fatalf("%s: %d %s", u, res.StatusCode, out)
		}
	}
	form := url.Values{"url": {"https://issuer.example.com/vector.json"}}.Encode()
	if r := verifyOK(t, srv.URL, "application/x-www-form-urlencoded", []byte(form)); !r.Valid {
		t.Fatalf("form url: %v", failed(r))
	}

	refusals := []struct {
		url    string
		status int
		code   string
	}{
		{"http://issuer.example.com/vector.json", 400, "url_not_allowed"},
		{"https://127.0.0.1/vector.json", 400, "url_not_allowed"},
		{"https://[::1]/vector.json", 400, "url_not_allowed"},
		{"https://10.0.0.8/vector.json", 400, "url_not_allowed"},
		{"https://169.254.169.254/latest/meta-data/", 400, "url_not_allowed"},
		{"https://internal.example.com/vector.json", 400, "url_not_allowed"},
		{"https://rebind.example.com/vector.json", 400, "url_not_allowed"},
		{"https://issuer.example.com/to-private", 400, "url_not_allowed"},
		{"https://issuer.example.com/to-loopback", 400, "url_not_allowed"},
		{"https://issuer.example.com/to-http", 400, "url_not_allowed"},
		{"https://issuer.example.com/huge.json", 413, "input_too_large"},
		{"https://issuer.example.com/missing.json", 502, "fetch_failed"},
		{"ftp://issuer.example.com/vector.json", 400, "invalid_url"},
		{"not a url", 400, "invalid_url"},
	}
	for _, c := range refusals {
		res, out := post(c.url)
		problem(t, c.url, res, out, c.status, c.code)
	}
	dmu.Lock()
	defer dmu.Unlock()
	for _, a := range dialed {
		if a != "203.0.113.7:443" {
			t.Errorf("dialed %s", a)
		}
	}

	// The production wiring (no injection) refuses internal addresses before any connection.
	for _, u := range []string{"https://127.0.0.1:1/x.json", "https://10.0.0.1/x.json", "https://169.254.169.254/latest/meta-data/", "http://example.com/x.json"} {
		body, _ := json.Marshal(map[string]string{"url": u})
		res, out := e.do("POST", "/api/verify", "application/json", body)
		problem(t, "production "+u, res, out, 400, "url_not_allowed")
	}
}

// TestVerifyInputErrors: bounded input and clear codes for requests that give no credential.
func TestVerifyInputErrors(t *testing.T) {
	e := newVT(t)
	big := bytes.Repeat([]byte("a"), site.MaxVerifyInput+1)
	res, out := e.do("POST", "/api/verify", "application/octet-stream", big)
	problem(t, "oversize raw", res, out, 413, "input_too_large")
	ct, body := multipartBody(t, nil, big, "big.png")
	res, out = e.do("POST", "/api/verify", ct, body)
	problem(t, "oversize upload", res, out, 413, "input_too_large")
	// Exactly the limit is accepted (and is, of course, no credential).
	res, out = e.do("POST", "/api/verify", "application/octet-stream", big[:site.MaxVerifyInput])
	if res.StatusCode != 200 || !strings.Contains(string(out), `"status":"invalid"`) {
		t.Errorf("input at the limit: %d %.200s", res.StatusCode, out)
	}

	res, out = e.do("POST", "/api/verify", "application/json", nil)
	problem(t, "empty", res, out, 400, "empty_input")
	ct, body = multipartBody(t, map[string][]byte{"credential": []byte("  "), "url": nil}, nil, "")
	res, out = e.do("POST", "/api/verify", ct, body)
	problem(t, "empty form", res, out, 400, "empty_input")
	ct, body = multipartBody(t, map[string][]byte{"credential": []byte("{}"), "url": []byte("https://example.com/c.json")}, nil, "")
	res, out = e.do("POST", "/api/verify", ct, body)
	problem(t, "paste and url", res, out, 400, "ambiguous_input")
	res, out = e.do("POST", "/api/verify", "multipart/form-data", []byte("x"))
	problem(t, "no boundary", res, out, 400, "malformed_form")

	r := verifyOK(t, e.srv.URL, "text/plain", []byte("hello, not a credential"))
	if r.Valid || r.Status != verifier.StatusInvalid || len(r.Checks) != 1 || r.Checks[0].Name != verifier.CheckFormat {
		t.Errorf("garbage: %+v", r)
	}
	res, out = e.do("GET", "/api/verify", "", nil)
	problem(t, "GET /api/verify", res, out, 405, "method_not_allowed")
	res, out = e.do("GET", "/e", "", nil)
	problem(t, "GET /e", res, out, 405, "method_not_allowed")
	res, out = e.do("DELETE", "/verify", "", nil)
	problem(t, "DELETE /verify", res, out, 405, "method_not_allowed")
	if res, _ := e.do("POST", "/c/"+e.credential+".json", "", nil); res.StatusCode != 405 {
		t.Errorf("POST to a credential document behind the counter: %d, want the inner mux's 405", res.StatusCode)
	}
}

// TestVerifyPageRoundTrip: the page works as a plain HTML form, without scripts.
func TestVerifyPageRoundTrip(t *testing.T) {
	e := newVT(t)
	res, page := e.do("GET", "/verify", "", nil)
	html := string(page)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || res.Header.Get("Cache-Control") != site.CacheNone {
		t.Fatalf("GET /verify: %d %v", res.StatusCode, res.Header)
	}
	for _, want := range []string{`<html lang="en">`, `<form method="post" action="/verify" enctype="multipart/form-data">`,
		`<label for="file">`, `id="file" name="file"`, `<label for="credential">`, `id="credential" name="credential"`,
		`<label for="url">`, `id="url" name="url"`, `<legend>`, `<button type="submit">`} {
		if !strings.Contains(html, want) {
			t.Errorf("verify page lacks %s", want)
		}
	}
	if strings.Contains(strings.ToLower(html), "<script") || strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src") {
		t.Errorf("the verify page must work without scripts and load none")
	}

	ldp := e.get("/c/" + e.credential + ".json")
	ct, body := multipartBody(t, map[string][]byte{"credential": ldp, "url": nil}, nil, "")
	res, out := e.do("POST", "/verify", ct, body)
	html = string(out)
	if res.StatusCode != 200 || !strings.Contains(html, "This credential is valid.") {
		t.Fatalf("POST /verify valid: %d %.500s", res.StatusCode, html)
	}
	if n := strings.Count(html, `<span class="mark">Passed</span>`); n != 6 || strings.Contains(html, "Failed</span>") {
		t.Errorf("valid credential: %d checks passed, want 6 and none failed", n)
	}
	for _, want := range []string{"<strong>Signature</strong>", "<strong>Revocation and suspension</strong>", "Example University", "Teamwork"} {
		if !strings.Contains(html, want) {
			t.Errorf("result page lacks %s", want)
		}
	}

	ct, body = multipartBody(t, map[string][]byte{"credential": tamper(t, ldp)}, nil, "")
	_, out = e.do("POST", "/verify", ct, body)
	html = string(out)
	if !strings.Contains(html, "This credential could not be verified.") ||
		!strings.Contains(html, `<li class="fail"><span class="mark">Failed</span> <strong>Signature</strong>`) {
		t.Errorf("tampered credential page: %.2000s", html)
	}

	// Errors come back on the page with their status, and what was typed is given back escaped.
	form := url.Values{"credential": {`<script>alert(1)</script>`}, "url": {"https://example.com/x"}}.Encode()
	res, out = e.do("POST", "/verify", "application/x-www-form-urlencoded", []byte(form))
	html = string(out)
	if res.StatusCode != 400 || !strings.Contains(html, `role="alert"`) || !strings.Contains(html, "give one credential only") {
		t.Errorf("ambiguous form: %d %.500s", res.StatusCode, html)
	}
	if strings.Contains(html, "<script>alert(1)") || !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the pasted text is not escaped")
	}
	big := bytes.Repeat([]byte("a"), site.MaxVerifyInput+1)
	ct, body = multipartBody(t, nil, big, "big.png")
	if res, out := e.do("POST", "/verify", ct, body); res.StatusCode != 413 || !strings.Contains(string(out), "larger than 5 MiB") {
		t.Errorf("oversize upload on the page: %d", res.StatusCode)
	}
}

func (e *vt) analytics(query string) domain.AnalyticsReport {
	e.t.Helper()
	res, out := e.do("GET", "/v1/issuers/"+e.issuer+"/analytics"+query, "", nil, "Authorization", "Bearer "+testAdminKey)
	if res.StatusCode != 200 {
		e.t.Fatalf("analytics%s: %d %s", query, res.StatusCode, out)
	}
	var r domain.AnalyticsReport
	if err := json.Unmarshal(out, &r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

func beacon(id, event string) []byte {
	b, _ := json.Marshal(map[string]string{"credentialId": id, "event": event})
	return b
}

// TestBeaconAndAnalytics: beacons answer 204 and show up in the issuer's analytics by day,
// country and achievement; bad beacons get specific codes.
func TestBeaconAndAnalytics(t *testing.T) {
	e := newVT(t)
	for _, b := range []struct{ ct, event, country string }{
		{"application/json", "view", "de"}, {"text/plain;charset=UTF-8", "view", "DE"}, {"text/plain;charset=UTF-8", "share", "FR"},
		{"", "linkedin", ""}, {"application/json", "view", "not-a-country"},
	} {
		res, out := e.do("POST", "/e", b.ct, beacon(e.credential, b.event), "CloudFront-Viewer-Country", b.country)
		if res.StatusCode != 204 || len(out) != 0 || res.Header.Get("Cache-Control") != site.CacheNone {
			t.Fatalf("beacon %+v: %d %s %q", b, res.StatusCode, out, res.Header.Get("Cache-Control"))
		}
	}
	r := e.analytics("")
	today := time.Now().UTC().Format(domain.DayLayout)
	if r.Totals.Views != 3 || r.Totals.Shares != 1 || r.Totals.LinkedIn != 1 || r.ShareRate == nil || *r.ShareRate < 0.66 || *r.ShareRate > 0.67 {
		t.Fatalf("totals %+v shareRate %v", r.Totals, r.ShareRate)
	}
	if len(r.ByDay) != 30 || r.ByDay[29].Date != today || r.ByDay[29].Views != 3 || r.To != today {
		t.Fatalf("byDay: %d days, last %+v", len(r.ByDay), r.ByDay[len(r.ByDay)-1])
	}
	countries := map[string]domain.EngagementCounts{}
	for _, c := range r.ByCountry {
		countries[c.Country] = c.EngagementCounts
	}
	if countries["DE"].Views != 2 || countries["FR"].Shares != 1 || countries["ZZ"].LinkedIn != 1 || countries["ZZ"].Views != 1 || len(countries) != 3 {
		t.Fatalf("byCountry: %+v", r.ByCountry)
	}
	if len(r.ByAchievement) != 1 || r.ByAchievement[0].AchievementID != e.achievement || r.ByAchievement[0].Name != "Teamwork" || r.ByAchievement[0].Views != 3 {
		t.Fatalf("byAchievement: %+v", r.ByAchievement)
	}
	if one := e.analytics("?from=" + today + "&to=" + today); len(one.ByDay) != 1 || one.Totals.Views != 3 {
		t.Fatalf("one day: %+v", one)
	}
	if past := e.analytics("?from=2020-01-01&to=2020-01-31"); past.Totals.Views != 0 || len(past.ByDay) != 31 {
		t.Fatalf("a past month: %+v", past.Totals)
	}

	bad := []struct {
		name, ct string
		body     []byte
		status   int
		code     string
	}{
		{"unknown event", "application/json", beacon(e.credential, "click"), 400, "unknown_event"},
		{"verify is not a beacon event", "application/json", beacon(e.credential, "verify"), 400, "unknown_event"},
		{"unknown credential", "application/json", beacon("nope0000", "view"), 404, "credential_not_found"},
		{"malformed", "text/plain", []byte(`{"credentialId":`), 400, "malformed_json"},
		{"not an object", "application/json", []byte(`["view"]`), 400, "malformed_json"},
		{"empty", "text/plain", nil, 400, "empty_body"},
		{"no credential", "application/json", []byte(`{"event":"view"}`), 400, "missing_credential_id"},
		{"no event", "application/json", []byte(`{"credentialId":"` + e.credential + `"}`), 400, "missing_event"},
		{"too large", "application/json", []byte(`{"credentialId":"` + strings.Repeat("x", 4096) + `","event":"view"}`), 413, "body_too_large"},
		{"form post", "application/x-www-form-urlencoded", []byte("credentialId=x&event=view"), 415, "unsupported_media_type"},
	}
	for _, c := range bad {
		res, out := e.do("POST", "/e", c.ct, c.body)
		problem(t, c.name, res, out, c.status, c.code)
	}
	if after := e.analytics(""); after.Totals != r.Totals {
		t.Fatalf("refused beacons were counted: %+v", after.Totals)
	}

	for _, q := range []string{"?from=2025-13-01", "?to=yesterday", "?from=2025-02-01&to=2025-01-01", "?from=2020-01-01&to=2025-01-01", "?from=2025-01-01&from=2025-01-02"} {
		res, out := e.do("GET", "/v1/issuers/"+e.issuer+"/analytics"+q, "", nil, "Authorization", "Bearer "+testAdminKey)
		problem(t, "analytics"+q, res, out, 400, "invalid_range")
	}
}

// failingAnalytics stands in for a counter store that is down.
type failingAnalytics struct{}

func (failingAnalytics) Increment(context.Context, []domain.Counter) error {
	return errors.New("counters unavailable")
}
func (failingAnalytics) Query(context.Context, string, string, string) ([]domain.Counter, error) {
	return nil, errors.New("counters unavailable")
}
func (failingAnalytics) QueryCredential(context.Context, string, string, string) ([]domain.Counter, error) {
	return nil, errors.New("counters unavailable")
}

// TestVerificationsCounted: fetches of the JSON/JWT and successful verify API calls count as
// verifications, once each; tampered copies and the site's own reads do not; a counter store
// that fails never fails the response.
func TestVerificationsCounted(t *testing.T) {
	e := newVT(t)
	ldp := e.get("/c/" + e.credential + ".json")
	jwt := e.get("/c/" + e.credential + ".jwt")
	if n := e.analytics("").Totals.Verifications; n != 2 {
		t.Fatalf("after two document fetches: %d verifications", n)
	}
	verifyOK(t, e.srv.URL, "", ldp)
	body, _ := json.Marshal(map[string]string{"url": e.srv.URL + "/c/" + e.credential + ".jwt"})
	verifyOK(t, e.srv.URL, "application/json", body) // one verification, not also a document fetch
	verifyOK(t, e.srv.URL, "", tamper(t, ldp))
	if res, _ := e.do("GET", "/c/nosuchcredential.json", "", nil); res.StatusCode != 404 {
		t.Fatalf("unknown credential: %d", res.StatusCode)
	}
	r := e.analytics("")
	if r.Totals.Verifications != 4 || r.Totals.Views != 0 {
		t.Fatalf("verifications %d (want 4), views %d", r.Totals.Verifications, r.Totals.Views)
	}

	e.local.Service.Analytics = failingAnalytics{}
	if res, out := e.do("GET", "/c/"+e.credential+".json", "", nil); res.StatusCode != 200 || !bytes.Equal(out, ldp) {
		t.Fatalf("document fetch with counters down: %d", res.StatusCode)
	}
	if r := verifyOK(t, e.srv.URL, "application/vc+jwt", jwt); !r.Valid {
		t.Fatalf("verify with counters down: %v", failed(r))
	}
}

// TestCacheHeaders: every public path says how long it may be cached, as INTERFACES.md
// documents, and the cacheable ones carry an ETag that answers If-None-Match with 304.
func TestCacheHeaders(t *testing.T) {
	e := newVT(t)
	cred := e.get("/c/" + e.credential + ".json")
	var doc map[string]any
	_ = json.Unmarshal(cred, &doc)
	statusURL := doc["credentialStatus"].(map[string]any)["statusListCredential"].(string)
	statusPath := strings.TrimPrefix(statusURL, e.srv.URL)
	cases := []struct{ path, cache string }{
		{"/c/" + e.credential, site.CachePage},
		{"/c/" + e.credential + ".json", site.CacheDocument},
		{"/c/" + e.credential + ".jwt", site.CacheDocument},
		{"/c/" + e.credential + ".png", site.CacheDocument},
		{"/c/" + e.credential + ".svg", site.CacheDocument},
		{"/issuers/" + e.issuer + "/did.json", site.CacheMedium},
		{"/issuers/" + e.issuer, site.CacheMedium},
		{statusPath, site.CacheStatus},
	}
	for _, c := range cases {
		res, _ := e.do("GET", c.path, "", nil)
		etag := res.Header.Get("ETag")
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != c.cache || etag == "" {
			t.Errorf("GET %s: %d Cache-Control %q ETag %q, want 200 %q with an ETag", c.path, res.StatusCode, res.Header.Get("Cache-Control"), etag, c.cache)
			continue
		}
		if res, body := e.do("GET", c.path, "", nil, "If-None-Match", etag); res.StatusCode != 304 || len(body) != 0 {
			t.Errorf("GET %s If-None-Match: %d", c.path, res.StatusCode)
		}
	}
	for _, c := range []struct{ method, path, ct string }{
		{"GET", "/verify", ""}, {"POST", "/verify", "text/plain"}, {"POST", "/api/verify", "text/plain"}, {"POST", "/e", "text/plain"}, {"GET", "/healthz", ""},
	} {
		res, _ := e.do(c.method, c.path, c.ct, nil)
		if res.Header.Get("Cache-Control") != site.CacheNone {
			t.Errorf("%s %s: Cache-Control %q, want %q", c.method, c.path, res.Header.Get("Cache-Control"), site.CacheNone)
		}
	}
}

// recordingInvalidator keeps the paths a status change asks the CDN to drop.
type recordingInvalidator struct {
	mu    sync.Mutex
	paths []string
}

func (r *recordingInvalidator) Invalidate(_ context.Context, paths ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.paths = append(r.paths, paths...)
	return nil
}

// TestStatusChangeInvalidates: revoking drops the credential's page and every file of it and
// the status list it points to, in paths CloudFront accepts.
func TestStatusChangeInvalidates(t *testing.T) {
	e := newVT(t)
	rec := &recordingInvalidator{}
	e.local.Service.Invalidator = rec
	var doc map[string]any
	_ = json.Unmarshal(e.get("/c/"+e.credential+".json"), &doc)
	statusPath := strings.TrimPrefix(doc["credentialStatus"].(map[string]any)["statusListCredential"].(string), e.srv.URL)
	e.admin("POST", "/v1/credentials/"+e.credential+"/revoke", map[string]any{"reason": "issued in error"}, 200)
	rec.mu.Lock()
	got := append([]string(nil), rec.paths...)
	rec.mu.Unlock()
	for _, want := range []string{"/c/" + e.credential, "/c/" + e.credential + ".*", statusPath} {
		found := false
		for _, p := range got {
			found = found || p == want
		}
		if !found {
			t.Errorf("revocation did not invalidate %s (invalidated %v)", want, got)
		}
	}
	for _, p := range got {
		if !strings.HasPrefix(p, "/") || strings.Contains(strings.TrimSuffix(p, "*"), "*") {
			t.Errorf("%q is not a CloudFront invalidation path", p)
		}
	}
	// The wildcard covers each file of the credential and nothing of another credential.
	other := e.issue()
	for _, f := range []string{".json", ".jwt", ".png", ".svg"} {
		if !strings.HasPrefix("/c/"+e.credential+f, strings.TrimSuffix("/c/"+e.credential+".*", "*")) {
			t.Errorf("%s not covered", f)
		}
	}
	if strings.HasPrefix("/c/"+other, strings.TrimSuffix("/c/"+e.credential+".*", "*")) {
		t.Errorf("the wildcard reaches another credential")
	}
}
