package statuslist

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Official vectors. encodedList values are quoted verbatim from their sources.
const (
	// w3c/vc-bitstring-status-list index.html @ 0073c2caae079ad95235b5a16c4feffc543f58ce,
	// "Example BitstringStatusListCredential": an all-zero list of 131,072 entries.
	specExampleList = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
	// w3c/vc-bitstring-status-list-test-suite fixtures/status-credentials/single-purpose-ok.jsonld
	// @ 25c06363087e37b798ff7cdf72df39634d4f9f2a (also multi-purpose-ok.jsonld). The suite's
	// should-be-revoked.jsonld / should-be-suspended.jsonld expect index 201 to be set. No
	// multibase prefix: the suite checks that verifiers accept that too.
	suiteList = "H4sIACbOo2YC_-3QMREAMAgEsGerLPyrQgFjB-4SCUkWHQAAAAAAAOCwpwAAAADgrFIAAAAAAAAAAAAAAAAA3wxvOeOvqGEAAA"
	// Same suite, fixtures/status-credentials/short-encoded-list-fail.jsonld: 200 entries.
	suiteShortList = "H4sIAN7Lo2YC_2NgwAEAjw7P6RkAAAA"
	// hyperledger/identus-cloud-agent docs/docusaurus/credentials/revocation.md, a
	// StatusList2021Credential (legacy form, no multibase prefix) with one revoked entry.
	identusLegacyList = "H4sIAAAAAAAA_-3BMQ0AAAACIGf_0MbwARoAAAAAAAAAAAAAAAAAAADgbbmHB0sAQAAA"
)

func setBits(t testing.TB, l *List) []int {
	t.Helper()
	var out []int
	for i := range l.Len() {
		if v, _ := l.Get(i); v {
			out = append(out, i)
		}
	}
	return out
}

func TestDecodeSpecExample(t *testing.T) {
	l, err := Decode(specExampleList)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 131072 {
		t.Fatalf("len %d, want 131072", l.Len())
	}
	if got := setBits(t, l); len(got) != 0 {
		t.Fatalf("set bits %v, want none", got)
	}
	// Our own encoding of the same list must decode to the same bitstring (gzip output itself
	// differs between implementations, so the strings are not compared).
	mine, err := New(131072)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := mine.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.bits, l.bits) {
		t.Fatal("own encoding of the zero list decodes differently from the spec's")
	}
}

func TestDecodeSuiteVectorBitOrder(t *testing.T) {
	l, err := Decode(suiteList)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 200000 {
		t.Fatalf("len %d, want 200000", l.Len())
	}
	got := setBits(t, l)
	want := []int{201, 57444, 94023}
	if len(got) != len(want) {
		t.Fatalf("set bits %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("set bits %v, want %v", got, want)
		}
	}
	// Index 201 is bit 1 counted from the MSB of byte 25: 0b0100_0000.
	if l.bits[25] != 0x40 {
		t.Fatalf("byte 25 = %#x, want 0x40 (index 0 is the most significant bit)", l.bits[25])
	}
}

func TestDecodeLegacyIdentusVector(t *testing.T) {
	l, err := Decode(identusLegacyList)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 131072 {
		t.Fatalf("len %d", l.Len())
	}
	got := setBits(t, l)
	if len(got) != 1 || got[0] != 6 || l.bits[0] != 0x02 {
		t.Fatalf("set bits %v, byte0 %#x; want [6], 0x02", got, l.bits[0])
	}
}

func TestBitOrderOwnEncoding(t *testing.T) {
	l, _ := New(MinSize)
	for _, i := range []int{0, 9, MinSize - 1} {
		if err := l.Set(i, true); err != nil {
			t.Fatal(err)
		}
	}
	if l.bits[0] != 0x80 || l.bits[1] != 0x40 || l.bits[len(l.bits)-1] != 0x01 {
		t.Fatalf("bytes %#x %#x ... %#x; want 0x80 0x40 ... 0x01", l.bits[0], l.bits[1], l.bits[len(l.bits)-1])
	}
	enc, _ := l.Encode()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(enc, "u"))
	if err != nil || enc[0] != 'u' {
		t.Fatalf("not multibase base64url: %q %v", enc[:8], err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if _, err := plain.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	if plain.Len() != MinSize/8 || plain.Bytes()[0] != 0x80 || plain.Bytes()[1] != 0x40 {
		t.Fatalf("gzip payload not the raw MSB-first bitstring")
	}
	if err := l.Set(0, false); err != nil {
		t.Fatal(err)
	}
	if v, _ := l.Get(0); v || l.bits[0] != 0 {
		t.Fatal("clearing bit 0 failed")
	}
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{MinSize, 2 * MinSize, 1 << 20, MinSize + 8} {
		l, err := New(size)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]bool{0: true, size - 1: true}
		for range 500 {
			want[r.IntN(size)] = true
		}
		for i := range want {
			if err := l.Set(i, true); err != nil {
				t.Fatal(err)
			}
		}
		enc, err := l.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(enc, "=+/") || enc[0] != 'u' {
			t.Fatalf("size %d: encoding %q is not unpadded multibase base64url", size, enc[:10])
		}
		back, err := Decode(enc)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if back.Len() != size || back.Count() != len(want) {
			t.Fatalf("size %d: got len %d count %d, want count %d", size, back.Len(), back.Count(), len(want))
		}
		for i := range want {
			if v, _ := back.Get(i); !v {
				t.Fatalf("size %d: bit %d lost", size, i)
			}
		}
	}
}

func TestDecodeLenient(t *testing.T) {
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(specExampleList, "u"))
	for name, s := range map[string]string{
		"multibase":         specExampleList,
		"no prefix":         specExampleList[1:],
		"padded":            base64.URLEncoding.EncodeToString(raw),
		"std alphabet":      base64.StdEncoding.EncodeToString(raw),
		"surrounding space": "\n " + specExampleList + " \n",
	} {
		l, err := Decode(s)
		if err != nil || l.Len() != MinSize {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	valid, _ := base64.RawURLEncoding.DecodeString(specExampleList[1:])
	badCRC := bytes.Clone(valid)
	badCRC[len(badCRC)-6] ^= 0xff
	enc := func(b []byte) string { return "u" + base64.RawURLEncoding.EncodeToString(b) }
	for name, tc := range map[string]struct {
		in   string
		want error
	}{
		"empty":            {"", ErrMalformed},
		"prefix only":      {"u", ErrMalformed},
		"base58 multibase": {"z3v8", ErrMalformed},
		"bad base64":       {"uH4sI$$$", ErrMalformed},
		"not gzip":         {enc([]byte("H4sI this is not gzip at all")), ErrMalformed},
		"truncated gzip":   {enc(valid[:len(valid)-10]), ErrMalformed},
		"bad crc":          {enc(badCRC), ErrMalformed},
		"trailing junk":    {enc(append(bytes.Clone(valid), 0x1f, 0x8b, 1)), ErrMalformed},
		"too small":        {suiteShortList, ErrTooSmall},
		"too long string":  {"u" + strings.Repeat("A", maxEncodedLen), ErrTooLarge},
	} {
		_, err := Decode(tc.in)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

var bomb = sync.OnceValue(func() string {
	// 1 GiB of zeros as 16 concatenated gzip members of 64 MiB each (gzip readers follow
	// multi-member streams): about 1.3 MB compressed, made in a fraction of a second.
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, flate.BestSpeed)
	zeros := make([]byte, 1<<20)
	for range 64 {
		zw.Write(zeros)
	}
	zw.Close()
	return "u" + base64.RawURLEncoding.EncodeToString(bytes.Repeat(member.Bytes(), 16))
})

func TestDecodeBombRefused(t *testing.T) {
	s := bomb()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Decode(s)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	// Inflating stops at MaxBytes+1; a buffer growing by doubling to there allocates well under
	// 4x MaxBytes in total (plus the decoded base64). The full 1 GiB would be far beyond.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*MaxBytes+uint64(len(s)) {
		t.Fatalf("decoding the bomb allocated %d MiB", alloc>>20)
	}
}

func TestSizes(t *testing.T) {
	for _, size := range []int{0, -8, MinSize - 8, MinSize + 1, MaxSize + 8} {
		if _, err := New(size); err == nil {
			t.Errorf("New(%d) accepted", size)
		}
	}
	if _, err := New(MinSize - 8); !errors.Is(err, ErrTooSmall) {
		t.Errorf("New(MinSize-8): %v", err)
	}
	l, _ := New(MinSize)
	for _, i := range []int{-1, MinSize} {
		if _, err := l.Get(i); !errors.Is(err, ErrRange) {
			t.Errorf("Get(%d): %v", i, err)
		}
		if err := l.Set(i, true); !errors.Is(err, ErrRange) {
			t.Errorf("Set(%d): %v", i, err)
		}
	}
	b := make([]byte, MinSize/8)
	b[3] = 0x10
	fl, err := FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	b[3] = 0 // FromBytes copies
	if v, _ := fl.Get(27); !v {
		t.Fatal("FromBytes lost bit 27 or aliased its input")
	}
	if _, err := FromBytes(make([]byte, 10)); !errors.Is(err, ErrTooSmall) {
		t.Fatalf("FromBytes(10 bytes): %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{specExampleList, suiteList, suiteShortList, identusLegacyList, "", "u", "uH4sI"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Decode(s)
		if err != nil {
			return
		}
		if l.Len() < MinSize || l.Len() > MaxSize || l.Len()%8 != 0 {
			t.Fatalf("accepted a list of %d entries", l.Len())
		}
		enc, err := l.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(enc)
		if err != nil || !bytes.Equal(back.bits, l.bits) {
			t.Fatalf("re-encoding does not round-trip: %v", err)
		}
	})
}

func sampleList() *List {
	l, _ := New(MinSize)
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		l.Set(r.IntN(MinSize), true)
	}
	return l
}

func BenchmarkEncode131072(b *testing.B) {
	l := sampleList()
	b.SetBytes(MinSize / 8)
	for b.Loop() {
		if _, err := l.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode131072(b *testing.B) {
	enc, _ := sampleList().Encode()
	b.SetBytes(MinSize / 8)
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
