package site

import (
	"bytes"
	"fmt"

	"rsc.io/qr"
)

// qrQuiet is the light margin the QR specification requires around the symbol, in modules;
// scanners miss codes without it, especially on coloured page backgrounds.
const qrQuiet = 4

// QRSVG renders text as a QR code in an inline SVG: one path of unit squares on a white
// background, in a viewBox of module units so it scales without blurring. Level M survives
// the smudges of a printed certificate while keeping credential URLs at a small version.
func QRSVG(text string) ([]byte, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, fmt.Errorf("qr code of %d bytes: %w", len(text), err)
	}
	n := code.Size + 2*qrQuiet
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges" role="img" aria-label="QR code of this page's address" data-modules="%d">`,
		n, n, n*4, n*4, code.Size)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+qrQuiet, y+qrQuiet)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}
