package badgeimage

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"sync"
	"testing"
)

var sample = Design{
	Title:  "Research Data Management Workshop",
	Issuer: "Example University Library",
	Type:   "Course",
	Color:  "#1a5fb4",
}

// svgDoc is what the tests read back from an SVG with encoding/xml.
type svgDoc struct {
	elements []string          // local names, document order
	attrs    []string          // attribute local names, all elements
	title    string            // character data of <title>
	texts    []string          // character data of each <text>
	textFill map[string]string // fill of each <text>, by its content
}

func parseSVG(t testing.TB, b []byte) svgDoc {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	doc := svgDoc{textFill: map[string]string{}}
	var stack []string
	var fill string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, b)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tok.Name.Local)
			doc.elements = append(doc.elements, tok.Name.Local)
			for _, a := range tok.Attr {
				doc.attrs = append(doc.attrs, a.Name.Local)
				if a.Name.Local == "fill" {
					fill = a.Value
				}
			}
			if tok.Name.Local == "text" {
				doc.texts = append(doc.texts, "")
			}
		case xml.EndElement:
			if stack[len(stack)-1] == "text" {
				doc.textFill[doc.texts[len(doc.texts)-1]] = fill
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			switch {
			case len(stack) == 0:
			case stack[len(stack)-1] == "title":
				doc.title += string(tok)
			case stack[len(stack)-1] == "text":
				doc.texts[len(doc.texts)-1] += string(tok)
			}
		}
	}
	if len(doc.elements) == 0 || doc.elements[0] != "svg" {
		t.Fatalf("root element is not <svg>: %v", doc.elements)
	}
	return doc
}

func TestSVGWellFormedWithEscapedTitle(t *testing.T) {
	d := sample
	d.Title = `R&D "Data" <Management>`
	b := SVG(d)
	doc := parseSVG(t, b)
	if !bytes.Contains(b, []byte(`R&amp;D &#34;Data&#34; &lt;Management&gt;`)) {
		t.Errorf("escaped title missing from SVG:\n%s", b)
	}
	if !strings.HasPrefix(doc.title, d.Title) {
		t.Errorf("<title> = %q, want it to start with %q", doc.title, d.Title)
	}
	for _, want := range []string{"Course", "Example University Library"} {
		if !strings.Contains(doc.title, want) {
			t.Errorf("<title> %q lacks %q", doc.title, want)
		}
	}
	if got := strings.Join(doc.texts, " "); !strings.Contains(got, "R&D") || !strings.Contains(got, "COURSE") ||
		!strings.Contains(got, "Example University Library") {
		t.Errorf("visible text %q lacks the title, type or issuer", got)
	}
	if doc.elements[1] != "title" {
		t.Errorf("<title> is not the first child of <svg>: %v", doc.elements)
	}
}

// allowed is every element the generated SVG may contain.
var allowed = map[string]bool{"svg": true, "title": true, "path": true, "g": true, "text": true}

func TestSVGHostileInputStaysText(t *testing.T) {
	d := Design{
		Title:  `</text><script>alert(1)</script><text>`,
		Issuer: `"/><image href="https://evil.example/x.png" onload="alert(2)`,
		Type:   `]]><!ENTITY x "y">&x;`,
		Color:  `#fff" onload="alert(3)`,
	}
	b := SVG(d)
	doc := parseSVG(t, b)
	for _, e := range doc.elements {
		if !allowed[e] {
			t.Errorf("hostile input produced element <%s>:\n%s", e, b)
		}
	}
	for _, a := range doc.attrs {
		if strings.HasPrefix(a, "on") || a == "href" || a == "style" {
			t.Errorf("hostile input produced attribute %s:\n%s", a, b)
		}
	}
	if !strings.Contains(doc.title, "</text><script>alert(1)</script>") {
		t.Errorf("hostile title not kept as text in <title>: %q", doc.title)
	}
	visible := strings.Join(doc.texts, "")
	if !strings.Contains(visible, "<script>") {
		t.Errorf("hostile title not kept as visible text: %q", visible)
	}
	if bytes.Contains(b, []byte("<script")) || bytes.Contains(b, []byte("<image")) {
		t.Errorf("raw markup from input reached the SVG:\n%s", b)
	}
}

func TestSVGSelfContained(t *testing.T) {
	b := SVG(sample)
	for _, bad := range []string{"href", "url(", "@import", "<style", "<image", "http://", "https://"} {
		rest := bytes.ReplaceAll(b, []byte(`xmlns="http://www.w3.org/2000/svg"`), nil)
		if bytes.Contains(rest, []byte(bad)) {
			t.Errorf("SVG contains %q:\n%s", bad, b)
		}
	}
	doc := parseSVG(t, b)
	for _, e := range doc.elements {
		if !allowed[e] {
			t.Errorf("unexpected element <%s>", e)
		}
	}
	if !bytes.Contains(b, []byte(`font-family="sans-serif"`)) {
		t.Errorf("SVG does not use the generic sans-serif family")
	}
}

func TestSVGControlCharactersDropped(t *testing.T) {
	d := Design{Title: "A\x00B\x1bC\u202eD\xffE\uFFFEF", Issuer: "Is\tsuer\n\nName", Color: "#000"}
	doc := parseSVG(t, SVG(d))
	if got, want := strings.Join(doc.texts, "|"), "A\x00B"; strings.Contains(got, want) {
		t.Fatalf("NUL survived: %q", got)
	}
	title := doc.texts[0]
	if title != "ABCD\uFFFDEF" {
		t.Errorf("title text = %q, want controls and U+202E, U+FFFE dropped and invalid UTF-8 replaced", title)
	}
	if doc.texts[1] != "Is suer Name" {
		t.Errorf("issuer text = %q, want whitespace collapsed", doc.texts[1])
	}
}

func TestSVGTextColours(t *testing.T) {
	for _, c := range []string{"#1a5fb4", "#ffeb3b", "#000000", "#ffffff", "#777777"} {
		d := sample
		d.Color = c
		doc := parseSVG(t, SVG(d))
		base, _ := parseColor(c)
		banner := newPalette(base).banner
		for text, fill := range doc.textFill {
			fg, ok := parseColor(fill)
			if !ok {
				t.Fatalf("%s: text %q has fill %q", c, text, fill)
			}
			bg := base
			if text == sample.Issuer {
				bg = banner
			}
			if r := contrast(fg, bg); r < minContrast {
				t.Errorf("%s: text %q in %s on %s has contrast %.2f < 4.5", c, text, fill, bg.hex(), r)
			}
		}
	}
}

func TestSVGFallbackColour(t *testing.T) {
	want := newPalette(colorOrDefault(DefaultColor)).base.hex()
	for _, c := range []string{"", "blue", "#12345", "#gggggg", "1a5fb4"} {
		d := sample
		d.Color = c
		if !bytes.Contains(SVG(d), []byte(`fill="`+want+`"`)) {
			t.Errorf("colour %q: SVG does not fall back to %s", c, want)
		}
	}
}

func TestSVGShowsLayoutLines(t *testing.T) {
	d := sample
	d.Title = "Advanced Topics in Reproducible Computational Research Methods"
	l := newLayout(d)
	doc := parseSVG(t, SVG(d))
	var want []string
	for _, b := range []textBlock{l.typ, l.title, l.issuer} {
		for _, line := range b.lines {
			want = append(want, line.text)
		}
	}
	if strings.Join(doc.texts, "\n") != strings.Join(want, "\n") {
		t.Errorf("SVG lines %q, layout lines %q", doc.texts, want)
	}
	if len(l.title.lines) < 2 {
		t.Errorf("test title should wrap: %q", lineTexts(l.title))
	}
}

func decodePNG(t testing.TB, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	return img
}

func near(c color.Color, want rgb, tol int) bool {
	r, g, b, a := c.RGBA()
	d := func(v uint32, w uint8) bool {
		x := int(v>>8) - int(w)
		return -tol <= x && x <= tol
	}
	return a>>8 == 0xff && d(r, want.r) && d(g, want.g) && d(b, want.b)
}

// countNear counts the pixels of img in the user-space rectangle r (600×600 units) within
// tol of want.
func countNear(img image.Image, r image.Rectangle, want rgb, tol int) int {
	s := float64(img.Bounds().Dx()) / canvas
	px := image.Rect(int(float64(r.Min.X)*s), int(float64(r.Min.Y)*s), int(float64(r.Max.X)*s), int(float64(r.Max.Y)*s))
	n := 0
	for y := px.Min.Y; y < px.Max.Y; y++ {
		for x := px.Min.X; x < px.Max.X; x++ {
			if near(img.At(x, y), want, tol) {
				n++
			}
		}
	}
	return n
}

func TestPNG(t *testing.T) {
	for _, c := range []string{"#1a5fb4", "#ffeb3b", "#2e7d32"} {
		d := sample
		d.Color = c
		b, err := PNG(d, 512)
		if err != nil {
			t.Fatal(err)
		}
		img := decodePNG(t, b)
		if got := img.Bounds(); got != image.Rect(0, 0, 512, 512) {
			t.Fatalf("%s: bounds %v, want 512×512", c, got)
		}
		base, _ := parseColor(c)
		p := newPalette(base)
		if got := img.At(256, 256); !near(got, base, 2) {
			t.Errorf("%s: centre pixel %v, want the issuer colour", c, got)
		}
		if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
			t.Errorf("%s: corner is not transparent (alpha %d)", c, a)
		}
		if n := countNear(img, image.Rect(100, titleTop, 500, titleBottom), p.text, 4); n < 500 {
			t.Errorf("%s: title region has %d pixels of the text colour %s, want many", c, n, p.text.hex())
		}
		if n := countNear(img, image.Rect(80, bannerTop, 520, bannerBottom), p.bannerText, 4); n < 100 {
			t.Errorf("%s: ribbon has %d pixels of its text colour %s, want many", c, n, p.bannerText.hex())
		}
		// The rim colours sit where the layout puts them.
		rimY := (centre - (rimRadius+bandRadius)/2) * 512 / canvas
		if got := img.At(256, rimY); !near(got, p.rim, 2) {
			t.Errorf("%s: rim pixel %v, want %s", c, got, p.rim.hex())
		}
	}
}

// Every title line the layout computes is drawn where the layout says: the band between its
// baseline and cap height holds text pixels, and the gap above the first line does not.
func TestPNGDrawsLayoutLines(t *testing.T) {
	d := sample
	d.Title = "Advanced Topics in Reproducible Computational Research Methods"
	l := newLayout(d)
	b, err := PNG(d, 600)
	if err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, b)
	p := newPalette(colorOrDefault(d.Color))
	for _, line := range l.title.lines {
		top := int(line.baseline - capHeight*l.title.size)
		r := image.Rect(int(centre-line.width/2), top, int(centre+line.width/2)+1, int(line.baseline))
		if n := countNear(img, r, p.text, 4); n < 50 {
			t.Errorf("line %q: %d text pixels in %v", line.text, n, r)
		}
	}
	first := l.title.lines[0]
	gap := image.Rect(100, typeBaseline+10, 500, int(first.baseline-ascender*l.title.size)-2)
	if n := countNear(img, gap, p.text, 40); n > 0 {
		t.Errorf("%d text pixels above the first title line, in %v", n, gap)
	}
}

func TestPNGSizeClamped(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{-5, 64}, {0, 64}, {63, 64}, {64, 64}, {100, 100}, {2049, 2048}} {
		if tc.in > MaxPNGSize && testing.Short() {
			continue
		}
		b, err := PNG(sample, tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodePNG(t, b).Bounds(); got.Dx() != tc.want || got.Dy() != tc.want {
			t.Errorf("PNG(%d) is %v, want %d square", tc.in, got, tc.want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	d := Design{Title: "Déjà vu: a very long title that will certainly need wrapping over lines", Issuer: "Ünïcode Ltd", Type: "Certificate", Color: "#c01c28"}
	svg0 := SVG(d)
	png0, err := PNG(d, 256)
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent calls share the parsed fonts; a shared scratch buffer would show up here
	// (and under -race) as differing bytes.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if !bytes.Equal(SVG(d), svg0) {
				t.Error("SVG differs between calls")
			}
			b, err := PNG(d, 256)
			if err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(b, png0) {
				t.Error("PNG differs between calls")
			}
		})
	}
	wg.Wait()
	other := d
	other.Title = "Something else"
	if bytes.Equal(SVG(other), svg0) {
		t.Error("SVG does not depend on the title")
	}
}

func FuzzDesign(f *testing.F) {
	f.Add("Research Data Management Workshop", "Example University", "Course", "#1a5fb4", 64)
	f.Add(`</text><script>alert(1)</script>`, `"'&<>`, "ext:MicroDegree", "#fff", 100)
	f.Add(strings.Repeat("Supercalifragilistic", 20), strings.Repeat("x", 300), "ABCdefGHI", "#GGG", -1)
	f.Add("\x00\xff\ufffe\U0010FFFF", "\u202e", "\t", "", 5000)
	f.Add("", "", "", "#000000", 0)
	f.Fuzz(func(t *testing.T, title, issuer, typ, col string, size int) {
		d := Design{Title: title, Issuer: issuer, Type: typ, Color: col}
		doc := parseSVG(t, SVG(d))
		for _, e := range doc.elements {
			if !allowed[e] {
				t.Fatalf("input produced element <%s>", e)
			}
		}
		// Large sizes only slow the fuzzer down without reaching new code.
		b, err := PNG(d, size%200)
		if err != nil {
			t.Fatal(err)
		}
		decodePNG(t, b)
	})
}

func BenchmarkSVG(b *testing.B) {
	for b.Loop() {
		SVG(sample)
	}
}

func BenchmarkPNG512(b *testing.B) {
	for b.Loop() {
		if _, err := PNG(sample, 512); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLayout(b *testing.B) {
	long := sample
	long.Title = strings.Repeat("Interdisciplinary ", 20)
	for b.Loop() {
		newLayout(long)
	}
}
