// Package badgeimage draws the generated badge image of an achievement that has no image of
// its own: a medal in the issuer's colour carrying the achievement's title, its type and the
// issuer's name, as a self-contained SVG and as a PNG rendered in pure Go. Both come from one
// layout, so they show the same shapes and break the title at the same words. The functions
// are pure: no I/O, deterministic output, and any input, however hostile, yields an image.
package badgeimage

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/png"
	"math"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// Design is what the badge shows. All fields are untrusted text.
type Design struct {
	Title  string // achievement name, e.g. "Research Data Management Workshop"
	Issuer string // issuer name
	Type   string // OB 3.0 achievementType, e.g. "Course", "Badge", "Certificate"; may be ""
	Color  string // issuer primary colour "#rrggbb" ("#rgb" too); DefaultColor when invalid or ""
}

// PNG sizes are clamped to this range: below it the title is unreadable, above it the image
// only grows.
const (
	MinPNGSize = 64
	MaxPNGSize = 2048
)

// SVG returns the badge as a standalone SVG document of 600×600 user units. Text uses the
// generic sans-serif family; there are no external references, scripts or styles.
func SVG(d Design) []byte {
	l := newLayout(d)
	p := newPalette(colorOrDefault(d.Color))

	var b bytes.Buffer
	b.Grow(4096)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600" viewBox="0 0 600 600" role="img">`)
	b.WriteString("\n<title>")
	escape(&b, l.label)
	b.WriteString("</title>\n")
	for _, s := range medal(p) {
		b.WriteString(`<path fill="`)
		b.WriteString(s.fill.hex())
		b.WriteString(`" d="`)
		for _, o := range s.ops {
			b.WriteByte(o.cmd)
			n := o.points()
			for i := range n {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(num(o.p[i].x))
				b.WriteByte(' ')
				b.WriteString(num(o.p[i].y))
			}
		}
		b.WriteString("\"/>\n")
	}
	b.WriteString(`<g font-family="sans-serif" text-anchor="middle">`)
	b.WriteByte('\n')
	for _, t := range []struct {
		block textBlock
		fill  rgb
	}{{l.typ, p.text}, {l.title, p.text}, {l.issuer, p.bannerText}} {
		for _, line := range t.block.lines {
			b.WriteString(`<text x="300" y="`)
			b.WriteString(num(line.baseline))
			b.WriteString(`" font-size="`)
			b.WriteString(num(t.block.size))
			if t.block.bold {
				b.WriteString(`" font-weight="bold`)
			}
			b.WriteString(`" fill="`)
			b.WriteString(t.fill.hex())
			b.WriteString(`">`)
			escape(&b, line.text)
			b.WriteString("</text>\n")
		}
	}
	b.WriteString("</g>\n</svg>\n")
	return b.Bytes()
}

// escape writes s as XML character data. Text went through clean, so EscapeText, which also
// escapes quotes and line breaks, never has to replace a character.
func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer does not fail
}

// num formats a coordinate with at most two decimals, enough at any PNG size up to 2048 px
// and the same bytes on every platform.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// PNG renders the badge as a size×size RGBA PNG (size clamped to MinPNGSize..MaxPNGSize),
// transparent outside the medal. The error is only that of the embedded fonts or the encoder;
// neither depends on d.
func PNG(d Design, size int) ([]byte, error) {
	size = max(MinPNGSize, min(MaxPNGSize, size))
	fs, err := loadFonts()
	if err != nil {
		return nil, err
	}
	l := newLayout(d)
	p := newPalette(colorOrDefault(d.Color))
	scale := float64(size) / canvas

	img := image.NewRGBA(image.Rect(0, 0, size, size))
	var z vector.Rasterizer
	for _, s := range medal(p) {
		// Rasterizing only the shape's bounding box, rather than the whole image for every
		// shape, roughly halves the time of a PNG.
		r := bounds(s.ops, scale).Intersect(img.Rect)
		if r.Empty() {
			continue
		}
		z.Reset(r.Dx(), r.Dy())
		x0, y0 := float64(r.Min.X), float64(r.Min.Y)
		pt := func(q point) (float32, float32) { return float32(q.x*scale - x0), float32(q.y*scale - y0) }
		for _, o := range s.ops {
			switch o.cmd {
			case 'M':
				z.MoveTo(pt(o.p[0]))
			case 'L':
				z.LineTo(pt(o.p[0]))
			case 'C':
				bx, by := pt(o.p[0])
				cx, cy := pt(o.p[1])
				dx, dy := pt(o.p[2])
				z.CubeTo(bx, by, cx, cy, dx, dy)
			case 'Z':
				z.ClosePath()
			}
		}
		z.Draw(img, r, image.NewUniform(s.fill.rgba()), image.Point{})
	}

	for _, t := range []struct {
		block textBlock
		fill  rgb
	}{{l.typ, p.text}, {l.title, p.text}, {l.issuer, p.bannerText}} {
		if len(t.block.lines) == 0 {
			continue
		}
		f := fs.regular
		if t.block.bold {
			f = fs.bold
		}
		if err := drawText(img, f, t.block, t.fill, scale); err != nil {
			return nil, err
		}
	}

	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&out, img); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// bounds is the pixel rectangle holding a path at the given scale. A cubic lies within the
// hull of its control points, so those bound it.
func bounds(ops []op, scale float64) image.Rectangle {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, o := range ops {
		n := o.points()
		for _, q := range o.p[:n] {
			minX, maxX = min(minX, q.x*scale), max(maxX, q.x*scale)
			minY, maxY = min(minY, q.y*scale), max(maxY, q.y*scale)
		}
	}
	if minX > maxX {
		return image.Rectangle{}
	}
	return image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX)), int(math.Ceil(maxY)))
}

// drawText draws a block's lines centred on the canvas, antialiased and unhinted so that
// glyphs scale like the shapes around them.
func drawText(img *image.RGBA, f *sfnt.Font, block textBlock, fill rgb, scale float64) error {
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: block.size * scale, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return err
	}
	defer face.Close()
	dr := font.Drawer{Dst: img, Src: image.NewUniform(fill.rgba()), Face: face}
	mid := fixed.Int26_6(math.Round(centre * scale * 64))
	for _, line := range block.lines {
		// Measured again at the pixel size, where advances are rounded to 1/64 px, so that the
		// line is centred on what is actually drawn.
		w := dr.MeasureString(line.text)
		dr.Dot = fixed.Point26_6{X: mid - w/2, Y: fixed.Int26_6(math.Round(line.baseline * scale * 64))}
		dr.DrawString(line.text)
	}
	return nil
}
