package jsonld

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/piprate/json-gold/ld"
)

// Safe mode follows Digital Bazaar jsonld.js (`safe: true`), which is what independent verifiers
// run: every warning event in its list of unsafe codes is an error. The codes are:
//
//	expansion: invalid property, relative @id reference, reserved @id value, relative @type
//	           reference, invalid @language value, null @value value, free-floating scalar,
//	           object with only @language, empty object / object with only @value, @list or @id
//	           (top level, @graph and @graph containers), reserved term, reserved @reverse value,
//	           relative @vocab reference
//	toRDF:     blank node predicate, relative subject/property/graph/type reference (the last one
//	           covers every relative object IRI)
//
// On top of that list, Credence refuses what json-gold would silently drop or write differently
// from RDFC-1.0, because a signature over such a document means something else to a verifier
// using another library:
//
//	invalid IRI:         an http(s) IRI json-gold's URL check rejects (json-gold drops the quad),
//	                     or an IRI Go's URL parser rejects although it has a scheme
//	unportable IRI:      an IRI containing a character RDFC-1.0 escapes as \uXXXX ( <>"{}|^`\ and
//	                     controls) where json-gold writes it raw
//	unportable literal:  a string with a control character other than tab, LF and CR, which
//	                     RDFC-1.0 escapes and json-gold does not
//	unportable number:   an integral number of magnitude 2^63..1e21, an xsd:integer for
//	                     JavaScript and an xsd:double for json-gold
//	unportable datatype: rdf:langString given as an explicit @type without a language
//	protected term redefinition: a protected term set to null (json-gold allows it)
//	colliding keywords:  two keys of one object aliasing @type (json-gold keeps one key's
//	                     types, jsonld.js both)
//	invalid base direction: an @direction other than "ltr" or "rtl" (json-gold accepts it,
//	                     jsonld.js throws)

// SafeModeError is a document refused by safe mode. It wraps ErrSafeMode.
type SafeModeError struct {
	Code   string // the jsonld.js event code, or one of Credence's additions above
	Path   string // JSON Pointer of the offending member or value in the document
	Detail string // names the offending term or value
}

func (e *SafeModeError) Error() string {
	path := e.Path
	if path == "" {
		path = "/"
	}
	return "jsonld: safe mode: " + e.Code + " at " + path + ": " + e.Detail
}

func (e *SafeModeError) Unwrap() error { return ErrSafeMode }

// validBCP47 is jsonld.js REGEX_BCP47: ^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$ (it also implies
// json-gold's weaker ^[a-zA-Z]+(-[a-zA-Z0-9]+)*$, so nothing that passes is dropped by json-gold).
func validBCP47(s string) bool {
	n := 0
	first := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			n++
		case c >= '0' && c <= '9':
			if first {
				return false
			}
			n++
		case c == '-':
			if n == 0 {
				return false
			}
			first = false
			n = 0
			continue
		default:
			return false
		}
		if n > 8 {
			return false
		}
	}
	return n > 0
}

// jsAbsolute is jsonld.js isAbsolute: /^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$/ (the class +-. is
// the range '+'..'.', so it includes ',').
func jsAbsolute(s string) bool {
	i := 0
	if strings.HasPrefix(s, "_:") {
		i = 2
	} else {
		if s == "" || !isAlpha(s[0]) {
			return false
		}
		i = 1
		for i < len(s) && (isAlpha(s[i]) || isDigit(s[i]) || s[i] >= '+' && s[i] <= '.') {
			i++
		}
		if i >= len(s) || s[i] != ':' {
			return false
		}
		i++
	}
	for _, r := range s[i:] {
		if jsSpace(r) {
			return false
		}
	}
	return true
}

// jsSpace is JavaScript's \s (without the u flag).
func jsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

// schemeEnd returns the index of the ':' ending a URL scheme at the start of s, or -1.
func schemeEnd(s string) int {
	if s == "" || !isAlpha(s[0]) {
		return -1
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(c) || c == '+' || c == '-' || c == '.':
		case c == ':':
			return i
		default:
			return -1
		}
	}
	return -1
}

// plainIRIByte: printable ASCII that needs no escaping anywhere, minus '%' (escape sequences are
// what Go's URL parser validates).
func plainIRIByte(c byte) bool {
	if c <= 0x20 || c >= 0x7f {
		return false
	}
	switch c {
	case '%', '<', '>', '"', '{', '}', '|', '^', '`', '\\':
		return false
	}
	return true
}

// fastAbsolute proves ld.IsAbsoluteIri (url.Parse succeeds with a scheme) for the common shapes
// without parsing; false means "not proven", never "relative".
func fastAbsolute(s string) bool {
	se := schemeEnd(s)
	if se <= 0 {
		return false
	}
	for i := se + 1; i < len(s); i++ {
		if !plainIRIByte(s[i]) {
			return false
		}
	}
	rest := s[se+1:]
	if !strings.HasPrefix(rest, "//") {
		return true // opaque or rooted path: url.Parse only checks CTLs and escapes there
	}
	auth := rest[2:]
	if i := authorityEnd(auth); i >= 0 {
		auth = auth[:i]
	}
	host := auth
	if i := strings.LastIndexByte(auth, ':'); i >= 0 {
		host = auth[:i]
		for j := i + 1; j < len(auth); j++ {
			if !isDigit(auth[j]) {
				return false
			}
		}
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !(isAlnum(c) || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// goldAbsolute is ld.IsAbsoluteIri.
func goldAbsolute(s string) bool {
	if strings.HasPrefix(s, "_:") || fastAbsolute(s) {
		return true
	}
	return ld.IsAbsoluteIri(s)
}

// iriAbsolute: absolute for both jsonld.js and json-gold, so neither drops it as relative.
func iriAbsolute(s string) bool { return jsAbsolute(s) && goldAbsolute(s) }

// fastIsURL proves ld.IsURL for "http(s)://host[:port][path]" with ASCII host labels; see the
// comment in the test that checks it against ld.IsURL.
func fastIsURL(s string) bool {
	var rest string
	switch {
	case strings.HasPrefix(s, "https://"):
		rest = s[8:]
	case strings.HasPrefix(s, "http://"):
		rest = s[7:]
	default:
		return false
	}
	if len(s) >= 2000 {
		return false
	}
	end := len(rest)
	if i := authorityEnd(rest); i >= 0 {
		end = i
	}
	for i := end; i < len(rest); i++ {
		if !plainIRIByte(rest[i]) {
			return false
		}
	}
	auth := rest[:end]
	host := auth
	if i := strings.IndexByte(auth, ':'); i >= 0 {
		host = auth[:i]
		port := auth[i+1:]
		if len(port) == 0 || len(port) > 5 {
			return false
		}
		for j := 0; j < len(port); j++ {
			if !isDigit(port[j]) {
				return false
			}
		}
	}
	if host == "" {
		return false
	}
	if isIPv4URLHost(host) {
		return true // `credence serve`'s default base URL is http://127.0.0.1:8080
	}
	// labels: first, second-to-last (pen) and last, each checked as a host label
	n, first, pen, last := 0, "", "", ""
	for start := 0; start <= len(host); {
		end := strings.IndexByte(host[start:], '.')
		if end < 0 {
			end = len(host)
		} else {
			end += start
		}
		l := host[start:end]
		if !hostLabel(l) {
			return false
		}
		if n == 0 {
			first = l
		}
		pen, last = last, l
		n++
		start = end + 1
	}
	if n == 1 {
		return true
	}
	for i := 0; i < len(last); i++ {
		if !isAlpha(last[i]) {
			return false
		}
	}
	if n == 2 {
		return true
	}
	// The regex needs its first host word to be two characters long and to split the
	// second-to-last label after an alphanumeric pair.
	if len(first) < 2 || !isAlnum(first[1]) {
		return false
	}
	return len(pen) >= 2 && isAlnum(pen[0]) && isAlnum(pen[1])
}

// isIPv4URLHost: four dotted decimal numbers without leading zeros that ld.IsURL's address
// pattern accepts: the first 1-223, the middle two 0-255, the last 0-254.
func isIPv4URLHost(host string) bool {
	limits := [4][2]int{{1, 223}, {0, 255}, {0, 255}, {0, 254}}
	for i, lim := range limits {
		part := host
		if i < 3 {
			dot := strings.IndexByte(host, '.')
			if dot < 0 {
				return false
			}
			part, host = host[:dot], host[dot+1:]
		}
		if part == "" || len(part) > 3 || len(part) > 1 && part[0] == '0' {
			return false
		}
		n := 0
		for j := 0; j < len(part); j++ {
			if !isDigit(part[j]) {
				return false
			}
			n = n*10 + int(part[j]-'0')
		}
		if n < lim[0] || n > lim[1] {
			return false
		}
	}
	return true
}

// authorityEnd is the index of the first '/', '?' or '#', or -1.
func authorityEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' || c == '?' || c == '#' {
			return i
		}
	}
	return -1
}

// hostLabel: [A-Za-z0-9]+(-[A-Za-z0-9]+)*
func hostLabel(l string) bool {
	if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c == '-' {
			if l[i-1] == '-' {
				return false
			}
			continue
		}
		if !isAlnum(c) {
			return false
		}
	}
	return true
}

// goldValidIRI is json-gold's validIRI, which decides whether GraphToRDF keeps a quad.
func goldValidIRI(s string) bool {
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return true
	}
	if fastIsURL(s) {
		return true
	}
	return slowIsURL(s)
}

// ld.IsURL costs tens of microseconds (a large regular expression), so its answers for IRIs the
// fast check cannot prove are remembered, up to a bound.
var (
	isURLMemo     sync.Map
	isURLMemoSize atomic.Int64
)

const maxIsURLMemo = 8192

func slowIsURL(s string) bool {
	if v, ok := isURLMemo.Load(s); ok {
		return v.(bool)
	}
	ok := ld.IsURL(s)
	if isURLMemoSize.Load() < maxIsURLMemo {
		if _, loaded := isURLMemo.LoadOrStore(s, ok); !loaded {
			isURLMemoSize.Add(1)
		}
	}
	return ok
}

// fastIRIOK proves in one pass that iriProblem(s) is "" for the usual shapes of IRIs; false
// means "not proven".
func fastIRIOK(s string) bool {
	se := schemeEnd(s)
	if se <= 0 {
		return false
	}
	for i := se + 1; i < len(s); i++ {
		if !plainIRIByte(s[i]) {
			return false
		}
	}
	if len(s) > se+2 && s[se+1] == '/' && s[se+2] == '/' {
		scheme := s[:se]
		if scheme == "http" || scheme == "https" {
			return fastIsURL(s)
		}
		return fastAbsolute(s)
	}
	return true
}

// iriProblem says why an IRI cannot be put in a quad, or "" if it can. Blank node identifiers
// only need to be absolute for jsonld.js: json-gold relabels them.
func iriProblem(s string) (code, detail string) {
	if fastIRIOK(s) {
		return "", ""
	}
	if strings.HasPrefix(s, "_:") {
		if !jsAbsolute(s) {
			return "relative reference", "blank node identifier " + quote(s) + " contains white space"
		}
		return "", ""
	}
	if !jsAbsolute(s) || !goldAbsolute(s) {
		return "relative reference", quote(s) + " is not an absolute IRI"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c == 0x7f || strings.IndexByte(`<>"{}|^`+"`"+`\`, c) >= 0 {
			return "unportable IRI", quote(s) + " contains " + quote(string(c)) + ", which canonical N-Quads escapes and json-gold does not"
		}
	}
	if !goldValidIRI(s) {
		return "invalid IRI", quote(s) + " is not a URL json-gold accepts (it would drop the statement)"
	}
	return "", ""
}

// literalProblem reports a string json-gold would serialize differently from RDFC-1.0.
func literalProblem(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return "the string contains the control character " + quote(string(c)) + ", which canonical N-Quads escapes and json-gold does not"
		}
	}
	if !utf8.ValidString(s) {
		return "the string is not valid UTF-8"
	}
	return ""
}
