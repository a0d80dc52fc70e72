package jsonld

import (
	"errors"
)

// ErrSafeMode marks a document that would lose or misread data when turned into RDF: a term no
// context defines, a relative IRI where an absolute one is needed. Signing or verifying such a
// document would sign less than it says, so it is refused.
var ErrSafeMode = errors.New("jsonld: safe mode")

// CanonicalizeReference canonicalizes a JSON-LD document (already decoded from JSON) into
// RDFC-1.0 N-Quads with json-gold, in safe mode, over the embedded contexts. It is the slow,
// general reference the fast path is checked against.
//
// json-gold's Normalize does not apply its SafeMode option, and it silently drops or writes
// differently a few things jsonld.js keeps, so the document is first checked against the same
// rules as Canonicalize (limits, safe mode, portability; see safemode.go). Panics inside
// json-gold are returned as errors.
func CanonicalizeReference(doc any) (out string, err error) {
	defer recoverInto(&err)
	if _, err := checkLimits(doc); err != nil {
		return "", err
	}
	return canonicalizeReferenceChecked(doc)
}
