package statuslist

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/standards/jsonld"
)

func parse(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// From w3c/vc-bitstring-status-list index.html @ 0073c2ca…, "Example BitstringStatusListCredential"
// and the credentialStatus of "A Revocable Verifiable Credential" that points at it.
const specListCredential = `{
  "@context": ["https://www.w3.org/ns/credentials/v2"],
  "id": "https://example.com/credentials/status/3",
  "type": ["VerifiableCredential", "BitstringStatusListCredential"],
  "issuer": "did:example:12345",
  "validFrom": "2021-04-05T14:27:40Z",
  "credentialSubject": {
    "id": "https://example.com/status/3#list",
    "type": "BitstringStatusList",
    "statusPurpose": "revocation",
    "encodedList": "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
  }
}`

const specEntry = `{
  "id": "https://example.com/credentials/status/3#94567",
  "type": "BitstringStatusListEntry",
  "statusPurpose": "revocation",
  "statusListIndex": "94567",
  "statusListCredential": "https://example.com/credentials/status/3"
}`

// w3c/vc-bitstring-status-list-test-suite @ 25c06363… fixtures/status-credentials/*.jsonld
// (list credentials, verbatim but for whitespace) and fixtures/should-be-revoked.jsonld /
// should-be-suspended.jsonld (their credentialStatus entries).
const (
	suiteSinglePurposeOK = `{
  "@context": ["https://www.w3.org/ns/credentials/v2"],
  "type": ["VerifiableCredential", "BitstringStatusListCredential"],
  "credentialSubject": {
    "type": "BitstringStatusList",
    "statusPurpose": "revocation",
    "encodedList": "H4sIACbOo2YC_-3QMREAMAgEsGerLPyrQgFjB-4SCUkWHQAAAAAAAOCwpwAAAADgrFIAAAAAAAAAAAAAAAAA3wxvOeOvqGEAAA"
  }
}`
	suiteMultiPurposeOK = `{
  "@context": ["https://www.w3.org/ns/credentials/v2"],
  "type": ["VerifiableCredential", "BitstringStatusListCredential"],
  "credentialSubject": {
    "type": "BitstringStatusList",
    "statusPurpose": ["revocation", "suspension"],
    "encodedList": "H4sIACbOo2YC_-3QMREAMAgEsGerLPyrQgFjB-4SCUkWHQAAAAAAAOCwpwAAAADgrFIAAAAAAAAAAAAAAAAA3wxvOeOvqGEAAA"
  }
}`
	suiteMultiPurposeFail = `{
  "@context": ["https://www.w3.org/ns/credentials/v2"],
  "type": ["VerifiableCredential", "BitstringStatusListCredential"],
  "credentialSubject": {
    "type": "BitstringStatusList",
    "statusPurpose": ["random", "purposes"],
    "encodedList": "H4sIACbOo2YC_-3QMREAMAgEsGerLPyrQgFjB-4SCUkWHQAAAAAAAOCwpwAAAADgrFIAAAAAAAAAAAAAAAAA3wxvOeOvqGEAAA"
  }
}`
	suiteShortFail = `{
  "@context": ["https://www.w3.org/ns/credentials/v2"],
  "type": ["VerifiableCredential", "BitstringStatusListCredential"],
  "credentialSubject": {
    "type": "BitstringStatusList",
    "statusPurpose": ["revocation"],
    "encodedList": "H4sIAN7Lo2YC_2NgwAEAjw7P6RkAAAA"
  }
}`
	suiteRevokedEntry = `{
  "type": "BitstringStatusListEntry",
  "statusPurpose": "revocation",
  "statusListIndex": "201",
  "statusListCredential": "https://w3c-ccg.github.io/vc-api/fixtures/credentials/status/purpose-single-ok.jsonld"
}`
	suiteSuspendedEntry = `{
  "type": "BitstringStatusListEntry",
  "statusPurpose": "suspension",
  "statusListIndex": "201",
  "statusListCredential": "https://w3c-ccg.github.io/vc-api/fixtures/credentials/status/purpose-multi-ok.jsonld"
}`
)

func TestCheckSpecExample(t *testing.T) {
	set, purpose, err := Check(parse(t, specListCredential), parse(t, specEntry))
	if err != nil || set || purpose != PurposeRevocation {
		t.Fatalf("Check = %v %q %v; want false revocation nil", set, purpose, err)
	}
}

func TestCheckSuiteVectors(t *testing.T) {
	set, purpose, err := Check(parse(t, suiteSinglePurposeOK), parse(t, suiteRevokedEntry))
	if err != nil || !set || purpose != PurposeRevocation {
		t.Fatalf("should-be-revoked: %v %q %v", set, purpose, err)
	}
	set, purpose, err = Check(parse(t, suiteMultiPurposeOK), parse(t, suiteSuspendedEntry))
	if err != nil || !set || purpose != PurposeSuspension {
		t.Fatalf("should-be-suspended: %v %q %v", set, purpose, err)
	}
	entry := parse(t, suiteRevokedEntry)
	entry["statusListIndex"] = "202"
	if set, _, err := Check(parse(t, suiteSinglePurposeOK), entry); err != nil || set {
		t.Fatalf("index 202: %v %v, want unset", set, err)
	}
	if _, _, err := Check(parse(t, suiteMultiPurposeFail), parse(t, suiteRevokedEntry)); !errors.Is(err, ErrPurpose) {
		t.Fatalf("multi-purpose-fail: %v, want ErrPurpose", err)
	}
	if _, _, err := Check(parse(t, suiteSinglePurposeOK), parse(t, suiteSuspendedEntry)); !errors.Is(err, ErrPurpose) {
		t.Fatalf("suspension entry against a revocation list: %v, want ErrPurpose", err)
	}
	if _, _, err := Check(parse(t, suiteShortFail), parse(t, suiteRevokedEntry)); !errors.Is(err, ErrTooSmall) {
		t.Fatalf("short list: %v, want ErrTooSmall", err)
	}
}

func TestCheckRejects(t *testing.T) {
	list := parse(t, suiteSinglePurposeOK)
	cases := map[string]struct {
		edit func(list, entry map[string]any)
		want error
	}{
		"index at length":     {func(_, e map[string]any) { e["statusListIndex"] = "200000" }, ErrRange},
		"huge index":          {func(_, e map[string]any) { e["statusListIndex"] = "99999999999999999999999" }, ErrRange},
		"negative index":      {func(_, e map[string]any) { e["statusListIndex"] = "-1" }, ErrInvalid},
		"non-decimal index":   {func(_, e map[string]any) { e["statusListIndex"] = "0x10" }, ErrInvalid},
		"missing index":       {func(_, e map[string]any) { delete(e, "statusListIndex") }, ErrInvalid},
		"missing purpose":     {func(_, e map[string]any) { delete(e, "statusPurpose") }, ErrInvalid},
		"missing list url":    {func(_, e map[string]any) { delete(e, "statusListCredential") }, ErrInvalid},
		"no entry type":       {func(_, e map[string]any) { delete(e, "type") }, ErrInvalid},
		"unknown entry type":  {func(_, e map[string]any) { e["type"] = "CRLBloomFilter2023Entry" }, ErrUnsupported},
		"statusSize 2":        {func(_, e map[string]any) { e["statusSize"] = 2.0 }, ErrUnsupported},
		"statusSize 0":        {func(_, e map[string]any) { e["statusSize"] = 0.0 }, ErrInvalid},
		"list type":           {func(l, _ map[string]any) { l["type"] = []any{"VerifiableCredential"} }, ErrInvalid},
		"other list id":       {func(l, _ map[string]any) { l["id"] = "https://example.com/other-list" }, ErrInvalid},
		"subject type":        {func(l, _ map[string]any) { l["credentialSubject"].(map[string]any)["type"] = "StatusList2021" }, ErrInvalid},
		"two subjects":        {func(l, _ map[string]any) { l["credentialSubject"] = []any{map[string]any{}, map[string]any{}} }, ErrInvalid},
		"no encodedList":      {func(l, _ map[string]any) { delete(l["credentialSubject"].(map[string]any), "encodedList") }, ErrInvalid},
		"garbage encodedList": {func(l, _ map[string]any) { l["credentialSubject"].(map[string]any)["encodedList"] = "uH4sInope" }, ErrMalformed},
		"legacy list for new entry": {func(l, _ map[string]any) {
			l["type"] = []any{"VerifiableCredential", LegacyCredentialType}
		}, ErrInvalid},
	}
	for name, tc := range cases {
		l, e := clone(t, list), parse(t, suiteRevokedEntry)
		tc.edit(l, e)
		if _, _, err := Check(l, e); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	// Leniency that is safe: statusSize 1, a numeric index, a matching list id, a one-element
	// subject array.
	l, e := clone(t, list), parse(t, suiteRevokedEntry)
	e["statusSize"] = 1.0
	e["statusListIndex"] = 201.0
	l["id"] = e["statusListCredential"]
	l["credentialSubject"] = []any{l["credentialSubject"]}
	if set, _, err := Check(l, e); err != nil || !set {
		t.Fatalf("lenient forms: %v %v", set, err)
	}
}

func clone(t *testing.T, m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, string(b))
}

func TestCheckLegacyStatusList2021(t *testing.T) {
	// The encodedList is hyperledger/identus-cloud-agent's documented StatusList2021 example
	// (bit 6 set); the surrounding credential follows the StatusList2021 data model.
	list := parse(t, `{
  "@context": ["https://www.w3.org/2018/credentials/v1", "https://w3id.org/vc/status-list/2021/v1"],
  "id": "https://example.com/credentials/status/legacy",
  "type": ["VerifiableCredential", "StatusList2021Credential"],
  "credentialSubject": {"type": "StatusList2021", "statusPurpose": "revocation",
    "encodedList": "`+identusLegacyList+`"}
}`)
	entry := map[string]any{
		"id": "https://example.com/credentials/status/legacy#6", "type": LegacyEntryType,
		"statusPurpose": "revocation", "statusListIndex": "6",
		"statusListCredential": "https://example.com/credentials/status/legacy",
	}
	if set, _, err := Check(list, entry); err != nil || !set {
		t.Fatalf("index 6: %v %v", set, err)
	}
	entry["statusListIndex"] = "1" // where an LSB-first reader would find the bit
	if set, _, err := Check(list, entry); err != nil || set {
		t.Fatalf("index 1: %v %v", set, err)
	}
	entry["type"] = EntryType // a new-style entry must not accept a legacy list
	if _, _, err := Check(list, entry); !errors.Is(err, ErrInvalid) {
		t.Fatalf("new entry on legacy list: %v", err)
	}
}

func TestRevocationList1EdTech(t *testing.T) {
	// The credentialStatus of the official OB 3.0 endorsement example.
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "standards", "ob3-spec", "endorsementcredential.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cred map[string]any
	if err := json.Unmarshal(raw, &cred); err != nil {
		t.Fatal(err)
	}
	entries, err := Entries(cred)
	if err != nil || len(entries) != 1 {
		t.Fatalf("Entries: %v %v", entries, err)
	}
	_, _, err = Check(map[string]any{}, entries[0])
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "CheckRevocationList") {
		t.Fatalf("Check on 1EdTechRevocationList: %v", err)
	}

	doc := parse(t, `{
  "id": "https://state.gov/credentials/3732/revocations",
  "issuer": "https://state.gov/issuers/565049",
  "revokedCredentials": [
    {"id": "urn:uuid:revoked", "revocationReason": "issued in error"},
    {"id": "urn:uuid:reinstated", "revoked": false},
    {"id": "urn:uuid:explicit", "revoked": true},
    "urn:uuid:bare"
  ]
}`)
	for id, want := range map[string]bool{
		"urn:uuid:revoked": true, "urn:uuid:reinstated": false, "urn:uuid:explicit": true,
		"urn:uuid:bare": true, cred["id"].(string): false,
	} {
		got, err := CheckRevocationList(doc, id)
		if err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", id, got, err, want)
		}
	}
	if _, err := CheckRevocationList(map[string]any{"id": "x"}, "urn:uuid:a"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no revokedCredentials: %v", err)
	}
	doc["revokedCredentials"] = []any{map[string]any{"id": "urn:uuid:a", "revoked": "yes"}}
	if _, err := CheckRevocationList(doc, "urn:uuid:a"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("non-boolean revoked: %v", err)
	}
}

func TestEntryShape(t *testing.T) {
	e := NewEntry("https://example.com/credentials/status/3", PurposeRevocation, 94567)
	got, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var fromSpec Entry
	if err := json.Unmarshal([]byte(specEntry), &fromSpec); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(fromSpec)
	if string(got) != string(want) || fromSpec != e {
		t.Fatalf("NewEntry JSON\n %s\nspec example\n %s", got, want)
	}
	m := e.Map()
	spec := parse(t, specEntry)
	if len(m) != len(spec) {
		t.Fatalf("Map keys %v, spec keys %v", m, spec)
	}
	for k, v := range spec {
		if m[k] != v {
			t.Fatalf("Map[%s] = %v, spec %v", k, m[k], v)
		}
	}
}

func TestEntries(t *testing.T) {
	one := map[string]any{"type": EntryType}
	for name, tc := range map[string]struct {
		cred map[string]any
		n    int
		err  bool
	}{
		"none":   {map[string]any{}, 0, false},
		"object": {map[string]any{"credentialStatus": one}, 1, false},
		"array":  {map[string]any{"credentialStatus": []any{one, one}}, 2, false},
		"string": {map[string]any{"credentialStatus": "x"}, 0, true},
		"bad el": {map[string]any{"credentialStatus": []any{one, 3.0}}, 0, true},
	} {
		got, err := Entries(tc.cred)
		if (err != nil) != tc.err || len(got) != tc.n {
			t.Errorf("%s: %d entries, err %v", name, len(got), err)
		}
	}
}

func TestCredentialCanonicalizesAndChecks(t *testing.T) {
	list, _ := New(MinSize)
	list.Set(94567, true)
	const id = "https://credence.example/status/iss1/rev-1"
	validFrom := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	cred, err := Credential(id, "did:web:credence.example:issuers:iss1", PurposeRevocation, list, validFrom)
	if err != nil {
		t.Fatal(err)
	}
	if cred["validFrom"] != "2026-03-01T11:00:00Z" {
		t.Fatalf("validFrom %v", cred["validFrom"])
	}
	subj := cred["credentialSubject"].(map[string]any)
	if subj["id"] != id+"#list" || subj["type"] != SubjectType || subj["statusPurpose"] != PurposeRevocation {
		t.Fatalf("subject %v", subj)
	}

	// Both as built and after a JSON round trip (what the signer and a verifier see), the
	// credential must pass JSON-LD safe mode: every term defined by the VC 2.0 context.
	wire := clone(t, cred)
	for name, doc := range map[string]map[string]any{"built": cred, "json": wire} {
		nq, err := jsonld.CanonicalizeReference(doc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, want := range []string{
			"<https://www.w3.org/ns/credentials/status#encodedList> \"" + subj["encodedList"].(string) + "\"^^<https://w3id.org/security#multibase>",
			"<https://www.w3.org/ns/credentials/status#statusPurpose> \"revocation\"",
			"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://www.w3.org/ns/credentials/status#BitstringStatusListCredential>",
		} {
			if !strings.Contains(nq, want) {
				t.Fatalf("%s: N-Quads lack %s:\n%s", name, want, nq)
			}
		}
	}

	entry := NewEntry(id, PurposeRevocation, 94567).Map()
	if set, _, err := Check(wire, clone(t, entry)); err != nil || !set {
		t.Fatalf("own credential, set index: %v %v", set, err)
	}
	entry = NewEntry(id, PurposeRevocation, 94568).Map()
	if set, _, err := Check(wire, entry); err != nil || set {
		t.Fatalf("own credential, clear index: %v %v", set, err)
	}
	if _, _, err := Check(wire, NewEntry(id, PurposeSuspension, 1).Map()); !errors.Is(err, ErrPurpose) {
		t.Fatalf("suspension entry on revocation list: %v", err)
	}
}

func TestCredentialRefuses(t *testing.T) {
	list, _ := New(MinSize)
	now := time.Now()
	for name, f := range map[string]func() (map[string]any, error){
		"relative id": func() (map[string]any, error) { return Credential("/status/1", "did:x", PurposeRevocation, list, now) },
		"fragment id": func() (map[string]any, error) {
			return Credential("https://x/s#1", "did:x", PurposeRevocation, list, now)
		},
		"no issuer": func() (map[string]any, error) { return Credential("https://x/s", "", PurposeRevocation, list, now) },
		"message":   func() (map[string]any, error) { return Credential("https://x/s", "did:x", "message", list, now) },
		"nil list":  func() (map[string]any, error) { return Credential("https://x/s", "did:x", PurposeRevocation, nil, now) },
		"small list": func() (map[string]any, error) {
			return Credential("https://x/s", "did:x", PurposeRevocation, smallList(64), now)
		},
		"no validFrom": func() (map[string]any, error) {
			return Credential("https://x/s", "did:x", PurposeRevocation, list, time.Time{})
		},
	} {
		if _, err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
