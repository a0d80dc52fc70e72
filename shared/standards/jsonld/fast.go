package jsonld

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/piprate/json-gold/ld"
)

// ErrLimit marks a document larger or deeper than this package processes (see MaxDepth,
// MaxValues, MaxTextBytes). Both Canonicalize and CanonicalizeReference enforce the limits
// before any other work, so a hostile document costs a bounded walk and nothing more.
var ErrLimit = errors.New("jsonld: document exceeds processing limits")

// MaxTextBytes bounds the total length of all strings (keys included) in a document.
const MaxTextBytes = 8 << 20

var fallbacks atomic.Int64

// Canonicalize returns the RDFC-1.0 canonical N-Quads of a JSON-LD document (as decoded by
// encoding/json, numbers as float64 or json.Number) in safe mode, over the embedded contexts.
// The output is byte for byte what CanonicalizeReference returns; documents that use a JSON-LD
// feature the fast path does not implement are answered by CanonicalizeReference itself.
func Canonicalize(doc any) (out string, err error) {
	defer recoverInto(&err)
	if _, err := checkLimits(doc); err != nil {
		return "", err
	}
	out, err = canonicalizeFast(doc)
	if errors.Is(err, errUnsupported) {
		fallbacks.Add(1)
		return canonicalizeReferenceChecked(doc)
	}
	return out, err
}

// fastPanics counts panics of the fast path (a bug: the document is then answered by
// json-gold, so that issuing does not fail; tests require it to stay zero).
var fastPanics atomic.Int64

// Expand returns the expanded form of a document as json-gold's Expand would, after the same
// safe-mode and limit checks as Canonicalize. It lets a caller check a document without
// canonicalizing it.
func Expand(doc any) (out []any, err error) {
	defer recoverInto(&err)
	if _, err := checkLimits(doc); err != nil {
		return nil, err
	}
	w := getWorker(false)
	defer putWorker(w)
	nodes, err := w.x.expandDocument(doc)
	if errors.Is(err, errUnsupported) {
		fallbacks.Add(1)
		if err := precheckPartial(doc); err != nil {
			return nil, err
		}
		return expandGold(doc)
	}
	if err != nil {
		return nil, err
	}
	if err := w.quads(nodes); err != nil { // the node map refuses a few expanded shapes
		return nil, err
	}
	out = make([]any, len(nodes))
	for i, n := range nodes {
		out[i] = n.toJSON()
	}
	return out, nil
}

func recoverInto(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("jsonld: internal error while processing the document: %v", r)
	}
}

func canonicalizeFast(doc any) (out string, err error) {
	w := getWorker(false)
	defer putWorker(w)
	defer func() {
		if r := recover(); r != nil {
			fastPanics.Add(1)
			out, err = "", errUnsupported
		}
	}()
	nodes, err := w.x.expandDocument(doc)
	if err != nil {
		return "", err
	}
	if err := w.quads(nodes); err != nil {
		return "", err
	}
	return w.c.canonicalize(w.m.quads, int(w.m.nblank))
}

// worker is the state of one canonicalization; workers are pooled so that the memory a
// credential needs is reused rather than collected.
type worker struct {
	x expander
	m nodeMapper
	c canon
}

var workers = sync.Pool{New: func() any {
	w := &worker{}
	w.x.safe = true
	w.x.where = w.x.pointer
	w.m.init()
	return w
}}

// getWorker returns a clean worker: putWorker resets them before pooling.
func getWorker(checkOnly bool) *worker {
	w := workers.Get().(*worker)
	w.x.checkOnly = checkOnly
	return w
}

// maxPooledQuads keeps one unusually large document from pinning its buffers in the pool.
const maxPooledQuads = 4096

func putWorker(w *worker) {
	if cap(w.m.quads) > maxPooledQuads || len(w.x.nodes.buf) > 8*maxPooledQuads {
		return
	}
	w.x.reset(false)
	w.m.reset()
	w.c.reset()
	workers.Put(w)
}

func (w *worker) quads(nodes []*enode) error {
	m := &w.m
	g := m.graph(defaultGraph)
	for _, n := range nodes {
		if err := m.generate(n, g, nil, "", nil); err != nil {
			return err
		}
	}
	return m.toRDF()
}

// canonicalizeReferenceChecked is CanonicalizeReference after the limits were checked.
func canonicalizeReferenceChecked(doc any) (string, error) {
	if err := precheck(doc); err != nil {
		return "", err
	}
	return normalizeGold(doc)
}

// precheck applies to the reference path the rules json-gold does not enforce (safe mode,
// portability, blank node complexity), so both paths refuse the same documents. Where the
// fast path handles the document, its verdict is the check; elsewhere the fast expander
// checks what it understands and json-gold's expanded output is checked for the rest.
func precheck(doc any) error {
	_, err := canonicalizeFast(doc)
	if err == nil {
		return nil
	}
	if !errors.Is(err, errUnsupported) {
		return err
	}
	return precheckPartial(doc)
}

func precheckPartial(doc any) error {
	w := getWorker(true)
	_, err := w.x.expandDocument(doc)
	putWorker(w)
	if err != nil && err != errSkip {
		return err
	}
	expanded, err := expandGold(doc)
	if err != nil {
		return err
	}
	return postcheck(expanded, "")
}

func goldOptions() *ld.JsonLdOptions {
	opts := ld.NewJsonLdOptions("")
	opts.DocumentLoader = Loader{}
	opts.ProcessingMode = ld.JsonLd_1_1
	opts.SafeMode = true
	return opts
}

func goldError(err error) error {
	var lerr *ld.JsonLdError
	if errors.As(err, &lerr) && lerr.Code == ld.InvalidProperty {
		return fmt.Errorf("%w: %v", ErrSafeMode, err)
	}
	return fmt.Errorf("jsonld: canonicalize: %w", err)
}

func expandGold(doc any) (out []any, err error) {
	defer recoverInto(&err)
	out, err = ld.NewJsonLdProcessor().Expand(doc, goldOptions())
	if err != nil {
		return nil, goldError(err)
	}
	return out, nil
}

// normalizeGold is json-gold's URDNA2015 with no checks of ours. Note that json-gold's
// Normalize does not pass SafeMode on to its expansion, so on its own it enforces nothing.
func normalizeGold(doc any) (out string, err error) {
	defer recoverInto(&err)
	opts := goldOptions()
	opts.Algorithm = ld.AlgorithmURDNA2015
	opts.Format = "application/n-quads"
	res, err := ld.NewJsonLdProcessor().Normalize(doc, opts)
	if err != nil {
		return "", goldError(err)
	}
	s, _ := res.(string)
	return s, nil
}

// postcheck walks json-gold's expanded output for the safe-mode rules that can still be seen
// there: IRIs, languages, literals and numbers.
func postcheck(v any, path string) error {
	switch t := v.(type) {
	case []any:
		for _, it := range t {
			if err := postcheck(it, path); err != nil {
				return err
			}
		}
	case map[string]any:
		_, isValue := t["@value"]
		for k, val := range t {
			p := path + "/" + k
			switch k {
			case "@id":
				s, _ := val.(string)
				if code, detail := iriProblem(s); code != "" {
					return &SafeModeError{Code: code, Path: p, Detail: "the @id " + detail}
				}
			case "@type":
				if tt, ok := val.(string); ok && tt == "@json" {
					continue
				}
				for _, ty := range arrayify(val) {
					s, _ := ty.(string)
					if code, detail := iriProblem(s); code != "" {
						return &SafeModeError{Code: code, Path: p, Detail: "the type " + detail}
					}
					if isValue && s == rdfLangString {
						return &SafeModeError{Code: "unportable datatype", Path: p, Detail: "rdf:langString without a language"}
					}
				}
			case "@language":
				s, _ := val.(string)
				if !validBCP47(s) {
					return &SafeModeError{Code: "invalid @language value", Path: p, Detail: quote(s) + " is not a valid BCP47 language tag"}
				}
			case "@value":
				if t["@type"] == "@json" {
					continue
				}
				x := &expander{}
				n := &enode{val: val}
				if err := x.checkValue(n, nil); err != nil {
					var se *SafeModeError
					if errors.As(err, &se) {
						se.Path = p
					}
					return err
				}
			default:
				if isKeyword(k) {
					if err := postcheck(val, p); err != nil {
						return err
					}
					continue
				}
				if code, detail := iriProblem(k); code != "" {
					return &SafeModeError{Code: code, Path: p, Detail: "the property " + detail}
				}
				if len(k) > 1 && k[:2] == "_:" {
					return &SafeModeError{Code: "blank node predicate", Path: p, Detail: "the property " + quote(k) + " is a blank node"}
				}
				if err := postcheck(val, p); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkLimits walks the document once: depth, size, and Go types (only what encoding/json
// produces is accepted).
func checkLimits(doc any) (int, error) {
	values, text := 0, 0
	var walk func(v any, depth int) error
	walk = func(v any, depth int) error {
		values++
		if values > MaxValues {
			return fmt.Errorf("%w: more than %d JSON values", ErrLimit, MaxValues)
		}
		switch t := v.(type) {
		case map[string]any:
			if depth >= MaxDepth {
				return fmt.Errorf("%w: nested deeper than %d levels", ErrLimit, MaxDepth)
			}
			for k, x := range t {
				text += len(k)
				if err := walk(x, depth+1); err != nil {
					return err
				}
			}
		case []any:
			if depth >= MaxDepth {
				return fmt.Errorf("%w: nested deeper than %d levels", ErrLimit, MaxDepth)
			}
			for _, x := range t {
				if err := walk(x, depth+1); err != nil {
					return err
				}
			}
		case string:
			text += len(t)
		case json.Number:
			if _, err := t.Float64(); err != nil {
				return fmt.Errorf("jsonld: the number %s is out of range", t)
			}
		case float64, bool, nil:
		default:
			return fmt.Errorf("jsonld: unsupported Go value of type %T in the document (expected what encoding/json decodes)", v)
		}
		if text > MaxTextBytes {
			return fmt.Errorf("%w: more than %d bytes of text", ErrLimit, MaxTextBytes)
		}
		return nil
	}
	return values, walk(doc, 0)
}

// toJSON renders an expanded element the way json-gold's Expand does.
func (n *enode) toJSON() any {
	switch n.kind {
	case eValue:
		m := map[string]any{"@value": n.val}
		if n.hasType {
			m["@type"] = n.types[0]
		}
		if n.hasLang {
			m["@language"] = n.lang
		}
		if n.hasDir {
			m["@direction"] = n.dir
		}
		return m
	case eList:
		return map[string]any{"@list": enodesJSON(n.children)}
	}
	m := make(map[string]any, n.count())
	if n.hasID {
		m["@id"] = n.id
	}
	if n.hasType {
		types := make([]any, len(n.types))
		for i, t := range n.types {
			types[i] = t
		}
		m["@type"] = types
	}
	if n.hasGraph {
		m["@graph"] = enodesJSON(n.children)
	}
	for _, p := range n.props {
		m[p.iri] = enodesJSON(p.vals)
	}
	return m
}

func enodesJSON(ns []*enode) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = n.toJSON()
	}
	return out
}
