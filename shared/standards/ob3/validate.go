package ob3

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-playground/validator/v10"

	"github.com/credence-oss/credence/shared/standards/jsonld"
)

// ErrInvalid is what every *ValidationError unwraps to, for errors.Is.
var ErrInvalid = errors.New("ob3: invalid")

// Violation is one broken rule. Path is the property's JSON path in the document, with array
// indexes: `credentialSubject.achievement.criteria`, `evidence[1].type`.
type Violation struct {
	Path    string `json:"path"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// ValidationError lists every violation found, in document order as the validator walks it, so
// an API can return them all at once as error details.
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ob3: %d violation(s):", len(e.Violations))
	for _, v := range e.Violations {
		fmt.Fprintf(&b, " %s: %s;", v.Path, v.Message)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Has reports whether a violation was found at path (any rule), for callers and tests.
func (e *ValidationError) Has(path string) bool {
	return slices.ContainsFunc(e.Violations, func(v Violation) bool { return v.Path == path })
}

// Validate checks the credential against the OB 3.0 rules: every property the spec and its JSON
// Schema require, IRIs, dates, types, contexts, and the cross-field rules. It returns nil or a
// *ValidationError.
func (c *Credential) Validate() error {
	if c == nil {
		return &ValidationError{Violations: []Violation{{Path: "", Rule: "required", Message: "credential is missing"}}}
	}
	return validateStruct(c)
}

// Validate checks the endorsement credential like Credential.Validate.
func (e *EndorsementCredential) Validate() error {
	if e == nil {
		return &ValidationError{Violations: []Violation{{Path: "", Rule: "required", Message: "endorsement is missing"}}}
	}
	return validateStruct(e)
}

// Validate checks a profile on its own (an issuer profile before it is used in credentials).
func (p *Profile) Validate() error {
	if p == nil {
		return &ValidationError{Violations: []Violation{{Path: "", Rule: "required", Message: "profile is missing"}}}
	}
	return validateStruct(p)
}

// Validate checks an achievement on its own (a badge template before it is used in credentials).
func (a *Achievement) Validate() error {
	if a == nil {
		return &ValidationError{Violations: []Violation{{Path: "", Rule: "required", Message: "achievement is missing"}}}
	}
	return validateStruct(a)
}

func validateStruct(s any) error {
	v, err := validatorInstance()
	if err != nil {
		return err
	}
	err = v.Struct(s)
	if err == nil {
		return nil
	}
	var fes validator.ValidationErrors
	if !errors.As(err, &fes) {
		return fmt.Errorf("ob3: validate: %w", err)
	}
	out := &ValidationError{Violations: make([]Violation, 0, len(fes))}
	for _, fe := range fes {
		out.Violations = append(out.Violations, Violation{
			Path:    singleStatusPath(s, jsonPath(fe.Namespace())),
			Rule:    fe.Tag(),
			Message: message(fe),
		})
	}
	return out
}

// jsonPath turns the validator's namespace ("Credential.credentialSubject.achievement") into the
// document's path by dropping the Go type name at its root.
func jsonPath(ns string) string {
	_, rest, found := strings.Cut(ns, ".")
	if !found {
		return ""
	}
	return strings.TrimSuffix(rest, ".")
}

// singleStatusPath drops the [0] after a credentialStatus that holds one entry: such an entry is
// written as a plain object (see StatusEntries), so its properties are at credentialStatus.id,
// not credentialStatus[0].id, in the document the caller sees.
func singleStatusPath(root any, path string) string {
	if !strings.Contains(path, "credentialStatus[0]") {
		return path
	}
	var out strings.Builder
	v := reflect.ValueOf(root)
	for i, tok := range splitPath(path) {
		for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
			v = v.Elem()
		}
		if idx, isIndex := tok.(int); isIndex {
			single := v.IsValid() && v.Type() == reflect.TypeFor[StatusEntries]() && v.Len() == 1
			if v.IsValid() && v.Kind() == reflect.Slice && idx < v.Len() {
				v = v.Index(idx)
			} else {
				v = reflect.Value{}
			}
			if !single {
				fmt.Fprintf(&out, "[%d]", idx)
			}
			continue
		}
		name := tok.(string)
		if i > 0 {
			out.WriteByte('.')
		}
		out.WriteString(name)
		v = fieldByJSONName(v, name)
	}
	return out.String()
}

// splitPath splits "a.b[0].c" into "a", "b", 0, "c".
func splitPath(path string) []any {
	var toks []any
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		toks = append(toks, name)
		for rest != "" {
			var n int
			num, after, _ := strings.Cut(rest, "]")
			fmt.Sscan(num, &n)
			toks = append(toks, n)
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return toks
}

func fieldByJSONName(v reflect.Value, name string) reflect.Value {
	if !v.IsValid() || v.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	t := v.Type()
	for i := range t.NumField() {
		if n, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); n == name {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

var validatorInstance = sync.OnceValues(newValidator)

func newValidator() (*validator.Validate, error) {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	for tag, fn := range map[string]validator.Func{
		"iri":                   func(fl validator.FieldLevel) bool { return IsIRI(fl.Field().String()) },
		"rfc3339":               func(fl validator.FieldLevel) bool { return IsDateTime(fl.Field().String()) },
		"ob_context":            validContext,
		"has_type":              hasType,
		"has_any_type":          hasAnyType,
		"achievement_type":      enumExt(achievementTypes),
		"identifier_type":       enumExt(identifierTypes),
		"result_type":           enumExt(resultTypes),
		"alignment_target_type": enumExt(alignmentTargetTypes),
		"language":              matches(languageRE),
		"compact_jws":           matches(compactJWSRE),
	} {
		if err := v.RegisterValidation(tag, fn); err != nil {
			return nil, fmt.Errorf("ob3: register %s: %w", tag, err)
		}
	}
	v.RegisterStructValidation(credentialLevel, Credential{})
	v.RegisterStructValidation(endorsementLevel, EndorsementCredential{})
	v.RegisterStructValidation(profileLevel, Profile{})
	v.RegisterStructValidation(imageLevel, Image{})
	v.RegisterStructValidation(subjectLevel, AchievementSubject{})
	v.RegisterStructValidation(achievementLevel, Achievement{})
	v.RegisterStructValidation(identityLevel, IdentityObject{})
	return v, nil
}

// IsIRI reports whether s is an absolute IRI: a scheme, then no spaces or control characters.
// OB 3.0 types ids as URI/IRI; DIDs, urn:uuid: and data: URIs all qualify.
func IsIRI(s string) bool {
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Opaque != "" || u.Host != "" || u.Path != "")
}

// IsDateTime reports whether s is an RFC 3339 date-time with a time zone (OB 3.0's DateTimeZ,
// JSON Schema's "date-time").
func IsDateTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// obContextRE is the JSON Schema's pattern for the second @context entry.
var obContextRE = regexp.MustCompile(`^https://purl\.imsglobal\.org/spec/ob/v3p0/context(-3\.\d\.\d)*\.json$`)

func validContext(fl validator.FieldLevel) bool {
	ctx, ok := fl.Field().Interface().(Many[any])
	if !ok || len(ctx) < 2 {
		return false
	}
	if first, _ := ctx[0].(string); first != jsonld.CredentialsV2 {
		return false
	}
	if second, _ := ctx[1].(string); !obContextRE.MatchString(second) {
		return false
	}
	for _, c := range ctx[2:] {
		switch c.(type) {
		case string, map[string]any:
		default:
			return false
		}
	}
	return true
}

func hasType(fl validator.FieldLevel) bool {
	types, _ := fl.Field().Interface().(Many[string])
	return Contains(types, fl.Param())
}

func hasAnyType(fl validator.FieldLevel) bool {
	types, _ := fl.Field().Interface().(Many[string])
	return slices.ContainsFunc(strings.Fields(fl.Param()), func(t string) bool { return Contains(types, t) })
}

// extRE is the "ext:" naming convention for extending OB 3.0's enumerated vocabularies. The
// schema's pattern is unanchored; the spec means a prefix, so this one is anchored.
var extRE = regexp.MustCompile(`^ext:[A-Za-z0-9._-]+$`)

func enumExt(values []string) validator.Func {
	return func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		return slices.Contains(values, s) || extRE.MatchString(s)
	}
}

func matches(re *regexp.Regexp) validator.Func {
	return func(fl validator.FieldLevel) bool { return re.MatchString(fl.Field().String()) }
}

var (
	languageRE   = regexp.MustCompile(`^[a-z]{2,4}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$`)
	compactJWSRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+\.[a-zA-Z0-9_-]*\.[a-zA-Z0-9_-]+$`)
	identityHash = regexp.MustCompile(`^(?i:md5\$[0-9a-f]{32}|sha256\$[0-9a-f]{64})$`)
)

// The enumerations of the OB 3.0 schema (ob_v3p0_achievementcredential-jsonschema1.json).
var (
	achievementTypes = []string{"Achievement", "ApprenticeshipCertificate", "Assessment", "Assignment",
		"AssociateDegree", "Award", "Badge", "BachelorDegree", "Certificate", "CertificateOfCompletion",
		"Certification", "CommunityService", "Competency", "Course", "CoCurricular", "Degree", "Diploma",
		"DoctoralDegree", "Fieldwork", "GeneralEducationDevelopment", "JourneymanCertificate",
		"LearningProgram", "License", "Membership", "ProfessionalDoctorate", "QualityAssuranceCredential",
		"MasterCertificate", "MasterDegree", "MicroCredential", "ResearchDoctorate", "SecondarySchoolDiploma"}
	identifierTypes = []string{"name", "sourcedId", "systemId", "productId", "userName", "accountId",
		"emailAddress", "nationalIdentityNumber", "isbn", "issn", "lisSourcedId", "oneRosterSourcedId",
		"sisSourcedId", "ltiContextId", "ltiDeploymentId", "ltiToolId", "ltiPlatformId", "ltiUserId", "identifier"}
	resultTypes = []string{"GradePointAverage", "LetterGrade", "Percent", "PerformanceLevel", "PredictedScore",
		"RawScore", "Result", "RubricCriterion", "RubricCriterionLevel", "RubricScore", "ScaledScore", "Status"}
	alignmentTargetTypes = []string{"ceasn:Competency", "ceterms:Credential", "CFItem", "CFRubric",
		"CFRubricCriterion", "CFRubricCriterionLevel", "CTDL"}
)

func validityOrder(sl validator.StructLevel, from, until string) {
	if from == "" || until == "" {
		return
	}
	f, err1 := time.Parse(time.RFC3339Nano, from)
	u, err2 := time.Parse(time.RFC3339Nano, until)
	if err1 == nil && err2 == nil && !u.After(f) {
		sl.ReportError(until, "validUntil", "ValidUntil", "after_valid_from", from)
	}
}

func credentialLevel(sl validator.StructLevel) {
	c := sl.Current().Interface().(Credential)
	validityOrder(sl, c.ValidFrom, c.ValidUntil)
}

func endorsementLevel(sl validator.StructLevel) {
	e := sl.Current().Interface().(EndorsementCredential)
	validityOrder(sl, e.ValidFrom, e.ValidUntil)
}

// profileLevel requires the Profile type on profile objects. A bare IRI carries no type; it is
// accepted where OB 3.0 allows a reference (a credential's issuer) and refused by the parents
// that need an object (creator, source, parentOrg).
func profileLevel(sl validator.StructLevel) {
	p := sl.Current().Interface().(Profile)
	if !p.IsRef() && !Contains(p.Type, "Profile") {
		sl.ReportError(p.Type, "type", "Type", "has_type", "Profile")
	}
	if p.ParentOrg != nil && p.ParentOrg.IsRef() {
		sl.ReportError(p.ParentOrg, "parentOrg", "ParentOrg", "object", "Profile")
	}
}

func imageLevel(sl validator.StructLevel) {
	i := sl.Current().Interface().(Image)
	switch {
	case i.IsRef():
		sl.ReportError(i.ID, "", "", "object", "Image")
	case i.Type != "Image":
		sl.ReportError(i.Type, "type", "Type", "eq", "Image")
	}
}

func subjectLevel(sl validator.StructLevel) {
	s := sl.Current().Interface().(AchievementSubject)
	if s.ID == "" && len(s.Identifier) == 0 {
		sl.ReportError(s.ID, "id", "ID", "id_or_identifier", "")
	}
	if s.Source != nil && s.Source.IsRef() {
		sl.ReportError(s.Source, "source", "Source", "object", "Profile")
	}
}

func achievementLevel(sl validator.StructLevel) {
	a := sl.Current().Interface().(Achievement)
	if a.Creator != nil && a.Creator.IsRef() {
		sl.ReportError(a.Creator, "creator", "Creator", "object", "Profile")
	}
}

func identityLevel(sl validator.StructLevel) {
	o := sl.Current().Interface().(IdentityObject)
	if o.Hashed != nil && *o.Hashed && o.IdentityHash != "" && !identityHash.MatchString(o.IdentityHash) {
		sl.ReportError(o.IdentityHash, "identityHash", "IdentityHash", "identity_hash", "")
	}
}

func message(fe validator.FieldError) string {
	p := fe.Param()
	switch fe.Tag() {
	case "required":
		return "is required"
	case "iri":
		return "must be an absolute IRI (a URL, DID or URN)"
	case "rfc3339":
		return "must be an RFC 3339 date-time with a time zone, e.g. 2024-05-01T12:00:00Z"
	case "datetime":
		return "must be a date in the form " + p
	case "ob_context":
		return fmt.Sprintf("must be an array starting with %q and then an Open Badges 3.0 context such as %q", jsonld.CredentialsV2, jsonld.OB303)
	case "has_type":
		return fmt.Sprintf("must include %q", p)
	case "has_any_type":
		return fmt.Sprintf("must include one of %q", strings.Fields(p))
	case "eq":
		return fmt.Sprintf("must be %q", p)
	case "oneof":
		return fmt.Sprintf("must be one of %q", strings.Fields(p))
	case "email":
		return "must be an e-mail address"
	case "number":
		return "must be a non-negative integer written as a string"
	case "min":
		return "must not be empty"
	case "iso3166_1_alpha2":
		return "must be an ISO 3166-1 alpha-2 country code"
	case "language":
		return "must be a BCP 47 language code such as en or en-US"
	case "compact_jws":
		return "must be a compact JWS"
	case "achievement_type", "identifier_type", "result_type", "alignment_target_type":
		return "must be a value of the OB 3.0 vocabulary or an extension starting with \"ext:\""
	case "after_valid_from":
		return "must be later than validFrom (" + p + ")"
	case "id_or_identifier":
		return "either id or at least one identifier is required"
	case "identity_hash":
		return "a hashed identity must be \"sha256$\" or \"md5$\" followed by the hex digest"
	case "object":
		return fmt.Sprintf("must be a %s object, not a bare IRI", p)
	}
	return "fails " + fe.Tag()
}
