package bake

import "testing"

// The public site bakes on request (GET /c/{id}.png, .svg, then cached) and the verifier
// unbakes uploads; these measure both on the fixture badge and the OB 3.0 vector credential.

func BenchmarkBakePNG(b *testing.B) {
	img, cred := fixture(b, "badge.png"), readFile(b, vectorPath)
	for b.Loop() {
		if _, err := BakePNG(img, cred); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnbakePNG(b *testing.B) {
	img := fixture(b, "badge-ob3-vector.png")
	for b.Loop() {
		if _, err := UnbakePNG(img); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBakeSVG(b *testing.B) {
	img, cred := fixture(b, "badge.svg"), readFile(b, vectorPath)
	for b.Loop() {
		if _, err := BakeSVG(img, cred); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnbakeSVG(b *testing.B) {
	img := fixture(b, "badge-ob3-vector.svg")
	for b.Loop() {
		if _, err := UnbakeSVG(img); err != nil {
			b.Fatal(err)
		}
	}
}
