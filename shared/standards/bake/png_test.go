package bake

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image/png"
	"strings"
	"testing"
)

// A JWS-shaped credential: real header syntax, dummy payload and signature.
var testJWS = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","typ":"vc+jwt"}`)) + "." +
	base64.RawURLEncoding.EncodeToString([]byte(`{"vc":{"type":["VerifiableCredential"]}}`)) + "." +
	base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 64))

const testJSON = `{"@context":["https://www.w3.org/ns/credentials/v2"],"id":"urn:uuid:1","name":"Ünïcødé ✓"}`

// rawChunk is an independent reading of a PNG chunk, to check BakePNG's output without
// walkPNG.
type rawChunk struct {
	typ       string
	data      []byte
	crc, want uint32
}

func readChunks(t *testing.T, b []byte) []rawChunk {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("no PNG signature")
	}
	var out []rawChunk
	for p := b[8:]; len(p) > 0; {
		n := int(binary.BigEndian.Uint32(p))
		c := rawChunk{typ: string(p[4:8]), data: p[8 : 8+n], crc: binary.BigEndian.Uint32(p[8+n:])}
		h := crc32.NewIEEE()
		h.Write(p[4:8])
		h.Write(c.data)
		c.want = h.Sum32()
		out = append(out, c)
		p = p[12+n:]
	}
	return out
}

// chunk builds a PNG chunk with a correct CRC.
func mkChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// insertAfterIHDR puts extra chunks right after IHDR (8 + 25 bytes in).
func insertAfterIHDR(img []byte, chunks ...[]byte) []byte {
	out := bytes.Clone(img[:33])
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, img[33:]...)
}

func TestBakePNGRoundTrip(t *testing.T) {
	plain := fixture(t, "badge.png")
	orig, err := png.Decode(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	for name, cred := range map[string]string{"json": testJSON, "jws": testJWS, "vector": string(readFile(t, vectorPath))} {
		baked, err := BakePNG(plain, []byte(cred))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Still a PNG with the same pixels.
		img, err := png.Decode(bytes.NewReader(baked))
		if err != nil {
			t.Fatalf("%s: baked PNG does not decode: %v", name, err)
		}
		for y := range 96 {
			for x := range 96 {
				if img.At(x, y) != orig.At(x, y) {
					t.Fatalf("%s: pixel %d,%d changed", name, x, y)
				}
			}
		}
		chunks := readChunks(t, baked)
		itxt, firstIDAT := -1, -1
		for i, c := range chunks {
			if c.crc != c.want {
				t.Fatalf("%s: %s chunk CRC %08x, computed %08x", name, c.typ, c.crc, c.want)
			}
			if c.typ == "iTXt" {
				if itxt >= 0 {
					t.Fatalf("%s: two iTXt chunks", name)
				}
				itxt = i
			}
			if c.typ == "IDAT" && firstIDAT < 0 {
				firstIDAT = i
			}
		}
		if chunks[0].typ != "IHDR" || itxt != 1 || firstIDAT < itxt || chunks[len(chunks)-1].typ != "IEND" {
			t.Fatalf("%s: chunk order wrong: iTXt at %d, first IDAT at %d", name, itxt, firstIDAT)
		}
		wantData := append([]byte("openbadgecredential\x00\x00\x00\x00\x00"), strings.TrimSpace(cred)...)
		if !bytes.Equal(chunks[itxt].data, wantData) {
			t.Fatalf("%s: iTXt data %q...", name, chunks[itxt].data[:40])
		}
		got, err := UnbakePNG(baked)
		if err != nil || string(got) != strings.TrimSpace(cred) {
			t.Fatalf("%s: UnbakePNG = %.40q, %v", name, got, err)
		}
		e, err := Extract(baked)
		if err != nil || e.Format != FormatPNG || e.Legacy || e.Compressed {
			t.Fatalf("%s: Extract = %+v, %v", name, e, err)
		}
	}
}

func TestBakePNGReplaces(t *testing.T) {
	plain := fixture(t, "badge.png")
	first, err := BakePNG(plain, []byte(testJSON))
	if err != nil {
		t.Fatal(err)
	}
	// Also plant an OB 2.0 chunk and a stray tEXt under the OB 3.0 keyword: all must go.
	dirty := insertAfterIHDR(first,
		mkChunk("tEXt", []byte("openbadges\x00https://example.org/assertions/1")),
		mkChunk("tEXt", []byte("openbadgecredential\x00{}")),
		mkChunk("tEXt", []byte("Software\x00Credence test")))
	second, err := BakePNG(dirty, []byte(testJWS))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range readChunks(t, second) {
		if c.typ == "tEXt" || c.typ == "iTXt" || c.typ == "zTXt" {
			texts = append(texts, c.typ+":"+string(c.data[:bytes.IndexByte(c.data, 0)]))
		}
	}
	if strings.Join(texts, ",") != "iTXt:openbadgecredential,tEXt:Software" {
		t.Fatalf("text chunks after re-baking: %v", texts)
	}
	got, err := UnbakePNG(second)
	if err != nil || string(got) != testJWS {
		t.Fatalf("UnbakePNG = %q, %v", got, err)
	}
	again, _ := BakePNG(second, []byte(testJWS))
	if !bytes.Equal(again, second) {
		t.Fatal("re-baking the same credential changed the file")
	}
}

func TestUnbakePNGVariants(t *testing.T) {
	plain := fixture(t, "badge.png")
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(testJSON))
	zw.Close()
	compressed := insertAfterIHDR(plain, mkChunk("iTXt", append([]byte("openbadgecredential\x00\x01\x00en\x00Credential\x00"), z.Bytes()...)))
	e, err := Extract(compressed)
	if err != nil || string(e.Credential) != testJSON || !e.Compressed || e.Legacy {
		t.Fatalf("compressed iTXt: %+v %v", e, err)
	}

	legacyURL := insertAfterIHDR(plain, mkChunk("tEXt", []byte("openbadges\x00https://example.org/assertions/\xe91")))
	e, err = Extract(legacyURL)
	if err != nil || string(e.Credential) != "https://example.org/assertions/é1" || !e.Legacy {
		t.Fatalf("OB 2.0 tEXt (Latin-1): %+v %v", e, err)
	}
	legacyITXt := insertAfterIHDR(plain, mkChunk("iTXt", []byte("openbadges\x00\x00\x00\x00\x00"+testJWS)))
	e, err = Extract(legacyITXt)
	if err != nil || string(e.Credential) != testJWS || !e.Legacy {
		t.Fatalf("OB 2.0 iTXt: %+v %v", e, err)
	}
	both := insertAfterIHDR(legacyITXt, mkChunk("iTXt", []byte("openbadgecredential\x00\x00\x00\x00\x00"+testJSON)))
	e, err = Extract(both)
	if err != nil || string(e.Credential) != testJSON || e.Legacy {
		t.Fatalf("OB 3.0 next to OB 2.0: %+v %v", e, err)
	}
	// Only iTXt carries an OB 3.0 credential; a zTXt of that name is not one.
	ztxt := insertAfterIHDR(plain, mkChunk("zTXt", []byte("openbadgecredential\x00\x00junk")))
	if _, err := UnbakePNG(ztxt); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("zTXt only: %v", err)
	}
	if _, err := UnbakePNG(plain); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("plain badge: %v", err)
	}
}

func TestUnbakePNGHostile(t *testing.T) {
	plain := fixture(t, "badge.png")
	baked, _ := BakePNG(plain, []byte(testJSON))
	itxt := func(rest string) []byte { return mkChunk("iTXt", []byte("openbadgecredential\x00"+rest)) }

	// 64 MiB of zeros: about 80 KB of zlib.
	var bomb bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&bomb, flate.BestSpeed)
	zeros := make([]byte, 1<<20)
	for range 64 {
		zw.Write(zeros)
	}
	zw.Close()

	hugeLen := bytes.Clone(baked)
	binary.BigEndian.PutUint32(hugeLen[33:], 0xfffffff0) // the iTXt's length field
	badCRC := bytes.Clone(baked)
	badCRC[len(badCRC)-20] ^= 1 // inside the last IDAT
	badType := bytes.Clone(baked)
	copy(badType[37:41], "iT1t")
	noIDAT := append(bytes.Clone(plain[:33]), mkChunk("IEND", nil)...)

	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"two credentials": {insertAfterIHDR(baked, itxt("\x00\x00\x00\x00"+testJWS)), ErrDuplicate},
		"two legacy": {insertAfterIHDR(plain, mkChunk("tEXt", []byte("openbadges\x00a")),
			mkChunk("tEXt", []byte("openbadges\x00b"))), ErrDuplicate},
		"zlib bomb":           {insertAfterIHDR(plain, itxt("\x01\x00\x00\x00"+bomb.String())), ErrTooLarge},
		"bad zlib":            {insertAfterIHDR(plain, itxt("\x01\x00\x00\x00not zlib")), ErrMalformed},
		"compression flag 2":  {insertAfterIHDR(plain, itxt("\x02\x00\x00\x00x")), ErrMalformed},
		"no language tag NUL": {insertAfterIHDR(plain, itxt("\x00\x00en")), ErrMalformed},
		"not UTF-8":           {insertAfterIHDR(plain, itxt("\x00\x00\x00\x00{\xff}")), ErrMalformed},
		"empty text":          {insertAfterIHDR(plain, itxt("\x00\x00\x00\x00  ")), ErrMalformed},
		"huge chunk length":   {hugeLen, ErrMalformed},
		"bad CRC":             {badCRC, ErrMalformed},
		"bad chunk type":      {badType, ErrMalformed},
		"IHDR not first":      {append(bytes.Clone(plain[:8]), plain[33:]...), ErrMalformed},
		"no IDAT":             {noIDAT, ErrMalformed},
		"no IEND":             {baked[:len(baked)-12], ErrMalformed},
		"too large":           {append(bytes.Clone(plain), make([]byte, MaxImageBytes)...), ErrTooLarge},
		"not a PNG":           {[]byte("GIF89a"), ErrMalformed},
	} {
		if _, err := UnbakePNG(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	// Every truncation fails cleanly.
	for n := range len(baked) {
		if _, err := UnbakePNG(baked[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", n)
		}
		if _, err := BakePNG(baked[:n], []byte(testJSON)); err == nil {
			t.Fatalf("BakePNG of %d-byte truncation: accepted", n)
		}
	}
	// Trailing bytes after IEND are not part of the image.
	if got, err := UnbakePNG(append(bytes.Clone(baked), "junk"...)); err != nil || string(got) != testJSON {
		t.Fatalf("trailing junk: %v", err)
	}
}

func TestBakeRefusesPayloads(t *testing.T) {
	plain := fixture(t, "badge.png")
	svg := fixture(t, "badge.svg")
	for name, p := range map[string]string{
		"empty":          "  ",
		"text":           "hello",
		"broken json":    `{"a":`,
		"json array":     `[{"a":1}]`,
		"two parts":      "eyJhbGciOiJub25lIn0.e30",
		"bad header":     "bm90IGpzb24.e30.c2ln",
		"empty sig":      "eyJhbGciOiJub25lIn0.e30.",
		"not base64url":  "eyJhbGciOiJub25lIn0.e3+0.c2ln",
		"invalid utf8":   "{\"a\":\"\xff\"}",
		"attribute hack": `eyJhbGciOiJub25lIn0.e30.a"onload="x`,
	} {
		if _, err := BakePNG(plain, []byte(p)); !errors.Is(err, ErrPayload) {
			t.Errorf("PNG %s: %v", name, err)
		}
		if _, err := BakeSVG(svg, []byte(p)); !errors.Is(err, ErrPayload) {
			t.Errorf("SVG %s: %v", name, err)
		}
	}
	big := `{"x":"` + strings.Repeat("a", MaxCredentialBytes) + `"}`
	if _, err := BakePNG(plain, []byte(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized credential: %v", err)
	}
}

func TestUnbakeSniffs(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("GIF89a..."), []byte(`{"a":1}`)} {
		if _, _, err := Unbake(in); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Unbake(%q): %v", in, err)
		}
	}
	if _, _, err := Unbake([]byte(`<html><body/></html>`)); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("HTML: %v", err)
	}
}

func FuzzUnbakePNG(f *testing.F) {
	for _, name := range []string{"badge.png", "badge-ob3-vector.png"} {
		f.Add(fixture(f, name))
	}
	plain := fixture(f, "badge.png")
	f.Add(insertAfterIHDR(plain, mkChunk("iTXt", []byte("openbadgecredential\x00\x01\x00\x00\x00x\x9c\x03\x00\x00\x00\x00\x01"))))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, err := UnbakePNG(b); err == nil && (len(got) == 0 || len(got) > MaxCredentialBytes) {
			t.Fatalf("accepted a credential of %d bytes", len(got))
		}
		baked, err := BakePNG(b, []byte(testJWS))
		if err != nil {
			return
		}
		got, err := UnbakePNG(baked)
		if err != nil || string(got) != testJWS {
			t.Fatalf("BakePNG output does not unbake: %v", err)
		}
	})
}
