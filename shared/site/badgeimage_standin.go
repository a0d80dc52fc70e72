package site

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
)

// badgeDesign mirrors badgeimage.Design (package shared/badgeimage, being written alongside
// this one). This file is a minimal stand-in with the same API until that package lands; it
// then shrinks to the two assignments renderBadgeSVG = badgeimage.SVG and renderBadgePNG =
// badgeimage.PNG.
type badgeDesign struct{ Title, Issuer, Type, Color string }

var (
	renderBadgeSVG = standinSVG
	renderBadgePNG = standinPNG
)

func standinSVG(d badgeDesign) []byte {
	esc := func(s string) string {
		var b bytes.Buffer
		_ = xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200" width="200" height="200">`+
		`<title>%s</title><circle cx="100" cy="100" r="96" fill="%s"/><circle cx="100" cy="100" r="84" fill="none" stroke="#fff" stroke-width="4"/>`+
		`<text x="100" y="96" text-anchor="middle" font-family="sans-serif" font-size="14" fill="#fff">%s</text>`+
		`<text x="100" y="120" text-anchor="middle" font-family="sans-serif" font-size="10" fill="#fff">%s</text></svg>`,
		esc(d.Title), esc(d.Color), esc(d.Title), esc(d.Issuer))
}

func standinPNG(d badgeDesign, size int) ([]byte, error) {
	if size < 16 || size > 4096 {
		return nil, fmt.Errorf("badge size %d out of range 16..4096", size)
	}
	r, g, b := parseHex(d.Color)
	fill := color.NRGBA{uint8(r), uint8(g), uint8(b), 255}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	c := float64(size) / 2
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			dx, dy := float64(x)+0.5-c, float64(y)+0.5-c
			dist := dx*dx + dy*dy
			switch {
			case dist <= (c*0.84)*(c*0.84) && dist >= (c*0.80)*(c*0.80):
				img.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
			case dist <= (c*0.96)*(c*0.96):
				img.SetNRGBA(x, y, fill)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode badge PNG: %w", err)
	}
	return buf.Bytes(), nil
}
