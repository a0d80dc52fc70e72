package site

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/domain"
)

func TestBrandContrast(t *testing.T) {
	for _, c := range []string{"#1a5fb4", "#f6d32d", "#ffffff", "#000000", "#777777", "#00ff00", "#ff0000", "#0000ff", "#808080", "#76b900", "not a colour", ""} {
		b := brandFor(c)
		css := string(b.Style)
		var brandHex, onHex, accentHex string
		for _, decl := range strings.Split(strings.Trim(strings.TrimPrefix(css, ":root"), "{}"), ";") {
			k, v, _ := strings.Cut(decl, ":")
			switch k {
			case "--brand":
				brandHex = v
			case "--on-brand":
				onHex = v
			case "--accent":
				accentHex = v
			}
		}
		if !hexColor.MatchString(brandHex) || !hexColor.MatchString(onHex) || !hexColor.MatchString(accentHex) {
			t.Fatalf("%q: style %q", c, css)
		}
		if !hexColor.MatchString(c) && brandHex != defaultColor {
			t.Errorf("%q: an invalid colour must fall back to %s, got %s", c, defaultColor, brandHex)
		}
		lum := func(h string) float64 { r, g, b := parseHex(h); return luminance(r, g, b) }
		if got := contrast(lum(brandHex), lum(onHex)); got < 4.5 {
			t.Errorf("%s: banner text %s contrasts %.2f:1", brandHex, onHex, got)
		}
		if got := contrast(lum(accentHex), 1); got < 4.5 {
			t.Errorf("%s: accent %s on white contrasts %.2f:1", brandHex, accentHex, got)
		}
	}
	// Reference values from the WCAG definition: black on white is 21:1.
	if got := contrast(luminance(0, 0, 0), luminance(255, 255, 255)); got < 20.99 || got > 21.01 {
		t.Fatalf("black/white contrast %.3f", got)
	}
}

func TestSafeURLs(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.edu/logo.png":       "https://example.edu/logo.png",
		"javascript:alert(1)":                "",
		"data:text/html,<script>":            "",
		"data:image/png;base64,iVBORw0KGgo=": "data:image/png;base64,iVBORw0KGgo=",
		"data:image/png;base64,!!!":          "",
		"//evil.example/x.png":               "",
		"":                                   "",
	} {
		if got := string(imageURL(in)); got != want {
			t.Errorf("imageURL(%q) = %q, want %q", in, got, want)
		}
	}
	if httpURL("javascript:alert(1)") != "" || httpURL("https://x.example") == "" {
		t.Fatal("httpURL")
	}
}

func TestHumanType(t *testing.T) {
	for in, want := range map[string]string{"Course": "Course", "MicroCredential": "Micro Credential", "ext:CodeJam": "Code Jam", "": ""} {
		if got := humanType(in); got != want {
			t.Errorf("humanType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatusText(t *testing.T) {
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	d := statusText(domain.PublicStatus{State: domain.PublicRevoked, Since: at, Reason: "Plagiarism"}, "Uni", time.Time{})
	if d.State != "revoked" || d.Detail != "This credential was revoked by Uni on 4 March 2026. Reason given: Plagiarism." {
		t.Fatalf("%+v", d)
	}
	d = statusText(domain.PublicStatus{State: domain.PublicValid}, "Uni", at)
	if d.State != "valid" || !strings.Contains(d.Detail, "valid until 4 March 2026") {
		t.Fatalf("%+v", d)
	}
}

func TestAcceptsHTMLMalformed(t *testing.T) {
	for _, a := range []string{";;;", "text/html;q=abc", ",,,", "text/html;q=0", "*/*"} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", a)
		got := acceptsHTML(r)
		want := a == "text/html;q=abc" // an unparsable q counts as 1
		if got != want {
			t.Errorf("Accept %q: html=%v", a, got)
		}
	}
}
