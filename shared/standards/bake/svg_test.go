package bake

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// The two baked-SVG examples of OB 3.0 §"Baked Badge" (1EdTech/openbadges-specification
// ob_v3p0/docformat.md @ 03295be51974e3d3310b3557cd7b6f51ade004cb), HTML entities unescaped.
const (
	specSVGJWS = `<?xml version="1.0" encoding="UTF-8"?>
  <svg xmlns="http://www.w3.org/2000/svg"
    xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"
    viewBox="0 0 512 512">
    <openbadges:credential verify="header.payload.signature"></openbadges:credential>

    <!-- rest-of-image -->
  </svg>`
	specSVGJSON = `<?xml version="1.0" encoding="UTF-8"?>
  <svg xmlns="http://www.w3.org/2000/svg"
    xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"
    viewBox="0 0 512 512">
    <openbadges:credential>
      <![CDATA[
        {
          "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://purl.imsglobal.org/spec/ob/v3p0/context"
          ],
          "id": "http://example.edu/credentials/3732",
          "type": ["VerifiableCredential", "OpenBadgeCredential"],
          "issuer": {
            "id": "https://example.edu/issuers/565049",
            "type": "IssuerProfile",
            "name": "Example University"
          },
          "issuanceDate": "2010-01-01T00:00:00Z",
          "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21"
          },
          "proof": { }
        }
      ]]>
    </openbadges:credential>

    <!-- rest-of-image -->
  </svg>`
)

func TestUnbakeSpecExamples(t *testing.T) {
	got, err := UnbakeSVG([]byte(specSVGJWS))
	if err != nil || string(got) != "header.payload.signature" {
		t.Fatalf("JWS example: %q %v", got, err)
	}
	got, err = UnbakeSVG([]byte(specSVGJSON))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(got, &v); err != nil || v["id"] != "http://example.edu/credentials/3732" {
		t.Fatalf("JSON example: %v %v", v, err)
	}
	// Re-baking the spec's JSON example replaces its element and reuses its prefix declaration.
	out, err := BakeSVG([]byte(specSVGJSON), []byte(testJWS))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(out, []byte("credential")) != 2 || bytes.Count(out, []byte("xmlns:openbadges")) != 1 {
		t.Fatalf("re-baked spec example:\n%s", out)
	}
	if got, _ := UnbakeSVG(out); string(got) != testJWS {
		t.Fatalf("re-baked spec example unbakes to %q", got)
	}
}

// parseSVG reads a document fully with encoding/xml and returns the root start element and its
// first child element.
func parseSVG(t *testing.T, b []byte) (root, first xml.StartElement) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				root = e.Copy()
			} else if depth == 2 && first.Name.Local == "" {
				first = e.Copy()
			}
		case xml.EndElement:
			depth--
		}
	}
	return root, first
}

func TestBakeSVGRoundTrip(t *testing.T) {
	plain := fixture(t, "badge.svg")
	for name, cred := range map[string]string{"json": testJSON, "jws": testJWS, "vector": string(readFile(t, vectorPath))} {
		baked, err := BakeSVG(plain, []byte(cred))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		root, first := parseSVG(t, baked)
		if root.Name.Local != "svg" || first.Name.Space != NamespaceOB3 || first.Name.Local != "credential" {
			t.Fatalf("%s: root %v, first child %v", name, root.Name, first.Name)
		}
		decl := false
		for _, a := range root.Attr {
			decl = decl || (a.Name.Space == "xmlns" && a.Name.Local == "openbadges" && a.Value == NamespaceOB3)
		}
		if !decl {
			t.Fatalf("%s: root lacks xmlns:openbadges", name)
		}
		verify := ""
		for _, a := range first.Attr {
			if a.Name.Local == "verify" {
				verify = a.Value
			}
		}
		if (name == "jws") != (verify == testJWS) {
			t.Fatalf("%s: verify attribute %q", name, verify)
		}
		if name != "jws" && !bytes.Contains(baked, []byte("<openbadges:credential><![CDATA[{")) {
			t.Fatalf("%s: JSON not in a CDATA section", name)
		}
		got, format, err := Unbake(baked)
		if err != nil || format != FormatSVG || string(got) != strings.TrimSpace(cred) {
			t.Fatalf("%s: Unbake = %.40q %q %v", name, got, format, err)
		}
		// The rest of the image is untouched.
		rest := baked[bytes.Index(baked, []byte("</openbadges:credential>"))+len("</openbadges:credential>"):]
		if !bytes.Equal(rest, plain[bytes.Index(plain, []byte("viewBox=\"0 0 96 96\">"))+len("viewBox=\"0 0 96 96\">"):]) {
			t.Fatalf("%s: image content after the credential changed", name)
		}
		// Baking again replaces instead of adding, and is stable.
		again, err := BakeSVG(baked, []byte(testJWS))
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(again, []byte("<openbadges:credential")); n != 1 {
			t.Fatalf("%s: %d credential elements after re-baking", name, n)
		}
		twice, _ := BakeSVG(again, []byte(testJWS))
		if !bytes.Equal(twice, again) {
			t.Fatalf("%s: re-baking the same credential changed the file", name)
		}
	}
}

func TestBakeSVGTrickyJSON(t *testing.T) {
	svg := fixture(t, "badge.svg")
	for name, tc := range map[string]struct{ in, want string }{
		"cdata end in string": {`{"note":"a]]>b]]>"}`, `{"note":"a]]>b]]>"}`},
		"crlf whitespace":     {"{\r\n  \"a\": 1\r\n}", "{\n  \"a\": 1\n}"},
		"noncharacters":       {"{\"a\":\"x\uFFFEy\uFFFF\"}", `{"a":"x\ufffey\uffff"}`},
	} {
		baked, err := BakeSVG(svg, []byte(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		parseSVG(t, baked)
		got, err := UnbakeSVG(baked)
		if err != nil || string(got) != tc.want {
			t.Fatalf("%s: got %q, %v; want %q", name, got, err, tc.want)
		}
		var a, b any
		if err := json.Unmarshal([]byte(tc.in), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &b); err != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: JSON value changed: %v vs %v (%v)", name, a, b, err)
		}
	}
}

func TestSVGPrefixesAndShapes(t *testing.T) {
	// Any prefix bound to the OB 3.0 namespace is the credential element, and re-baking keeps it.
	ob := `<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="https://purl.imsglobal.org/ob/v3p0"><ob:credential verify="` + testJWS + `"/><rect/></svg>`
	if got, err := UnbakeSVG([]byte(ob)); err != nil || string(got) != testJWS {
		t.Fatalf("prefix ob: %q %v", got, err)
	}
	out, err := BakeSVG([]byte(ob), []byte(testJSON))
	if err != nil {
		t.Fatal(err)
	}
	if want := `<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="https://purl.imsglobal.org/ob/v3p0"><ob:credential><![CDATA[` + testJSON + `]]></ob:credential><rect/></svg>`; string(out) != want {
		t.Fatalf("re-baked with prefix ob:\n%s\nwant\n%s", out, want)
	}

	// Default-namespace form, deeper in the document.
	deflt := `<svg xmlns="http://www.w3.org/2000/svg"><g><credential xmlns="https://purl.imsglobal.org/ob/v3p0"><![CDATA[` + testJSON + `]]></credential></g></svg>`
	if got, err := UnbakeSVG([]byte(deflt)); err != nil || string(got) != testJSON {
		t.Fatalf("default namespace: %q %v", got, err)
	}

	// "openbadges" bound to the OB 2.0 namespace: the old assertion goes, a fresh prefix is used.
	ob2 := `<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="https://example.org/assertions/1"></openbadges:assertion><circle r="1"/></svg>`
	e, err := Extract([]byte(ob2))
	if err != nil || !e.Legacy || string(e.Credential) != "https://example.org/assertions/1" {
		t.Fatalf("OB 2.0 assertion: %+v %v", e, err)
	}
	out, err = BakeSVG([]byte(ob2), []byte(testJWS))
	if err != nil {
		t.Fatal(err)
	}
	if want := `<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org" xmlns:openbadges3="https://purl.imsglobal.org/ob/v3p0"><openbadges3:credential verify="` + testJWS + `"></openbadges3:credential><circle r="1"/></svg>`; string(out) != want {
		t.Fatalf("baked over OB 2.0:\n%s\nwant\n%s", out, want)
	}
	if e, err := Extract(out); err != nil || e.Legacy || string(e.Credential) != testJWS {
		t.Fatalf("after baking over OB 2.0: %+v %v", e, err)
	}

	// Self-closing and prefixed roots, a byte order mark.
	for in, want := range map[string]string{
		`<svg xmlns="http://www.w3.org/2000/svg"/>`:      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><openbadges:credential verify="` + testJWS + `"></openbadges:credential></svg>`,
		`<s:svg xmlns:s="http://www.w3.org/2000/svg" />`: `<s:svg xmlns:s="http://www.w3.org/2000/svg"  xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><openbadges:credential verify="` + testJWS + `"></openbadges:credential></s:svg>`,
		"\ufeff<svg\n>\n</svg>":                          "\ufeff<svg\n xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"><openbadges:credential verify=\"" + testJWS + "\"></openbadges:credential>\n</svg>",
	} {
		out, err := BakeSVG([]byte(in), []byte(testJWS))
		if err != nil || string(out) != want {
			t.Errorf("BakeSVG(%q):\n%s (%v)\nwant\n%s", in, out, err, want)
		}
	}
}

func TestUnbakeSVGHostile(t *testing.T) {
	laughs := `<?xml version="1.0"?>
<!DOCTYPE svg [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><openbadges:credential>&lol9;</openbadges:credential></svg>`
	xxe := `<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><openbadges:credential>&xxe;</openbadges:credential></svg>`
	// The same DTDs, declared but unused, are harmless and accepted.
	unused := strings.Replace(laughs, "&lol9;", testJWS, 1)

	deep := `<svg xmlns="http://www.w3.org/2000/svg">` + strings.Repeat("<g>", 100000) + strings.Repeat("</g>", 100000) + `</svg>`
	cred := func(body string) string {
		return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:o="https://purl.imsglobal.org/ob/v3p0">` + body + `</svg>`
	}
	for name, tc := range map[string]struct {
		in     string
		want   error
		bakeOK bool // baking replaces duplicate, empty or missing credential elements
	}{
		"billion laughs":   {laughs, ErrMalformed, false},
		"external entity":  {xxe, ErrMalformed, false},
		"deep nesting":     {deep, ErrMalformed, false},
		"two credentials":  {cred(`<o:credential verify="a.b.c"/><o:credential verify="d.e.f"/>`), ErrDuplicate, true},
		"nested second":    {cred(`<o:credential verify="a.b.c"/><g><o:credential>{}</o:credential></g>`), ErrDuplicate, true},
		"empty credential": {cred(`<o:credential> </o:credential>`), ErrMalformed, true},
		"no credential":    {cred(`<rect/>`), ErrNoCredential, true},
		"truncated":        {cred(`<o:credential verify="a.b.c"/>`)[:60], ErrMalformed, false},
		"unclosed":         {`<svg xmlns="http://www.w3.org/2000/svg"><o:credential xmlns:o="https://purl.imsglobal.org/ob/v3p0">{}`, ErrMalformed, false},
		"two roots":        {`<svg/><svg/>`, ErrMalformed, false},
		"not svg":          {`<html xmlns:o="https://purl.imsglobal.org/ob/v3p0"><o:credential>{}</o:credential></html>`, ErrUnknownFormat, false},
		"latin-1 declared": {`<?xml version="1.0" encoding="ISO-8859-1"?><svg/>`, ErrMalformed, false},
		"undefined prefix": {`<svg><x:credential>{}</x:credential></svg>`, ErrNoCredential, true},
		"huge credential":  {cred(`<o:credential><![CDATA[` + strings.Repeat("a", MaxCredentialBytes+1) + `]]></o:credential>`), ErrTooLarge, false},
		"too large":        {cred(strings.Repeat(" ", MaxImageBytes)), ErrTooLarge, false},
	} {
		_, err := UnbakeSVG([]byte(tc.in))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
		baked, err := BakeSVG([]byte(tc.in), []byte(testJWS))
		if tc.bakeOK {
			if got, uerr := UnbakeSVG(baked); err != nil || uerr != nil || string(got) != testJWS {
				t.Errorf("%s: BakeSVG: %v, then UnbakeSVG: %q %v", name, err, got, uerr)
			}
		} else if err == nil {
			t.Errorf("%s: BakeSVG accepted it", name)
		}
	}
	if got, err := UnbakeSVG([]byte(unused)); err != nil || string(got) != testJWS {
		t.Fatalf("unused entity declarations: %q %v", got, err)
	}
}

func FuzzUnbakeSVG(f *testing.F) {
	for _, name := range []string{"badge.svg", "badge-ob3-vector.svg"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(specSVGJWS))
	f.Add([]byte(specSVGJSON))
	f.Add([]byte(`<svg xmlns:o="https://purl.imsglobal.org/ob/v3p0"><o:credential><![CDATA[{}]]></o:credential></svg>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, err := UnbakeSVG(b); err == nil && len(got) == 0 {
			t.Fatal("accepted an empty credential")
		}
		for _, cred := range []string{testJWS, `{"a":"]]>\r\n"}`} {
			baked, err := BakeSVG(b, []byte(cred))
			if err != nil {
				continue
			}
			if _, err := scanSVG(baked); err != nil {
				t.Fatalf("BakeSVG output does not parse: %v", err)
			}
			got, err := UnbakeSVG(baked)
			if err != nil || string(got) != string(xmlSafeJSONIfJSON(cred)) {
				t.Fatalf("BakeSVG output unbakes to %q, %v", got, err)
			}
		}
	})
}

func xmlSafeJSONIfJSON(s string) []byte {
	if strings.HasPrefix(s, "{") {
		return xmlSafeJSON([]byte(s))
	}
	return []byte(s)
}
