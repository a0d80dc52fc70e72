package bake

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The badge images in testdata/bake are made here and committed; regenerate them with
//
//	go test ./shared/standards/bake -run TestGenerateFixtures -update
var update = flag.Bool("update", false, "rewrite the testdata/bake fixtures")

var fixtureDir = filepath.Join("..", "..", "..", "testdata", "bake")

// The official OB 3.0 eddsa-rdfc-2022 test vector, a real signed credential (see
// testdata/standards/PROVENANCE.md).
var vectorPath = filepath.Join("..", "..", "..", "testdata", "standards", "ob3-ldp-test-vector", "credential-signed.json")

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixture(t testing.TB, name string) []byte { return readFile(t, filepath.Join(fixtureDir, name)) }

// badgePNG draws a 96x96 medal: a gold disc with a darker rim and a white five-pointed star, on
// a transparent background, in a small palette.
func badgePNG() []byte {
	const size = 96
	pal := color.Palette{
		color.NRGBA{0, 0, 0, 0},
		color.NRGBA{0xc8, 0x8a, 0x12, 0xff}, // rim
		color.NRGBA{0xf2, 0xb8, 0x2e, 0xff}, // disc
		color.NRGBA{0xff, 0xff, 0xff, 0xff}, // star
	}
	img := image.NewPaletted(image.Rect(0, 0, size, size), pal)
	c := float64(size-1) / 2
	var star [10][2]float64
	for k := range star {
		r := 30.0
		if k%2 == 1 {
			r = 12
		}
		a := -math.Pi/2 + float64(k)*math.Pi/5
		star[k] = [2]float64{c + r*math.Cos(a), c + r*math.Sin(a)}
	}
	inStar := func(x, y float64) bool { // even-odd rule over the star polygon
		in := false
		for i, j := 0, len(star)-1; i < len(star); j, i = i, i+1 {
			xi, yi, xj, yj := star[i][0], star[i][1], star[j][0], star[j][1]
			if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
				in = !in
			}
		}
		return in
	}
	for y := range size {
		for x := range size {
			d := math.Hypot(float64(x)-c, float64(y)-c)
			switch {
			case d > 46:
			case d > 41:
				img.SetColorIndex(x, y, 1)
			case inStar(float64(x), float64(y)):
				img.SetColorIndex(x, y, 3)
			default:
				img.SetColorIndex(x, y, 2)
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// badgeSVG is the same medal as an SVG of the kind editors export: XML declaration, DOCTYPE,
// comment, title, nested group.
const badgeSVG = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<!-- Credence test badge: a gold medal with a white star. -->
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="96" height="96" viewBox="0 0 96 96">
  <title>Teamwork Badge</title>
  <g id="medal">
    <circle cx="48" cy="48" r="46" fill="#c88a12"/>
    <circle cx="48" cy="48" r="41" fill="#f2b82e"/>
    <path d="M48 18 L55.05 38.29 L76.53 38.73 L59.41 51.71 L65.63 72.27 L48 60 L30.37 72.27 L36.59 51.71 L19.47 38.73 L40.95 38.29 Z" fill="#ffffff"/>
  </g>
</svg>
`

// fixtures maps each file to how it is made from the ones before it.
func fixtures(t testing.TB) []struct {
	name string
	make func() []byte
} {
	vector := readFile(t, vectorPath)
	bake := func(f func([]byte, []byte) ([]byte, error), img []byte) []byte {
		out, err := f(img, vector)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	return []struct {
		name string
		make func() []byte
	}{
		{"badge.png", badgePNG},
		{"badge.svg", func() []byte { return []byte(badgeSVG) }},
		{"badge-ob3-vector.png", func() []byte { return bake(BakePNG, fixture(t, "badge.png")) }},
		{"badge-ob3-vector.svg", func() []byte { return bake(BakeSVG, fixture(t, "badge.svg")) }},
	}
}

func TestGenerateFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/bake")
	}
	if err := os.MkdirAll(fixtureDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures(t) {
		if err := os.WriteFile(filepath.Join(fixtureDir, f.name), f.make(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFixtures(t *testing.T) {
	plainPNG, plainSVG := fixture(t, "badge.png"), fixture(t, "badge.svg")
	if img, err := png.Decode(bytes.NewReader(plainPNG)); err != nil || img.Bounds().Dx() != 96 {
		t.Fatalf("badge.png: %v", err)
	}
	if _, err := UnbakePNG(plainPNG); err == nil {
		t.Fatal("badge.png already carries a credential")
	}
	if _, err := UnbakeSVG(plainSVG); err == nil {
		t.Fatal("badge.svg already carries a credential")
	}
	want := bytes.TrimSpace(readFile(t, vectorPath))
	for _, name := range []string{"badge-ob3-vector.png", "badge-ob3-vector.svg"} {
		got, format, err := Unbake(fixture(t, name))
		if err != nil || !bytes.Equal(got, want) || format != filepath.Ext(name)[1:] {
			t.Fatalf("%s: format %q, err %v, credential equal: %v", name, format, err, bytes.Equal(got, want))
		}
	}
	// Baking is deterministic: the committed baked files are what the code produces today.
	for _, f := range fixtures(t)[2:] {
		if !bytes.Equal(f.make(), fixture(t, f.name)) {
			t.Errorf("%s differs from what BakePNG/BakeSVG make now (regenerate with -update if intended)", f.name)
		}
	}
}
