// Package schema validates Open Badges 3.0 documents against the official 1EdTech JSON Schemas
// (draft 2019-09), embedded in the binary. Nothing is ever fetched: the schemas' own $ids and
// the URLs credentials cite in credentialSchema map to the embedded files, and any other $ref is
// refused.
//
// Two modes:
//
//   - Validate* (the default) applies the official schemas with two tolerances the VC Data
//     Model 2.0 allows and the strict JSON form does not: `proof` may be a single object (many
//     issuers, and the OB 3.0 Linked Data Proof test vector itself, emit one), and
//     `credentialStatus` may be an array of one or more entries (a revocation and a suspension
//     entry; OB 3.0 says [0..1], VCDM 2.0 and the proposed OB 3.1 say one or more,
//     1EdTech/openbadges-specification issue #623). Nothing else is relaxed.
//   - Strict applies the schemas exactly as published, the way 1EdTech's conformance validator
//     reads them.
//
// The tolerances are applied to the schema, not to the document: the caller's bytes are never
// changed and every error points at the property as written.
package schema

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed schemas/*.json
var schemaFS embed.FS

const base = "https://purl.imsglobal.org/spec/ob/v3p0/schema/"

// The $ids of the embedded schemas.
const (
	AchievementCredential           = base + "json/ob_v3p0_achievementcredential-jsonschema1.json"
	EndorsementCredential           = base + "json/ob_v3p0_endorsementcredential-jsonschema1.json"
	Profile                         = base + "json/ob_v3p0_profile-jsonschema1.json"
	GetOpenBadgeCredentialsResponse = base + "json/ob_v3p0_getopenbadgecredentialsresponse-jsonschema1.json"
	StatusInfo                      = base + "json/ob_v3p0_imsx_statusinfo-jsonschema1.json"
)

// aliases are the URLs the spec and issuers put in credentialSchema. The "json-ld" variants are
// the compaction-tolerant schemas the spec moved to in v1.3; they are not published anywhere
// reachable, so they map to the strict files (whose tolerant mode accepts what those add for
// proof and credentialStatus).
var aliases = map[string]string{
	base + "json/ob_v3p0_achievementcredential_schema.json":    AchievementCredential,
	base + "json-ld/ob_v3p0_achievementcredential_schema.json": AchievementCredential,
	base + "json/ob_v3p0_endorsementcredential_schema.json":    EndorsementCredential,
	base + "json-ld/ob_v3p0_endorsementcredential_schema.json": EndorsementCredential,
}

// MaxSize bounds the documents validated; larger ones are refused before decoding.
const MaxSize = 2 << 20

var (
	// ErrInvalid is what every *Error unwraps to.
	ErrInvalid = errors.New("schema: document does not conform")
	// ErrUnknownSchema is returned for a schema URL that is not embedded.
	ErrUnknownSchema = errors.New("schema: not an embedded OB 3.0 schema (schemas are never fetched)")
	// ErrNotJSON is returned for input that is not a single JSON value.
	ErrNotJSON = errors.New("schema: not valid JSON")
	// ErrTooLarge is returned for input over MaxSize.
	ErrTooLarge = fmt.Errorf("schema: document larger than %d bytes", MaxSize)
)

// Violation is one failed schema rule. Path is the property's dotted JSON path with array
// indexes (`credentialSubject.achievement.criteria`, `proof[0].type`), the same form package
// ob3 reports; Pointer is the RFC 6901 JSON Pointer to the same place. For a missing property
// both name the property that is missing.
type Violation struct {
	Path    string `json:"path"`
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

// Error lists every violation of one validation.
type Error struct {
	Schema     string
	Violations []Violation
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schema: %d violation(s) of %s:", len(e.Violations), path.Base(e.Schema))
	for _, v := range e.Violations {
		p := v.Path
		if p == "" {
			p = "(document)"
		}
		fmt.Fprintf(&b, " %s: %s;", p, v.Message)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *Error) Unwrap() error { return ErrInvalid }

// Has reports whether a violation was found at path.
func (e *Error) Has(path string) bool {
	return slices.ContainsFunc(e.Violations, func(v Violation) bool { return v.Path == path })
}

// ValidateCredential validates an OpenBadgeCredential / AchievementCredential (tolerant mode).
func ValidateCredential(doc []byte) error { return validate(tolerant, AchievementCredential, doc) }

// ValidateEndorsement validates an EndorsementCredential (tolerant mode).
func ValidateEndorsement(doc []byte) error { return validate(tolerant, EndorsementCredential, doc) }

// ValidateProfile validates a Profile document (tolerant mode).
func ValidateProfile(doc []byte) error { return validate(tolerant, Profile, doc) }

// Validate validates doc against the embedded schema with the given $id or credentialSchema
// URL (tolerant mode). Unknown URLs give ErrUnknownSchema.
func Validate(schemaURL string, doc []byte) error { return validate(tolerant, schemaURL, doc) }

// Strict validates doc against the schema exactly as published.
func Strict(schemaURL string, doc []byte) error { return validate(strict, schemaURL, doc) }

// Known reports whether url is an embedded schema's $id or an alias of one.
func Known(url string) bool {
	_, ok := resolve(url)
	return ok
}

func resolve(url string) (string, bool) {
	if id, ok := aliases[url]; ok {
		return id, true
	}
	_, ok := files()[url]
	return url, ok
}

type mode int

const (
	tolerant mode = iota
	strict
)

// files maps each embedded schema's $id to its file; the file names are the $id base names.
var files = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	entries, _ := fs.Glob(schemaFS, "schemas/*.json")
	for _, e := range entries {
		out[base+"json/"+path.Base(e)] = e
	}
	return out
})

type compiled struct {
	schemas map[string]*jsonschema.Schema
	err     error
}

var sets = [2]func() compiled{
	tolerant: sync.OnceValue(func() compiled { return compile(tolerant) }),
	strict:   sync.OnceValue(func() compiled { return compile(strict) }),
}

// refuseLoader is the compiler's only loader: every schema it may use is added up front, so a
// load request means a $ref outside them.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%w: $ref %q", ErrUnknownSchema, url)
}

// newCompiler returns a compiler that asserts formats (so a bad date fails, as in 1EdTech's
// validator) and can load nothing beyond what is added to it.
func newCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2019)
	c.AssertFormat()
	c.UseLoader(refuseLoader{})
	return c
}

func compile(m mode) compiled {
	c := newCompiler()
	for id, file := range files() {
		raw, err := schemaFS.ReadFile(file)
		if err != nil {
			return compiled{err: fmt.Errorf("schema: embedded %s: %w", file, err)}
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return compiled{err: fmt.Errorf("schema: embedded %s: %w", file, err)}
		}
		if m == tolerant {
			relax(doc)
		}
		if err := c.AddResource(id, doc); err != nil {
			return compiled{err: fmt.Errorf("schema: add %s: %w", file, err)}
		}
	}
	out := compiled{schemas: map[string]*jsonschema.Schema{}}
	for id := range files() {
		s, err := c.Compile(id)
		if err != nil {
			return compiled{err: fmt.Errorf("schema: compile %s: %w", path.Base(id), err)}
		}
		out.schemas[id] = s
	}
	return out
}

// relax rewrites, wherever a schema object declares them, `proof` to accept one Proof object as
// well as an array, and `credentialStatus` to accept a non-empty array of CredentialStatus
// entries as well as one.
func relax(node any) {
	switch n := node.(type) {
	case map[string]any:
		if props, ok := n["properties"].(map[string]any); ok {
			if p, ok := props["proof"].(map[string]any); ok && p["type"] == "array" && p["items"] != nil {
				props["proof"] = map[string]any{
					"if":   map[string]any{"type": "array"},
					"then": p,
					"else": p["items"],
				}
			}
			if s, ok := props["credentialStatus"].(map[string]any); ok && s["$ref"] != nil {
				props["credentialStatus"] = map[string]any{
					"if":   map[string]any{"type": "array"},
					"then": map[string]any{"type": "array", "minItems": 1, "items": s},
					"else": s,
				}
			}
		}
		for _, v := range n {
			relax(v)
		}
	case []any:
		for _, v := range n {
			relax(v)
		}
	}
}

func validate(m mode, schemaURL string, doc []byte) error {
	id, ok := resolve(schemaURL)
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownSchema, schemaURL)
	}
	set := sets[m]()
	if set.err != nil {
		return set.err
	}
	if len(doc) > MaxSize {
		return ErrTooLarge
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	err = set.schemas[id].Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("schema: validate: %w", err)
	}
	return &Error{Schema: id, Violations: violations(ve)}
}

var printer = message.NewPrinter(language.English)

func violations(ve *jsonschema.ValidationError) []Violation {
	var out []Violation
	collect(ve, &out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pointer < out[j].Pointer })
	return slices.CompactFunc(out, func(a, b Violation) bool { return a == b })
}

func violation(loc []string, msg string) Violation {
	return Violation{Path: dotted(loc), Pointer: pointer(loc), Message: msg}
}

// collect flattens the error tree into the failures a person can act on.
func collect(e *jsonschema.ValidationError, out *[]Violation) {
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			*out = append(*out, violation(append(slices.Clone(e.InstanceLocation), m), "is required"))
		}
		return
	case *kind.Contains:
		*out = append(*out, violation(e.InstanceLocation, "must contain "+wanted(e)))
		return
	case *kind.OneOf, *kind.AnyOf:
		if len(e.Causes) > 0 {
			collectAlternatives(e, out)
			return
		}
	}
	if len(e.Causes) == 0 {
		*out = append(*out, violation(e.InstanceLocation, e.ErrorKind.LocalizedString(printer)))
		return
	}
	for _, c := range e.Causes {
		collect(c, out)
	}
}

// collectAlternatives reports a failed oneOf/anyOf. Branches that failed only because the value
// has another JSON type (the string branch of "an IRI or a Profile object") are noise when some
// branch of the right type exists; if every branch failed on type, one message names them all.
func collectAlternatives(e *jsonschema.ValidationError, out *[]Violation) {
	var typeMiss []string
	var relevant []*jsonschema.ValidationError
	for _, c := range e.Causes {
		if want, ok := onlyTypeMismatch(c, len(e.InstanceLocation)); ok {
			typeMiss = append(typeMiss, want...)
			continue
		}
		relevant = append(relevant, c)
	}
	switch {
	case len(relevant) == 0:
		*out = append(*out, violation(e.InstanceLocation, "must be "+strings.Join(typeMiss, " or ")))
	case len(relevant) == 1:
		collect(relevant[0], out)
	default:
		// Several branches of the right type failed (an enumeration or an "ext:" extension):
		// say what each would have needed, at the same place.
		var msgs []string
		var sub []Violation
		for _, c := range relevant {
			var vs []Violation
			collect(c, &vs)
			sub = append(sub, vs...)
			for _, v := range vs {
				msgs = append(msgs, v.Message)
			}
		}
		if sameLocation(sub, pointer(e.InstanceLocation)) {
			*out = append(*out, violation(e.InstanceLocation, strings.Join(msgs, ", or ")))
		} else {
			*out = append(*out, sub...)
		}
	}
}

func onlyTypeMismatch(e *jsonschema.ValidationError, depth int) ([]string, bool) {
	if k, ok := e.ErrorKind.(*kind.Type); ok {
		return k.Want, len(e.InstanceLocation) == depth
	}
	if len(e.Causes) == 0 {
		return nil, false
	}
	var want []string
	for _, c := range e.Causes {
		w, ok := onlyTypeMismatch(c, depth)
		if !ok {
			return nil, false
		}
		want = append(want, w...)
	}
	return want, true
}

func sameLocation(vs []Violation, ptr string) bool {
	for _, v := range vs {
		if v.Pointer != ptr {
			return false
		}
	}
	return true
}

// wanted names what a failed `contains` looked for, from the enum errors of its items.
func wanted(e *jsonschema.ValidationError) string {
	var want []string
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if k, ok := e.ErrorKind.(*kind.Enum); ok {
			for _, w := range k.Want {
				s := fmt.Sprintf("%q", w)
				if !slices.Contains(want, s) {
					want = append(want, s)
				}
			}
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(e)
	if len(want) == 0 {
		return "an item matching the schema"
	}
	if len(want) == 1 {
		return want[0]
	}
	return "one of " + strings.Join(want, ", ")
}

func dotted(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func pointer(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	return b.String()
}
