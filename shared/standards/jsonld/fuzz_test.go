package jsonld

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piprate/json-gold/ld"
)

// FuzzCanonicalize checks, for any JSON document: no panic; Canonicalize and
// CanonicalizeReference both succeed with the same output or both fail; a success equals what
// json-gold alone writes; and a failure that is not one of our own refusals (safe mode,
// limits, complexity) is one json-gold reports too.
func FuzzCanonicalize(f *testing.F) {
	for _, root := range []string{vectors, "testdata"} {
		_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && strings.HasSuffix(p, ".json") {
				if raw, err := os.ReadFile(p); err == nil {
					f.Add(raw)
				}
			}
			return err
		})
	}
	for _, s := range []string{
		`{"@context": {"@vocab": "http://example.org/"}, "@id": "http://example.org/s", "p": [{"q": "x"}, {"q": "x"}]}`,
		`{"@context": {"@vocab": "http://example.org/"}, "@graph": [{"@id": "_:a", "n": {"@id": "_:b"}}, {"@id": "_:b", "n": {"@id": "_:a"}}]}`,
		`{"@context": {"@vocab": "http://example.org/", "l": {"@container": "@list"}}, "@id": "http://example.org/s", "l": [1, [2, 3], []]}`,
		`{"@context": {"p": {"@id": "http://example.org/p", "@type": "@id"}}, "@id": "http://example.org/s", "p": ["http://example.org/o", 5]}`,
		`{"@context": {"@vocab": "http://example.org/", "@language": "en"}, "@id": "http://example.org/s", "p": "x", "q": {"@value": "y", "@language": null}}`,
		`[{"@context": {"@vocab": "http://example.org/"}, "@id": "http://example.org/a", "p": 1.5}, {"@id": "http://example.org/b"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc any
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		panics := fastPanics.Load()
		fast, ferr := Canonicalize(doc)
		ref, rerr := CanonicalizeReference(doc)
		if fastPanics.Load() != panics {
			t.Fatal("the fast path panicked")
		}
		if (ferr == nil) != (rerr == nil) {
			t.Fatalf("fast error %v, reference error %v", ferr, rerr)
		}
		if ferr == nil {
			if fast != ref {
				t.Fatalf("fast and reference differ\nfast:\n%s\nreference:\n%s", fast, ref)
			}
			gold, gerr := normalizeGold(doc)
			if gerr != nil || gold != fast {
				t.Fatalf("json-gold alone: %v\nfast:\n%s\ngold:\n%s", gerr, fast, gold)
			}
			return
		}
		if errors.Is(ferr, ErrSafeMode) || errors.Is(ferr, ErrLimit) || errors.Is(ferr, ErrTooComplex) {
			return
		}
		if _, gerr := normalizeGold(doc); gerr == nil {
			t.Fatalf("the fast path refuses (%v) what json-gold accepts", ferr)
		}
	})
}

// iriSamples are IRIs of the shapes credentials use, plus near misses.
var iriSamples = []string{
	"https://example.edu/issuers/565049", "http://example.com/credentials/3527", "https://www.w3.org/2018/credentials#issuer",
	"did:example:ebfeb1f712ebc6f1c276e12ec21", "did:web:credentials.example.edu:issuers:7c1e0b6a#key-1",
	"urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#Achievement",
	"https://a.b.c.example.co.uk:8443/x?y=z#f", "https://example.com", "https://example.com/", "https://localhost/x",
	"https://127.0.0.1/x", "https://[::1]/x", "https://exa_mple.com/", "https://-bad.com/", "https://bad-.com/",
	"https://a.com/%41", "https://a.com/%zz", "https://a.com:99999/", "https://a.com:123456/", "https://a..com/",
	"https://.a.com/", "https://a.com./", "https://a.1com/", "https://a.b1/", "https://x.y.z/", "https://ab.c.de/",
	"https://a.bb.cc/", "https://a-b.c-d.ef/", "https://xn--bcher-kva.example/", "https://bücher.example/", "mailto:a@b.c",
	"HTTP://EXAMPLE.COM/", "http:/x", "http:x", "https://a.com/a b", "https://a.com/a|b", "https://a.com/<x>",
	"urn:x:a\"b", "_:b0", "_:b 0", "tag:example.com,2024:x", "a,b:c", "1a:b", ":x", "x", "", "https://", "https://u@a.com/",
	"https://a.com/\u00e9", "xsd:dateTime", "ceterms:Skill", "https://example.edu/a/../b", "https://a.com/a\tb",
	"http://127.0.0.1:8080/c/9f0e#list", "http://10.0.0.1/x", "http://0.1.2.3/", "http://224.0.0.1/", "http://223.255.255.254/",
	"http://1.2.3.255/", "http://01.2.3.4/", "http://1.2.3.4.5/", "http://256.1.1.1/", "http://1.2.3/", "http://1.2.3.4a/",
	"http://1..3.4/", "http://1.2.3.4:/", "http://1.2.3.4:65536/",
}

func TestFastIRIChecksAreSound(t *testing.T) {
	accepted := 0
	for _, s := range iriSamples {
		if checkFastIRI(t, s) {
			accepted++
		}
	}
	if accepted < 15 {
		t.Fatalf("the fast checks accept only %d samples; they no longer cover the common shapes", accepted)
	}
}

// Local mode's IRIs (`credence serve` at http://127.0.0.1:8080) take the fast path: through
// ld.IsURL's regular expression they cost tens of microseconds each, several per credential.
func TestFastIsURLCoversLocalAddresses(t *testing.T) {
	for _, s := range []string{"http://127.0.0.1:8080/c/9f0e", "http://192.168.1.20/issuers/x#key-1", "https://10.0.0.7:8443/"} {
		if !fastIsURL(s) {
			t.Errorf("fastIsURL(%q) = false", s)
		}
	}
}

// checkFastIRI fails when a fast check claims more than the exact check it stands for.
func checkFastIRI(t *testing.T, s string) bool {
	t.Helper()
	if fastAbsolute(s) && !ld.IsAbsoluteIri(s) {
		t.Errorf("fastAbsolute(%q) but not ld.IsAbsoluteIri", s)
	}
	if fastIsURL(s) && !ld.IsURL(s) {
		t.Errorf("fastIsURL(%q) but not ld.IsURL", s)
	}
	if !fastIRIOK(s) {
		return false
	}
	slow := jsAbsolute(s) && ld.IsAbsoluteIri(s) && !strings.ContainsAny(s, "<>\"{}|^`\\ \t\n\r") &&
		(!strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") || ld.IsURL(s))
	if !slow {
		t.Errorf("fastIRIOK(%q) but the exact checks refuse it", s)
	}
	return true
}

func FuzzFastIRIChecks(f *testing.F) {
	for _, s := range iriSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkFastIRI(t, s) })
}

func TestBCP47(t *testing.T) {
	for s, want := range map[string]bool{"en": true, "en-GB": true, "zh-Hant-TW": true, "de-1996": true, "x-private": true,
		"": false, "en_GB": false, "english please": false, "abcdefghi": false, "en-": false, "-en": false, "en--GB": false,
		"1en": false, "en-abcdefghi": false, "é": false} {
		if validBCP47(s) != want {
			t.Errorf("validBCP47(%q) = %v", s, !want)
		}
	}
}
