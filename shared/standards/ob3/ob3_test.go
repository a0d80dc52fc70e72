package ob3

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/credence-oss/credence/shared/standards/schema"
	"github.com/credence-oss/credence/shared/standards/vectors"
)

var credentialExamples = []string{
	"ob3-spec/basic-openbadgecredential.json",
	"ob3-spec/complete-openbadgecredential.json",
	"ob3-spec/achievement-alignment-case.json",
	"ob3-spec/achievement-alignment-credential-engine.json",
	"ob3-spec/skill-assertion-case.json",
	"ob3-spec/skill-assertion-ctdl.json",
	"ob3-spec/docformat-sample-openbadgecredential-file.json",
	"ob3-ldp-test-vector/credential-unsigned.json",
	"ob3-ldp-test-vector/credential-signed.json",
}

// arrayProps are the properties the OB 3.0 JSON Schema types as arrays (and `type` where it is
// a list; Image/IdentityObject types are single strings and stay single after normalising
// because they are strings on both sides). credentialStatus is single in OB 3.0 but may be an
// array in VCDM 2.0.
var arrayProps = map[string]bool{
	"@context": true, "type": true, "proof": true, "evidence": true, "endorsement": true,
	"endorsementJwt": true, "credentialSchema": true, "credentialStatus": true, "termsOfUse": true,
	"identifier": true, "result": true, "alignment": true, "tag": true, "resultDescription": true,
	"allowedValue": true, "rubricCriterionLevel": true, "otherIdentifier": true, "related": true,
}

// normalize wraps single values of array-valued properties, so that a document and its
// re-marshalled form compare equal when they differ only in that allowed way.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			val = normalize(val)
			if _, isArr := val.([]any); arrayProps[k] && !isArr {
				val = []any{val}
			}
			out[k] = val
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

func decode(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOfficialExamplesRoundTrip(t *testing.T) {
	for _, rel := range credentialExamples {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			raw := vectors.Read(t, rel)
			c, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			out, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if want, got := normalize(decode(t, raw)), normalize(decode(t, out)); !reflect.DeepEqual(want, got) {
				t.Fatalf("round trip changed the credential\n in: %s\nout: %s", raw, out)
			}
			// What we write is in the strict JSON form of the official schema, even when the
			// input was not (the signed vector's single proof).
			if err := schema.Strict(schema.AchievementCredential, out); err != nil {
				t.Fatalf("marshalled form fails the strict schema: %v", err)
			}
		})
	}
}

func TestEndorsementRoundTrip(t *testing.T) {
	raw := vectors.Read(t, "ob3-spec/endorsementcredential.json")
	e, err := ParseEndorsement(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(decode(t, raw)), normalize(decode(t, out))) {
		t.Fatalf("round trip changed the endorsement\n in: %s\nout: %s", raw, out)
	}
	if err := schema.Strict(schema.EndorsementCredential, out); err != nil {
		t.Fatal(err)
	}
	// An endorsement is not an OpenBadgeCredential.
	c, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	if err := c.Validate(); !errors.As(err, &ve) || !ve.Has("type") || !ve.Has("credentialSubject.achievement") {
		t.Fatalf("endorsement validated as credential: %v", err)
	}
}

// step is one step of a path into a decoded document: a property name or an array index.
type step struct {
	key   string
	index int
}

func (s step) isIndex() bool { return s.key == "" }

func pathString(path []step, prop string) string {
	var b strings.Builder
	for _, s := range path {
		if s.isIndex() {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	if b.Len() > 0 {
		b.WriteByte('.')
	}
	b.WriteString(prop)
	return b.String()
}

type requiredCase struct {
	path []step
	prop string
}

// resolveSchema follows $ref and, for a oneOf such as ProfileRef, picks the object branch when
// the document has an object there.
func resolveSchema(s map[string]any, defs map[string]any, doc any) map[string]any {
	for range 10 {
		if ref, ok := s["$ref"].(string); ok {
			s = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			continue
		}
		if alts, ok := s["oneOf"].([]any); ok {
			if _, isObj := doc.(map[string]any); isObj {
				for _, a := range alts {
					r := resolveSchema(a.(map[string]any), defs, doc)
					if r["type"] == "object" {
						return r
					}
				}
			}
		}
		return s
	}
	return s
}

// requiredCases walks a document with the official schema and lists every required property
// the document has, at every depth.
func requiredCases(doc any, s map[string]any, defs map[string]any, path []step, out *[]requiredCase) {
	s = resolveSchema(s, defs, doc)
	if arr, ok := doc.([]any); ok {
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range arr {
				requiredCases(e, items, defs, append(slices.Clone(path), step{index: i}), out)
			}
		}
		return
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return
	}
	req, _ := s["required"].([]any)
	for _, r := range req {
		if _, present := m[r.(string)]; present {
			*out = append(*out, requiredCase{path: slices.Clone(path), prop: r.(string)})
		}
	}
	props, _ := s["properties"].(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		ps, ok := props[k].(map[string]any)
		if !ok {
			continue
		}
		requiredCases(m[k], ps, defs, append(slices.Clone(path), step{key: k}), out)
	}
}

func removeAt(doc any, path []step, prop string) {
	cur := doc
	for _, s := range path {
		if s.isIndex() {
			cur = cur.([]any)[s.index]
		} else {
			cur = cur.(map[string]any)[s.key]
		}
	}
	delete(cur.(map[string]any), prop)
}

// TestRequiredPropertiesFromOfficialSchema removes, one at a time, every property the official
// JSON Schema marks required wherever it occurs in the complete example (credential, issuer,
// achievement, creator, endorsements, alignments, results, identity objects, ...) and checks
// that Validate reports that property's path, and that the schema package agrees.
func TestRequiredPropertiesFromOfficialSchema(t *testing.T) {
	var sch map[string]any
	if err := json.Unmarshal(readSchema(t), &sch); err != nil {
		t.Fatal(err)
	}
	defs := sch["$defs"].(map[string]any)
	raw := vectors.Read(t, "ob3-spec/complete-openbadgecredential.json")
	var cases []requiredCase
	requiredCases(decode(t, raw), sch, defs, nil, &cases)
	if len(cases) < 100 {
		t.Fatalf("only %d required properties found in the complete example; the walk is broken", len(cases))
	}
	for _, rc := range cases {
		want := pathString(rc.path, rc.prop)
		t.Run(want, func(t *testing.T) {
			doc := decode(t, raw)
			removeAt(doc, rc.path, rc.prop)
			b, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(b)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			var ve *ValidationError
			if err := c.Validate(); !errors.As(err, &ve) || !ve.Has(want) {
				t.Fatalf("want a violation at %s, got %v", want, err)
			}
			if !errors.Is(ve, ErrInvalid) {
				t.Fatal("ValidationError must unwrap to ErrInvalid")
			}
			var se *schema.Error
			if err := schema.ValidateCredential(b); !errors.As(err, &se) || !se.Has(want) {
				t.Fatalf("schema package: want a violation at %s, got %v", want, err)
			}
		})
	}
}

func readSchema(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../schema/schemas/ob_v3p0_achievementcredential-jsonschema1.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func basic(t *testing.T) *Credential {
	t.Helper()
	c, err := Parse(vectors.Read(t, "ob3-spec/basic-openbadgecredential.json"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRules(t *testing.T) {
	cases := []struct {
		name string
		edit func(c *Credential)
		path string
		rule string
	}{
		{"validUntil before validFrom", func(c *Credential) { c.ValidUntil = "2009-12-31T23:59:59Z" }, "validUntil", "after_valid_from"},
		{"validUntil equal to validFrom", func(c *Credential) { c.ValidUntil = c.ValidFrom }, "validUntil", "after_valid_from"},
		{"validFrom without zone", func(c *Credential) { c.ValidFrom = "2010-01-01T00:00:00" }, "validFrom", "rfc3339"},
		{"relative id", func(c *Credential) { c.ID = "credentials/3527" }, "id", "iri"},
		{"id with a space", func(c *Credential) { c.ID = "https://example.com/a b" }, "id", "iri"},
		{"contexts swapped", func(c *Credential) { c.Context = Many[any]{ContextOB, ContextVC} }, "@context", "ob_context"},
		{"VC 1.1 context", func(c *Credential) { c.Context = Many[any]{"https://www.w3.org/2018/credentials/v1", ContextOB} }, "@context", "ob_context"},
		{"no OB context", func(c *Credential) { c.Context = Many[any]{ContextVC} }, "@context", "ob_context"},
		{"not an OB credential", func(c *Credential) { c.Type = Many[string]{TypeVerifiableCredential} }, "type", "has_any_type"},
		{"not a VC", func(c *Credential) { c.Type = Many[string]{TypeOpenBadgeCredential} }, "type", "has_type"},
		{"neither id nor identifier", func(c *Credential) { c.CredentialSubject.ID = "" }, "credentialSubject.id", "id_or_identifier"},
		{"issuer without Profile type", func(c *Credential) { c.Issuer.Type = Many[string]{"Organization"} }, "issuer.type", "has_type"},
		{"issuer url relative", func(c *Credential) { c.Issuer.URL = "www.example.com" }, "issuer.url", "iri"},
		{"issuer email", func(c *Credential) { c.Issuer.Email = "registrar at example" }, "issuer.email", "email"},
		{"bare image", func(c *Credential) { c.Image = &Image{ID: "https://example.com/i.png", bare: true} }, "image", "object"},
		{"image type", func(c *Credential) { c.Image = &Image{ID: "https://example.com/i.png", Type: "Picture"} }, "image.type", "eq"},
		{"creator as IRI", func(c *Credential) { c.CredentialSubject.Achievement.Creator = ProfileRef("https://example.com/i") },
			"credentialSubject.achievement.creator", "object"},
		{"achievementType", func(c *Credential) { c.CredentialSubject.Achievement.AchievementType = "Trophy" },
			"credentialSubject.achievement.achievementType", "achievement_type"},
		{"alignment target type", func(c *Credential) {
			a := NewAlignment("Skill", "https://example.com/s")
			a.TargetType = "Skill"
			c.CredentialSubject.Achievement.Alignment = Many[Alignment]{a}
		}, "credentialSubject.achievement.alignment[0].targetType", "alignment_target_type"},
		{"hashed identity not a hash", func(c *Credential) {
			id := NewEmailIdentity("a@example.com", "s")
			id.IdentityHash = "a@example.com"
			c.CredentialSubject.Identifier = Many[IdentityObject]{NewNameIdentity("A"), id}
		}, "credentialSubject.identifier[1].identityHash", "identity_hash"},
		{"identity type", func(c *Credential) {
			id := NewNameIdentity("A")
			id.IdentityType = "fullName"
			c.CredentialSubject.Identifier = Many[IdentityObject]{id}
		}, "credentialSubject.identifier[0].identityType", "identifier_type"},
		{"status index", func(c *Credential) {
			c.CredentialStatus = StatusEntries{{ID: "https://example.com/s#x", Type: "BitstringStatusListEntry", StatusListIndex: "x"}}
		}, "credentialStatus.statusListIndex", "number"}, // one entry is written as an object
		{"second status entry", func(c *Credential) {
			c.CredentialStatus = StatusEntries{
				{ID: "https://example.com/s#1", Type: "BitstringStatusListEntry", StatusListIndex: "1"},
				{Type: "BitstringStatusListEntry", StatusListIndex: "1"},
			}
		}, "credentialStatus[1].id", "required"},
		{"empty status list", func(c *Credential) { c.CredentialStatus = StatusEntries{} }, "credentialStatus", "min"},
		{"result status", func(c *Credential) {
			c.CredentialSubject.Result = Many[Result]{{Type: Many[string]{"Result"}, Status: "Passed"}}
		}, "credentialSubject.result[0].status", "oneof"},
		{"language", func(c *Credential) { c.CredentialSubject.Achievement.InLanguage = "english" },
			"credentialSubject.achievement.inLanguage", "language"},
		{"endorsementJwt", func(c *Credential) { c.EndorsementJwt = Many[string]{"not a jws"} }, "endorsementJwt[0]", "compact_jws"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := basic(t)
			tc.edit(c)
			var ve *ValidationError
			if err := c.Validate(); !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			var found bool
			for _, v := range ve.Violations {
				if v.Path == tc.path && v.Rule == tc.rule {
					found = true
					if v.Message == "" || strings.HasPrefix(v.Message, "fails ") {
						t.Errorf("no readable message for %s", v.Rule)
					}
				}
			}
			if !found {
				t.Fatalf("want %s at %s, got %+v", tc.rule, tc.path, ve.Violations)
			}
		})
	}
	var nilCred *Credential
	if err := nilCred.Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("nil credential: %v", err)
	}
}

func TestBareIssuerIsValid(t *testing.T) {
	c := basic(t)
	c.Issuer = ProfileRef("https://example.com/issuers/876543")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := c.ToMap()
	if err != nil || m["issuer"] != "https://example.com/issuers/876543" {
		t.Fatalf("a bare issuer is written as its IRI: %v %v", m["issuer"], err)
	}
	c.Issuer = ProfileRef("not an iri")
	var ve *ValidationError
	if err := c.Validate(); !errors.As(err, &ve) || !ve.Has("issuer.id") {
		t.Fatalf("bare issuer must still be an IRI: %v", err)
	}
}

func TestValidateProfileAndAchievement(t *testing.T) {
	c, err := Parse(vectors.Read(t, "ob3-spec/complete-openbadgecredential.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Issuer.Validate(); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(c.Issuer)
	if err := schema.ValidateProfile(raw); err != nil {
		t.Fatalf("schema: %v", err)
	}
	if err := c.CredentialSubject.Achievement.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Issuer.Email = "nope"
	c.CredentialSubject.Achievement.Criteria = nil
	var ve *ValidationError
	if err := c.Issuer.Validate(); !errors.As(err, &ve) || len(ve.Violations) != 1 || !ve.Has("email") {
		t.Fatalf("profile: %v", err)
	}
	if err := c.CredentialSubject.Achievement.Validate(); !errors.As(err, &ve) || !ve.Has("criteria") {
		t.Fatalf("achievement: %v", err)
	}
}

func TestValidationErrorListsEverything(t *testing.T) {
	c := &Credential{}
	var ve *ValidationError
	if err := c.Validate(); !errors.As(err, &ve) {
		t.Fatal(err)
	}
	for _, p := range []string{"@context", "id", "type", "issuer", "validFrom", "credentialSubject"} {
		if !ve.Has(p) {
			t.Errorf("missing violation for %s in %v", p, ve)
		}
	}
	b, err := json.Marshal(ve.Violations)
	if err != nil || !bytes.Contains(b, []byte(`"path":"credentialSubject"`)) {
		t.Fatalf("violations must serialise for API details: %s %v", b, err)
	}
}

func TestSingleOrArray(t *testing.T) {
	doc := []byte(`{
	  "@context": "https://www.w3.org/ns/credentials/v2",
	  "id": "urn:uuid:7d6e5a2c-0000-4000-8000-000000000001",
	  "type": "OpenBadgeCredential",
	  "issuer": "did:web:example.com",
	  "validFrom": "2024-01-01T00:00:00Z",
	  "credentialSubject": {
	    "type": "AchievementSubject",
	    "identifier": {"type": "IdentityObject", "identityType": "emailAddress", "hashed": false, "identityHash": "a@example.com"},
	    "result": {"type": "Result", "value": "A"},
	    "achievement": {
	      "id": "https://example.com/a/1", "type": "Achievement", "name": "n", "description": "d",
	      "criteria": {"narrative": "n"}, "tag": "go", "image": "https://example.com/a.png",
	      "alignment": {"type": "Alignment", "targetName": "t", "targetUrl": "https://example.com/t"}
	    }
	  },
	  "evidence": {"type": "Evidence", "id": "https://example.com/e"},
	  "credentialStatus": {"id": "https://example.com/s#1", "type": "BitstringStatusListEntry", "statusPurpose": "revocation", "statusListIndex": "1", "statusListCredential": "https://example.com/s"},
	  "credentialSchema": {"id": "https://example.com/schema.json", "type": "JsonSchema"},
	  "termsOfUse": {"type": "Policy"},
	  "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofValue": "z1", "domain": ["a.example", "b.example"]}
	}`)
	c, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	s := c.CredentialSubject
	if len(c.Context) != 1 || len(c.Type) != 1 || len(s.Identifier) != 1 || len(s.Result) != 1 ||
		len(s.Achievement.Tag) != 1 || len(s.Achievement.Alignment) != 1 || len(c.Evidence) != 1 ||
		len(c.CredentialStatus) != 1 || len(c.CredentialSchema) != 1 || len(c.TermsOfUse) != 1 || len(c.Proof) != 1 {
		t.Fatalf("single values not read as one-element lists: %+v", c)
	}
	if !c.Issuer.IsRef() || c.IssuerID() != "did:web:example.com" || !s.Achievement.Image.IsRef() {
		t.Fatal("bare IRIs not kept as references")
	}
	if got := c.Proof[0].Extra["domain"]; !reflect.DeepEqual(got, []any{"a.example", "b.example"}) {
		t.Fatalf("proof extension lost: %#v", got)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, out).(map[string]any)
	for _, k := range []string{"@context", "type", "evidence", "credentialSchema", "termsOfUse", "proof"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("%s not written as an array: %v", k, m[k])
		}
	}
	sub := m["credentialSubject"].(map[string]any)
	ach := sub["achievement"].(map[string]any)
	for k, v := range map[string]any{"identifier": sub["identifier"], "result": sub["result"], "tag": ach["tag"], "alignment": ach["alignment"]} {
		if _, ok := v.([]any); !ok {
			t.Errorf("%s not written as an array: %v", k, v)
		}
	}
	if _, ok := m["credentialStatus"].(map[string]any); !ok {
		t.Errorf("a single credentialStatus must stay an object (OB 3.0 [0..1]): %v", m["credentialStatus"])
	}
	if m["issuer"] != "did:web:example.com" || ach["image"] != "https://example.com/a.png" {
		t.Errorf("bare IRIs not written back as strings: %v %v", m["issuer"], ach["image"])
	}
	// Two status entries are written as an array.
	c.CredentialStatus = append(c.CredentialStatus, c.CredentialStatus[0])
	out, _ = json.Marshal(c)
	if _, ok := decode(t, out).(map[string]any)["credentialStatus"].([]any); !ok {
		t.Error("two credentialStatus entries must be an array")
	}
	// Adding to a bare issuer turns it into an object.
	c.Issuer.Name = "Example"
	out, _ = json.Marshal(c)
	if iss, ok := decode(t, out).(map[string]any)["issuer"].(map[string]any); !ok || iss["name"] != "Example" {
		t.Errorf("issuer with a name must be an object: %s", out)
	}
}

func TestExtensionsSurvive(t *testing.T) {
	raw := []byte(`{"@context":["https://www.w3.org/ns/credentials/v2","https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",{"ext":"https://example.com/ext#"}],
	  "id":"urn:uuid:1","type":["VerifiableCredential","OpenBadgeCredential"],"ext:top":{"n":12345678901234567890,"f":1.50},
	  "issuer":{"id":"https://example.com/i","type":["Profile"],"ext:tier":"gold"},
	  "validFrom":"2024-01-01T00:00:00Z",
	  "credentialSubject":{"type":["AchievementSubject"],"id":"did:example:1","ext:cohort":[1,2],
	    "achievement":{"id":"https://example.com/a","type":["Achievement"],"name":"n","description":"d","criteria":{"narrative":"x","ext:c":true},
	      "ext:level":3,"alignment":[{"type":["Alignment"],"targetName":"t","targetUrl":"https://example.com/t","ext:w":0.5}]},
	    "result":[{"type":["Result"],"value":"A","ext:r":"q"}]},
	  "proof":[{"type":"DataIntegrityProof","previousProof":"urn:p","proofValue":"z"}]}`)
	c, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.Extra["ext:top"] == nil || c.Issuer.Extra["ext:tier"] != "gold" || c.CredentialSubject.Extra["ext:cohort"] == nil ||
		c.CredentialSubject.Achievement.Extra["ext:level"] == nil {
		t.Fatalf("extensions not kept: %+v", c.Extra)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	// Exact numbers: compare with UseNumber so 12345678901234567890 and 1.50 are checked digit
	// for digit.
	exact := func(b []byte) any {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if !reflect.DeepEqual(exact(raw), exact(out)) {
		t.Fatalf("extensions changed\n in: %s\nout: %s", raw, out)
	}
	// A named field wins over an extension of the same name.
	c.Extra["name"] = "shadow"
	c.Name = "real"
	out, _ = json.Marshal(c)
	if bytes.Count(out, []byte(`"name":"real"`)) != 1 || bytes.Contains(out, []byte("shadow")) {
		t.Fatalf("extension shadowed a field: %s", out)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", ErrNotObject}, {"   ", ErrNotObject}, {"[]", ErrNotObject}, {"null", ErrNotObject}, {`"x"`, ErrNotObject},
	} {
		if _, err := Parse([]byte(tc.in)); !errors.Is(err, tc.want) {
			t.Errorf("%q: want %v, got %v", tc.in, tc.want, err)
		}
	}
	if _, err := Parse(make([]byte, MaxSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("want ErrTooLarge, got %v", err)
	}
	for _, tc := range []struct{ in, mention string }{
		{`{"id": 1}`, "id"},
		{`{"credentialSubject":{"achievement":{"criteria":"see website"}}}`, "criteria"},
		{`{"credentialSubject":{"achievement":{"tag":[1]}}}`, "tag"},
		{`{"validFrom": "2020-01-01T00:00:00Z"`, "unexpected end"},
		{`{"a":1} {"b":2}`, "invalid character"},
		// encoding/json would fill Name from these; JSON-LD sees an unsigned, undefined term.
		{`{"name":"Real","NAME":"Fake"}`, "letter case"},
		{`{"credentialSubject":{"achievement":{"Name":"Fake"}}}`, "letter case"},
		{`{"credentialSubject":{"result":[{"type":"Result","ſtatus":"Completed"}]}}`, "letter case"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.mention) || !strings.HasPrefix(err.Error(), "ob3: parse credential") {
			t.Errorf("%s: want an error mentioning %q, got %v", tc.in, tc.mention, err)
		}
	}
}

func TestContextAndTypesOfNewCredential(t *testing.T) {
	c := NewCredential("urn:uuid:1")
	if !reflect.DeepEqual(c.Context, Many[any]{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"}) {
		t.Fatalf("context: %v", c.Context)
	}
	if !Contains(c.Type, "VerifiableCredential") || !Contains(c.Type, "OpenBadgeCredential") {
		t.Fatalf("type: %v", c.Type)
	}
}

// viaMarshal is the reference ToMap must match: the credential encoded and decoded again.
func viaMarshal(t testing.TB, c *Credential) map[string]any {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestToMapEqualsMarshal(t *testing.T) {
	var creds []*Credential
	for _, rel := range credentialExamples {
		c, err := Parse(vectors.Read(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		creds = append(creds, c)
	}
	odd, err := Parse([]byte(`{"@context":["https://www.w3.org/ns/credentials/v2",{"x":"https://x.example/"}],"issuer":"did:example:1",
	  "ext:n":[1,12345678901234567890,1.5e3,null,true,{"a":"\u00e9"}],"credentialStatus":[{"id":"urn:s","type":"T","extra":{"k":2}}],
	  "credentialSubject":{"image":"https://i.example/a.png","identifier":[{"type":"IdentityObject","hashed":false,"identityHash":"x","identityType":"name"}],
	    "creditsEarned":0,"achievement":{"id":"urn:a","creator":{"id":"urn:c"},"creditsAvailable":2.5}}}`))
	if err != nil {
		t.Fatal(err)
	}
	typical := typicalBadge()
	typical.Extra = map[string]any{"ext:go": struct{ A int }{7}, "id": "shadowed", "\xffbad": "\xfe"}
	typical.Name = "bad \xff utf-8"
	creds = append(creds, odd, typical, NewCredential("urn:uuid:1"), &Credential{})
	for i, c := range creds {
		got, err := c.ToMap()
		if err != nil {
			t.Fatal(err)
		}
		if want := viaMarshal(t, c); !reflect.DeepEqual(got, want) {
			t.Fatalf("credential %d: ToMap differs from encoding\n got: %#v\nwant: %#v", i, got, want)
		}
	}
	nan := typicalBadge()
	nan.CredentialSubject.CreditsEarned = new(float64)
	*nan.CredentialSubject.CreditsEarned = math.NaN()
	if _, err := nan.ToMap(); err == nil {
		t.Fatal("NaN cannot be written as JSON")
	}
}

func TestToMap(t *testing.T) {
	c := basic(t)
	m, err := c.ToMap()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(m), normalize(decode(t, vectors.Read(t, "ob3-spec/basic-openbadgecredential.json")))) {
		t.Fatalf("ToMap differs from the document: %v", m)
	}
	if _, ok := m["credentialSubject"].(map[string]any)["achievement"].(map[string]any); !ok {
		t.Fatal("ToMap must give plain maps all the way down")
	}
}
