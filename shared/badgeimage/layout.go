package badgeimage

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The design is laid out once, in a 600×600 user space, and both renderings draw that layout:
// the SVG in its viewBox, the PNG scaled to its pixel size. Text is measured with the Go fonts
// the PNG draws with, so both wrap the title at the same words. Browsers draw the SVG text in
// their own sans-serif, up to about 10% wider than the Go fonts (DejaVu Sans); the text boxes
// are that much narrower than the space inside the medal, so the wider fonts still fit.
const (
	canvas = 600
	centre = canvas / 2

	// Title block: lines of at most titleWidth, between titleTop (ascenders) and titleBottom
	// (descenders), which keeps the medal's centre free of text.
	titleTop     = 306
	titleBottom  = 456
	titleWidth   = 350
	titleLeading = 1.16
	maxLines     = 3

	typeBaseline = 238
	typeWidth    = 380

	issuerWidth = 420

	// Go Bold and Go Regular share these vertical metrics (fractions of the em).
	capHeight = 1480.0 / 2048
	ascender  = 1520.0 / 2048 // tallest Latin letters, a little above the cap height
	descender = 432.0 / 2048

	// Bounds on the text considered: far beyond what fits, so truncation only saves work.
	maxTitleRunes  = 256
	maxIssuerRunes = 128
	maxTypeRunes   = 64
	// maxLabelRunes bounds the accessible name in <title>, which is not truncated visually.
	maxLabelRunes = 1024
)

// Candidate font sizes, largest first; the first at which the text fits unbroken wins.
var (
	titleSizes  = []float64{50, 44, 38, 33, 29, 25}
	typeSizes   = []float64{24, 20, 17}
	issuerSizes = []float64{27, 23, 19}
)

const ellipsis = "…"

type fonts struct{ bold, regular *sfnt.Font }

// loadFonts parses the embedded Go fonts once; they are fixed bytes, so an error here is a
// broken build, reported by PNG and answered with approximate widths by the layout.
var loadFonts = sync.OnceValues(func() (fonts, error) {
	b, err := sfnt.Parse(gobold.TTF)
	if err != nil {
		return fonts{}, err
	}
	r, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		return fonts{}, err
	}
	return fonts{bold: b, regular: r}, nil
})

// textLine is one line of text, centred on x = centre.
type textLine struct {
	text     string
	baseline float64
	width    float64 // measured with the Go font, in user units
}

// textBlock is lines sharing a font and size.
type textBlock struct {
	bold  bool
	size  float64
	lines []textLine
}

type layout struct {
	title, typ, issuer textBlock
	label              string // the accessible name
}

// measurer measures strings in user units. An sfnt.Font is safe for concurrent use with one
// Buffer per goroutine; each layout owns a measurer, and with it a Buffer and a cache of the
// glyphs it has looked up (wrapping measures the same runes many times over).
type measurer struct {
	f      *sfnt.Font
	buf    sfnt.Buffer
	em     fixed.Int26_6
	glyphs map[rune]glyph
}

type glyph struct {
	index   sfnt.GlyphIndex
	advance fixed.Int26_6 // in font units, as 26.6
}

func newMeasurer(f *sfnt.Font) *measurer {
	if f == nil {
		return &measurer{}
	}
	return &measurer{f: f, em: fixed.Int26_6(f.UnitsPerEm()) << 6, glyphs: map[rune]glyph{}}
}

func (m *measurer) glyph(r rune) glyph {
	if g, ok := m.glyphs[r]; ok {
		return g
	}
	var g glyph
	if i, err := m.f.GlyphIndex(&m.buf, r); err == nil {
		g.index = i
	}
	if a, err := m.f.GlyphAdvance(&m.buf, g.index, m.em, font.HintingNone); err == nil {
		g.advance = a
	}
	m.glyphs[r] = g
	return g
}

func (m *measurer) width(s string, size float64) float64 {
	if m.f == nil {
		return float64(utf8.RuneCountInString(s)) * 0.6 * size
	}
	var total fixed.Int26_6
	var prev sfnt.GlyphIndex
	for i, r := range s {
		g := m.glyph(r)
		if i > 0 {
			if k, err := m.f.Kern(&m.buf, prev, g.index, m.em, font.HintingNone); err == nil {
				total += k
			}
		}
		total += g.advance
		prev = g.index
	}
	return float64(total) / float64(m.em) * size
}

// newLayout computes every line, size and position of the design. It never fails: text that
// cannot fit is ellipsized.
func newLayout(d Design) layout {
	fs, _ := loadFonts()
	bold, regular := newMeasurer(fs.bold), newMeasurer(fs.regular)

	title := clean(d.Title, maxTitleRunes)
	issuer := clean(d.Issuer, maxIssuerRunes)
	typ := strings.ToUpper(humanizeType(clean(d.Type, maxTypeRunes)))

	l := layout{label: accessibleName(d)}

	l.title = fitTitle(bold, title)

	l.typ = fitLine(bold, true, typ, typeSizes, typeWidth)
	if len(l.typ.lines) > 0 {
		l.typ.lines[0].baseline = typeBaseline
	}

	l.issuer = fitLine(regular, false, issuer, issuerSizes, issuerWidth)
	if len(l.issuer.lines) > 0 {
		// Optically centred on the ribbon: the cap height straddles its middle.
		l.issuer.lines[0].baseline = bannerMid + capHeight*l.issuer.size/2
	}
	return l
}

// fitTitle wraps the title at words over up to three lines, at the largest size at which it
// fits without breaking a word; failing that, at the smallest size, breaking over-long words
// and ellipsizing the last line.
func fitTitle(m *measurer, title string) textBlock {
	block := textBlock{bold: true, size: titleSizes[len(titleSizes)-1]}
	if title == "" {
		return block
	}
	words := strings.Fields(title)
	var lines []string
	found := false
	for _, size := range titleSizes {
		n := linesThatFit(size)
		ls, broken := wrap(m, words, size, titleWidth)
		if !broken && len(ls) <= n {
			block.size, lines, found = size, ls, true
			break
		}
	}
	if !found {
		size := block.size
		lines, _ = wrap(m, words, size, titleWidth)
		if n := linesThatFit(size); len(lines) > n {
			lines = append(lines[:n-1:n-1], ellipsize(m, lines[n-1], size, titleWidth, true))
		}
	}
	size := block.size
	lead := titleLeading * size
	height := float64(len(lines)-1)*lead + (ascender+descender)*size
	top := titleTop + (titleBottom-titleTop-height)/2
	for i, s := range lines {
		block.lines = append(block.lines, textLine{
			text:     s,
			baseline: top + ascender*size + float64(i)*lead,
			width:    m.width(s, size),
		})
	}
	return block
}

// linesThatFit is how many title lines of the given size the title box holds.
func linesThatFit(size float64) int {
	n := 1 + int((titleBottom-titleTop-(ascender+descender)*size)/(titleLeading*size))
	return max(1, min(maxLines, n))
}

// wrap fills lines greedily with whole words. A word wider than the line on its own is broken
// between characters, and broken reports it.
func wrap(m *measurer, words []string, size, maxWidth float64) (lines []string, broken bool) {
	cur := ""
	for _, w := range words {
		if cur != "" {
			if cand := cur + " " + w; m.width(cand, size) <= maxWidth {
				cur = cand
				continue
			}
			lines = append(lines, cur)
			cur = ""
		}
		if m.width(w, size) <= maxWidth {
			cur = w
			continue
		}
		broken = true
		for w != "" {
			n := fitPrefix(m, w, size, maxWidth)
			if n == len(w) {
				cur = w
				break
			}
			lines = append(lines, w[:n])
			w = w[n:]
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines, broken
}

// fitPrefix is the byte length of the longest prefix of s, of at least one rune, no wider
// than maxWidth.
func fitPrefix(m *measurer, s string, size, maxWidth float64) int {
	_, first := utf8.DecodeRuneInString(s)
	n := first
	for n < len(s) {
		_, k := utf8.DecodeRuneInString(s[n:])
		if m.width(s[:n+k], size) > maxWidth {
			break
		}
		n += k
	}
	return n
}

// fitLine sets s on one line at the largest size at which it fits, ellipsizing it at the
// smallest size otherwise. An empty s gives no line.
func fitLine(m *measurer, bold bool, s string, sizes []float64, maxWidth float64) textBlock {
	block := textBlock{bold: bold, size: sizes[len(sizes)-1]}
	if s == "" {
		return block
	}
	fits := false
	for _, size := range sizes {
		if m.width(s, size) <= maxWidth {
			block.size, fits = size, true
			break
		}
	}
	if !fits {
		s = ellipsize(m, s, block.size, maxWidth, false)
	}
	block.lines = []textLine{{text: s, width: m.width(s, block.size)}}
	return block
}

// ellipsize shortens s until s+"…" fits. With always set the ellipsis is added even if s
// fits, because text after s was dropped.
func ellipsize(m *measurer, s string, size, maxWidth float64, always bool) string {
	if !always && m.width(s, size) <= maxWidth {
		return s
	}
	for s != "" && m.width(s+ellipsis, size) > maxWidth {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	s = strings.TrimRightFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) && r != ')' && r != ']'
	})
	return s + ellipsis
}

// clean makes untrusted text safe to lay out and to put in XML: invalid UTF-8 becomes U+FFFD,
// characters XML 1.0 forbids or that steer rendering invisibly (controls, bidi overrides,
// zero-width formatting) are dropped, runs of space collapse to one, and at most maxRunes
// runes are kept.
func clean(s string, maxRunes int) string {
	var b strings.Builder
	n, space := 0, false
	for _, r := range s {
		if n >= maxRunes {
			break
		}
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), !xmlChar(r):
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// xmlChar is the XML 1.0 Char production without the whitespace controls, which clean
// handles itself.
func xmlChar(r rune) bool {
	return r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// humanizeType turns an OB 3.0 achievementType such as "ApprenticeshipCertificate" or an
// extension such as "ext:MicroDegree" into words: "Apprenticeship Certificate",
// "Micro Degree".
func humanizeType(t string) string {
	if i := strings.IndexByte(t, ':'); i >= 0 && strings.EqualFold(t[:i], "ext") {
		t = t[i+1:]
	}
	rs := []rune(t)
	var b strings.Builder
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) {
			prevLower := unicode.IsLower(rs[i-1])
			acronymEnd := unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || acronymEnd {
				b.WriteByte(' ')
			}
		}
		if r == '_' || r == '-' {
			r = ' '
		}
		b.WriteRune(r)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// accessibleName is the text of the SVG's <title>: the full title, which the image may have
// ellipsized, with the type and the issuer.
func accessibleName(d Design) string {
	title := clean(d.Title, maxLabelRunes)
	if title == "" {
		title = "Badge"
	}
	if t := humanizeType(clean(d.Type, maxTypeRunes)); t != "" {
		title += " (" + t + ")"
	}
	if is := clean(d.Issuer, maxLabelRunes); is != "" {
		title += " — " + is
	}
	return title
}
