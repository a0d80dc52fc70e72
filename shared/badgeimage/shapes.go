package badgeimage

import "math"

// Geometry of the medal in the 600×600 user space. Each shape is a path of straight lines and
// cubic Béziers, the subset both SVG path data and golang.org/x/image/vector draw exactly, so
// the two renderings come from the same numbers. Holes are contours wound the other way
// (nonzero fill in both).
const (
	rimRadius  = 288
	bandRadius = 270
	fillRadius = 256
	ringOuter  = 240
	ringInner  = 236

	starX, starY   = centre, 156
	starOuter      = 44
	starInnerRatio = 0.45

	bannerTop, bannerBottom = 468, 530
	bannerMid               = (bannerTop + bannerBottom) / 2
	bannerLeft              = 56
)

type point struct{ x, y float64 }

// op is one path command: 'M' and 'L' use p[0], 'C' uses p[0..2], 'Z' none.
type op struct {
	cmd byte
	p   [3]point
}

// points is how many of p the command uses.
func (o op) points() int {
	switch o.cmd {
	case 'M', 'L':
		return 1
	case 'C':
		return 3
	}
	return 0
}

type shape struct {
	fill rgb
	ops  []op
}

type pathBuilder []op

func (b *pathBuilder) moveTo(x, y float64) { *b = append(*b, op{cmd: 'M', p: [3]point{{x, y}}}) }
func (b *pathBuilder) lineTo(x, y float64) { *b = append(*b, op{cmd: 'L', p: [3]point{{x, y}}}) }
func (b *pathBuilder) close()              { *b = append(*b, op{cmd: 'Z'}) }

func (b *pathBuilder) cubeTo(x1, y1, x2, y2, x, y float64) {
	*b = append(*b, op{cmd: 'C', p: [3]point{{x1, y1}, {x2, y2}, {x, y}}})
}

// circle adds a circle as four cubic arcs, clockwise on screen, or anticlockwise when
// reverse is set to cut a hole.
func (b *pathBuilder) circle(cx, cy, r float64, reverse bool) {
	// The control distance that makes a cubic quarter-arc deviate from the circle by <0.03%.
	k := r * 0.5522847498
	s := 1.0
	if reverse {
		s = -1
	}
	b.moveTo(cx+r, cy)
	b.cubeTo(cx+r, cy+s*k, cx+k, cy+s*r, cx, cy+s*r)
	b.cubeTo(cx-k, cy+s*r, cx-r, cy+s*k, cx-r, cy)
	b.cubeTo(cx-r, cy-s*k, cx-k, cy-s*r, cx, cy-s*r)
	b.cubeTo(cx+k, cy-s*r, cx+r, cy-s*k, cx+r, cy)
	b.close()
}

func (b *pathBuilder) polygon(pts ...point) {
	for i, p := range pts {
		if i == 0 {
			b.moveTo(p.x, p.y)
		} else {
			b.lineTo(p.x, p.y)
		}
	}
	b.close()
}

// mirror reflects points about the vertical centre line, for the right half of the ribbon.
func mirror(pts ...point) []point {
	out := make([]point, len(pts))
	for i, p := range pts {
		out[len(pts)-1-i] = point{canvas - p.x, p.y}
	}
	return out
}

// palette is every colour of one design, derived from the issuer colour.
type palette struct {
	base, rim, band, ring, text        rgb
	banner, bannerText, tail, tailFold rgb
}

func newPalette(base rgb) palette {
	p := palette{
		base:     base,
		rim:      mix(base, black, 0.38),
		band:     mix(base, white, 0.32),
		banner:   mix(base, black, 0.25),
		tail:     mix(base, black, 0.5),
		tailFold: mix(base, black, 0.7),
	}
	p.text = textColor(base)
	p.ring = mix(base, p.text, 0.4)
	p.bannerText = textColor(p.banner)
	return p
}

// medal lists the shapes back to front.
func medal(p palette) []shape {
	var out []shape
	add := func(fill rgb, draw func(b *pathBuilder)) {
		var b pathBuilder
		draw(&b)
		out = append(out, shape{fill: fill, ops: b})
	}
	add(p.rim, func(b *pathBuilder) { b.circle(centre, centre, rimRadius, false) })
	add(p.band, func(b *pathBuilder) { b.circle(centre, centre, bandRadius, false) })
	add(p.base, func(b *pathBuilder) { b.circle(centre, centre, fillRadius, false) })
	add(p.ring, func(b *pathBuilder) {
		b.circle(centre, centre, ringOuter, false)
		b.circle(centre, centre, ringInner, true)
	})
	add(p.text, func(b *pathBuilder) {
		b.polygon(star(starX, starY, starOuter, starOuter*starInnerRatio)...)
		// Short rules either side of the star.
		b.polygon(point{204, starY - 2}, point{244, starY - 2}, point{244, starY + 2}, point{204, starY + 2})
		b.polygon(mirror(point{204, starY - 2}, point{244, starY - 2}, point{244, starY + 2}, point{204, starY + 2})...)
	})

	// The ribbon: a band across the lower medal, its swallow-tailed ends folded behind.
	tail := []point{{100, bannerTop + 16}, {22, bannerTop + 16}, {46, bannerMid + 16}, {22, bannerBottom + 16}, {100, bannerBottom + 16}}
	add(p.tail, func(b *pathBuilder) {
		b.polygon(tail...)
		b.polygon(mirror(tail...)...)
	})
	fold := []point{{bannerLeft, bannerBottom}, {100, bannerBottom}, {100, bannerBottom + 16}}
	add(p.tailFold, func(b *pathBuilder) {
		b.polygon(fold...)
		b.polygon(mirror(fold...)...)
	})
	add(p.banner, func(b *pathBuilder) {
		b.polygon(point{bannerLeft, bannerTop}, point{canvas - bannerLeft, bannerTop},
			point{canvas - bannerLeft, bannerBottom}, point{bannerLeft, bannerBottom})
	})
	return out
}

// star is a five-pointed star, point up, clockwise on screen.
func star(cx, cy, outer, inner float64) []point {
	pts := make([]point, 10)
	for i := range pts {
		r := outer
		if i%2 == 1 {
			r = inner
		}
		a := -math.Pi/2 + float64(i)*math.Pi/5
		pts[i] = point{cx + r*math.Cos(a), cy + r*math.Sin(a)}
	}
	return pts
}
