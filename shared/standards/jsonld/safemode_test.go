package jsonld

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piprate/json-gold/ld"
)

// obDoc returns the OB 3.0 test vector credential with edit applied.
func obDoc(t *testing.T, edit func(cred map[string]any)) map[string]any {
	t.Helper()
	cred := readJSON(t, filepath.Join(vectors, "ob3-ldp-test-vector", "credential-unsigned.json"))
	edit(cred)
	return cred
}

func achievement(cred map[string]any) map[string]any {
	return cred["credentialSubject"].(map[string]any)["achievement"].(map[string]any)
}

func raw(t *testing.T, s string) any { return decode(t, []byte(s)) }

const ctxVCOB = `["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]`

func TestSafeModeRefusals(t *testing.T) {
	cases := []struct {
		name, code, path, mentions string
		doc                        func(t *testing.T) any
	}{
		{"undefined term in a protected scoped context", "invalid property", "/credentialSubject/achievement/bogus", `"bogus"`,
			func(t *testing.T) any { return obDoc(t, func(c map[string]any) { achievement(c)["bogus"] = "x" }) }},
		{"undefined top-level term", "invalid property", "/notATerm", `"notATerm"`,
			func(t *testing.T) any { return obDoc(t, func(c map[string]any) { c["notATerm"] = "x" }) }},
		{"relative @id", "relative @id reference", "/credentialSubject/achievement/id", `"achievements/teamwork"`,
			func(t *testing.T) any {
				return obDoc(t, func(c map[string]any) { achievement(c)["id"] = "achievements/teamwork" })
			}},
		{"reserved @id", "reserved @id value", "/id", `"@future"`,
			func(t *testing.T) any { return obDoc(t, func(c map[string]any) { c["id"] = "@future" }) }},
		{"relative type", "relative @type reference", "/type/1", `"NotAType"`,
			func(t *testing.T) any {
				return obDoc(t, func(c map[string]any) { c["type"] = []any{"VerifiableCredential", "NotAType"} })
			}},
		{"relative object reference", "relative type reference", "/issuer", `"issuers/565049"`,
			func(t *testing.T) any { return obDoc(t, func(c map[string]any) { c["issuer"] = "issuers/565049" }) }},
		{"invalid @language", "invalid @language value", "/name/@language", `"english please"`,
			func(t *testing.T) any {
				return obDoc(t, func(c map[string]any) {
					c["name"] = map[string]any{"@value": "Teamwork Badge", "@language": "english please"}
				})
			}},
		{"null @value", "null @value value", "/name", `"@value": null`,
			func(t *testing.T) any {
				return obDoc(t, func(c map[string]any) { c["name"] = map[string]any{"@value": nil} })
			}},
		{"object with only @language", "object with only @language", "/name", `"@language"`,
			func(t *testing.T) any {
				return obDoc(t, func(c map[string]any) { c["name"] = map[string]any{"@language": "en"} })
			}},
		{"free-floating scalar", "free-floating scalar", "/@graph/0", `"just a string"`,
			func(t *testing.T) any { return raw(t, `{"@context": `+ctxVCOB+`, "@graph": ["just a string"]}`) }},
		{"empty document", "empty object", "", "empty object",
			func(t *testing.T) any { return raw(t, `{"@context": `+ctxVCOB+`}`) }},
		{"document with only an id", "object with only @id", "", `"urn:uuid:1"`,
			func(t *testing.T) any { return raw(t, `{"@context": `+ctxVCOB+`, "id": "urn:uuid:1"}`) }},
		{"top-level value", "object with only @value", "", "value object",
			func(t *testing.T) any { return raw(t, `{"@context": `+ctxVCOB+`, "@value": "x"}`) }},
		{"proof that is only a reference", "object with only @id", "/proof", `"urn:uuid:2"`,
			func(t *testing.T) any {
				return obDoc(t, func(c map[string]any) { c["proof"] = map[string]any{"id": "urn:uuid:2"} })
			}},
		{"reserved term in a context", "reserved term", "/@context", `"@future"`,
			func(t *testing.T) any {
				return raw(t, `{"@context": [`+strings.Trim(ctxVCOB, "[]")+`, {"@future": "http://example.org/f"}], "type": "VerifiableCredential"}`)
			}},
		{"relative @vocab", "relative @vocab reference", "/@context", `"relative/"`,
			func(t *testing.T) any {
				return raw(t, `{"@context": {"@vocab": "relative/"}, "@id": "http://example.org/s", "p": "x"}`)
			}},
		{"blank node predicate", "blank node predicate", "/p", `"_:p"`,
			func(t *testing.T) any {
				return raw(t, `{"@context": {"p": "_:p"}, "@id": "http://example.org/s", "p": "x"}`)
			}},
		{"IRI json-gold drops", "invalid IRI", "/issuer/id", `"https://example.edu:123456/issuer"`,
			func(t *testing.T) any {
				return obDoc(t, func(c map[string]any) {
					c["issuer"].(map[string]any)["id"] = "https://example.edu:123456/issuer"
				})
			}},
		{"IRI with a character RDFC-1.0 escapes", "unportable IRI", "/id", `"|"`,
			func(t *testing.T) any {
				return obDoc(t, func(c map[string]any) { c["id"] = "https://example.com/credentials/a|b" })
			}},
		{"control character in a literal", "unportable literal", "/name", `"\a"`,
			func(t *testing.T) any { return obDoc(t, func(c map[string]any) { c["name"] = "Teamwork\aBadge" }) }},
		{"integer beyond 64 bits", "unportable number", "/credentialSubject/creditsEarned", "100000000000000000000",
			func(t *testing.T) any {
				return obDoc(t, func(c map[string]any) {
					c["credentialSubject"].(map[string]any)["creditsEarned"] = 1e20
				})
			}},
		{"rdf:langString without language", "unportable datatype", "/name", "rdf:langString",
			func(t *testing.T) any {
				return obDoc(t, func(c map[string]any) {
					c["name"] = map[string]any{"@value": "x", "@type": rdfLangString}
				})
			}},
		{"two keys for @type", "colliding keywords", "/type", "@type",
			func(t *testing.T) any { return obDoc(t, func(c map[string]any) { c["@type"] = "OpenBadgeCredential" }) }},
		{"protected term set to null", "protected term redefinition", "/@context", `"name"`,
			func(t *testing.T) any {
				return raw(t, `{"@context": [`+strings.Trim(ctxVCOB, "[]")+`, {"name": null}], "id": "urn:uuid:3", "type": "VerifiableCredential", "name": "x"}`)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for path, f := range map[string]func(any) (string, error){
				"Canonicalize":          Canonicalize,
				"CanonicalizeReference": CanonicalizeReference,
				"Expand": func(d any) (string, error) {
					_, err := Expand(d)
					return "", err
				},
			} {
				out, err := f(c.doc(t))
				if err == nil {
					t.Fatalf("%s accepted the document:\n%s", path, out)
				}
				if !errors.Is(err, ErrSafeMode) {
					t.Fatalf("%s: want ErrSafeMode, got %v", path, err)
				}
				var se *SafeModeError
				if !errors.As(err, &se) {
					t.Fatalf("%s: want a *SafeModeError, got %T %v", path, err, err)
				}
				if se.Code != c.code || se.Path != c.path {
					t.Fatalf("%s: got code %q at %q, want %q at %q (%v)", path, se.Code, se.Path, c.code, c.path, err)
				}
				if !strings.Contains(err.Error(), c.mentions) {
					t.Fatalf("%s: message %q does not name %s", path, err, c.mentions)
				}
			}
		})
	}
}

// The refusals above are real: json-gold alone accepts these documents and signs less (or
// something else) than they say.
func TestJSONGoldAloneDropsWhatSafeModeRefuses(t *testing.T) {
	doc := obDoc(t, func(c map[string]any) { achievement(c)["bogus"] = "x" })
	out, err := normalizeGold(doc)
	if err != nil {
		t.Fatalf("json-gold refused the document itself (%v); the pre-check would be redundant", err)
	}
	if strings.Contains(out, "bogus") || strings.Contains(out, `"x"`) {
		t.Fatalf("json-gold kept the undefined term:\n%s", out)
	}
	doc = obDoc(t, func(c map[string]any) { c["issuer"].(map[string]any)["id"] = "https://example.edu:123456/issuer" })
	out, err = normalizeGold(doc)
	if err != nil || strings.Contains(out, "123456") {
		t.Fatalf("expected json-gold to drop the statements about an IRI it rejects (%v):\n%s", err, out)
	}
}

func TestSafeModeAcceptsOfficialExamples(t *testing.T) {
	n := 0
	for _, c := range corpus(t) {
		if !c.credential {
			continue
		}
		if _, err := Expand(c.doc); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if _, err := CanonicalizeReference(c.doc); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		n++
	}
	if n < 15 {
		t.Fatalf("only %d examples checked", n)
	}
}

// Safe mode still applies where the fast path cannot go: the reference pre-check combines
// what the fast expander understands with a check of json-gold's expanded output.
func TestSafeModeInsideUnsupportedFeatures(t *testing.T) {
	docs := map[string]string{
		"relative @id inside @reverse": `{"@context": {"@vocab": "http://example.org/"}, "@id": "http://example.org/s",
			"@reverse": {"knows": {"@id": "relative"}}}`,
		"bad language inside @nest": `{"@context": {"@vocab": "http://example.org/"}, "@id": "http://example.org/s",
			"@nest": {"p": {"@value": "x", "@language": "not a tag"}}}`,
		"relative reference inside @list": `{"@context": {"@vocab": "http://example.org/"}, "@id": "http://example.org/s",
			"p": {"@list": [{"@id": "relative"}]}}`,
	}
	for name, s := range docs {
		doc := raw(t, s)
		for path, f := range map[string]func(any) (string, error){"fast": Canonicalize, "reference": CanonicalizeReference} {
			if _, err := f(doc); !errors.Is(err, ErrSafeMode) {
				t.Errorf("%s: %s: want a safe-mode error, got %v", name, path, err)
			}
		}
	}
	// and a clean document using such a feature is accepted
	ok := raw(t, `{"@context": {"@vocab": "http://example.org/"}, "@id": "http://example.org/s",
		"@reverse": {"knows": {"@id": "http://example.org/o", "name": "o"}}}`)
	out, err := Canonicalize(ok)
	if err != nil || !strings.Contains(out, "<http://example.org/o> <http://example.org/knows> <http://example.org/s>") {
		t.Fatalf("clean @reverse document: %v\n%s", err, out)
	}
}

func TestExpandReturnsJSONGoldShape(t *testing.T) {
	doc := readJSON(t, "testdata/rich-credential.json")
	got, err := Expand(doc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ld.NewJsonLdProcessor().Expand(clone(doc), goldOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !ld.DeepCompare(any(got), any(want), true) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("got %s\nwant %s", g, w)
	}
}
