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
)

// URDNA2015 / RDFC-1.0 over the quads of tordf.go, following json-gold's NormalisationAlgorithm
// (ld/api_normalize.go) including its two departures from a set-based reading of the spec: a
// statement that occurs twice is kept twice, and a quad that mentions a blank node twice is
// listed twice among that blank node's quads.

// ErrTooComplex is returned for a document whose blank nodes would make canonicalization do
// more work than any credential needs (RDFC-1.0 §4.4 "poison graphs").
var ErrTooComplex = errors.New("jsonld: canonicalization would take too long (too many indistinguishable blank nodes)")

// maxNDegreeWork bounds Hash N-Degree Quads calls plus permutations tried.
const maxNDegreeWork = 200000

type canon struct {
	quads  []quad
	nblank int
	bq     [][]int32 // quad indexes per blank node, repeated when a quad names it twice
	fdHash []string  // first-degree hashes, "" until computed
	canon  issuer
	work   int
	h      hash.Hash
	buf    []byte
	lines  [][]byte
}

// issuer is an Identifier Issuer over blank node numbers.
type issuer struct {
	prefix string
	ids    []int32 // per blank node: issued number, or -1
	order  []int32 // blank nodes in the order they were issued
}

func newIssuer(prefix string, n int) issuer {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = -1
	}
	return issuer{prefix: prefix, ids: ids}
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

func canonicalize(quads []quad, nblank int) (string, error) {
	c := &canon{quads: quads, nblank: nblank, h: sha256.New()}
	return c.run()
}

func (c *canon) run() (string, error) {
	c.bq = make([][]int32, c.nblank)
	for i := range c.quads {
		q := &c.quads[i]
		for _, b := range [...]int32{q.s, q.o, q.g} {
			if b >= 0 {
				c.bq[b] = append(c.bq[b], int32(i))
			}
		}
	}
	c.fdHash = make([]string, c.nblank)
	c.canon = newIssuer("_:c14n", c.nblank)

	// Blank nodes that appear in no quad never get a canonical name and are never written.
	hashTo := map[string][]int32{}
	for b := 0; b < c.nblank; b++ {
		if len(c.bq[b]) == 0 {
			continue
		}
		h := c.firstDegree(int32(b))
		hashTo[h] = append(hashTo[h], int32(b))
	}
	hashes := make([]string, 0, len(hashTo))
	for h := range hashTo {
		hashes = append(hashes, h)
	}
	sort.Strings(hashes)
	var shared []string
	for _, h := range hashes {
		if ids := hashTo[h]; len(ids) == 1 {
			c.canon.issue(ids[0])
		} else {
			shared = append(shared, h)
		}
	}
	for _, h := range shared {
		type result struct {
			hash string
			is   issuer
		}
		var results []result
		for _, b := range hashTo[h] {
			if c.canon.has(b) {
				continue
			}
			tmp := newIssuer("_:b", c.nblank)
			tmp.issue(b)
			hh, is, err := c.nDegree(b, tmp)
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

	c.lines = c.lines[:0]
	total := 0
	for i := range c.quads {
		start := len(c.buf)
		c.buf = c.appendQuad(c.buf, &c.quads[i], func(dst []byte, b int32) []byte { return c.canon.appendID(dst, b) })
		total += len(c.buf) - start
		c.lines = append(c.lines, c.buf[start:len(c.buf):len(c.buf)])
	}
	sort.Slice(c.lines, func(i, j int) bool { return bytes.Compare(c.lines[i], c.lines[j]) < 0 })
	var sb strings.Builder
	sb.Grow(total)
	for _, l := range c.lines {
		sb.Write(l)
	}
	return sb.String(), nil
}

// appendQuad writes a quad as json-gold's toNQuad, naming blank nodes with label.
func (c *canon) appendQuad(dst []byte, q *quad, label func([]byte, int32) []byte) []byte {
	if q.s >= 0 {
		dst = label(dst, q.s)
	} else {
		dst = append(dst, q.sStr...)
	}
	dst = append(dst, ' ')
	dst = append(dst, q.pStr...)
	dst = append(dst, ' ')
	if q.o >= 0 {
		dst = label(dst, q.o)
	} else {
		dst = append(dst, q.oStr...)
	}
	if q.g >= 0 {
		dst = append(dst, ' ')
		dst = label(dst, q.g)
	} else if q.gStr != "" {
		dst = append(dst, ' ')
		dst = append(dst, q.gStr...)
	}
	return append(dst, " .\n"...)
}

// firstDegree is Hash First Degree Quads.
func (c *canon) firstDegree(b int32) string {
	if h := c.fdHash[b]; h != "" {
		return h
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
		lines = append(lines, buf[start:len(buf):len(buf)])
	}
	sort.Slice(lines, func(i, j int) bool { return bytes.Compare(lines[i], lines[j]) < 0 })
	c.h.Reset()
	for _, l := range lines {
		c.h.Write(l)
	}
	h := c.sum()
	c.buf, c.lines = buf[:0], lines[:0]
	c.fdHash[b] = h
	return h
}

func (c *canon) sum() string {
	var d [sha256.Size]byte
	return hex.EncodeToString(c.h.Sum(d[:0]))
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
		id = c.firstDegree(related)
	}
	h := sha256.New()
	h.Write([]byte{position})
	if position != 'g' {
		h.Write([]byte(q.pStr))
	}
	h.Write([]byte(id))
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
		for i, b := range [...]int32{q.s, q.o, q.g} {
			if b < 0 || b == id {
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
	list []int32
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
