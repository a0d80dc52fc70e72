package jsonld

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// Expansion mirrors json-gold's expandElement/expandObject (ld/api_expand.go) for everything
// Credence's credentials use, into a typed tree instead of maps. Keys are processed in sorted
// order as json-gold does, because a few results depend on it (two keys aliasing @type).
// Constructs we do not mirror return errUnsupported; in check mode (the safe-mode pre-check of
// CanonicalizeReference) they are skipped instead and the result is marked partial.

const (
	eNode uint8 = iota + 1
	eValue
	eList
)

// enode is one expanded element: a node object (possibly a graph object), a value object or a
// list object.
type enode struct {
	kind uint8

	// node object
	id         string
	hasID      bool
	types      []string
	hasType    bool // json-gold's result has an "@type" entry
	typeIsList bool
	props      []eprop
	children   []*enode // the @graph members of a node object, the items of a list object
	hasGraph   bool
	jsSkip     int8 // entries json-gold keeps and jsonld.js does not add (for the drop rules)
	skipped    bool // check mode left part of it out, so the drop rules cannot judge it

	// value object
	hasValue bool
	val      any // string, float64, bool or json.Number; nil for "@value": null
	hasLang  bool
	lang     string
	hasDir   bool
	dir      string
}

type eprop struct {
	iri  string
	vals []*enode
}

// count is the number of entries of json-gold's expanded map.
func (n *enode) count() int {
	c := len(n.props)
	for _, b := range [...]bool{n.hasID, n.hasType, n.hasGraph, n.hasValue, n.hasLang, n.hasDir} {
		if b {
			c++
		}
	}
	return c
}

func (n *enode) addProp(iri string, vals []*enode) {
	for i := range n.props {
		if n.props[i].iri == iri {
			n.props[i].vals = append(n.props[i].vals, vals...)
			return
		}
	}
	n.props = append(n.props, eprop{iri: iri, vals: vals})
}

// eres is what json-gold's expandElement returns: nothing, one element, or an array.
type eres struct {
	one  *enode
	many []*enode
	arr  bool
}

func (r eres) none() bool { return !r.arr && r.one == nil }

func (r eres) items() []*enode {
	if r.arr {
		return r.many
	}
	if r.one != nil {
		return []*enode{r.one}
	}
	return nil
}

// itemsIn is items with the one-element case taken from the arena.
func (x *expander) itemsIn(r eres) []*enode {
	if !r.arr && r.one != nil {
		return x.one(r.one)
	}
	return r.items()
}

// Limits on what is processed; both paths enforce them before doing any work.
const (
	MaxDepth  = 64
	MaxValues = 50000
)

type pathSeg struct {
	key string
	idx int // >= 0 for an array index
}

type expander struct {
	ctxProc
	path      []pathSeg
	checkOnly bool
	partial   bool
	skips     int

	// arenas, reused from one document to the next through the worker pool
	nodes arena[enode]
	ptrs  arena[*enode]
	strs  arena[string]
	props arena[eprop]
}

func (x *expander) reset(checkOnly bool) {
	x.path = x.path[:0]
	x.checkOnly, x.partial, x.skips = checkOnly, false, 0
	x.nodes.reset()
	x.ptrs.reset()
	x.strs.reset()
	x.props.reset()
}

func (x *expander) alloc() *enode {
	s := x.nodes.take(1)[:1]
	return &s[0]
}

// one returns a one-element slice holding n.
func (x *expander) one(n *enode) []*enode {
	return append(x.ptrs.take(1), n)
}

func (x *expander) pointer() string {
	var b strings.Builder
	for _, s := range x.path {
		b.WriteByte('/')
		if s.idx >= 0 {
			b.WriteString(strconv.Itoa(s.idx))
			continue
		}
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(s.key))
	}
	return b.String()
}

func (x *expander) push(key string) { x.path = append(x.path, pathSeg{key: key, idx: -1}) }
func (x *expander) pushIdx(i int)   { x.path = append(x.path, pathSeg{idx: i}) }
func (x *expander) pop()            { x.path = x.path[:len(x.path)-1] }

// locatedError is a JSON-LD syntax error (json-gold's kind) with where it was found.
type locatedError struct {
	path string
	err  error
}

func (e *locatedError) Error() string { return "jsonld: " + e.err.Error() + " at " + e.path }
func (e *locatedError) Unwrap() error { return e.err }

// locate adds the current path to a json-gold style error the first time it passes by.
func (x *expander) locate(err error) error {
	var le *ld.JsonLdError
	if err == nil || !errors.As(err, &le) {
		return err
	}
	var loc *locatedError
	if errors.As(err, &loc) {
		return err
	}
	return &locatedError{path: x.pointer(), err: err}
}

func (x *expander) safeErr(code, detail string) error {
	return &SafeModeError{Code: code, Path: x.pointer(), Detail: detail}
}

// unsupported ends the fast path, or in check mode records that part of the document could
// not be checked here (CanonicalizeReference then checks json-gold's expansion instead).
func (x *expander) unsupported() error {
	if x.checkOnly {
		x.partial = true
		x.skips++
		return errSkip
	}
	return errUnsupported
}

var errSkip = fmt.Errorf("jsonld: skipped")

// expandDocument is json-gold's JsonLdProcessor.expand for an input that is already JSON.
func (x *expander) expandDocument(doc any) ([]*enode, error) {
	r, err := x.expandElement(rootCtx, "", doc, false, nil)
	if err != nil {
		return nil, err
	}
	if !r.arr && r.one != nil {
		n := r.one
		if n.kind == eNode && n.count() == 0 {
			return nil, nil
		}
		if n.kind == eNode && n.hasGraph && n.count() == 1 {
			return n.children, nil
		}
		return []*enode{n}, nil
	}
	return r.items(), nil
}

func (x *expander) expandElement(ctx *activeCtx, activeProp string, element any, insideIndex bool, tsc *activeCtx) (eres, error) {
	switch elem := element.(type) {
	case nil:
		return eres{}, nil
	case []any:
		out := x.ptrs.take(len(elem))
		listContainer := activeProp == "@list" || ctx.hasContainer(activeProp, cList)
		for i, item := range elem {
			x.pushIdx(i)
			r, err := x.expandElement(ctx, activeProp, item, insideIndex, tsc)
			x.pop()
			if err == errSkip {
				continue
			}
			if err != nil {
				return eres{}, err
			}
			if r.arr && listContainer {
				l := x.alloc()
				l.kind, l.children = eList, r.many
				out = append(out, l)
				continue
			}
			if r.arr {
				out = append(out, r.many...)
			} else if r.one != nil {
				out = append(out, r.one)
			}
		}
		return eres{many: out, arr: true}, nil
	case map[string]any:
		return x.expandMap(ctx, activeProp, elem, insideIndex, tsc)
	default:
		if activeProp == "" || activeProp == "@graph" {
			return eres{}, x.safeErr("free-floating scalar", "the value "+describe(element)+" is not attached to any property and would be dropped")
		}
		return x.expandValue(ctx, activeProp, element)
	}
}

func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

func (x *expander) sortedKeys(m map[string]any) []string {
	keys := x.strs.take(len(m))
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) < 12 {
		for i := 1; i < len(keys); i++ {
			for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
			}
		}
	} else {
		sort.Strings(keys)
	}
	return keys
}

func (x *expander) expandMap(ctx *activeCtx, activeProp string, elem map[string]any, insideIndex bool, tsc *activeCtx) (eres, error) {
	expandedActiveProp, err := ctx.expandIRI(activeProp, false, true)
	if err != nil {
		return eres{}, x.orSkip(err)
	}
	var propScoped *termDef
	if td := ctx.term(activeProp); td != nil && td.scoped != nil && td.scoped.raw != nil {
		propScoped = td
	}
	if tsc == nil && ctx.previous != nil {
		tsc = ctx
	}
	keys := x.sortedKeys(elem)
	elemCtx, hasContext := elem["@context"]

	mustRevert := !insideIndex
	if mustRevert && tsc != nil && len(keys) <= 2 && !hasContext {
		for _, k := range keys {
			ep, err := tsc.expandIRI(k, false, true)
			if err != nil {
				return eres{}, x.orSkip(err)
			}
			if ep == "@value" {
				mustRevert = false
				ctx = tsc
				break
			}
			if ep == "@id" && len(keys) == 1 {
				mustRevert = false
				break
			}
		}
	}
	if mustRevert {
		ctx = ctx.revert()
	}
	if propScoped != nil {
		ctx, err = x.applyScoped(ctx, propScoped.scoped, propScoped.stable, true, true)
		if err != nil {
			return eres{}, x.orSkip(err)
		}
	}
	if hasContext {
		x.push("@context")
		ctx, err = x.applyDocContext(ctx, elemCtx)
		x.pop()
		if err != nil {
			return eres{}, x.orSkip(err)
		}
	}
	tsc = ctx

	typeKey := ""
	for _, k := range keys {
		ep, err := ctx.expandIRI(k, false, true)
		if err != nil {
			return eres{}, x.orSkip(err)
		}
		if ep != "@type" {
			continue
		}
		var types []string
		switch v := elem[k].(type) {
		case []any:
			types = x.strs.take(len(v))
			for _, t := range v {
				s, ok := t.(string)
				if !ok {
					return eres{}, ld.NewJsonLdError(ld.InvalidTypeValue, "@type value must be a string or array of strings")
				}
				types = append(types, s)
			}
			if len(types) > 1 {
				sort.Strings(types)
			}
		case string:
			types = append(x.strs.take(1), v)
		default:
			return eres{}, ld.NewJsonLdError(ld.InvalidTypeValue, "@type value must be a string or array of strings")
		}
		for _, t := range types {
			if td := tsc.term(t); td != nil && td.hasContext {
				x.push(k)
				ctx, err = x.applyScoped(ctx, td.scoped, td.stable, false, false)
				x.pop()
				if err != nil {
					return eres{}, x.orSkip(err)
				}
			}
		}
		typeKey = k
	}

	out := x.alloc()
	out.kind = eNode
	out.props = x.props.take(len(keys))
	if err := x.expandObject(ctx, activeProp, expandedActiveProp, elem, keys, out, typeKey, tsc); err != nil {
		return eres{}, err
	}

	if out.hasValue {
		if out.hasID || out.hasGraph || len(out.props) > 0 {
			return eres{}, ld.NewJsonLdError(ld.InvalidValueObject, "value object has unknown keys")
		}
		if (out.hasLang || out.hasDir) && out.hasType {
			return eres{}, ld.NewJsonLdError(ld.InvalidValueObject, "value object must not include @type with either @language or @direction")
		}
		if out.val == nil {
			return eres{}, x.safeErr("null @value value", "a value object with \"@value\": null would be dropped")
		}
		if out.hasLang {
			if _, ok := out.val.(string); !ok {
				return eres{}, ld.NewJsonLdError(ld.InvalidLanguageTaggedValue, "only strings may be language-tagged")
			}
		} else if out.hasType {
			for _, t := range out.types {
				if !goldAbsolute(t) || strings.HasPrefix(t, "_:") {
					return eres{}, ld.NewJsonLdError(ld.InvalidTypedValue,
						"an element containing @value and @type must have an absolute IRI for the value of @type")
				}
			}
			if out.typeIsList {
				// json-gold's node map keeps the first type (or panics on none); not mirrored.
				return eres{}, x.unsupported()
			}
		}
		out.kind = eValue
		if err := x.checkValue(out, nil); err != nil {
			return eres{}, err
		}
	} else if out.hasLang && out.count() == 1 && !out.skipped {
		return eres{}, x.safeErr("object with only @language", "an object with only \"@language\" would be dropped")
	}

	if activeProp == "" || activeProp == "@graph" {
		if err := x.dropCheck(out); err != nil {
			return eres{}, err
		}
	}
	return eres{one: out}, nil
}

// dropCheck applies the rule json-gold and jsonld.js share for top-level and @graph members
// (jsonld.js also applies it to @graph containers): they are dropped, which safe mode refuses.
func (x *expander) dropCheck(n *enode) error {
	if n.skipped {
		return nil
	}
	c := n.count() - int(n.jsSkip)
	switch {
	case n.kind == eValue:
		return x.safeErr("object with only @value", "a value object at the top level or in a graph would be dropped")
	case n.kind == eList:
		return x.safeErr("object with only @list", "a list at the top level or in a graph would be dropped")
	case c == 0:
		return x.safeErr("empty object", "an empty object at the top level or in a graph would be dropped")
	case c == 1 && n.hasID:
		return x.safeErr("object with only @id", "the node "+quote(n.id)+" has nothing but an @id at the top level or in a graph and would be dropped")
	}
	return nil
}

// orSkip turns errUnsupported from context processing into the check-mode skip.
func (x *expander) orSkip(err error) error {
	if err == errUnsupported {
		return x.unsupported()
	}
	return err
}

func (x *expander) expandObject(ctx *activeCtx, activeProp, expandedActiveProp string, elem map[string]any, keys []string, out *enode, typeKey string, tsc *activeCtx) error {
	inputTypeJSON := false
	if typeKey == "" {
		if _, has := elem[""]; has {
			return x.unsupported() // json-gold reads elem[""] as the input type and may panic on it
		}
	} else if it := elem[typeKey]; it != nil {
		if a, ok := it.([]any); ok {
			if len(a) > 0 {
				it = a[len(a)-1]
			} else {
				it = nil
			}
		}
		if s, ok := it.(string); ok {
			e, err := ctx.expandIRI(s, false, true)
			if err != nil {
				return x.orSkip(err)
			}
			inputTypeJSON = e == "@json"
		}
	}

	for _, key := range keys {
		if key == "@context" {
			continue
		}
		value := elem[key]
		ep, err := ctx.expandIRI(key, false, true)
		if err != nil {
			return x.orSkip(err)
		}
		skips := x.skips
		x.push(key)
		err = x.expandEntry(ctx, activeProp, expandedActiveProp, key, ep, value, out, inputTypeJSON, tsc)
		err = x.locate(err)
		x.pop()
		if x.skips != skips {
			out.skipped = true
		}
		if err == errSkip {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *expander) expandEntry(ctx *activeCtx, activeProp, expandedActiveProp, key, ep string, value any, out *enode, inputTypeJSON bool, tsc *activeCtx) error {
	if ep == "" || (!strings.Contains(ep, ":") && !isKeyword(ep)) {
		return x.safeErr("invalid property", "the property "+quote(key)+" is not defined by the active context and would be dropped")
	}
	if isKeyword(ep) {
		return x.expandKeyword(ctx, key, ep, value, out, inputTypeJSON, tsc)
	}
	td := ctx.term(key)
	if td == nil || td.id != ep || !td.idOK.Load() {
		if !iriAbsolute(ep) {
			return x.safeErr("invalid property", "the property "+quote(key)+" expands to "+quote(ep)+", which is not an absolute IRI")
		}
		if strings.HasPrefix(ep, "_:") {
			return x.safeErr("blank node predicate", "the property "+quote(key)+" expands to the blank node "+quote(ep)+", which RDF does not allow as a predicate")
		}
		if code, detail := iriProblem(ep); code != "" {
			return x.safeErr(code, "the property "+quote(key)+": "+detail)
		}
		if td != nil && td.id == ep {
			td.idOK.Store(true)
		}
	}

	termCtx := ctx
	if td != nil && td.hasContext {
		var err error
		termCtx, err = x.applyScoped(ctx, td.scoped, td.stable, true, true)
		if err != nil {
			return x.orSkip(err)
		}
	}
	if _, isMap := value.(map[string]any); isMap {
		if ttd := termCtx.term(key); ttd != nil && ttd.cmask&(cLanguage|cIndex|cID|cType) != 0 {
			return x.unsupported()
		}
	}
	if td != nil && td.typ == "@json" {
		return x.unsupported()
	}
	if ttd := termCtx.term(key); ttd != nil && ttd.reverse {
		return x.unsupported()
	}
	r, err := x.expandElement(termCtx, key, value, false, nil)
	if err != nil {
		return err
	}
	if r.none() {
		return nil
	}
	items := x.itemsIn(r)
	if termCtx.hasContainer(key, cList) && !(!r.arr && r.one.kind == eList) {
		l := x.alloc()
		l.kind, l.children = eList, items
		items = x.one(l)
	}
	if ttd := termCtx.term(key); ttd != nil && ttd.cmask&cGraph != 0 && ttd.cmask&(cID|cIndex) == 0 {
		graphs := x.ptrs.take(len(items))
		for _, it := range items {
			if err := x.dropCheck(it); err != nil {
				return err
			}
			gn := x.alloc()
			gn.kind, gn.hasGraph, gn.children = eNode, true, x.one(it)
			graphs = append(graphs, gn)
		}
		items = graphs
		if len(items) == 0 {
			out.jsSkip++ // jsonld.js adds nothing for an empty @graph container value
		}
	}
	out.addProp(ep, items)
	return nil
}

func (x *expander) expandKeyword(ctx *activeCtx, key, ep string, value any, out *enode, inputTypeJSON bool, tsc *activeCtx) error {
	collides := false
	switch ep {
	case "@id":
		collides = out.hasID
	case "@graph":
		collides = out.hasGraph
	case "@value":
		collides = out.hasValue
	case "@language":
		collides = out.hasLang
	case "@direction":
		collides = out.hasDir
	}
	if collides {
		return ld.NewJsonLdError(ld.CollidingKeywords, ep+" already exists in result")
	}
	switch ep {
	case "@id":
		s, ok := value.(string)
		if !ok {
			return ld.NewJsonLdError(ld.InvalidIDValue, "value of @id must be a string")
		}
		id, err := ctx.expandIRI(s, true, false)
		if err != nil {
			return x.orSkip(err)
		}
		if id == "" && reservedKeywordLike(s) {
			return x.safeErr("reserved @id value", "the @id "+quote(s)+" looks like a keyword and would be ignored")
		}
		if !iriAbsolute(id) {
			return x.safeErr("relative @id reference", "the @id "+quote(s)+" is not an absolute IRI")
		}
		if code, detail := iriProblem(id); code != "" {
			return x.safeErr(code, "the @id "+detail)
		}
		out.id, out.hasID = id, true
	case "@type":
		if out.hasType {
			// json-gold lets a second key aliasing @type replace the first one's types, where
			// jsonld.js merges them: the two would sign different statements.
			return x.safeErr("colliding keywords", "more than one key of this object expands to @type")
		}
		switch v := value.(type) {
		case []any:
			types := x.strs.take(len(v))
			for i, t := range v {
				s, ok := t.(string)
				if !ok {
					return ld.NewJsonLdError(ld.InvalidTypeValue, "@type value must be a string or array of strings")
				}
				x.pushIdx(i)
				e, err := x.expandType(tsc, s)
				x.pop()
				if err != nil {
					return err
				}
				types = append(types, e)
			}
			out.types = types
			out.typeIsList = true
			if len(v) == 0 {
				out.jsSkip++ // jsonld.js adds nothing for "@type": []
			}
		case string:
			e, err := x.expandType(tsc, v)
			if err != nil {
				return err
			}
			out.types = append(x.strs.take(1), e)
		case map[string]any:
			if len(v) != 0 {
				return ld.NewJsonLdError(ld.InvalidTypeValue, "@type value must be a an empty object for framing")
			}
			return x.unsupported() // json-gold keeps {} and panics on it later
		default:
			return ld.NewJsonLdError(ld.InvalidTypeValue, v)
		}
		out.hasType = true
	case "@graph":
		r, err := x.expandElement(ctx, "@graph", value, false, nil)
		if err != nil {
			return err
		}
		if r.none() {
			// json-gold keeps [nil] here and its node map then fails on it.
			return fmt.Errorf("jsonld: @graph at %s has no value", x.pointer())
		}
		out.children = x.itemsIn(r)
		out.hasGraph = true
	case "@value":
		if inputTypeJSON {
			return x.unsupported()
		}
		switch value.(type) {
		case map[string]any, []any:
			return ld.NewJsonLdError(ld.InvalidValueObjectValue, "value of @value must be a scalar or null")
		}
		out.val = value
		out.hasValue = true
	case "@language":
		s, ok := value.(string)
		if !ok {
			return ld.NewJsonLdError(ld.InvalidLanguageTaggedString, "@language value must be a string")
		}
		out.lang = strings.ToLower(s)
		out.hasLang = true
		if !validBCP47(out.lang) {
			return x.safeErr("invalid @language value", quote(s)+" is not a valid BCP47 language tag")
		}
	case "@direction":
		s, ok := value.(string)
		if !ok {
			return ld.NewJsonLdError(ld.InvalidBaseDirection, "@direction must be one of 'ltr', 'rtl'")
		}
		if s != "ltr" && s != "rtl" {
			// json-gold accepts any string; jsonld.js refuses anything else.
			return x.safeErr("invalid base direction", "@direction "+quote(s)+" is neither \"ltr\" nor \"rtl\"")
		}
		out.dir = s
		out.hasDir = true
	case "@index", "@list", "@set", "@reverse", "@nest", "@included", "@default",
		"@explicit", "@embed", "@requireAll", "@omitDefault":
		return x.unsupported()
	default:
		// json-gold ignores the remaining keywords as keys.
	}
	return nil
}

// expandType expands one @type value against the type-scoped context, as json-gold does.
func (x *expander) expandType(tsc *activeCtx, s string) (string, error) {
	e, err := tsc.expandIRI(s, true, true)
	if err != nil {
		return "", x.orSkip(err)
	}
	if e == "@json" {
		return "", x.unsupported()
	}
	td := tsc.term(s)
	if td != nil && td.id == e && td.idOK.Load() {
		return e, nil
	}
	if !iriAbsolute(e) {
		return "", x.safeErr("relative @type reference", "the type "+quote(s)+" is not defined by the active context and is not an absolute IRI")
	}
	if code, detail := iriProblem(e); code != "" {
		return "", x.safeErr(code, "the type "+detail)
	}
	if td != nil && td.id == e {
		td.idOK.Store(true)
	}
	return e, nil
}

// expandValue is json-gold's Context.ExpandValue.
func (x *expander) expandValue(ctx *activeCtx, activeProp string, value any) (eres, error) {
	td := ctx.term(activeProp)
	if td != nil && (td.typ == "@id" || td.typ == "@vocab") {
		if s, ok := value.(string); ok {
			id, err := ctx.expandIRI(s, true, td.typ == "@vocab")
			if err != nil {
				return eres{}, x.orSkip(err)
			}
			if code, detail := iriProblem(id); code != "" {
				if code == "relative reference" {
					code = "relative type reference" // jsonld.js names every relative object IRI so
				}
				return eres{}, x.safeErr(code, "the reference "+quote(s)+": "+detail)
			}
			n := x.alloc()
			n.kind, n.id, n.hasID = eNode, id, true
			return eres{one: n}, nil
		}
		n := x.alloc()
		n.kind, n.hasValue, n.val = eValue, true, value
		if err := x.checkValue(n, nil); err != nil {
			return eres{}, err
		}
		return eres{one: n}, nil
	}
	n := x.alloc()
	n.kind, n.hasValue, n.val = eValue, true, value
	if td != nil && td.typ != "" && td.typ != "@id" && td.typ != "@vocab" && td.typ != "@none" {
		n.types, n.hasType = td.typSlice, true
	} else if _, isStr := value.(string); isStr {
		if td != nil && td.hasLanguage {
			if td.language != nil {
				n.lang, n.hasLang = *td.language, true
			}
		} else if ctx.hasLanguage {
			n.lang, n.hasLang = ctx.language, true
		}
		if td != nil && td.hasDirection {
			if td.direction != nil {
				n.dir, n.hasDir = *td.direction, true
			}
		} else if ctx.direction != "" {
			n.dir, n.hasDir = ctx.direction, true
		}
	}
	if err := x.checkValue(n, td); err != nil {
		return eres{}, err
	}
	return eres{one: n}, nil
}

// checkValue refuses literals that would be dropped by json-gold or written differently from
// RDFC-1.0, and value types json-gold cannot handle.
func (x *expander) checkValue(n *enode, td *termDef) error {
	switch v := n.val.(type) {
	case string:
		if p := literalProblem(v); p != "" {
			return x.safeErr("unportable literal", p)
		}
	case bool:
	case float64:
		if err := x.checkNumber(v); err != nil {
			return err
		}
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return fmt.Errorf("jsonld: number %s at %s is out of range", v, x.pointer())
		}
		if err := x.checkNumber(f); err != nil {
			return err
		}
	default:
		return fmt.Errorf("jsonld: unsupported value of type %T at %s", n.val, x.pointer())
	}
	if n.hasLang && !validBCP47(n.lang) {
		return x.safeErr("invalid @language value", quote(n.lang)+" is not a valid BCP47 language tag")
	}
	if n.hasType {
		dt := n.types[0]
		if td != nil && td.typ == dt && td.typOK.Load() {
			return nil
		}
		if !jsAbsolute(dt) {
			return x.safeErr("relative type reference", "the datatype "+quote(dt)+" is not an absolute IRI")
		}
		if code, detail := iriProblem(dt); code != "" {
			return x.safeErr(code, "the datatype "+detail)
		}
		if dt == rdfLangString {
			return x.safeErr("unportable datatype", "rdf:langString as a datatype without a language is written differently by json-gold and RDFC-1.0")
		}
		if td != nil && td.typ == dt {
			td.typOK.Store(true)
		}
	}
	return nil
}

func (x *expander) checkNumber(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("jsonld: number at %s is not finite", x.pointer())
	}
	if f == math.Trunc(f) && !int64Range(f) && math.Abs(f) < 1e21 {
		return x.safeErr("unportable number", strconv.FormatFloat(f, 'f', -1, 64)+
			" is an integer for JavaScript processors and a double for json-gold; write it as a string or keep it within 64 bits")
	}
	return nil
}

// int64Range: json-gold writes an integral number as xsd:integer when it survives a round trip
// through int64. Outside this range the conversion is architecture-specific in Go, so those
// numbers are refused (checkNumber) or are doubles everywhere (|f| >= 1e21).
func int64Range(f float64) bool {
	return f >= -9223372036854775808.0 && f < 9223372036854775808.0
}

// arena hands out slices of a reused buffer; a slice's capacity is what was asked for, so
// appending past it moves the slice to the heap instead of overwriting a neighbour.
type arena[T any] struct {
	buf []T
	n   int
}

func (a *arena[T]) take(k int) []T {
	if a.n+k > len(a.buf) {
		size := 2 * len(a.buf)
		if size < 64 {
			size = 64
		}
		for size < k {
			size *= 2
		}
		a.buf = make([]T, size)
		a.n = 0
	}
	s := a.buf[a.n : a.n : a.n+k]
	a.n += k
	return s
}

// reset drops the references the last document left, so a pooled arena keeps no document alive.
func (a *arena[T]) reset() {
	clear(a.buf[:a.n])
	a.n = 0
}
