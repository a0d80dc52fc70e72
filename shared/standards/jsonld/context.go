package jsonld

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/piprate/json-gold/ld"
)

// This file is the active-context half of the fast canonicalizer. It follows json-gold's context
// processing (ld/context.go) step for step, because the canonical N-Quads must equal json-gold's
// byte for byte; where json-gold departs from the JSON-LD 1.1 text we follow json-gold, and where
// json-gold would panic we report errUnsupported so the caller falls back to json-gold itself.
//
// The difference is that an active context here is immutable once built, so the result of
// applying an embedded context (or a term's scoped context) to an active context can be cached
// for the life of the process. That is where json-gold spends most of its millisecond.

// errUnsupported marks a document that uses a JSON-LD feature the fast path does not implement.
// It never leaves the package: Canonicalize answers such documents with CanonicalizeReference.
var errUnsupported = errors.New("jsonld: feature not implemented by the fast path")

// Container flags of a term definition.
const (
	cList uint8 = 1 << iota
	cSet
	cIndex
	cLanguage
	cGraph
	cID
	cType
)

type termDef struct {
	id         string
	reverse    bool
	container  []string // as written, for the protected-term comparison
	cmask      uint8
	typ        string
	nest       string
	hasContext bool
	scoped     *scopedCtx // non-nil iff hasContext; its address keys the context cache
	stable     bool       // defined by an embedded context, so scoped is process-lived
	// idOK and typOK remember that id and typ passed the safe-mode IRI checks; term
	// definitions are shared by every document using their context.
	idOK         atomic.Bool
	typOK        atomic.Bool
	typSlice     []string // {typ}, shared by the value objects it types
	prefix       int8     // 0: unset, 1: false, 2: true (json-gold's *bool)
	index        string
	protected    bool
	direction    *string
	hasDirection bool
	language     *string
	hasLanguage  bool
}

// scopedCtx is a term's @context value. raw may be nil (an explicit "@context": null).
type scopedCtx struct{ raw any }

type activeCtx struct {
	terms        map[string]*termDef // a nil value is a term explicitly defined as null
	vocab        string
	hasVocab     bool
	language     string
	hasLanguage  bool
	direction    string
	previous     *activeCtx
	hasProtected bool // json-gold: len(Protected) != 0
	// cacheable contexts are built only from embedded contexts, so deriving from them can be
	// cached without letting documents grow the cache.
	cacheable bool
}

func newActiveCtx(cacheable bool) *activeCtx {
	return &activeCtx{terms: map[string]*termDef{}, cacheable: cacheable}
}

func (c *activeCtx) clone() *activeCtx {
	n := *c
	n.terms = make(map[string]*termDef, len(c.terms)+8)
	for k, v := range c.terms {
		n.terms[k] = v
	}
	return &n
}

func (c *activeCtx) term(key string) *termDef { return c.terms[key] }

func (c *activeCtx) hasContainer(key string, flag uint8) bool {
	td := c.terms[key]
	return td != nil && td.cmask&flag != 0
}

func (c *activeCtx) revert() *activeCtx {
	if c.previous == nil {
		return c
	}
	return c.previous
}

// ---- the cache of derived contexts ----

type ctxKey struct {
	parent    *activeCtx
	local     any // a URL string or a *scopedCtx
	propagate bool
	override  bool
}

const maxCachedContexts = 4096

var (
	ctxCache     sync.Map // ctxKey -> *activeCtx
	ctxCacheSize atomic.Int64
	rootCtx      = newActiveCtx(true)
)

func cacheGet(k ctxKey) *activeCtx {
	if v, ok := ctxCache.Load(k); ok {
		return v.(*activeCtx)
	}
	return nil
}

func cachePut(k ctxKey, c *activeCtx) *activeCtx {
	if ctxCacheSize.Load() >= maxCachedContexts {
		return c
	}
	if v, loaded := ctxCache.LoadOrStore(k, c); loaded {
		return v.(*activeCtx)
	}
	ctxCacheSize.Add(1)
	return c
}

// ---- context processing ----

// ctxProc carries what context processing needs from its caller: the safe-mode switch and a
// description of where the context came from, for error messages.
type ctxProc struct {
	safe  bool
	where func() string
}

// applyScoped applies a term's scoped context (type-scoped or property-scoped), cached.
func (p *ctxProc) applyScoped(c *activeCtx, sc *scopedCtx, stable, propagate, override bool) (*activeCtx, error) {
	if !c.cacheable || !stable {
		return p.parse(c, sc.raw, false, propagate, override, stable, 0)
	}
	k := ctxKey{parent: c, local: sc, propagate: propagate, override: override}
	if r := cacheGet(k); r != nil {
		return r, nil
	}
	r, err := p.parse(c, sc.raw, false, propagate, override, true, 0)
	if err != nil {
		return nil, err
	}
	return cachePut(k, r), nil
}

// applyDocContext processes an @context found in the document (propagate, no protected override).
func (p *ctxProc) applyDocContext(c *activeCtx, local any) (*activeCtx, error) {
	return p.parse(c, local, false, true, false, false, 0)
}

const maxRemoteDepth = 8

func arrayify(v any) []any {
	if a, ok := v.([]any); ok {
		return a
	}
	return []any{v}
}

// parse is json-gold's Context.parse with remoteContexts dropped (it never detects anything there)
// and the protected parameter dropped (always false). stable says local comes from an embedded
// context, so what is built from it may be cached.
func (p *ctxProc) parse(c *activeCtx, local any, remote, propagate, override, stable bool, depth int) (*activeCtx, error) {
	contexts := arrayify(local)
	if len(contexts) == 0 {
		return c, nil
	}
	if m, ok := contexts[0].(map[string]any); ok {
		if pv, ok := m["@propagate"].(bool); ok {
			propagate = pv
		}
	}
	result := c
	if !propagate && result.previous == nil {
		r := *c
		r.previous = c
		result = &r
	}
	for _, item := range contexts {
		switch v := item.(type) {
		case nil:
			if !override && result.hasProtected {
				return nil, ld.NewJsonLdError(ld.InvalidContextNullification,
					"tried to nullify a context with protected terms outside of a term definition.")
			}
			n := newActiveCtx(result.cacheable && stable)
			if !propagate {
				n.previous = result
			}
			result = n
		case string:
			r, err := p.applyRemote(result, v, override, depth)
			if err != nil {
				return nil, err
			}
			result = r
		case map[string]any:
			r, err := p.applyMap(result, v, remote, override, stable)
			if err != nil {
				return nil, err
			}
			result = r
		default:
			return nil, ld.NewJsonLdError(ld.InvalidLocalContext, item)
		}
	}
	return result, nil
}

func (p *ctxProc) applyRemote(c *activeCtx, url string, override bool, depth int) (*activeCtx, error) {
	if depth >= maxRemoteDepth {
		return nil, fmt.Errorf("jsonld: contexts nested deeper than %d levels at %q", maxRemoteDepth, url)
	}
	var k ctxKey
	if c.cacheable {
		k = ctxKey{parent: c, local: url, propagate: true, override: override}
		if r := cacheGet(k); r != nil {
			return r, nil
		}
	}
	doc, err := Context(url)
	if err != nil {
		return nil, ld.NewJsonLdError(ld.LoadingRemoteContextFailed,
			fmt.Errorf("dereferencing a URL did not result in a valid JSON-LD context (%s): %w", url, err))
	}
	m, isMap := doc.(map[string]any)
	inner, has := m["@context"]
	if !isMap || !has {
		return nil, ld.NewJsonLdError(ld.InvalidRemoteContext, inner)
	}
	r, err := p.parse(c, inner, true, true, override, true, depth+1)
	if err != nil {
		return nil, err
	}
	if c.cacheable {
		return cachePut(k, r), nil
	}
	return r, nil
}

var nonTermDefKeys = map[string]bool{
	"@base": true, "@direction": true, "@import": true, "@language": true,
	"@protected": true, "@version": true, "@vocab": true,
}

func (p *ctxProc) applyMap(c *activeCtx, contextMap map[string]any, remote, override, stable bool) (*activeCtx, error) {
	if nested := contextMap["@context"]; nested != nil {
		nm, ok := nested.(map[string]any)
		if !ok {
			return nil, ld.NewJsonLdError(ld.InvalidLocalContext, nested)
		}
		contextMap = nm
	}
	result := c.clone()
	// A context written in the document must not feed the process-wide cache.
	result.cacheable = c.cacheable && stable

	if v, ok := contextMap["@version"]; ok {
		if f, isF := v.(float64); !isF || f != 1.1 {
			return nil, ld.NewJsonLdError(ld.InvalidVersionValue, fmt.Sprintf("unsupported JSON-LD version: %v", v))
		}
	}

	if iv, ok := contextMap["@import"]; ok {
		s, isStr := iv.(string)
		if !isStr {
			return nil, ld.NewJsonLdError(ld.InvalidImportValue, "@import must be a string")
		}
		doc, err := Context(s)
		if err != nil {
			return nil, ld.NewJsonLdError(ld.LoadingRemoteContextFailed,
				fmt.Errorf("dereferencing a URL did not result in a valid JSON-LD context (%s): %w", s, err))
		}
		dm, isMap := doc.(map[string]any)
		ictx, has := dm["@context"]
		if !isMap || !has {
			return nil, ld.NewJsonLdError(ld.InvalidRemoteContext, ictx)
		}
		im, isMap := ictx.(map[string]any)
		if !isMap {
			return nil, ld.NewJsonLdError(ld.InvalidRemoteContext, fmt.Sprintf("%s must be an object", s))
		}
		if _, found := im["@import"]; found {
			return nil, ld.NewJsonLdError(ld.InvalidContextEntry, fmt.Sprintf("%s must not include @import entry", s))
		}
		merged := make(map[string]any, len(im)+len(contextMap))
		for k, v := range im {
			merged[k] = v
		}
		for k, v := range contextMap {
			merged[k] = v
		}
		contextMap = merged
	}

	if bv, ok := contextMap["@base"]; ok && !remote {
		switch b := bv.(type) {
		case nil:
			// the base stays empty
		case string:
			if !ld.IsAbsoluteIri(b) {
				return nil, ld.NewJsonLdError(ld.InvalidBaseIRI, "")
			}
			// A base IRI changes how every relative reference resolves; json-gold does that.
			return nil, errUnsupported
		default:
			return nil, ld.NewJsonLdError(ld.InvalidBaseIRI, "the value of @base in a @context must be a string or null")
		}
	}

	if lv, ok := contextMap["@language"]; ok {
		switch l := lv.(type) {
		case nil:
			result.hasLanguage = false
			result.language = ""
		case string:
			result.hasLanguage = true
			result.language = strings.ToLower(l)
			if p.safe && !validBCP47(result.language) {
				return nil, p.ctxSafeErr("invalid @language value", "default @language "+quote(l)+" is not a valid BCP47 language tag")
			}
		default:
			return nil, ld.NewJsonLdError(ld.InvalidDefaultLanguage, lv)
		}
	}

	if dv, ok := contextMap["@direction"]; ok {
		switch d := dv.(type) {
		case nil:
			result.direction = ""
		case string:
			if d != "rtl" && d != "ltr" {
				return nil, ld.NewJsonLdError(ld.InvalidBaseDirection, dv)
			}
			result.direction = d
		default:
			return nil, ld.NewJsonLdError(ld.InvalidBaseDirection, dv)
		}
	}

	defined := map[string]bool{}
	if pv, ok := contextMap["@propagate"]; ok {
		if _, isBool := pv.(bool); !isBool {
			return nil, ld.NewJsonLdError(ld.InvalidPropagateValue, "@propagate value must be a boolean")
		}
		defined["@propagate"] = true
	}

	if vv, ok := contextMap["@vocab"]; ok {
		switch v := vv.(type) {
		case nil:
			result.hasVocab = false
			result.vocab = ""
		case string:
			ev, err := p.expandIRIDef(result, v, true, true, nil, nil)
			if err != nil {
				return nil, err
			}
			if p.safe && !iriAbsolute(ev) {
				return nil, p.ctxSafeErr("relative @vocab reference", "@vocab "+quote(v)+" is not an absolute IRI")
			}
			result.vocab = ev
			result.hasVocab = true
		default:
			return nil, ld.NewJsonLdError(ld.InvalidVocabMapping, "@vocab must be a string or null")
		}
	}

	if pv, ok := contextMap["@protected"]; ok {
		b, isBool := pv.(bool)
		if !isBool {
			return nil, errUnsupported // json-gold panics on a non-boolean @protected
		}
		defined["@protected"] = b
	}

	keys := make([]string, 0, len(contextMap))
	for k := range contextMap {
		if !nonTermDefKeys[k] {
			keys = append(keys, k)
		}
	}
	// json-gold walks the map in random order; sorted keeps us deterministic.
	sort.Strings(keys)
	for _, k := range keys {
		if err := p.createTermDefinition(result, contextMap, k, defined, override); err != nil {
			return nil, err
		}
	}
	return result, nil
}

func (p *ctxProc) ctxSafeErr(code, msg string) error {
	where := ""
	if p.where != nil {
		where = p.where()
	}
	return &SafeModeError{Code: code, Path: where, Detail: msg}
}

func termHasSuffix(res string) bool {
	if res == "" {
		return false
	}
	switch res[len(res)-1] {
	case ':', '/', '?', '#', '[', ']', '@':
		return true
	}
	return false
}

// iriLikeTerm is json-gold's `(?::[^:])|/`.
func iriLikeTerm(term string) bool {
	if strings.IndexByte(term, '/') >= 0 {
		return true
	}
	for i := 0; i+1 < len(term); i++ {
		if term[i] == ':' && term[i+1] != ':' {
			return true
		}
	}
	return false
}

// reservedKeywordLike is json-gold's ignoredKeywordPattern `^@[a-zA-Z]+$`.
func reservedKeywordLike(s string) bool {
	if len(s) < 2 || s[0] != '@' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func isKeyword(s string) bool {
	if len(s) < 2 || s[0] != '@' {
		return false
	}
	return ld.IsKeyword(s)
}

func (p *ctxProc) createTermDefinition(c *activeCtx, context map[string]any, term string, defined map[string]bool, override bool) error {
	if dv, in := defined[term]; in {
		if dv {
			return nil
		}
		return ld.NewJsonLdError(ld.CyclicIRIMapping, term)
	}
	defined[term] = false

	value := context[term]
	mapValue, isMap := value.(map[string]any)
	idValue, hasID := mapValue["@id"]
	if value == nil || (isMap && hasID && idValue == nil) {
		if prev := c.terms[term]; prev != nil && prev.protected && !override && p.safe {
			// json-gold lets a null definition through; jsonld.js and the spec reject it.
			return p.ctxSafeErr("protected term redefinition", "term "+quote(term)+" is protected and cannot be set to null")
		}
		c.terms[term] = nil
		defined[term] = true
		return nil
	}

	simpleTerm := false
	if s, isStr := value.(string); isStr {
		mapValue = map[string]any{"@id": s}
		simpleTerm = true
		isMap = true
	}
	if !isMap {
		return ld.NewJsonLdError(ld.InvalidTermDefinition, value)
	}

	if isKeyword(term) {
		vmap, vIsMap := value.(map[string]any)
		allowedOnly := true
		for k := range vmap {
			if k != "@container" && k != "@protected" {
				allowedOnly = false
				break
			}
		}
		isSet := vIsMap && (vmap["@container"] == "@set" || vmap["@container"] == nil)
		if !(term == "@type" && allowedOnly && isSet) {
			return ld.NewJsonLdError(ld.KeywordRedefinition, term)
		}
	} else if reservedKeywordLike(term) {
		if p.safe {
			return p.ctxSafeErr("reserved term", "term "+quote(term)+" looks like a keyword and would be ignored")
		}
		return nil
	}

	prev := c.terms[term]
	delete(c.terms, term)

	val := mapValue
	def := &termDef{}
	for k := range val {
		switch k {
		case "@container", "@id", "@language", "@reverse", "@type",
			"@context", "@direction", "@index", "@nest", "@prefix", "@protected":
		default:
			return ld.NewJsonLdError(ld.InvalidTermDefinition, fmt.Sprintf("a term definition must not contain %s", k))
		}
	}

	colIndex := strings.IndexByte(term, ':')
	termHasColon := colIndex > 0

	if rv, present := val["@reverse"]; present {
		if _, idPresent := val["@id"]; idPresent {
			return ld.NewJsonLdError(ld.InvalidReverseProperty, "an @reverse term definition must not contain @id.")
		}
		if _, nestPresent := val["@nest"]; nestPresent {
			return ld.NewJsonLdError(ld.InvalidReverseProperty, "an @reverse term definition must not contain @nest.")
		}
		rs, isStr := rv.(string)
		if !isStr {
			return ld.NewJsonLdError(ld.InvalidIRIMapping, fmt.Sprintf("expected string for @reverse value. got %v", rv))
		}
		id, err := p.expandIRIDef(c, rs, false, true, context, defined)
		if err != nil {
			return err
		}
		if !ld.IsAbsoluteIri(id) {
			return ld.NewJsonLdError(ld.InvalidIRIMapping, fmt.Sprintf(
				"@context @reverse value must be an absolute IRI or a blank node identifier, got %s", id))
		}
		if reservedKeywordLike(rs) {
			if p.safe {
				return p.ctxSafeErr("reserved @reverse value", "term "+quote(term)+" has a reserved @reverse value "+quote(rs))
			}
			return nil
		}
		def.id = id
		def.reverse = true
	} else if iv, has := val["@id"]; has {
		idStr, isStr := iv.(string)
		if !isStr {
			return ld.NewJsonLdError(ld.InvalidIRIMapping, "expected value of @id to be a string")
		}
		if term != idStr {
			if !isKeyword(idStr) && reservedKeywordLike(idStr) {
				if p.safe {
					return p.ctxSafeErr("reserved @id value", "term "+quote(term)+" maps to the reserved @id "+quote(idStr))
				}
				return nil
			}
			res, err := p.expandIRIDef(c, idStr, false, true, context, defined)
			if err != nil {
				return err
			}
			if !(isKeyword(res) || ld.IsAbsoluteIri(res)) {
				return ld.NewJsonLdError(ld.InvalidIRIMapping, "resulting IRI mapping should be a keyword, absolute IRI or blank node")
			}
			if res == "@context" {
				return ld.NewJsonLdError(ld.InvalidKeywordAlias, "cannot alias @context")
			}
			def.id = res
			if iriLikeTerm(term) {
				defined[term] = true
				termIRI, err := p.expandIRIDef(c, term, false, true, context, defined)
				if err != nil {
					return err
				}
				if termIRI != res {
					return ld.NewJsonLdError(ld.InvalidIRIMapping, fmt.Sprintf("term %s expands to %s, not %s", term, res, termIRI))
				}
				delete(defined, term)
			}
			if !termHasColon && termHasSuffix(res) && simpleTerm {
				def.prefix = 2
			} else {
				def.prefix = 1
			}
		}
	}

	if def.id == "" {
		if termHasColon {
			prefix := term[:colIndex]
			if _, ok := context[prefix]; ok {
				if err := p.createTermDefinition(c, context, prefix, defined, override); err != nil {
					return err
				}
			}
			if ptd, ok := c.terms[prefix]; ok {
				if ptd == nil {
					return errUnsupported // json-gold dereferences the nil definition
				}
				def.id = ptd.id + term[colIndex+1:]
			} else {
				def.id = term
			}
		} else if c.hasVocab {
			def.id = c.vocab + term
		} else if term != "@type" {
			return ld.NewJsonLdError(ld.InvalidIRIMapping, "relative term definition without vocab mapping")
		}
	}

	pv, pFound := mapValue["@protected"]
	var pBool bool
	if pFound {
		b, ok := pv.(bool)
		if !ok {
			return errUnsupported // json-gold panics on a non-boolean @protected
		}
		pBool = b
	}
	if (pFound && pBool) || (defined["@protected"] && !(pFound && !pBool)) {
		c.hasProtected = true
		def.protected = true
	}

	defined[term] = true

	defer func() { def.typSlice = []string{def.typ} }()
	if tv, present := val["@type"]; present {
		ts, isStr := tv.(string)
		if !isStr {
			return ld.NewJsonLdError(ld.InvalidTypeMapping, tv)
		}
		if ts != "@id" && ts != "@vocab" && ts != "@json" && ts != "@none" {
			e, err := p.expandIRIDef(c, ts, false, true, context, defined)
			if err != nil {
				var le *ld.JsonLdError
				if !errors.As(err, &le) || le.Code != ld.InvalidIRIMapping {
					return err
				}
				return ld.NewJsonLdError(ld.InvalidTypeMapping, ts)
			}
			ts = e
			if !ld.IsAbsoluteIri(ts) {
				return ld.NewJsonLdError(ld.InvalidTypeMapping, "an @context @type value must be an absolute IRI")
			}
			if strings.HasPrefix(ts, "_:") {
				return ld.NewJsonLdError(ld.InvalidTypeMapping, "an @context @type values must be an IRI, not a blank node identifier")
			}
		}
		def.typ = ts
	}

	if cv, has := val["@container"]; has {
		var container []string
		cset := map[string]bool{}
		if arr, isArr := cv.([]any); isArr {
			container = make([]string, 0, len(arr))
			for _, x := range arr {
				s, ok := x.(string)
				if !ok {
					return errUnsupported // json-gold panics on a non-string container entry
				}
				container = append(container, s)
				cset[s] = true
			}
		} else {
			s, ok := cv.(string)
			if !ok {
				return errUnsupported
			}
			container = []string{s}
			cset[s] = true
		}
		if cset["@list"] && len(container) != 1 {
			return ld.NewJsonLdError(ld.InvalidContainerMapping, "@context @container with @list must have no other values")
		}
		if cset["@graph"] {
			for k := range cset {
				if k != "@graph" && k != "@id" && k != "@index" && k != "@set" {
					return ld.NewJsonLdError(ld.InvalidContainerMapping, "@context @container with @graph must have no other values other than @id, @index, and @set")
				}
			}
		} else {
			maxLen := 1
			if cset["@set"] {
				maxLen = 2
			}
			if len(container) > maxLen {
				return ld.NewJsonLdError(ld.InvalidContainerMapping, "@set can only be combined with one more type")
			}
		}
		if cset["@type"] {
			if def.typ == "" {
				def.typ = "@id"
			}
			if def.typ != "@id" && def.typ != "@vocab" {
				return ld.NewJsonLdError(ld.InvalidTypeMapping, "container: @type requires @type to be @id or @vocab")
			}
		}
		for _, v := range container {
			switch v {
			case "@list":
				def.cmask |= cList
			case "@set":
				def.cmask |= cSet
			case "@index":
				def.cmask |= cIndex
			case "@language":
				def.cmask |= cLanguage
			case "@graph":
				def.cmask |= cGraph
			case "@id":
				def.cmask |= cID
			case "@type":
				def.cmask |= cType
			default:
				return ld.NewJsonLdError(ld.InvalidContainerMapping, "@context @container value is not valid: "+v)
			}
		}
		if cset["@set"] && cset["@list"] {
			return ld.NewJsonLdError(ld.InvalidContainerMapping, "@set not allowed with @list")
		}
		if def.reverse {
			for k := range cset {
				if k != "@index" && k != "@set" {
					return ld.NewJsonLdError(ld.InvalidReverseProperty,
						"@context @container value for an @reverse type definition must be @index or @set")
				}
			}
		}
		def.container = container
		if term == "@type" {
			def.id = "@type"
		}
	}

	if iv, has := val["@index"]; has {
		_, hasContainer := val["@container"]
		if !hasContainer || def.container == nil {
			return ld.NewJsonLdError(ld.InvalidTermDefinition, fmt.Sprintf("@index without @index in @container: %v on term %s", iv, term))
		}
		is, isStr := iv.(string)
		if !isStr || strings.HasPrefix(is, "@") {
			return ld.NewJsonLdError(ld.InvalidTermDefinition, fmt.Sprintf("@index must expand to an IRI: %v on term %s", iv, term))
		}
		def.index = is
	}

	if cv, has := val["@context"]; has {
		def.hasContext = true
		def.scoped = &scopedCtx{raw: cv}
	}

	_, hasType := val["@type"]
	if lv, has := val["@language"]; has && !hasType {
		switch l := lv.(type) {
		case string:
			s := strings.ToLower(l)
			def.language = &s
			def.hasLanguage = true
		case nil:
			def.hasLanguage = true
		default:
			return ld.NewJsonLdError(ld.InvalidLanguageMapping, "@language must be a string or null")
		}
	}

	if pv, has := val["@prefix"]; has {
		if strings.ContainsAny(term, ":/") {
			return ld.NewJsonLdError(ld.InvalidTermDefinition, "@prefix used on compact or relative IRI term")
		}
		b, isBool := pv.(bool)
		if !isBool {
			return ld.NewJsonLdError(ld.InvalidPrefixValue, "@context value for @prefix must be boolean")
		}
		if isKeyword(def.id) {
			return ld.NewJsonLdError(ld.InvalidTermDefinition, "keywords may not be used as prefixes")
		}
		if b {
			def.prefix = 2
		} else {
			def.prefix = 1
		}
	}

	if dv, has := val["@direction"]; has {
		switch d := dv.(type) {
		case string:
			s := strings.ToLower(d)
			def.direction = &s
			def.hasDirection = true
		case nil:
			def.hasDirection = true
		default:
			return ld.NewJsonLdError(ld.InvalidBaseDirection, fmt.Sprintf("direction must be null, 'ltr', or 'rtl', was %v on term %s", dv, term))
		}
	}

	if nv, has := val["@nest"]; has {
		n, isStr := nv.(string)
		if !isStr {
			return ld.NewJsonLdError(ld.InvalidNestValue, "@context @nest value must be a string which is not a keyword other than @nest")
		}
		if n == "" {
			return errUnsupported // json-gold indexes n[0]
		}
		if n != "@nest" && n[0] == '@' {
			return ld.NewJsonLdError(ld.InvalidNestValue, "@context @nest value must be a string which is not a keyword other than @nest")
		}
		def.nest = n
	}

	if def.id == "@context" || def.id == "@preserve" {
		return ld.NewJsonLdError(ld.InvalidKeywordAlias, "@context and @preserve cannot be aliased")
	}

	if prev != nil && prev.protected && !override {
		c.hasProtected = true
		def.protected = true
		if !sameTermDef(prev, def) {
			return ld.NewJsonLdError(ld.ProtectedTermRedefinition, "invalid JSON-LD syntax; tried to redefine a protected term")
		}
	}

	def.stable = c.cacheable
	c.terms[term] = def
	return nil
}

// sameTermDef is json-gold's DeepCompareTermDef: @prefix is not compared.
func sameTermDef(a, b *termDef) bool {
	if a.id != b.id || a.reverse != b.reverse || a.typ != b.typ || a.hasContext != b.hasContext ||
		a.nest != b.nest || a.index != b.index || a.protected != b.protected ||
		!reflect.DeepEqual(a.container, b.container) ||
		!reflect.DeepEqual(a.direction, b.direction) || a.hasDirection != b.hasDirection ||
		!reflect.DeepEqual(a.language, b.language) || a.hasLanguage != b.hasLanguage {
		return false
	}
	var ra, rb any
	if a.scoped != nil {
		ra = a.scoped.raw
	}
	if b.scoped != nil {
		rb = b.scoped.raw
	}
	return ld.DeepCompare(ra, rb, false)
}

// expandIRIDef is json-gold's ExpandIri while a local context is being processed.
func (p *ctxProc) expandIRIDef(c *activeCtx, value string, relative, vocab bool, context map[string]any, defined map[string]bool) (string, error) {
	if isKeyword(value) {
		return value, nil
	}
	if reservedKeywordLike(value) {
		return "", nil
	}
	if context != nil {
		if _, ok := context[value]; ok && !defined[value] {
			if err := p.createTermDefinition(c, context, value, defined, false); err != nil {
				return "", err
			}
		}
	}
	if vocab {
		if td, ok := c.terms[value]; ok {
			if td != nil {
				return td.id, nil
			}
			return "", nil
		}
	}
	if colIndex := strings.IndexByte(value, ':'); colIndex > 0 {
		prefix, suffix := value[:colIndex], value[colIndex+1:]
		if prefix == "_" || strings.HasPrefix(suffix, "//") {
			return value, nil
		}
		if context != nil {
			if _, ok := context[prefix]; ok && !defined[prefix] {
				if err := p.createTermDefinition(c, context, prefix, defined, false); err != nil {
					return "", err
				}
			}
		}
		if td, ok := c.terms[prefix]; ok {
			if td == nil {
				return "", errUnsupported
			}
			if td.id != "" && td.prefix == 2 {
				return td.id + suffix, nil
			}
		}
		if ld.IsAbsoluteIri(value) {
			return value, nil
		}
	}
	if vocab && c.hasVocab {
		return c.vocab + value, nil
	}
	if relative {
		return value, nil // the base IRI is always empty here
	}
	if context != nil && ld.IsRelativeIri(value) {
		return "", ld.NewJsonLdError(ld.InvalidIRIMapping, "not an absolute IRI: "+value)
	}
	return value, nil
}

// expandIRI is json-gold's ExpandIri during expansion (no local context), with an empty base.
func (c *activeCtx) expandIRI(value string, relative, vocab bool) (string, error) {
	if len(value) > 1 && value[0] == '@' {
		if ld.IsKeyword(value) {
			return value, nil
		}
		if reservedKeywordLike(value) {
			return "", nil
		}
	}
	if vocab {
		if td, ok := c.terms[value]; ok {
			if td != nil {
				return td.id, nil
			}
			return "", nil
		}
	}
	if colIndex := strings.IndexByte(value, ':'); colIndex > 0 {
		prefix, suffix := value[:colIndex], value[colIndex+1:]
		if prefix == "_" || strings.HasPrefix(suffix, "//") {
			return value, nil
		}
		if td, ok := c.terms[prefix]; ok {
			if td == nil {
				return "", errUnsupported
			}
			if td.id != "" && td.prefix == 2 {
				return td.id + suffix, nil
			}
		}
		if goldAbsolute(value) {
			return value, nil
		}
	}
	if vocab && c.hasVocab {
		return c.vocab + value, nil
	}
	return value, nil
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
