package jsonld

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
)

// URDNA2015 / RDFC-1.0 over the quads of tordf.go, following json-gold's NormalisationAlgorithm
// (ld/api_normalize.go) including its two departures from a set-based reading of the spec: a
// statement that occurs twice is kept twice, and a quad that mentions a blank node twice is
// listed twice among that blank node's quads.

// ErrTooComplex is returned for a document whose blank nodes would make canonicalization do
// more work than any credential needs (RDFC-1.0 §4.4 "poison graphs").
var ErrTooComplex = errors.New("jsonld: canonicalization would take too long (too many indistinguishable blank nodes)")

// nDegreeRuns counts canonicalizations that needed Hash N-Degree Quads (for tests).
var nDegreeRuns atomic.Int64

// maxNDegreeWork bounds Hash N-Degree Quads calls plus permutations tried.
const maxNDegreeWork = 200000

type canon struct {
	quads  []quad
	nblank int
	bq     [][]int32 // quad indexes per blank node, repeated when a quad names it twice
	fdHash [][sha256.Size]byte
	fdDone []bool
	canon  issuer
	work   int
	h      hash.Hash
	buf    []byte
	rbuf   []byte
	lines  []span
	groups []hashed
}

// span is a line in canon.buf; sorting spans moves no pointers.
type span struct{ start, end int32 }

type hashed struct {
	hash [sha256.Size]byte
	b    int32
}

// issuer is an Identifier Issuer over blank node numbers.
type issuer struct {
	prefix string
	ids    []int32 // per blank node: issued number, or -1
	order  []int32 // blank nodes in the order they were issued
}

func newIssuer(prefix string, n int) issuer {
	is := issuer{prefix: prefix}
	is.init(n)
	return is
}

func (is *issuer) init(n int) {
	if cap(is.ids) < n {
		is.ids = make([]int32, n)
	}
	is.ids = is.ids[:n]
	for i := range is.ids {
		is.ids[i] = -1
	}
	is.order = is.order[:0]
}

func (is *issuer) clone() issuer {
	return issuer{prefix: is.prefix, ids: slices.Clone(is.ids), order: slices.Clone(is.order)}
}

func (is *issuer) has(b int32) bool { return is.ids[b] >= 0 }

func (is *issuer) issue(b int32) int32 {
	if n := is.ids[b]; n >= 0 {
		return n
	}
	n := int32(len(is.order))
	is.ids[b] = n
	is.order = append(is.order, b)
	return n
}

func (is *issuer) appendID(dst []byte, b int32) []byte {
	dst = append(dst, is.prefix...)
	return strconv.AppendInt(dst, int64(is.issue(b)), 10)
}

func (c *canon) reset() {
	c.quads = nil
	c.buf = c.buf[:0]
	c.lines = c.lines[:0]
	c.groups = c.groups[:0]
}

func (c *canon) canonicalize(quads []quad, nblank int) (string, error) {
	c.quads, c.nblank, c.work = quads, nblank, 0
	if c.h == nil {
		c.h = sha256.New()
	}
	if cap(c.bq) < nblank {
		c.bq = make([][]int32, nblank)
	}
	c.bq = c.bq[:nblank]
	for i := range c.bq {
		c.bq[i] = c.bq[i][:0]
	}
	for i := range c.quads {
		q := &c.quads[i]
		for _, t := range [...]*rterm{&q.s, &q.o, &q.g} {
			if t.kind == tBlank {
				c.bq[t.bn] = append(c.bq[t.bn], int32(i))
			}
		}
	}
	if cap(c.fdHash) < nblank {
		c.fdHash = make([][sha256.Size]byte, nblank)
		c.fdDone = make([]bool, nblank)
	}
	c.fdHash, c.fdDone = c.fdHash[:nblank], c.fdDone[:nblank]
	clear(c.fdDone)
	c.canon.prefix = "_:c14n"
	c.canon.init(nblank)
	size := 0
	for i := range c.quads {
		q := &c.quads[i]
		size += len(q.s.val) + len(q.p) + len(q.o.val) + len(q.o.dt) + len(q.o.lang) + len(q.g.val) + 48
	}
	if cap(c.buf) < size {
		c.buf = make([]byte, 0, size)
	}

	// Blank nodes that appear in no quad never get a canonical name and are never written.
	c.groups = c.groups[:0]
	for b := 0; b < c.nblank; b++ {
		if len(c.bq[b]) > 0 {
			c.groups = append(c.groups, hashed{c.firstDegree(int32(b)), int32(b)})
		}
	}
	slices.SortFunc(c.groups, func(a, b hashed) int { return bytes.Compare(a.hash[:], b.hash[:]) })
	var shared [][]hashed
	for i := 0; i < len(c.groups); {
		j := i + 1
		for j < len(c.groups) && c.groups[j].hash == c.groups[i].hash {
			j++
		}
		if j == i+1 {
			c.canon.issue(c.groups[i].b)
		} else {
			shared = append(shared, c.groups[i:j])
		}
		i = j
	}
	if len(shared) > 0 {
		nDegreeRuns.Add(1)
	}
	for _, grp := range shared {
		type result struct {
			hash string
			is   issuer
		}
		var results []result
		for _, g := range grp {
			if c.canon.has(g.b) {
				continue
			}
			tmp := newIssuer("_:b", c.nblank)
			tmp.issue(g.b)
			hh, is, err := c.nDegree(g.b, tmp)
			if err != nil {
				return "", err
			}
			results = append(results, result{hh, is})
		}
		sort.SliceStable(results, func(i, j int) bool { return results[i].hash < results[j].hash })
		for _, r := range results {
			for _, b := range r.is.order {
				c.canon.issue(b)
			}
		}
	}

	c.buf = c.buf[:0]
	c.lines = c.lines[:0]
	for i := range c.quads {
		start := len(c.buf)
		c.buf = c.appendQuad(c.buf, &c.quads[i], c.canonLabel)
		c.lines = append(c.lines, span{int32(start), int32(len(c.buf))})
	}
	buf := c.buf
	slices.SortFunc(c.lines, func(a, b span) int { return bytes.Compare(buf[a.start:a.end], buf[b.start:b.end]) })
	var sb strings.Builder
	sb.Grow(len(buf))
	for _, l := range c.lines {
		sb.Write(buf[l.start:l.end])
	}
	return sb.String(), nil
}

func (c *canon) canonLabel(dst []byte, b int32) []byte { return c.canon.appendID(dst, b) }

// appendQuad writes a quad as json-gold's toNQuad, naming blank nodes with label.
func (c *canon) appendQuad(dst []byte, q *quad, label func([]byte, int32) []byte) []byte {
	dst = appendTerm(dst, &q.s, label)
	dst = append(dst, " <"...)
	dst = append(dst, q.p...)
	dst = append(dst, "> "...)
	dst = appendTerm(dst, &q.o, label)
	if q.g.kind != tNone {
		dst = append(dst, ' ')
		dst = appendTerm(dst, &q.g, label)
	}
	return append(dst, " .\n"...)
}

// appendTerm writes a term; its strings are already escaped (see escapeLiteral).
func appendTerm(dst []byte, t *rterm, label func([]byte, int32) []byte) []byte {
	switch t.kind {
	case tBlank:
		return label(dst, t.bn)
	case tIRI:
		dst = append(dst, '<')
		dst = append(dst, t.val...)
		return append(dst, '>')
	}
	dst = append(dst, '"')
	dst = append(dst, t.val...)
	dst = append(dst, '"')
	if t.dt == rdfLangString {
		dst = append(dst, '@')
		return append(dst, t.lang...)
	}
	if t.dt != xsdString {
		dst = append(dst, "^^<"...)
		dst = append(dst, t.dt...)
		dst = append(dst, '>')
	}
	return dst
}

// firstDegree is Hash First Degree Quads.
func (c *canon) firstDegree(b int32) [sha256.Size]byte {
	if c.fdDone[b] {
		return c.fdHash[b]
	}
	label := func(dst []byte, x int32) []byte {
		if x == b {
			return append(dst, "_:a"...)
		}
		return append(dst, "_:z"...)
	}
	buf := c.buf[:0]
	lines := c.lines[:0]
	for _, qi := range c.bq[b] {
		start := len(buf)
		buf = c.appendQuad(buf, &c.quads[qi], label)
		lines = append(lines, span{int32(start), int32(len(buf))})
	}
	slices.SortFunc(lines, func(x, y span) int { return bytes.Compare(buf[x.start:x.end], buf[y.start:y.end]) })
	c.h.Reset()
	for _, l := range lines {
		c.h.Write(buf[l.start:l.end])
	}
	var h [sha256.Size]byte
	c.h.Sum(h[:0])
	c.buf, c.lines = buf[:0], lines[:0]
	c.fdHash[b], c.fdDone[b] = h, true
	return h
}

// relatedHash is Hash Related Blank Node.
func (c *canon) relatedHash(related int32, q *quad, is *issuer, position byte) string {
	var id string
	switch {
	case c.canon.has(related):
		id = string(c.canon.appendID(nil, related))
	case is.has(related):
		id = string(is.appendID(nil, related))
	default:
		h := c.firstDegree(related)
		id = hex.EncodeToString(h[:])
	}
	h := sha256.New()
	buf := append(c.rbuf[:0], position)
	if position != 'g' {
		buf = append(buf, '<') // json-gold does not escape the predicate here
		buf = append(buf, q.p...)
		buf = append(buf, '>')
	}
	buf = append(buf, id...)
	h.Write(buf)
	c.rbuf = buf
	var d [sha256.Size]byte
	return hex.EncodeToString(h.Sum(d[:0]))
}

// nDegree is Hash N-Degree Quads; it returns the hash and the issuer it settled on.
func (c *canon) nDegree(id int32, is issuer) (string, issuer, error) {
	c.work++
	if c.work > maxNDegreeWork {
		return "", issuer{}, ErrTooComplex
	}
	hashToRelated := map[string][]int32{}
	for _, qi := range c.bq[id] {
		q := &c.quads[qi]
		for i, t := range [...]*rterm{&q.s, &q.o, &q.g} {
			b := t.bn
			if t.kind != tBlank || b == id {
				continue
			}
			h := c.relatedHash(b, q, &is, "sog"[i])
			hashToRelated[h] = append(hashToRelated[h], b)
		}
	}
	hashes := make([]string, 0, len(hashToRelated))
	for h := range hashToRelated {
		hashes = append(hashes, h)
	}
	sort.Strings(hashes)

	md := sha256.New()
	for _, h := range hashes {
		md.Write([]byte(h))
		var chosenPath []byte
		var chosen issuer
		chosenSet := false
		perm, err := newPermutator(hashToRelated[h])
		if err != nil {
			return "", issuer{}, err
		}
		for perm.hasNext() {
			c.work++
			if c.work > maxNDegreeWork {
				return "", issuer{}, ErrTooComplex
			}
			p := perm.next()
			cp := is.clone()
			var path []byte
			var recursion []int32
			skip := false
			for _, related := range p {
				if c.canon.has(related) {
					path = c.canon.appendID(path, related)
				} else {
					if !cp.has(related) {
						recursion = append(recursion, related)
					}
					path = cp.appendID(path, related)
				}
				if chosenSet && len(path) >= len(chosenPath) && bytes.Compare(path, chosenPath) > 0 {
					skip = true
					break
				}
			}
			if skip {
				continue
			}
			for _, related := range recursion {
				rh, ris, err := c.nDegree(related, cp)
				if err != nil {
					return "", issuer{}, err
				}
				path = cp.appendID(path, related)
				path = append(path, '<')
				path = append(path, rh...)
				path = append(path, '>')
				cp = ris
				if chosenSet && len(path) >= len(chosenPath) && bytes.Compare(path, chosenPath) > 0 {
					skip = true
					break
				}
			}
			if skip {
				continue
			}
			if !chosenSet || bytes.Compare(path, chosenPath) < 0 {
				chosenPath, chosen, chosenSet = path, cp, true
			}
		}
		md.Write(chosenPath)
		is = chosen
	}
	var d [sha256.Size]byte
	return hex.EncodeToString(md.Sum(d[:0])), is, nil
}

// permutator is json-gold's Steinhaus-Johnson-Trotter permutator. For distinct elements it
// enumerates every permutation, so the chosen (minimal) path does not depend on how blank nodes
// are numbered. For a list with repeated elements json-gold's variant skips some arrangements
// (e.g. of [a a b b]) and its answer depends on its own blank node labels; newPermutator reports
// errUnsupported for those so that the caller falls back to json-gold.
type permutator struct {
	list   []int32
	left   []bool // direction per position; it moves with its element
	done   bool
	single bool
}

func newPermutator(list []int32) (*permutator, error) {
	l := slices.Clone(list)
	slices.Sort(l)
	distinct, dup := 1, false
	for i := 1; i < len(l); i++ {
		if l[i] == l[i-1] {
			dup = true
		} else {
			distinct++
		}
	}
	if dup {
		if distinct > 1 {
			return nil, errUnsupported
		}
		// one arrangement; json-gold yields it once too
		return &permutator{list: l, single: true}, nil
	}
	left := make([]bool, len(l))
	for i := range left {
		left[i] = true
	}
	return &permutator{list: l, left: left}, nil
}

func (p *permutator) hasNext() bool { return !p.done }

func (p *permutator) next() []int32 {
	rval := slices.Clone(p.list)
	if p.single {
		p.done = true
		return rval
	}
	k, pos := int32(-1), 0
	n := len(p.list)
	for i := 0; i < n; i++ {
		e := p.list[i]
		l := p.left[i]
		if (k == -1 || e > k) && ((l && i > 0 && e > p.list[i-1]) || (!l && i < n-1 && e > p.list[i+1])) {
			k, pos = e, i
		}
	}
	if k == -1 {
		p.done = true
		return rval
	}
	swap := pos + 1
	if p.left[pos] {
		swap = pos - 1
	}
	p.list[pos], p.list[swap] = p.list[swap], p.list[pos]
	p.left[pos], p.left[swap] = p.left[swap], p.left[pos]
	for i := 0; i < n; i++ {
		if p.list[i] > k {
			p.left[i] = !p.left[i]
		}
	}
	return rval
}
