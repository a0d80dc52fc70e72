package badgeimage

import (
	"math"
	"strings"
	"testing"
)

func TestParseColor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want rgb
		ok   bool
	}{
		{"#1a5fb4", rgb{0x1a, 0x5f, 0xb4}, true},
		{"#1A5FB4", rgb{0x1a, 0x5f, 0xb4}, true},
		{" #ffeb3b\n", rgb{0xff, 0xeb, 0x3b}, true},
		{"#f80", rgb{0xff, 0x88, 0x00}, true},
		{"#000", rgb{0, 0, 0}, true},
		{"", rgb{}, false},
		{"#", rgb{}, false},
		{"1a5fb4", rgb{}, false},
		{"#1a5fb", rgb{}, false},
		{"#1a5fb4ff", rgb{}, false},
		{"#1g5fb4", rgb{}, false},
		{"blue", rgb{}, false},
		{"#ÿÿÿ", rgb{}, false},
	} {
		got, ok := parseColor(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseColor(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok && got.hex() != strings.ToLower(strings.TrimSpace(tc.in)) && len(strings.TrimSpace(tc.in)) == 7 {
			t.Errorf("hex() = %q, want %q", got.hex(), strings.ToLower(strings.TrimSpace(tc.in)))
		}
	}
	if c := colorOrDefault("nonsense"); c.hex() != DefaultColor {
		t.Errorf("fallback colour %s, want %s", c.hex(), DefaultColor)
	}
}

func TestLuminanceAndContrast(t *testing.T) {
	for _, tc := range []struct {
		c    rgb
		want float64
	}{
		{white, 1}, {black, 0},
		{rgb{0x80, 0x80, 0x80}, 0.2158605},
		{rgb{0xff, 0, 0}, 0.2126}, {rgb{0, 0xff, 0}, 0.7152}, {rgb{0, 0, 0xff}, 0.0722},
	} {
		if got := tc.c.luminance(); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("luminance(%s) = %.7f, want %.7f", tc.c.hex(), got, tc.want)
		}
	}
	if got := contrast(white, black); math.Abs(got-21) > 1e-9 {
		t.Errorf("contrast(white, black) = %v, want 21", got)
	}
	if a, b := contrast(white, rgb{0x1a, 0x5f, 0xb4}), contrast(rgb{0x1a, 0x5f, 0xb4}, white); a != b {
		t.Errorf("contrast is not symmetric: %v, %v", a, b)
	}
	// #767676 is the lightest grey with 4.5:1 on white, a commonly quoted WCAG reference.
	if got := contrast(white, rgb{0x76, 0x76, 0x76}); got < 4.5 || got > 4.6 {
		t.Errorf("contrast(white, #767676) = %.3f, want 4.54", got)
	}
}

func TestTextColor(t *testing.T) {
	blue := rgb{0x1a, 0x5f, 0xb4}
	if got := textColor(blue); got != white {
		t.Errorf("text on #1a5fb4 is %s, want white", got.hex())
	}
	yellow := rgb{0xff, 0xeb, 0x3b}
	got := textColor(yellow)
	if got.luminance() > 0.1 {
		t.Errorf("text on #ffeb3b is %s, want a dark colour", got.hex())
	}
	if r := contrast(got, yellow); r < minContrast {
		t.Errorf("text %s on #ffeb3b has contrast %.2f", got.hex(), r)
	}
	// Every fill in a 16-step RGB grid, and the ribbon derived from it, gets readable text.
	for r := 0; r < 256; r += 17 {
		for g := 0; g < 256; g += 17 {
			for b := 0; b < 256; b += 17 {
				p := newPalette(rgb{uint8(r), uint8(g), uint8(b)})
				if c := contrast(p.text, p.base); c < minContrast {
					t.Fatalf("text %s on %s: contrast %.2f", p.text.hex(), p.base.hex(), c)
				}
				if c := contrast(p.bannerText, p.banner); c < minContrast {
					t.Fatalf("text %s on ribbon %s: contrast %.2f", p.bannerText.hex(), p.banner.hex(), c)
				}
			}
		}
	}
}

func TestPaletteRim(t *testing.T) {
	p := newPalette(rgb{0x1a, 0x5f, 0xb4})
	if !(p.rim.luminance() < p.base.luminance() && p.base.luminance() < p.band.luminance()) {
		t.Errorf("rim %s, base %s, band %s: want a darker rim and a lighter band", p.rim.hex(), p.base.hex(), p.band.hex())
	}
}

func lineTexts(b textBlock) []string {
	var out []string
	for _, l := range b.lines {
		out = append(out, l.text)
	}
	return out
}

// checkTitle verifies the geometric promises of a title block: lines within the width, the
// block within its box, below the medal's centre.
func checkTitle(t *testing.T, b textBlock) {
	t.Helper()
	m := newMeasurer(mustFonts(t).bold)
	if len(b.lines) > maxLines {
		t.Errorf("%d lines, at most %d allowed: %q", len(b.lines), maxLines, lineTexts(b))
	}
	for i, l := range b.lines {
		if w := m.width(l.text, b.size); w > titleWidth || math.Abs(w-l.width) > 1e-9 {
			t.Errorf("line %q: width %.1f (recorded %.1f), limit %d", l.text, w, l.width, titleWidth)
		}
		if top := l.baseline - ascender*b.size; i == 0 && top < titleTop {
			t.Errorf("first line top %.1f above %d", top, titleTop)
		}
		if bottom := l.baseline + descender*b.size; bottom > titleBottom+0.01 {
			t.Errorf("line %q bottom %.1f below %d", l.text, bottom, titleBottom)
		}
	}
	if len(b.lines) > 0 && b.lines[0].baseline-ascender*b.size <= centre {
		t.Errorf("title reaches the medal's centre")
	}
}

func mustFonts(t *testing.T) fonts {
	t.Helper()
	fs, err := loadFonts()
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestLayoutShortTitle(t *testing.T) {
	l := newLayout(Design{Title: "Open Science"})
	checkTitle(t, l.title)
	if got := lineTexts(l.title); len(got) != 1 || got[0] != "Open Science" {
		t.Errorf("lines %q, want one", got)
	}
	if l.title.size != titleSizes[0] {
		t.Errorf("size %v, want the largest, %v", l.title.size, titleSizes[0])
	}
}

func TestLayoutWrapsAtWords(t *testing.T) {
	title := "Research Data Management Workshop"
	l := newLayout(Design{Title: title})
	checkTitle(t, l.title)
	got := lineTexts(l.title)
	if len(got) < 2 {
		t.Fatalf("lines %q, want the title wrapped", got)
	}
	if strings.Join(got, " ") != title {
		t.Errorf("lines %q do not rejoin to the title", got)
	}
}

func TestLayoutShrinksBeforeEllipsizing(t *testing.T) {
	title := "Advanced Topics in Reproducible Computational Research Methods"
	l := newLayout(Design{Title: title})
	checkTitle(t, l.title)
	if l.title.size >= titleSizes[0] {
		t.Errorf("size %v, want smaller than %v for a long title", l.title.size, titleSizes[0])
	}
	if got := strings.Join(lineTexts(l.title), " "); got != title {
		t.Errorf("lines %q, want the whole title, shrunk", lineTexts(l.title))
	}
}

func TestLayoutEllipsizesBeyondThreeLines(t *testing.T) {
	title := strings.Repeat("Interdisciplinary Approaches to ", 8) + "the End"
	l := newLayout(Design{Title: title})
	checkTitle(t, l.title)
	got := lineTexts(l.title)
	if len(got) != maxLines {
		t.Fatalf("lines %q, want %d", got, maxLines)
	}
	if l.title.size != titleSizes[len(titleSizes)-1] {
		t.Errorf("size %v, want the smallest", l.title.size)
	}
	last := got[len(got)-1]
	if !strings.HasSuffix(last, ellipsis) {
		t.Errorf("last line %q lacks the ellipsis", last)
	}
	shown := strings.TrimSuffix(strings.Join(got, " "), ellipsis)
	if !strings.HasPrefix(title, shown) {
		t.Errorf("shown text %q is not a prefix of the title", shown)
	}
}

func TestLayoutBreaksLongWords(t *testing.T) {
	word := strings.Repeat("Pneumonoultramicroscopic", 3)
	l := newLayout(Design{Title: word})
	checkTitle(t, l.title)
	got := lineTexts(l.title)
	if len(got) < 2 {
		t.Fatalf("lines %q, want the word broken", got)
	}
	joined := strings.Join(got, "")
	if joined != word && !strings.HasPrefix(word, strings.TrimSuffix(joined, ellipsis)) {
		t.Errorf("lines %q lose or reorder characters of %q", got, word)
	}
}

func TestLayoutSingleLines(t *testing.T) {
	m := newMeasurer(mustFonts(t).regular)
	l := newLayout(Design{Issuer: strings.Repeat("Very Long Issuer Name ", 10), Type: "ApprenticeshipCertificate"})
	if len(l.issuer.lines) != 1 || !strings.HasSuffix(l.issuer.lines[0].text, ellipsis) {
		t.Errorf("issuer lines %q, want one, ellipsized", lineTexts(l.issuer))
	}
	if w := m.width(l.issuer.lines[0].text, l.issuer.size); w > issuerWidth {
		t.Errorf("issuer line width %.1f > %d", w, issuerWidth)
	}
	if got := lineTexts(l.typ); len(got) != 1 || got[0] != "APPRENTICESHIP CERTIFICATE" {
		t.Errorf("type lines %q", got)
	}
	if e := newLayout(Design{}); len(e.title.lines)+len(e.typ.lines)+len(e.issuer.lines) != 0 {
		t.Errorf("empty design has text lines")
	}
}

func TestHumanizeType(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "",
		"Course":                    "Course",
		"ApprenticeshipCertificate": "Apprenticeship Certificate",
		"ext:MicroDegree":           "Micro Degree",
		"CertificateOfCompletion":   "Certificate Of Completion",
		"MOOCBadge":                 "MOOC Badge",
		"snake_case-type":           "snake case type",
		"urn:x":                     "urn:x",
	} {
		if got := humanizeType(in); got != want {
			t.Errorf("humanizeType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"  a \t\n b  ", 100, "a b"},
		{"a\x00b\x7fc\u200bd", 100, "abcd"},
		{"bad\xffutf8", 100, "bad\uFFFDutf8"},
		{"abcdef", 3, "abc"},
		{"é😀\uFFFF", 100, "é😀"},
	} {
		if got := clean(tc.in, tc.max); got != tc.want {
			t.Errorf("clean(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}
