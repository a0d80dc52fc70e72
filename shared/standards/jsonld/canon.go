package jsonld

import (
	"errors"
	"fmt"

	"github.com/piprate/json-gold/ld"
)

// ErrSafeMode marks a document that would lose or misread data when turned into RDF: a term no
// context defines, a relative IRI where an absolute one is needed. Signing or verifying such a
// document would sign less than it says, so it is refused.
var ErrSafeMode = errors.New("jsonld: safe mode")

// CanonicalizeReference canonicalizes a JSON-LD document (already decoded from JSON) into
// RDFC-1.0 N-Quads with json-gold, in safe mode, over the embedded contexts. It is the slow,
// general reference the fast path is checked against.
func CanonicalizeReference(doc any) (string, error) {
	proc := ld.NewJsonLdProcessor()
	opts := ld.NewJsonLdOptions("")
	opts.DocumentLoader = Loader{}
	opts.Algorithm = ld.AlgorithmURDNA2015
	opts.Format = "application/n-quads"
	opts.ProcessingMode = ld.JsonLd_1_1
	opts.SafeMode = true
	out, err := proc.Normalize(doc, opts)
	if err != nil {
		var lerr *ld.JsonLdError
		if errors.As(err, &lerr) && lerr.Code == ld.InvalidProperty {
			return "", fmt.Errorf("%w: %v", ErrSafeMode, err)
		}
		return "", fmt.Errorf("jsonld: canonicalize: %w", err)
	}
	s, _ := out.(string)
	return s, nil
}
