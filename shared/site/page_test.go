package site_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/credence-oss/credence/shared/adapters/boltstore"
	"github.com/credence-oss/credence/shared/adapters/localkeys"
	"github.com/credence-oss/credence/shared/adapters/memqueue"
	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/site"
	"github.com/credence-oss/credence/shared/standards/bake"
	"github.com/credence-oss/credence/shared/standards/verifier"
)

var admin = domain.Principal{KeyID: "test"}

// env is a Site over real embedded adapters in a temporary directory, behind a test server
// on 127.0.0.1 whose URL is the base URL, so did:web ids and status list URLs resolve to it.
type env struct {
	t    testing.TB
	srv  *httptest.Server
	svc  *domain.Service
	mu   sync.Mutex
	now  time.Time
	site *site.Site
	// extra are bodies served at fixed paths before the site, to stand in for a tampered copy.
	extra map[string][]byte
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, now: time.Now().UTC(), extra: map[string][]byte{}}
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		body, ok := e.extra[r.URL.Path]
		e.mu.Unlock()
		if ok {
			_, _ = w.Write(body)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	dir := t.TempDir()
	store, err := boltstore.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ks, err := localkeys.Open(filepath.Join(dir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	q := memqueue.New()
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	e.svc = &domain.Service{Store: store, Signer: ks, Queue: q, Invalidator: domain.NopInvalidator{},
		Clock: e.clock, BaseURL: e.srv.URL}
	e.site = site.New(e.svc)
	h = e.site
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

type fixture struct {
	issuer      domain.Issuer
	achievement domain.Achievement
	credential  domain.Credential
}

func (e *env) issue(issuer domain.IssuerInput, ach domain.AchievementInput, recipient string) fixture {
	e.t.Helper()
	ctx := context.Background()
	iss, err := e.svc.CreateIssuer(ctx, admin, issuer)
	if err != nil {
		e.t.Fatalf("issuer: %v", err)
	}
	a, err := e.svc.CreateAchievement(ctx, admin, iss.ID, ach)
	if err != nil {
		e.t.Fatalf("achievement: %v", err)
	}
	c, _, err := e.svc.Issue(ctx, admin, iss.ID, domain.IssueInput{AchievementID: a.ID,
		Recipient: domain.RecipientInput{Name: recipient, Email: "learner@example.org"}}, domain.IssueOptions{Actor: "test"})
	if err != nil {
		e.t.Fatalf("issue: %v", err)
	}
	return fixture{iss, a, c}
}

func (e *env) demo() fixture {
	return e.issue(domain.IssuerInput{
		Name: "Example University", URL: "https://www.example.edu", Email: "registrar@example.edu",
		Description: "A university.", Branding: &domain.BrandingData{PrimaryColor: "#f6d32d"},
	}, domain.AchievementInput{
		Name: "Data Stewardship", Description: "Managed research data well.",
		Criteria:        domain.CriteriaInput{Narrative: "Submitted a reviewed data management plan."},
		AchievementType: "Course", Skills: []string{"Data documentation", "Open science"},
		Alignments:   []domain.AlignmentInput{{TargetName: "FAIR principles", TargetURL: "https://www.go-fair.org/fair-principles/", TargetFramework: "GO FAIR"}},
		ValidForDays: 365,
	}, "Ada Lovelace")
}

func (e *env) get(path string, header ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, b
}

func (e *env) page(id string) *html.Node {
	e.t.Helper()
	res, body := e.get("/c/" + id)
	if res.StatusCode != 200 {
		e.t.Fatalf("GET /c/%s: %d %s", id, res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		e.t.Fatalf("content type %q", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != site.CachePage {
		e.t.Fatalf("cache %q", cc)
	}
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	return doc
}

// find returns the nodes matching pred in document order.
func find(n *html.Node, pred func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && pred(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func byID(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	got := find(doc, func(n *html.Node) bool { return attr(n, "id") == id })
	if len(got) != 1 {
		t.Fatalf("want one element #%s, found %d", id, len(got))
	}
	return got[0]
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestCredentialPage(t *testing.T) {
	e := newEnv(t)
	f := e.demo()
	doc := e.page(f.credential.ID)
	pageURL := e.srv.URL + "/c/" + f.credential.ID

	if h := find(doc, func(n *html.Node) bool { return n.Data == "html" }); len(h) != 1 || attr(h[0], "lang") != "en" {
		t.Fatal(`want <html lang="en">`)
	}
	if len(find(doc, func(n *html.Node) bool { return n.Data == "main" })) != 1 {
		t.Fatal("want one <main>")
	}
	status := byID(t, doc, "status")
	if status.Data != "section" || attr(status, "data-status") != "valid" {
		t.Fatalf("status banner: <%s data-status=%q>", status.Data, attr(status, "data-status"))
	}
	if s := text(status); !strings.Contains(s, "Valid") || !strings.Contains(s, "Example University") || !strings.Contains(s, "valid until") {
		t.Fatalf("status sentence: %q", s)
	}
	whole := text(doc)
	for _, want := range []string{"Data Stewardship", "Ada Lovelace", "Managed research data well.", "Submitted a reviewed data management plan.",
		"Data documentation", "Open science", "FAIR principles", "Course", f.credential.IssuedAt.UTC().Format("2 January 2006"),
		f.credential.ValidUntil.UTC().Format("2 January 2006")} {
		if !strings.Contains(whole, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	qr := byID(t, doc, "qr")
	if qr.Data != "figure" || len(find(qr, func(n *html.Node) bool { return n.Data == "svg" })) != 1 {
		t.Fatal("#qr must be a <figure> with one inline <svg>")
	}

	bc := byID(t, doc, "browser-check")
	if bc.Data != "section" || attr(bc, "data-result") != "pending" || attr(bc, "data-jwt") != "/c/"+f.credential.ID+".jwt" || attr(bc, "data-credential-id") != pageURL {
		t.Fatalf("browser-check attributes: %v", bc.Attr)
	}
	if !strings.Contains(text(bc), "needs JavaScript") {
		t.Fatalf("without JavaScript the browser check must say it needs it: %q", text(bc))
	}

	links := map[string]string{
		"download-png": "/c/" + f.credential.ID + ".png", "download-svg": "/c/" + f.credential.ID + ".svg",
		"download-json": "/c/" + f.credential.ID + ".json", "download-jwt": "/c/" + f.credential.ID + ".jwt",
		"wallet": "/c/" + f.credential.ID + ".json",
	}
	for id, href := range links {
		a := byID(t, doc, id)
		if a.Data != "a" || attr(a, "href") != href || attr(a, "data-event") == "" {
			t.Errorf("a#%s: <%s href=%q data-event=%q>, want href %q", id, a.Data, attr(a, "href"), attr(a, "data-event"), href)
		}
		res, _ := e.get(href)
		if res.StatusCode != 200 {
			t.Errorf("%s: %d", href, res.StatusCode)
		}
	}
	add, err := url.Parse(attr(byID(t, doc, "linkedin-add"), "href"))
	if err != nil {
		t.Fatal(err)
	}
	q := add.Query()
	if add.Host != "www.linkedin.com" || q.Get("name") != "Data Stewardship" || q.Get("organizationName") != "Example University" ||
		q.Get("certUrl") != pageURL || q.Get("certId") != f.credential.ID || q.Get("issueYear") == "" || q.Get("expirationYear") == "" {
		t.Fatalf("LinkedIn add-to-profile link: %s", add)
	}
	share, _ := url.Parse(attr(byID(t, doc, "linkedin-share"), "href"))
	if share.Host != "www.linkedin.com" || share.Query().Get("url") != pageURL {
		t.Fatalf("LinkedIn share link: %s", share)
	}

	checks := byID(t, doc, "checks")
	items := find(checks, func(n *html.Node) bool { return n.Data == "li" && attr(n, "data-check") != "" })
	seen := map[string]string{}
	for _, li := range items {
		seen[attr(li, "data-check")] = attr(li, "data-ok")
	}
	for _, name := range []string{verifier.CheckProof, verifier.CheckSchema, verifier.CheckContext, verifier.CheckValidity, verifier.CheckStatus, verifier.CheckIssuer} {
		if seen[name] != "true" {
			t.Errorf("check %s: data-ok=%q (all: %v)", name, seen[name], seen)
		}
	}

	meta := map[string]string{}
	for _, m := range find(doc, func(n *html.Node) bool { return n.Data == "meta" }) {
		if k := attr(m, "property") + attr(m, "name"); k != "" {
			meta[k] = attr(m, "content")
		}
	}
	if meta["og:image"] != pageURL+".png" || meta["twitter:image"] != pageURL+".png" || meta["og:url"] != pageURL ||
		meta["og:title"] == "" || meta["twitter:card"] == "" || meta["og:image:alt"] == "" {
		t.Fatalf("Open Graph / Twitter tags: %v", meta)
	}

	for _, n := range find(doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "link" }) {
		for _, k := range []string{"src", "href"} {
			v := attr(n, k)
			if n.Data == "link" && attr(n, "rel") == "canonical" {
				continue
			}
			if v != "" && !strings.HasPrefix(v, "/") {
				t.Errorf("<%s %s=%q> is not first-party", n.Data, k, v)
			}
		}
	}
	for _, img := range find(doc, func(n *html.Node) bool { return n.Data == "img" }) {
		if strings.TrimSpace(attr(img, "alt")) == "" {
			t.Errorf("<img src=%q> has no alt text", attr(img, "src"))
		}
	}
}

func TestPageHeadersAndAssets(t *testing.T) {
	e := newEnv(t)
	f := e.demo()
	res, body := e.get("/c/" + f.credential.ID)
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP: %q", csp)
	}
	// The one inline style block is allowed by its hash; a mismatch would drop the brand colours.
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindSubmatch(body)
	if m == nil {
		t.Fatal("no inline style block")
	}
	sum := sha256.Sum256(m[1])
	if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
		t.Fatalf("CSP %q does not allow the style block (%s)", csp, want)
	}
	etag := res.Header.Get("ETag")
	res2, _ := e.get("/c/"+f.credential.ID, "If-None-Match", etag)
	if etag == "" || res2.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET: etag %q -> %d", etag, res2.StatusCode)
	}
	if !bytes.Contains(body, []byte(`<script src="/assets/check.js"`)) {
		t.Fatal("the page does not load /assets/check.js")
	}
	for name, ctype := range map[string]string{"check.js": "text/javascript", "page.js": "text/javascript", "page.css": "text/css"} {
		res, b := e.get("/assets/" + name)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), ctype) || len(b) < 100 || res.Header.Get("Cache-Control") != site.CacheAsset {
			t.Errorf("/assets/%s: %d %q %q (%d bytes)", name, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"), len(b))
		}
	}
	for _, bad := range []string{"/assets/nope.js", "/assets/..%2fpage.go", "/assets/.hidden", "/c/nope", "/c/nope.png", "/c/" + f.credential.ID + ".exe"} {
		if res, _ := e.get(bad); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", bad, res.StatusCode)
		}
	}
}

func TestNotFoundPage(t *testing.T) {
	e := newEnv(t)
	res, body := e.get("/c/doesnotexist", "Accept", "text/html,*/*;q=0.8")
	if res.StatusCode != http.StatusNotFound || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("Credential not found")) {
		t.Fatalf("browser 404: %d %q %.100s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	res, body = e.get("/c/doesnotexist")
	if res.StatusCode != http.StatusNotFound || !bytes.Contains(body, []byte("credential_not_found")) {
		t.Fatalf("script 404: %d %.100s", res.StatusCode, body)
	}
}

func TestBannerRevokedSuspendedExpired(t *testing.T) {
	e := newEnv(t)
	f := e.demo()
	ctx := context.Background()

	// Expiry is a matter of time alone: move the clock past validUntil.
	e.advance(366 * 24 * time.Hour)
	st := byID(t, e.page(f.credential.ID), "status")
	if attr(st, "data-status") != "expired" || !strings.Contains(text(st), "expired on "+f.credential.ValidUntil.UTC().Format("2 January 2006")) {
		t.Fatalf("expired banner: %s %q", attr(st, "data-status"), text(st))
	}
	e.advance(-366 * 24 * time.Hour)

	if _, err := e.svc.ChangeStatus(ctx, admin, f.credential.ID, domain.ActionRevoke, "Awarded in error", "r1"); err != nil {
		t.Fatal(err)
	}
	doc := e.page(f.credential.ID)
	st = byID(t, doc, "status")
	s := text(st)
	if attr(st, "data-status") != "revoked" || !strings.Contains(s, "revoked by Example University on "+e.clock().Format("2 January 2006")) || !strings.Contains(s, "Awarded in error") {
		t.Fatalf("revoked banner: %s %q", attr(st, "data-status"), s)
	}
	// The server-side checks see the revocation through the status list, like any verifier.
	for _, li := range find(byID(t, doc, "checks"), func(n *html.Node) bool { return attr(n, "data-check") == verifier.CheckStatus }) {
		if attr(li, "data-ok") != "false" {
			t.Fatalf("status check of a revoked credential: %q", text(li))
		}
	}

	g := e.issue(domain.IssuerInput{Name: "Suspender", URL: "https://s.example", Email: "s@example.org",
		StatusPurposes: []string{domain.PurposeRevocation, domain.PurposeSuspension}},
		domain.AchievementInput{Name: "X", Description: "Y", Criteria: domain.CriteriaInput{Narrative: "Z"}}, "Bo")
	if _, err := e.svc.ChangeStatus(ctx, admin, g.credential.ID, domain.ActionSuspend, "Under review", "r2"); err != nil {
		t.Fatal(err)
	}
	st = byID(t, e.page(g.credential.ID), "status")
	if attr(st, "data-status") != "suspended" || !strings.Contains(text(st), "Under review") {
		t.Fatalf("suspended banner: %s %q", attr(st, "data-status"), text(st))
	}
}

func TestHostileNamesAreEscaped(t *testing.T) {
	e := newEnv(t)
	evil := `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	f := e.issue(domain.IssuerInput{Name: "Evil " + evil, URL: "https://evil.example", Email: "e@evil.example",
		Description: evil, Branding: &domain.BrandingData{PrimaryColor: "#000000"}},
		domain.AchievementInput{Name: "Badge " + evil, Description: evil, Criteria: domain.CriteriaInput{Narrative: evil},
			Skills: []string{evil}}, "Mallory "+evil)
	res, body := e.get("/c/" + f.credential.ID)
	if res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	if bytes.Contains(body, []byte("<script>alert")) || bytes.Contains(body, []byte("<img src=x")) {
		t.Fatal("hostile markup reached the page unescaped")
	}
	doc, _ := html.Parse(bytes.NewReader(body))
	for _, s := range find(doc, func(n *html.Node) bool { return n.Data == "script" }) {
		if attr(s, "src") == "" {
			t.Fatalf("an inline script appeared: %q", text(s))
		}
	}
	if !strings.Contains(text(byID(t, doc, "recipient")), "Mallory <script>") {
		t.Fatal("the recipient's name must still be shown, as text")
	}
	res, body = e.get("/issuers/"+f.issuer.ID, "Accept", "text/html")
	if res.StatusCode != 200 || bytes.Contains(body, []byte("<script>alert")) {
		t.Fatalf("issuer page: %d, escaped: %v", res.StatusCode, !bytes.Contains(body, []byte("<script>alert")))
	}
}

func TestBakedDownloadsVerify(t *testing.T) {
	e := newEnv(t)
	f := e.demo()
	for _, ext := range []string{"png", "svg"} {
		res, body := e.get("/c/" + f.credential.ID + "." + ext)
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != site.CacheDocument || res.Header.Get("ETag") == "" {
			t.Fatalf("%s: %d %q", ext, res.StatusCode, res.Header.Get("Cache-Control"))
		}
		ex, err := bake.Extract(body)
		if err != nil || ex.Format != ext || ex.Legacy {
			t.Fatalf("%s: unbake: %v %+v", ext, err, ex)
		}
		want := f.credential.LDP
		if ext == "svg" {
			want = []byte(f.credential.JWT)
			if !bytes.Contains(body, []byte(`verify="`+f.credential.JWT+`"`)) {
				t.Fatal("the SVG must carry the VC-JWT in the verify attribute")
			}
		}
		if !bytes.Equal(ex.Credential, want) {
			t.Fatalf("%s: baked credential differs from the stored one", ext)
		}
		r := verifier.Verify(context.Background(), body, verifier.Options{Fetch: e.fetch})
		if !r.Valid || r.Container != ext {
			t.Fatalf("%s badge does not verify: %+v", ext, r.Checks)
		}
	}
	// A tampered badge must fail: the test would pass on any image otherwise.
	_, png := e.get("/c/" + f.credential.ID + ".png")
	tampered := bytes.Replace(png, []byte("Ada Lovelace"), []byte("Eve Lovelace"), 1)
	if bytes.Equal(tampered, png) {
		t.Fatal("recipient name not found in the baked PNG")
	}
	if r := verifier.Verify(context.Background(), tampered, verifier.Options{Fetch: e.fetch}); r.Valid {
		t.Fatal("a tampered baked PNG verified")
	}
}

// fetch reads from the test server, as an outside verifier would.
func (e *env) fetch(ctx context.Context, u string) ([]byte, error) {
	if !strings.HasPrefix(u, e.srv.URL) {
		return nil, io.ErrUnexpectedEOF
	}
	_, b := e.get(strings.TrimPrefix(u, e.srv.URL))
	return b, nil
}

func TestAchievementDataImage(t *testing.T) {
	e := newEnv(t)
	f := e.demo()
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#123456"/></svg>`
	f.achievement.Image = "data:image/svg+xml," + url.PathEscape(svg)
	if err := e.svc.Store.UpdateAchievement(context.Background(), f.achievement); err != nil {
		t.Fatal(err)
	}
	_, body := e.get("/c/" + f.credential.ID + ".svg")
	if !bytes.Contains(body, []byte(`fill="#123456"`)) {
		t.Fatalf("the achievement's own SVG was not used: %.200s", body)
	}
	if cred, _, err := bake.Unbake(body); err != nil || string(cred) != f.credential.JWT {
		t.Fatalf("unbake: %v", err)
	}
	img := find(e.page(f.credential.ID), func(n *html.Node) bool {
		return n.Data == "img" && strings.HasPrefix(attr(n, "src"), "data:image/svg+xml,")
	})
	if len(img) != 1 {
		t.Fatal("the page must show the achievement's data: image")
	}
}

func TestIssuerPageByAccept(t *testing.T) {
	e := newEnv(t)
	f := e.demo()
	path := "/issuers/" + f.issuer.ID
	for accept, wantHTML := range map[string]bool{
		"": false, "application/json": false, "application/ld+json": false,
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": true,
		"application/json, text/html;q=0.5":                               false,
		"text/html;q=0.1, application/ld+json;q=0.9":                      false,
		"text/html;q=0.9, application/json;q=0.5":                         true,
	} {
		res, body := e.get(path, "Accept", accept)
		isHTML := strings.HasPrefix(res.Header.Get("Content-Type"), "text/html")
		if res.StatusCode != 200 || isHTML != wantHTML || res.Header.Get("Vary") != "Accept" {
			t.Errorf("Accept %q: %d %q html=%v", accept, res.StatusCode, res.Header.Get("Content-Type"), isHTML)
			continue
		}
		if isHTML && (!bytes.Contains(body, []byte(f.issuer.DID)) || !bytes.Contains(body, []byte(`lang="en"`))) {
			t.Errorf("issuer page lacks the DID or lang")
		}
	}
}

var viewBox = regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`)

// TestQRSVG checks the rendering, not the encoder (rsc.io/qr's own job): a well-formed SVG
// whose module grid has the size the QR version of this URL needs, with the quiet zone.
func TestQRSVG(t *testing.T) {
	for _, tc := range []struct {
		text    string
		modules int
	}{
		// Level M byte mode: version 3 (29 modules) holds up to 42 bytes, version 4 (33) 62,
		// version 5 (37) 84.
		{"https://badges.example.edu/c/abc", 29},
		{"https://badges.example.edu/c/0123456789abcdef0123456789ab", 33},
		{"http://127.0.0.1:43210/c/0123456789abcdef0123456789abcdef0123456789", 37},
	} {
		svg, err := site.QRSVG(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if err := xml.Unmarshal(svg, new(struct{})); err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		m := viewBox.FindStringSubmatch(string(svg))
		if m == nil || m[1] != m[2] || m[1] != itoa(tc.modules+8) || !strings.Contains(string(svg), `data-modules="`+itoa(tc.modules)+`"`) {
			t.Errorf("%q: viewBox %v, want %d modules plus a 4-module quiet zone", tc.text, m, tc.modules)
		}
		// The three finder patterns put dark modules at the corners of the symbol.
		for _, corner := range []string{"M4 4h1", "M" + itoa(tc.modules+3) + " 4h1", "M4 " + itoa(tc.modules+3) + "h1"} {
			if !strings.Contains(string(svg), corner) {
				t.Errorf("%q: no finder module %q", tc.text, corner)
			}
		}
	}
	if _, err := site.QRSVG(strings.Repeat("x", 5000)); err == nil {
		t.Fatal("a text too long for any QR version must fail")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
