package bake

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// maxSVGDepth bounds element nesting. Editors' output nests groups a few dozen deep; thousands
// of levels only come from hostile input.
const maxSVGDepth = 512

// element is a baked-credential element found in an SVG: [start, end) are its bytes.
type element struct {
	start, end int
	verify     string
	hasVerify  bool
	text       []byte
	legacy     bool
}

// svgDoc is what BakeSVG and UnbakeSVG need to know about an SVG.
type svgDoc struct {
	rootStart, rootEnd int // the root start tag is b[rootStart:rootEnd]
	rootName           string
	selfClosing        bool
	rootNS             map[string]string // prefixes declared on the root tag
	creds              []element         // top-level OB 3.0 and OB 2.0 elements, document order
}

// scanSVG tokenizes b with encoding/xml in strict mode. encoding/xml never loads a DTD or any
// external resource and expands only the five predefined entities and character references: an
// entity the document defines itself (a "billion laughs" chain, or an external entity) is a
// syntax error, not an expansion. Nesting is bounded by maxSVGDepth, credential text by
// MaxCredentialBytes, and input by MaxImageBytes.
func scanSVG(b []byte) (*svgDoc, error) {
	if len(b) > MaxImageBytes {
		return nil, fmt.Errorf("%w: SVG of %d bytes (limit %d)", ErrTooLarge, len(b), MaxImageBytes)
	}
	// encoding/xml does not skip a byte order mark; offsets stay relative to b.
	base := 0
	if bytes.HasPrefix(b, utf8BOM) {
		base = len(utf8BOM)
	}
	d := xml.NewDecoder(bytes.NewReader(b[base:]))
	d.Strict = true // no HTML autoclose, no undefined entities; CharsetReader nil: UTF-8 only
	doc := &svgDoc{rootStart: -1}
	depth, roots := 0, 0
	cur, curDepth := -1, 0 // index in doc.creds of the element being read
	for {
		start := base + int(d.InputOffset())
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: SVG: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxSVGDepth {
				return nil, fmt.Errorf("%w: SVG nests elements deeper than %d", ErrMalformed, maxSVGDepth)
			}
			if depth == 1 {
				roots++
				if roots > 1 {
					return nil, fmt.Errorf("%w: SVG has more than one root element", ErrMalformed)
				}
				if t.Name.Local != "svg" {
					return nil, fmt.Errorf("%w: root element is <%s>, not <svg>", ErrUnknownFormat, t.Name.Local)
				}
				doc.rootStart, doc.rootEnd = start, base+int(d.InputOffset())
				doc.selfClosing = b[doc.rootEnd-2] == '/'
				doc.rootName = rawName(b[doc.rootStart+1:])
				doc.rootNS = map[string]string{}
				for _, a := range t.Attr {
					if a.Name.Space == "xmlns" {
						doc.rootNS[a.Name.Local] = a.Value
					}
				}
				continue
			}
			ob3 := t.Name.Space == NamespaceOB3 && t.Name.Local == "credential"
			ob2 := t.Name.Space == NamespaceOB2 && t.Name.Local == "assertion"
			if cur < 0 && (ob3 || ob2) {
				el := element{start: start, legacy: ob2}
				for _, a := range t.Attr {
					if a.Name.Local == "verify" && (a.Name.Space == "" || a.Name.Space == t.Name.Space) {
						el.verify, el.hasVerify = a.Value, true
					}
				}
				doc.creds = append(doc.creds, el)
				cur, curDepth = len(doc.creds)-1, depth
			}
		case xml.EndElement:
			if cur >= 0 && depth == curDepth {
				doc.creds[cur].end = base + int(d.InputOffset())
				cur = -1
			}
			depth--
		case xml.CharData:
			if cur >= 0 {
				el := &doc.creds[cur]
				if len(el.text)+len(t) > MaxCredentialBytes {
					return nil, fmt.Errorf("%w: credential element over %d bytes", ErrTooLarge, MaxCredentialBytes)
				}
				el.text = append(el.text, t...)
			}
		}
	}
	if doc.rootStart < 0 {
		return nil, fmt.Errorf("%w: no root element", ErrUnknownFormat)
	}
	return doc, nil
}

// rawName returns the tag name at the start of b (after '<'), prefix included.
func rawName(b []byte) string {
	i := bytes.IndexAny(b, " \t\r\n/>")
	if i < 0 {
		return string(b)
	}
	return string(b[:i])
}

// UnbakeSVG returns the credential baked into an SVG: the verify attribute (a JWS) or the text
// content (JSON, usually in CDATA) of the element "credential" in the OB 3.0 namespace, whatever
// prefix binds it; failing that, the OB 2.0 "assertion" element. Two such elements are refused
// (ErrDuplicate).
func UnbakeSVG(svg []byte) ([]byte, error) {
	e, err := extractSVG(svg)
	return e.Credential, err
}

func extractSVG(b []byte) (Extracted, error) {
	doc, err := scanSVG(b)
	if err != nil {
		return Extracted{}, err
	}
	var ob3, ob2 []element
	for _, el := range doc.creds {
		if el.legacy {
			ob2 = append(ob2, el)
		} else {
			ob3 = append(ob3, el)
		}
	}
	var el element
	switch {
	case len(ob3) > 1:
		return Extracted{}, fmt.Errorf("%w: %d <credential> elements", ErrDuplicate, len(ob3))
	case len(ob3) == 1:
		el = ob3[0]
	case len(ob2) > 1:
		return Extracted{}, fmt.Errorf("%w: %d OB 2.0 <assertion> elements", ErrDuplicate, len(ob2))
	case len(ob2) == 1:
		el = ob2[0]
	default:
		return Extracted{}, fmt.Errorf("%w (SVG)", ErrNoCredential)
	}
	cred := bytes.TrimSpace([]byte(el.verify))
	if len(cred) == 0 {
		cred = bytes.TrimSpace(el.text)
	}
	if len(cred) == 0 {
		return Extracted{}, fmt.Errorf("%w: empty credential element", ErrMalformed)
	}
	return Extracted{Credential: cred, Format: FormatSVG, Legacy: el.legacy}, nil
}

// BakeSVG returns svg with credential baked in, as OB 3.0 describes: the root <svg> tag declares
// xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0" (or reuses a prefix it already binds to
// that namespace), and an <openbadges:credential> element is its first child, with a JWS in the
// verify attribute or JSON in a CDATA section. Credential elements baked before (OB 3.0 or 2.0)
// are removed. Everything else is kept byte for byte.
func BakeSVG(svg []byte, credential []byte) ([]byte, error) {
	payload, jws, err := checkPayload(credential)
	if err != nil {
		return nil, err
	}
	doc, err := scanSVG(svg)
	if err != nil {
		return nil, err
	}
	prefix, declare := ob3Prefix(doc.rootNS)
	if !jws {
		payload = xmlSafeJSON(payload)
	}

	var el bytes.Buffer
	el.WriteString("<" + prefix + ":credential")
	if jws {
		// A compact JWS is base64url and dots: nothing to escape in an attribute.
		el.WriteString(` verify="`)
		el.Write(payload)
		el.WriteString(`">`)
	} else {
		el.WriteString("><![CDATA[")
		el.Write(bytes.ReplaceAll(payload, []byte("]]>"), []byte("]]]]><![CDATA[>")))
		el.WriteString("]]>")
	}
	el.WriteString("</" + prefix + ":credential>")

	var out bytes.Buffer
	out.Grow(len(svg) + el.Len() + 64)
	tagEnd := doc.rootEnd - 1 // the '>' of the root start tag
	if doc.selfClosing {
		tagEnd--
	}
	out.Write(svg[:tagEnd])
	if declare {
		out.WriteString(` xmlns:` + prefix + `="` + NamespaceOB3 + `"`)
	}
	out.WriteByte('>')
	out.Write(el.Bytes())
	if doc.selfClosing {
		out.WriteString("</" + doc.rootName + ">")
	}
	pos := doc.rootEnd
	for _, c := range doc.creds {
		out.Write(svg[pos:c.start])
		pos = c.end
	}
	out.Write(svg[pos:])
	if out.Len() > MaxImageBytes {
		return nil, fmt.Errorf("%w: baked SVG would be %d bytes (limit %d)", ErrTooLarge, out.Len(), MaxImageBytes)
	}
	// The splice works on bytes, not on a parsed tree; read the result back so that a document
	// this package misjudged can never be published.
	got, err := extractSVG(out.Bytes())
	if err != nil || got.Legacy || !bytes.Equal(got.Credential, payload) {
		return nil, fmt.Errorf("bake: SVG: baked result does not read back (%v)", err)
	}
	return out.Bytes(), nil
}

// ob3Prefix picks the prefix for the credential element: one the root already binds to the
// OB 3.0 namespace, else "openbadges" (declared by the caller), else a fresh one when the
// document uses "openbadges" for something else (an OB 2.0 baking, say).
func ob3Prefix(rootNS map[string]string) (prefix string, declare bool) {
	if rootNS["openbadges"] == NamespaceOB3 {
		return "openbadges", false
	}
	var bound []string
	for p, ns := range rootNS {
		if ns == NamespaceOB3 {
			bound = append(bound, p)
		}
	}
	if len(bound) > 0 {
		slices.Sort(bound)
		return bound[0], false
	}
	if _, taken := rootNS["openbadges"]; !taken {
		return "openbadges", true
	}
	for i := 3; ; i++ {
		p := "openbadges" + strconv.Itoa(i)
		if _, taken := rootNS[p]; !taken {
			return p, true
		}
	}
}

// xmlSafeJSON prepares JSON text for an XML text node. XML parsers turn CR and CRLF into LF, and
// XML cannot carry U+FFFE or U+FFFF at all. In valid JSON, CR appears only as whitespace between
// tokens and those two characters only inside strings, so turning CR into LF and the two into \u
// escapes keeps the same JSON value while making the text read back byte for byte. ("]]>", which
// would end a CDATA section early, is handled by splitting the section where it occurs.)
func xmlSafeJSON(p []byte) []byte {
	p = bytes.ReplaceAll(p, []byte("\r\n"), []byte("\n"))
	p = bytes.ReplaceAll(p, []byte("\r"), []byte("\n"))
	p = bytes.ReplaceAll(p, []byte("\uFFFE"), []byte(`\ufffe`))
	return bytes.ReplaceAll(p, []byte("\uFFFF"), []byte(`\uffff`))
}
