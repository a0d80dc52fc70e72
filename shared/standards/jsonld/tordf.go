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
	graphs map[nodeRef]*mgraph
	gorder []*mgraph
	labels map[string]int32 // document blank node labels
	nblank int32
	quads  []quad

	// reused from one document to the next (see worker)
	spare  []*mgraph
	mnodes arena[mnode]
	mprops arena[mprop]
	mvals  arena[mval]
	mlists arena[mlist]
}

func (m *nodeMapper) init() {
	m.graphs = map[nodeRef]*mgraph{}
	m.labels = map[string]int32{}
}

func (m *nodeMapper) reset() {
	for _, g := range m.gorder {
		clear(g.nodes)
		clear(g.order)
		g.order = g.order[:0]
		m.spare = append(m.spare, g)
	}
	clear(m.gorder)
	m.gorder = m.gorder[:0]
	clear(m.graphs)
	clear(m.labels)
	m.nblank = 0
	clear(m.quads)
	m.quads = m.quads[:0]
	m.mnodes.reset()
	m.mprops.reset()
	m.mvals.reset()
	m.mlists.reset()
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
		if n := len(m.spare); n > 0 {
			g = m.spare[n-1]
			m.spare = m.spare[:n-1]
			g.name = name
		} else {
			g = &mgraph{name: name, nodes: map[nodeRef]*mnode{}}
		}
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
		ls := m.mlists.take(1)[:1]
		l := &ls[0]
		l.items = m.mvals.take(len(e.children))
		for _, it := range e.children {
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
		ns := m.mnodes.take(1)[:1]
		node = &ns[0]
		node.ref, node.props = r, m.mprops.take(len(e.props)+1)
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
		if tp := node.prop("@type"); tp.vals == nil {
			tp.vals = m.mvals.take(len(e.types))
		}
		for _, t := range e.types {
			node.add("@type", mval{kind: mRef, ref: m.ref(t)})
		}
	}
	if e.hasGraph {
		ng := m.graph(r)
		for _, it := range e.children {
			if err := m.generate(it, ng, nil, "", nil); err != nil {
				return err
			}
		}
	}
	for i := range e.props {
		p := &e.props[i]
		if mp := node.prop(p.iri); mp.vals == nil {
			mp.vals = m.mvals.take(len(p.vals))
		}
		for _, it := range p.vals {
			if err := m.generate(it, g, node, p.iri, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// rterm is an RDF term of a quad. Terms are serialized when written (rdfc.go), which avoids
// building strings for IRIs that are written many times.
type rterm struct {
	bn   int32 // >= 0: blank node
	kind uint8
	val  string // IRI, or a literal's lexical form
	dt   string // literal datatype
	lang string
}

const (
	tNone uint8 = iota // the default graph
	tBlank
	tIRI
	tLiteral
)

type quad struct {
	s, o, g rterm
	p       string // predicate IRI
}

func blankTerm(b int32) rterm { return rterm{bn: b, kind: tBlank} }
func iriT(iri string) rterm   { return rterm{bn: -1, kind: tIRI, val: iri} }
func (r nodeRef) term() rterm {
	if r.bn >= 0 {
		return blankTerm(r.bn)
	}
	return iriT(r.iri)
}

func (m *nodeMapper) toRDF() error {
	n := 0
	for _, g := range m.gorder {
		for _, nd := range g.order {
			for _, p := range nd.props {
				for _, v := range p.vals {
					n += quadsFor(v)
				}
			}
		}
	}
	if cap(m.quads) < n {
		m.quads = make([]quad, 0, n)
	}
	for _, g := range m.gorder {
		gt := rterm{bn: -1, kind: tNone}
		if g.name != defaultGraph {
			gt = g.name.term()
		}
		for _, n := range g.order {
			st := n.ref.term()
			for _, p := range n.props {
				pred := p.pred
				if pred == "@type" {
					pred = rdfType
				}
				for _, v := range p.vals {
					ot, err := m.object(v, gt)
					if err != nil {
						return err
					}
					m.quads = append(m.quads, quad{s: st, p: pred, o: ot, g: gt})
				}
			}
		}
	}
	return nil
}

// quadsFor counts the quads a value becomes.
func quadsFor(v mval) int {
	n := 1
	if v.kind == mList {
		for _, it := range v.list.items {
			n += 1 + quadsFor(it)
		}
	}
	return n
}

// object is objectToRDF (with parseList): it returns the object term and appends list quads.
func (m *nodeMapper) object(v mval, gt rterm) (rterm, error) {
	switch v.kind {
	case mRef:
		return v.ref.term(), nil
	case mList:
		items := v.list.items
		if len(items) == 0 {
			return iriT(rdfNil), nil
		}
		head := m.newBlank().bn
		subj := head
		for i, it := range items {
			ot, err := m.object(it, gt)
			if err != nil {
				return rterm{}, err
			}
			m.quads = append(m.quads, quad{s: blankTerm(subj), p: rdfFirst, o: ot, g: gt})
			if i == len(items)-1 {
				m.quads = append(m.quads, quad{s: blankTerm(subj), p: rdfRest, o: iriT(rdfNil), g: gt})
			} else {
				next := m.newBlank().bn
				m.quads = append(m.quads, quad{s: blankTerm(subj), p: rdfRest, o: blankTerm(next), g: gt})
				subj = next
			}
		}
		return blankTerm(head), nil
	}
	return literalTerm(v.v)
}

// literalTerm is json-gold's objectToRDF for a value object.
func literalTerm(e *enode) (rterm, error) {
	t := rterm{bn: -1, kind: tLiteral}
	if e.hasType {
		t.dt = e.types[0]
	}
	switch v := e.val.(type) {
	case bool:
		t.val = strconv.FormatBool(v)
		if t.dt == "" {
			t.dt = xsdBoolean
		}
	case float64:
		t.val, t.dt = numberLexical(v, t.dt)
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return t, fmt.Errorf("jsonld: number %s is out of range", v)
		}
		t.val, t.dt = numberLexical(f, t.dt)
	case string:
		t.val = escapeLiteral(v)
		if e.hasLang {
			t.dt, t.lang = rdfLangString, e.lang
		} else if t.dt == "" {
			t.dt = xsdString
		}
	default:
		return t, fmt.Errorf("jsonld: unsupported value of type %T", e.val)
	}
	return t, nil
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

// escapeLiteral escapes a literal once, when its quad is made; IRIs need no escaping because
// safe mode refuses every IRI containing a character json-gold escapes.
func escapeLiteral(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\', '"', '\n', '\r', '\t':
			return string(appendEscaped(make([]byte, 0, len(s)+8), s))
		}
	}
	return s
}

// appendEscaped is json-gold's escape: \\\\, \\", \\n, \\r and \\t only.
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
