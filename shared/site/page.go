package site

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/standards/verifier"
	"github.com/credence-oss/credence/shared/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// Templates are parsed once: a broken template is a build defect the tests catch, not a
// condition a request can cause.
var pages = template.Must(template.New("").ParseFS(templateFS, "templates/*.html"))

// defaultColor is the brand colour of issuers that set none (the same as the mails use).
const defaultColor = "#1a5fb4"

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// pageData is what templates/credential.html sees. Everything is plain strings and template
// types built here, so the template holds no logic beyond layout.
type pageData struct {
	ID, URL, Title, Description string
	ImageURL                    string // absolute, for Open Graph
	ImageAlt                    string
	BadgeSrc                    template.URL
	Brand                       brand
	Issuer                      issuerData
	Achievement                 achievementData
	Recipient                   string
	Issued, Expires             dateData
	Status                      statusData
	QR                          template.HTML
	LinkedInAdd, LinkedInShare  string
	JWTPath                     string
	Checks                      []verifier.Check
	ChecksValid                 bool
}

type brand struct {
	Style template.CSS // the custom properties, also hashed into the CSP
}

type issuerData struct {
	ID, Name, URL, ProfileURL, Description, DID string
	Logo                                        template.URL
}

type achievementData struct {
	Name, Description, Criteria, CriteriaURL, Type string
	Image                                          template.URL
	Skills                                         []string
	Alignments                                     []domain.Alignment
}

type dateData struct {
	Text, ISO string
}

type statusData struct {
	State, Headline, Detail string
}

func date(t time.Time) dateData {
	if t.IsZero() {
		return dateData{}
	}
	t = t.UTC()
	return dateData{Text: t.Format("2 January 2006"), ISO: t.Format("2006-01-02")}
}

// page serves the credential page.
func (s *Site) page(w http.ResponseWriter, r *http.Request, id string) {
	v, err := s.svc.PublicView(r.Context(), id)
	if domain.KindOf(err) == domain.KindNotFound && acceptsHTML(r) {
		s.notFoundPage(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err, "credential")
		return
	}
	d, err := s.pageData(r.Context(), v)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	s.render(w, r, "credential.html", CachePage, d, d.Brand.Style)
}

func (s *Site) pageData(ctx context.Context, v domain.PublicView) (pageData, error) {
	c, iss, ach := v.Credential, v.Issuer, v.Achievement
	qr, err := QRSVG(v.URL)
	if err != nil {
		return pageData{}, fmt.Errorf("credential page %s: %w", c.ID, err)
	}
	base := strings.TrimSuffix(v.URL, "/c/"+c.ID)
	d := pageData{
		ID: c.ID, URL: v.URL,
		Title:       ach.Name + " — " + c.RecipientName,
		Description: fmt.Sprintf("%s earned %s from %s.", c.RecipientName, ach.Name, iss.Name),
		ImageURL:    v.URL + ".png",
		ImageAlt:    fmt.Sprintf("Badge: %s, issued by %s", ach.Name, iss.Name),
		BadgeSrc:    template.URL("/c/" + url.PathEscape(c.ID) + ".svg"),
		Brand:       brandFor(iss.Branding.PrimaryColor),
		Issuer: issuerData{
			ID: iss.ID, Name: iss.Name, URL: httpURL(iss.URL), ProfileURL: base + "/issuers/" + iss.ID,
			Description: iss.Description, DID: iss.DID, Logo: imageURL(iss.Branding.Logo),
		},
		Achievement: achievementData{
			Name: ach.Name, Description: ach.Description, Criteria: ach.Criteria.Narrative,
			CriteriaURL: httpURL(ach.Criteria.ID), Type: humanType(ach.AchievementType),
			Image: imageURL(ach.Image), Skills: ach.Skills, Alignments: ach.Alignments,
		},
		Recipient:     c.RecipientName,
		Issued:        date(c.IssuedAt),
		Expires:       date(c.ValidUntil),
		Status:        statusText(v.Status, iss.Name, c.ValidUntil),
		QR:            template.HTML(qr), // built by QRSVG from numbers only
		LinkedInAdd:   domain.LinkedInAddURL(iss.Name, ach.Name, v.URL, c),
		LinkedInShare: "https://www.linkedin.com/sharing/share-offsite/?url=" + url.QueryEscape(v.URL),
		JWTPath:       "/c/" + c.ID + ".jwt",
	}
	if d.Issued.Text == "" {
		d.Issued = date(c.ValidFrom)
	}
	if d.Achievement.Image == "" {
		d.Achievement.Image = d.BadgeSrc
	}
	res := verifier.Verify(ctx, c.LDP, verifier.Options{Fetch: s.localFetch, Now: s.svc.Clock()})
	d.Checks, d.ChecksValid = res.Checks, res.Valid
	return d, nil
}

// render executes a page template and serves it with the given cache lifetime, an ETag and a
// Content-Security-Policy that allows first-party scripts only and exactly the one inline
// style block the page carries (by hash, so the cached page needs no nonce).
func (s *Site) render(w http.ResponseWriter, r *http.Request, name, cache string, data any, style template.CSS) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		web.WriteError(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	sum := sha256.Sum256([]byte(style))
	// No http://[::1]:* source: CSP host sources cannot be IPv6 literals, and Chromium logs an
	// error on every page for one (shared/site/browsertest fails on console errors).
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-"+
		base64.StdEncoding.EncodeToString(sum[:])+"'; img-src 'self' data: https:; "+
		"connect-src 'self' https: http://localhost:* http://127.0.0.1:*; "+
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "strict-origin-when-cross-origin")
	serve(w, r, "text/html; charset=utf-8", cache, buf.Bytes())
}

// localFetch answers the verifier's fetches of this site's own DID documents and status lists
// from the domain directly: the page checks credentials this deployment issued, and going out
// through CloudFront and back (or through a socket to itself under serve) would add latency and
// a failure mode for nothing. Other URLs are refused, so rendering a page never reaches out.
func (s *Site) localFetch(ctx context.Context, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("fetch %q: %w", raw, err)
	}
	if !strings.EqualFold(u.Host, s.svc.Host()) {
		return nil, fmt.Errorf("fetch %s: not a document of this site (%s)", raw, s.svc.Host())
	}
	seg := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch {
	case len(seg) == 3 && seg[0] == "issuers" && seg[2] == "did.json":
		doc, err := s.svc.DIDDocument(ctx, seg[1])
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", raw, err)
		}
		return json.Marshal(doc)
	case len(seg) == 3 && seg[0] == "status":
		body, err := s.svc.StatusListCredential(ctx, seg[1], seg[2])
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", raw, err)
		}
		return body, nil
	}
	return nil, fmt.Errorf("fetch %s: not a DID document or status list of this site", raw)
}

func statusText(st domain.PublicStatus, issuer string, until time.Time) statusData {
	since := date(st.Since).Text
	on := ""
	if since != "" {
		on = " on " + since
	}
	var d statusData
	d.State = st.State
	switch st.State {
	case domain.PublicRevoked:
		d.Headline = "Revoked"
		d.Detail = fmt.Sprintf("This credential was revoked by %s%s.", issuer, on)
	case domain.PublicSuspended:
		d.Headline = "Suspended"
		d.Detail = fmt.Sprintf("This credential was suspended by %s%s. It is not valid while suspended.", issuer, on)
	case domain.PublicExpired:
		d.Headline = "Expired"
		d.Detail = fmt.Sprintf("This credential expired%s.", on)
	case domain.PublicNotYetValid:
		d.Headline = "Not yet valid"
		d.Detail = fmt.Sprintf("This credential becomes valid%s.", on)
	default:
		d.State = domain.PublicValid
		d.Headline = "Valid"
		d.Detail = fmt.Sprintf("This credential was issued by %s and has not been revoked.", issuer)
		if !until.IsZero() {
			d.Detail += " It is valid until " + date(until).Text + "."
		}
	}
	if st.Reason != "" {
		d.Detail += " Reason given: " + st.Reason
		if !strings.HasSuffix(st.Reason, ".") {
			d.Detail += "."
		}
	}
	return d
}

// brandFor derives the page colours from the issuer's primary colour: the banner text is white
// or near-black, whichever contrasts more (black when neither reaches 4.5:1), and the accent used
// for links on white is the brand colour darkened until it reaches 4.5:1 (WCAG 2 AA for text).
func brandFor(primary string) brand {
	if !hexColor.MatchString(primary) {
		primary = defaultColor
	}
	primary = strings.ToLower(primary)
	r, g, b := parseHex(primary)
	l := luminance(r, g, b)
	on, best := "#ffffff", contrast(l, 1)
	if c := contrast(l, luminance(0x11, 0x11, 0x11)); c > best {
		on, best = "#111111", c
	}
	if best < 4.5 {
		on = "#000000" // mid greys: only pure black reaches 4.5:1 (the larger of the two ratios is at least 4.58)
	}
	ar, ag, ab := r, g, b
	for contrast(luminance(ar, ag, ab), 1) < 4.5 {
		ar, ag, ab = ar*9/10, ag*9/10, ab*9/10
	}
	accent := fmt.Sprintf("#%02x%02x%02x", ar, ag, ab)
	css := fmt.Sprintf(":root{--brand:%s;--on-brand:%s;--accent:%s}", primary, on, accent)
	return brand{Style: template.CSS(css)} // only validated hex colours go in
}

func parseHex(c string) (r, g, b int) {
	v, _ := strconv.ParseUint(c[1:], 16, 32) // callers pass a validated #rrggbb
	return int(v >> 16 & 0xff), int(v >> 8 & 0xff), int(v & 0xff)
}

// luminance is the WCAG 2 relative luminance of an sRGB colour.
func luminance(r, g, b int) float64 {
	lin := func(c int) float64 {
		s := float64(c) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// contrast is the WCAG 2 contrast ratio of two relative luminances.
func contrast(l1, l2 float64) float64 {
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05)
}

// httpURL passes http(s) URLs and drops anything else: stored values were validated on the way
// in, but a link with another scheme (javascript:) must never reach a page whatever the store holds.
func httpURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return s
}

// imageURL returns a source for an <img>: an http(s) URL, or a data: URI of a raster or SVG
// image (an SVG in an <img> runs no script). html/template would blank data: URIs, so the
// ones that pass this check are marked safe.
func imageURL(s string) template.URL {
	if httpURL(s) != "" {
		return template.URL(s)
	}
	if _, ok := dataImage(s); ok {
		return template.URL(s)
	}
	return ""
}

// humanType turns an OB 3.0 achievementType such as "MicroCredential" or "ext:Hackathon" into words.
func humanType(t string) string {
	t = strings.TrimPrefix(t, "ext:")
	var b strings.Builder
	for i, r := range t {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// acceptsHTML reports whether the request prefers text/html to JSON (a browser's Accept), by
// the q values of RFC 9110; with no Accept header, or a tie, JSON wins, since scripts and
// verifiers that send nothing expect the Profile document.
func acceptsHTML(r *http.Request) bool {
	html, js := -1.0, -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		switch mt {
		case "text/html", "application/xhtml+xml":
			html = math.Max(html, q)
		case "application/json", "application/ld+json":
			js = math.Max(js, q)
		}
	}
	return html > 0 && html > js
}

type issuerPage struct {
	Title, Description string
	Brand              brand
	Issuer             issuerData
	DIDPath            string
}

func (s *Site) issuerHTML(w http.ResponseWriter, r *http.Request, iss domain.Issuer) {
	d := issuerPage{
		Title: iss.Name, Description: iss.Description, Brand: brandFor(iss.Branding.PrimaryColor),
		Issuer: issuerData{ID: iss.ID, Name: iss.Name, URL: httpURL(iss.URL), Description: iss.Description,
			DID: iss.DID, Logo: imageURL(iss.Branding.Logo)},
		DIDPath: "/issuers/" + iss.ID + "/did.json",
	}
	if d.Issuer.Logo == "" {
		d.Issuer.Logo = imageURL(iss.Image)
	}
	s.render(w, r, "issuer.html", CacheMedium, d, d.Brand.Style)
}

// notFoundPage tells a person, not a script, that a credential address leads nowhere; it is
// cached as briefly as the JSON 404 so a credential issued just after the miss shows soon.
func (s *Site) notFoundPage(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	b := brandFor("")
	if err := pages.ExecuteTemplate(&buf, "notfound.html", struct{ Brand brand }{b}); err != nil {
		web.WriteError(w, r, fmt.Errorf("render notfound.html: %w", err))
		return
	}
	sum := sha256.Sum256([]byte(b.Style))
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'; base-uri 'none'")
	w.Header().Set("Cache-Control", "public, max-age=30, s-maxage=30")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write(buf.Bytes())
}
