package badgeimage

import (
	"image/color"
	"math"
	"strings"
)

// DefaultColor is used when Design.Color is empty or not a hex colour.
const DefaultColor = "#1a5fb4"

// minContrast is the WCAG 2 AA threshold for normal-size text.
const minContrast = 4.5

// rgb is an opaque sRGB colour.
type rgb struct{ r, g, b uint8 }

var (
	white = rgb{0xff, 0xff, 0xff}
	black = rgb{0, 0, 0}
)

// parseColor accepts "#rrggbb" and the CSS shorthand "#rgb", case-insensitively and ignoring
// surrounding space, since issuer settings are typed by hand.
func parseColor(s string) (rgb, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 4 && len(s) != 7 || s[0] != '#' {
		return rgb{}, false
	}
	var v [6]uint8
	for i := 1; i < len(s); i++ {
		n, ok := hexDigit(s[i])
		if !ok {
			return rgb{}, false
		}
		v[i-1] = n
	}
	if len(s) == 4 {
		return rgb{v[0] * 17, v[1] * 17, v[2] * 17}, true
	}
	return rgb{v[0]<<4 | v[1], v[2]<<4 | v[3], v[4]<<4 | v[5]}, true
}

func hexDigit(c byte) (uint8, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func colorOrDefault(s string) rgb {
	if c, ok := parseColor(s); ok {
		return c
	}
	c, _ := parseColor(DefaultColor)
	return c
}

func (c rgb) hex() string {
	const digits = "0123456789abcdef"
	return string([]byte{'#',
		digits[c.r>>4], digits[c.r&15],
		digits[c.g>>4], digits[c.g&15],
		digits[c.b>>4], digits[c.b&15]})
}

func (c rgb) rgba() color.RGBA { return color.RGBA{c.r, c.g, c.b, 0xff} }

// luminance is the WCAG 2 relative luminance (https://www.w3.org/TR/WCAG21/#dfn-relative-luminance).
func (c rgb) luminance() float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// contrast is the WCAG 2 contrast ratio, 1 to 21, symmetric in its arguments.
func contrast(a, b rgb) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// mix moves c towards t by the fraction f (0 keeps c, 1 gives t).
func mix(c, t rgb, f float64) rgb {
	ch := func(a, b uint8) uint8 {
		return uint8(math.Round(float64(a) + (float64(b)-float64(a))*f))
	}
	return rgb{ch(c.r, t.r), ch(c.g, t.g), ch(c.b, t.b)}
}

// textColor picks a text colour for bg with a contrast of at least 4.5:1. White reads best on
// mid and dark fills; on light fills a deep shade of the fill itself looks less harsh than
// black. One of white and black always reaches 4.58:1, so the last resort never fails.
func textColor(bg rgb) rgb {
	if contrast(white, bg) >= minContrast {
		return white
	}
	if deep := mix(bg, black, 0.82); contrast(deep, bg) >= minContrast {
		return deep
	}
	return black
}
