package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credence-oss/credence/shared/standards/vectors"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// edit decodes a vector, lets f change it, and encodes it again.
func edit(t *testing.T, rel string, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(vectors.Read(t, rel), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("want *schema.Error, got %T: %v", err, err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatal("*Error must unwrap to ErrInvalid")
	}
	return se
}

var credentialExamples = []string{
	"ob3-spec/basic-openbadgecredential.json",
	"ob3-spec/complete-openbadgecredential.json",
	"ob3-spec/achievement-alignment-case.json",
	"ob3-spec/achievement-alignment-credential-engine.json",
	"ob3-spec/skill-assertion-case.json",
	"ob3-spec/skill-assertion-ctdl.json",
	"ob3-spec/docformat-sample-openbadgecredential-file.json",
	"ob3-ldp-test-vector/credential-unsigned.json",
}

func TestOfficialExamplesPass(t *testing.T) {
	for _, rel := range credentialExamples {
		doc := vectors.Read(t, rel)
		if err := ValidateCredential(doc); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		// The spec examples are in the strict JSON form already.
		if err := Strict(AchievementCredential, doc); err != nil {
			t.Errorf("%s strict: %v", rel, err)
		}
	}
	end := vectors.Read(t, "ob3-spec/endorsementcredential.json")
	if err := ValidateEndorsement(end); err != nil {
		t.Errorf("endorsement: %v", err)
	}
	// An endorsement is not an achievement credential.
	se := asError(t, ValidateCredential(end))
	if !se.Has("type") || !se.Has("credentialSubject.achievement") {
		t.Errorf("endorsement as credential: %v", se)
	}
}

func TestCredentialSchemaURLsResolve(t *testing.T) {
	doc := vectors.Read(t, "ob3-spec/skill-assertion-case.json")
	var c struct {
		CredentialSchema []struct{ ID string } `json:"credentialSchema"`
	}
	if err := json.Unmarshal(doc, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.CredentialSchema) == 0 {
		t.Fatal("example has no credentialSchema")
	}
	for _, s := range c.CredentialSchema {
		if !Known(s.ID) {
			t.Errorf("%s is cited by the spec but not mapped", s.ID)
		}
		if err := Validate(s.ID, doc); err != nil {
			t.Errorf("validate with %s: %v", s.ID, err)
		}
	}
	jsonld := "https://purl.imsglobal.org/spec/ob/v3p0/schema/json-ld/ob_v3p0_achievementcredential_schema.json"
	if err := Validate(jsonld, doc); err != nil {
		t.Errorf("json-ld alias: %v", err)
	}
	for _, id := range []string{AchievementCredential, EndorsementCredential, Profile, GetOpenBadgeCredentialsResponse, StatusInfo} {
		if !Known(id) {
			t.Errorf("$id %s not embedded", id)
		}
	}
	for _, bad := range []string{"https://example.com/schema.json", "https://accrediter.edu/schema/endorsementcredential.json", ""} {
		if Known(bad) {
			t.Errorf("%q must not be known", bad)
		}
		if err := Validate(bad, doc); !errors.Is(err, ErrUnknownSchema) {
			t.Errorf("%q: want ErrUnknownSchema, got %v", bad, err)
		}
	}
}

func TestTargetedViolations(t *testing.T) {
	const basic = "ob3-spec/basic-openbadgecredential.json"
	cases := []struct {
		name    string
		edit    func(m map[string]any)
		path    string
		message string // a fragment the message must contain
	}{
		{"missing issuer", func(m map[string]any) { delete(m, "issuer") }, "issuer", "required"},
		{"missing credentialSubject", func(m map[string]any) { delete(m, "credentialSubject") }, "credentialSubject", "required"},
		{"missing validFrom", func(m map[string]any) { delete(m, "validFrom") }, "validFrom", "required"},
		{"missing @context", func(m map[string]any) { delete(m, "@context") }, "@context", "required"},
		{"type without OpenBadgeCredential", func(m map[string]any) { m["type"] = []any{"VerifiableCredential"} },
			"type", `"OpenBadgeCredential"`},
		{"type without VerifiableCredential", func(m map[string]any) { m["type"] = []any{"OpenBadgeCredential"} },
			"type", `"VerifiableCredential"`},
		{"type as a string", func(m map[string]any) { m["type"] = "OpenBadgeCredential" }, "type", "array"},
		{"date without time", func(m map[string]any) { m["validFrom"] = "2010-01-01" }, "validFrom", "date-time"},
		{"date without zone", func(m map[string]any) { m["validFrom"] = "2010-01-01T00:00:00" }, "validFrom", "date-time"},
		{"bad validUntil", func(m map[string]any) { m["validUntil"] = "soon" }, "validUntil", "date-time"},
		{"issuer without id", func(m map[string]any) { delete(m["issuer"].(map[string]any), "id") }, "issuer.id", "required"},
		{"contexts swapped", func(m map[string]any) {
			c := m["@context"].([]any)
			c[0], c[1] = c[1], c[0]
		}, "@context[0]", "https://www.w3.org/ns/credentials/v2"},
		{"achievement without criteria", func(m map[string]any) {
			delete(m["credentialSubject"].(map[string]any)["achievement"].(map[string]any), "criteria")
		}, "credentialSubject.achievement.criteria", "required"},
		{"unknown achievementType", func(m map[string]any) {
			m["credentialSubject"].(map[string]any)["achievement"].(map[string]any)["achievementType"] = "Trophy"
		}, "credentialSubject.achievement.achievementType", "Badge"},
		{"image without type", func(m map[string]any) { m["image"] = map[string]any{"id": "https://example.com/i.png"} },
			"image.type", "required"},
		{"image extra property", func(m map[string]any) {
			m["image"] = map[string]any{"id": "https://example.com/i.png", "type": "Image", "alt": "x"}
		}, "image", "additional"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			se := asError(t, ValidateCredential(edit(t, basic, tc.edit)))
			var found bool
			for _, v := range se.Violations {
				if v.Path == tc.path && strings.Contains(v.Message, tc.message) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want a violation at %q mentioning %q, got %v", tc.path, tc.message, se.Violations)
			}
			if !strings.Contains(se.Error(), tc.path) {
				t.Errorf("Error() does not name the path: %s", se.Error())
			}
		})
	}
}

func TestIssuerObjectErrorHasNoStringBranchNoise(t *testing.T) {
	doc := edit(t, "ob3-spec/basic-openbadgecredential.json", func(m map[string]any) {
		delete(m["issuer"].(map[string]any), "id")
	})
	se := asError(t, ValidateCredential(doc))
	if len(se.Violations) != 1 || se.Violations[0].Path != "issuer.id" || se.Violations[0].Pointer != "/issuer/id" {
		t.Fatalf("want exactly issuer.id, got %+v", se.Violations)
	}
	// Neither form of issuer: one message naming both.
	doc = edit(t, "ob3-spec/basic-openbadgecredential.json", func(m map[string]any) { m["issuer"] = 42 })
	se = asError(t, ValidateCredential(doc))
	if len(se.Violations) != 1 || se.Violations[0].Path != "issuer" ||
		!strings.Contains(se.Violations[0].Message, "string") || !strings.Contains(se.Violations[0].Message, "object") {
		t.Fatalf("want one issuer violation naming string and object, got %+v", se.Violations)
	}
}

func TestBareIssuerIRIAccepted(t *testing.T) {
	doc := edit(t, "ob3-spec/basic-openbadgecredential.json", func(m map[string]any) {
		m["issuer"] = "https://example.com/issuers/876543"
	})
	if err := ValidateCredential(doc); err != nil {
		t.Fatal(err)
	}
}

func TestSingleProofAccepted(t *testing.T) {
	signed := vectors.Read(t, "ob3-ldp-test-vector/credential-signed.json")
	if !bytes.Contains(signed, []byte(`"proof": {`)) {
		t.Fatal("the OB 3.0 test vector is expected to carry a single proof object")
	}
	before := bytes.Clone(signed)
	if err := ValidateCredential(signed); err != nil {
		t.Fatalf("single proof: %v", err)
	}
	if !bytes.Equal(before, signed) {
		t.Fatal("validation changed the caller's bytes")
	}
	se := asError(t, Strict(AchievementCredential, signed))
	if len(se.Violations) != 1 || se.Violations[0].Path != "proof" {
		t.Fatalf("strict: want only proof, got %+v", se.Violations)
	}
	// The single proof is still checked as a Proof.
	doc := edit(t, "ob3-ldp-test-vector/credential-signed.json", func(m map[string]any) {
		delete(m["proof"].(map[string]any), "type")
	})
	if se := asError(t, ValidateCredential(doc)); !se.Has("proof.type") {
		t.Fatalf("single proof without type: %v", se)
	}
	doc = edit(t, "ob3-ldp-test-vector/credential-signed.json", func(m map[string]any) {
		m["proof"].(map[string]any)["created"] = "yesterday"
	})
	if se := asError(t, ValidateCredential(doc)); !se.Has("proof.created") {
		t.Fatalf("single proof with a bad date: %v", se)
	}
	doc = edit(t, "ob3-ldp-test-vector/credential-signed.json", func(m map[string]any) {
		p := m["proof"].(map[string]any)
		delete(p, "type")
		m["proof"] = []any{p}
	})
	if se := asError(t, ValidateCredential(doc)); !se.Has("proof[0].type") {
		t.Fatalf("proof array: %v", se)
	}
	doc = edit(t, "ob3-ldp-test-vector/credential-signed.json", func(m map[string]any) { m["proof"] = "z123" })
	if se := asError(t, ValidateCredential(doc)); !se.Has("proof") {
		t.Fatalf("proof string: %v", se)
	}
}

func TestCredentialStatus(t *testing.T) {
	entry := func(purpose string) map[string]any {
		return map[string]any{
			"id": "https://example.com/status/1#7", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
			"statusListIndex": "7", "statusListCredential": "https://example.com/status/1",
		}
	}
	two := edit(t, "ob3-spec/basic-openbadgecredential.json", func(m map[string]any) {
		m["credentialStatus"] = []any{entry("revocation"), entry("suspension")}
	})
	if err := ValidateCredential(two); err != nil {
		t.Fatalf("two status entries: %v", err)
	}
	// OB 3.0 as published allows one entry; this is the conflict the tolerant mode resolves.
	if se := asError(t, Strict(AchievementCredential, two)); !se.Has("credentialStatus") {
		t.Fatalf("strict: %v", se)
	}
	one := edit(t, "ob3-spec/basic-openbadgecredential.json", func(m map[string]any) { m["credentialStatus"] = entry("revocation") })
	if err := Strict(AchievementCredential, one); err != nil {
		t.Fatalf("one entry, strict: %v", err)
	}
	empty := edit(t, "ob3-spec/basic-openbadgecredential.json", func(m map[string]any) { m["credentialStatus"] = []any{} })
	if se := asError(t, ValidateCredential(empty)); !se.Has("credentialStatus") {
		t.Fatalf("empty array: %v", se)
	}
	noID := edit(t, "ob3-spec/basic-openbadgecredential.json", func(m map[string]any) {
		e := entry("suspension")
		delete(e, "id")
		m["credentialStatus"] = []any{entry("revocation"), e}
	})
	if se := asError(t, ValidateCredential(noID)); !se.Has("credentialStatus[1].id") {
		t.Fatalf("entry without id: %v", se)
	}
}

func TestSignedVectors(t *testing.T) {
	if err := ValidateCredential(vectors.Read(t, "ob3-ldp-test-vector/credential-signed.json")); err != nil {
		t.Fatalf("OB 3.0 signed vector: %v", err)
	}
	// The W3C eddsa vectors are plain VCs (an AlumniCredential), not Open Badges.
	for _, rel := range []string{
		"w3c-vc-di-eddsa/eddsa-rdfc-2022/signedDataInt.json",
		"w3c-vc-di-eddsa/Ed25519Signature2020/signedEdSig.json",
		"w3c-vc-di-eddsa/unsigned.json",
	} {
		se := asError(t, ValidateCredential(vectors.Read(t, rel)))
		if !se.Has("type") || !se.Has("credentialSubject.achievement") {
			t.Errorf("%s: %v", rel, se)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, in := range []string{"", "{", `{"a":1} x`, "\xff"} {
		if err := ValidateCredential([]byte(in)); !errors.Is(err, ErrNotJSON) {
			t.Errorf("%q: want ErrNotJSON, got %v", in, err)
		}
	}
	for _, in := range []string{"null", "[]", `"x"`, "1"} {
		se := asError(t, ValidateCredential([]byte(in)))
		if len(se.Violations) != 1 || se.Violations[0].Path != "" || !strings.Contains(se.Violations[0].Message, "object") {
			t.Errorf("%s: %+v", in, se.Violations)
		}
	}
	big := make([]byte, MaxSize+1)
	if err := ValidateCredential(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("want ErrTooLarge, got %v", err)
	}
}

func TestRemoteRefRefused(t *testing.T) {
	c := newCompiler()
	if err := c.AddResource("urn:test:schema", map[string]any{"$ref": "https://evil.example/schema.json"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Compile("urn:test:schema")
	var le *jsonschema.LoadURLError
	if !errors.As(err, &le) || !errors.Is(le.Err, ErrUnknownSchema) || le.URL != "https://evil.example/schema.json" {
		t.Fatalf("a remote $ref must be refused by our loader, got %v", err)
	}
}

func TestViolationPaths(t *testing.T) {
	if got := dotted([]string{"credentialSubject", "result", "0", "alignment", "1", "targetUrl"}); got != "credentialSubject.result[0].alignment[1].targetUrl" {
		t.Fatal(got)
	}
	if got := pointer([]string{"@context", "a/b~c"}); got != "/@context/a~1b~0c" {
		t.Fatal(got)
	}
}

func BenchmarkValidateCredential(b *testing.B) {
	for _, rel := range []string{"ob3-ldp-test-vector/credential-signed.json", "ob3-spec/complete-openbadgecredential.json"} {
		doc := vectors.Read(b, rel)
		b.Run(filepath.Base(rel), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if err := ValidateCredential(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
