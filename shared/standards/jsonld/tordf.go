package jsonld

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Deserialization to RDF mirrors json-gold's GenerateNodeMap + GraphToRDF + objectToRDF
// (ld/api_generate_node_map.go, ld/rdf_dataset.go, ld/node.go). What matters for the canonical
// output is the multiset of quads up to blank node names, so the order of the walk is free but
// json-gold's de-duplication is not: it drops a value equal to one already on the same
// subject and property by its own notion of equality (raw @value, @type, @language), and keeps
// every other repeated statement, which then appears twice in its canonical output.

const (
	xsdNS         = "http://www.w3.org/2001/XMLSchema#"
	xsdString     = xsdNS + "string"
	xsdBoolean    = xsdNS + "boolean"
	xsdDouble     = xsdNS + "double"
	xsdInteger    = xsdNS + "integer"
	rdfNS         = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	rdfType       = rdfNS + "type"
	rdfFirst      = rdfNS + "first"
	rdfRest       = rdfNS + "rest"
	rdfNil        = rdfNS + "nil"
	rdfLangString = rdfNS + "langString"
)

// nodeRef names a node: a blank node (bn >= 0) or an IRI.
type nodeRef struct {
	bn  int32
	iri string
}

var defaultGraph = nodeRef{bn: -2}

const (
	mRef uint8 = iota + 1
	mValue
	mList
)

type mval struct {
	kind uint8
	ref  nodeRef
	v    *enode
	list *mlist
}

type mlist struct{ items []mval }

type mprop struct {
	pred string // "@type" for types
	vals []mval
}

type mnode struct {
	ref   nodeRef
	props []mprop
}

type mgraph struct {
	name  nodeRef
	nodes map[nodeRef]*mnode
	order []*mnode
}

type nodeMapper struct {
	graphs  map[nodeRef]*mgraph
	gorder  []*mgraph
	labels  map[string]int32 // document blank node labels
	nblank  int32
	quads   []quad
	scratch []byte
}

func newNodeMapper() *nodeMapper {
	return &nodeMapper{graphs: map[nodeRef]*mgraph{}, labels: map[string]int32{}}
}

func (m *nodeMapper) newBlank() nodeRef {
	b := m.nblank
	m.nblank++
	return nodeRef{bn: b}
}

func (m *nodeMapper) ref(id string) nodeRef {
	if strings.HasPrefix(id, "_:") {
		if b, ok := m.labels[id]; ok {
			return nodeRef{bn: b}
		}
		r := m.newBlank()
		m.labels[id] = r.bn
		return r
	}
	return nodeRef{bn: -1, iri: id}
}

func (m *nodeMapper) graph(name nodeRef) *mgraph {
	g := m.graphs[name]
	if g == nil {
		g = &mgraph{name: name, nodes: map[nodeRef]*mnode{}}
		m.graphs[name] = g
		m.gorder = append(m.gorder, g)
	}
	return g
}

// sameValue is json-gold's CompareValues for what can meet on one property.
func sameValue(a, b mval) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case mRef:
		return a.ref == b.ref
	case mValue:
		x, y := a.v, b.v
		if x.val != y.val || x.hasType != y.hasType || x.hasLang != y.hasLang {
			return false
		}
		if x.hasType && x.types[0] != y.types[0] {
			return false
		}
		return !x.hasLang || x.lang == y.lang
	}
	return false // lists are never equal
}

func (n *mnode) prop(pred string) *mprop {
	for i := range n.props {
		if n.props[i].pred == pred {
			return &n.props[i]
		}
	}
	n.props = append(n.props, mprop{pred: pred})
	return &n.props[len(n.props)-1]
}

func (n *mnode) add(pred string, v mval) {
	p := n.prop(pred)
	if v.kind != mList {
		for _, e := range p.vals {
			if sameValue(e, v) {
				return
			}
		}
	}
	p.vals = append(p.vals, v)
}

// generate is GenerateNodeMap for one element. subject is nil at the top of a graph.
func (m *nodeMapper) generate(e *enode, g *mgraph, subject *mnode, prop string, list *mlist) error {
	switch e.kind {
	case eValue:
		v := mval{kind: mValue, v: e}
		if list != nil {
			list.items = append(list.items, v)
		} else if subject != nil {
			subject.add(prop, v)
		}
		return nil
	case eList:
		l := &mlist{}
		for _, it := range e.list {
			if err := m.generate(it, g, subject, prop, l); err != nil {
				return err
			}
		}
		v := mval{kind: mList, list: l}
		if list != nil {
			list.items = append(list.items, v)
		} else if subject != nil {
			subject.add(prop, v)
		}
		return nil
	}

	if e.hasLang || e.hasDir {
		// json-gold hands the string to GenerateNodeMap, which refuses it.
		return fmt.Errorf("jsonld: a node object cannot have @language or @direction")
	}
	var r nodeRef
	if e.hasID {
		r = m.ref(e.id)
	} else {
		r = m.newBlank()
	}
	node := g.nodes[r]
	if node == nil {
		node = &mnode{ref: r}
		g.nodes[r] = node
		g.order = append(g.order, node)
	}
	if prop != "" {
		v := mval{kind: mRef, ref: r}
		if list != nil {
			list.items = append(list.items, v)
		} else if subject != nil {
			subject.add(prop, v)
		}
	}
	if e.hasType {
		for _, t := range e.types {
			node.add("@type", mval{kind: mRef, ref: m.ref(t)})
		}
	}
	if e.hasGraph {
		ng := m.graph(r)
		for _, it := range e.graph {
			if err := m.generate(it, ng, nil, "", nil); err != nil {
				return err
			}
		}
	}
	for i := range e.props {
		p := &e.props[i]
		node.prop(p.iri)
		for _, it := range p.vals {
			if err := m.generate(it, g, node, p.iri, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// quad is one statement with its non-blank terms already serialized as json-gold writes them.
type quad struct {
	s, o, g int32  // blank node numbers, or -1
	sStr    string // "<iri>" when s < 0
	pStr    string // "<iri>"
	oStr    string // "<iri>" or a literal when o < 0
	gStr    string // "<iri>" when g < 0; "" for the default graph
}

func (m *nodeMapper) toRDF() error {
	for _, g := range m.gorder {
		gb, gs := int32(-1), ""
		if g.name != defaultGraph {
			if g.name.bn >= 0 {
				gb = g.name.bn
			} else {
				gs = iriTerm(g.name.iri)
			}
		}
		for _, n := range g.order {
			sb, ss := int32(-1), ""
			if n.ref.bn >= 0 {
				sb = n.ref.bn
			} else {
				ss = iriTerm(n.ref.iri)
			}
			for _, p := range n.props {
				pred := p.pred
				if pred == "@type" {
					pred = rdfType
				}
				ps := iriTerm(pred)
				for _, v := range p.vals {
					ob, os, err := m.object(v, gb, gs)
					if err != nil {
						return err
					}
					m.quads = append(m.quads, quad{s: sb, sStr: ss, pStr: ps, o: ob, oStr: os, g: gb, gStr: gs})
				}
			}
		}
	}
	return nil
}

func iriTerm(iri string) string { return "<" + escapeNQ(iri) + ">" }

var (
	firstTerm = iriTerm(rdfFirst)
	restTerm  = iriTerm(rdfRest)
	nilTerm   = iriTerm(rdfNil)
)

// object is objectToRDF (with parseList): it returns the object term and appends list quads.
func (m *nodeMapper) object(v mval, gb int32, gs string) (int32, string, error) {
	switch v.kind {
	case mRef:
		if v.ref.bn >= 0 {
			return v.ref.bn, "", nil
		}
		return -1, iriTerm(v.ref.iri), nil
	case mList:
		items := v.list.items
		if len(items) == 0 {
			return -1, nilTerm, nil
		}
		head := m.newBlank().bn
		subj := head
		for i, it := range items {
			ob, os, err := m.object(it, gb, gs)
			if err != nil {
				return 0, "", err
			}
			m.quads = append(m.quads, quad{s: subj, pStr: firstTerm, o: ob, oStr: os, g: gb, gStr: gs})
			if i == len(items)-1 {
				m.quads = append(m.quads, quad{s: subj, pStr: restTerm, o: -1, oStr: nilTerm, g: gb, gStr: gs})
			} else {
				next := m.newBlank().bn
				m.quads = append(m.quads, quad{s: subj, pStr: restTerm, o: next, g: gb, gStr: gs})
				subj = next
			}
		}
		return head, "", nil
	}
	lit, err := m.literal(v.v)
	return -1, lit, err
}

// literal serializes a value object as json-gold's objectToRDF + toNQuad do.
func (m *nodeMapper) literal(e *enode) (string, error) {
	dt := ""
	if e.hasType {
		dt = e.types[0]
	}
	b := m.scratch[:0]
	b = append(b, '"')
	var lex string
	switch v := e.val.(type) {
	case bool:
		lex = strconv.FormatBool(v)
		if dt == "" {
			dt = xsdBoolean
		}
	case float64:
		lex, dt = numberLexical(v, dt)
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return "", fmt.Errorf("jsonld: number %s is out of range", v)
		}
		lex, dt = numberLexical(f, dt)
	case string:
		if e.hasLang {
			b = appendEscaped(b, v)
			b = append(b, '"', '@')
			b = append(b, e.lang...)
			m.scratch = b
			return string(b), nil
		}
		lex = v
		if dt == "" {
			dt = xsdString
		}
	default:
		return "", fmt.Errorf("jsonld: unsupported value of type %T", e.val)
	}
	b = appendEscaped(b, lex)
	b = append(b, '"')
	if dt == rdfLangString {
		b = append(b, '@')
	} else if dt != xsdString {
		b = append(b, "^^<"...)
		b = appendEscaped(b, dt)
		b = append(b, '>')
	}
	m.scratch = b
	return string(b), nil
}

func numberLexical(f float64, dt string) (string, string) {
	isInteger := f == math.Trunc(f) && int64Range(f)
	if !isInteger || dt == xsdDouble {
		if dt == "" {
			dt = xsdDouble
		}
		return canonicalDouble(f), dt
	}
	if dt == "" {
		dt = xsdInteger
	}
	return strconv.FormatInt(int64(f), 10), dt
}

// canonicalDouble is json-gold's GetCanonicalDouble: %1.15E with the mantissa's trailing zeros
// (all but one) and the exponent's '+' and leading zeros removed.
func canonicalDouble(f float64) string {
	s := strconv.FormatFloat(f, 'E', 15, 64)
	e := strings.IndexByte(s, 'E')
	if e < 0 {
		return s
	}
	mant, exp := s[:e], s[e+1:]
	// mantissa: the regex keeps the digit before the run of zeros that precedes 'E'
	end := len(mant)
	for end > 1 && mant[end-1] == '0' && isDigit(mant[end-2]) {
		end--
	}
	mant = mant[:end]
	neg := false
	if exp != "" && (exp[0] == '+' || exp[0] == '-') {
		neg = exp[0] == '-'
		exp = exp[1:]
	}
	for len(exp) > 1 && exp[0] == '0' {
		exp = exp[1:]
	}
	if neg {
		return mant + "E-" + exp
	}
	return mant + "E" + exp
}

// escapeNQ is json-gold's escape: \\, \", \n, \r and \t only.
func escapeNQ(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\', '"', '\n', '\r', '\t':
			return string(appendEscaped(nil, s))
		}
	}
	return s
}

func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '\\':
			rep = `\\`
		case '"':
			rep = `\"`
		case '\n':
			rep = `\n`
		case '\r':
			rep = `\r`
		case '\t':
			rep = `\t`
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, rep...)
		start = i + 1
	}
	return append(b, s[start:]...)
}
