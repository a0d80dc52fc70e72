// Package verifier checks any Open Badges 3.0 credential — JSON with an embedded proof, a
// compact VC-JWT, or a baked PNG or SVG badge — as a list of named checks, each with its own
// outcome and a message a person can read, in the manner of the DCC verifier-core.
//
// It fails closed: a check that cannot be completed (an unknown proof type, a status list that
// cannot be fetched) is a failed check, never a skipped one. It never fetches a JSON-LD context;
// DID documents and status lists are read through the injected Fetch, so it does no I/O itself.
package verifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credence-oss/credence/shared/standards/bake"
	"github.com/credence-oss/credence/shared/standards/dataintegrity"
	"github.com/credence-oss/credence/shared/standards/did"
	"github.com/credence-oss/credence/shared/standards/jsonld"
	"github.com/credence-oss/credence/shared/standards/schema"
	"github.com/credence-oss/credence/shared/standards/statuslist"
	"github.com/credence-oss/credence/shared/standards/vcjwt"
)

// Names of the checks, as reported.
const (
	CheckFormat   = "format"
	CheckProof    = "proof"
	CheckSchema   = "schema"
	CheckContext  = "context"
	CheckIssuer   = "issuer"
	CheckValidity = "validity"
	CheckStatus   = "status"
)

// Verdicts of Result.Status.
const (
	StatusValid       = "valid"
	StatusRevoked     = "revoked"
	StatusSuspended   = "suspended"
	StatusExpired     = "expired"
	StatusNotYetValid = "not-yet-valid"
	StatusInvalid     = "invalid"
)

// MaxInput bounds what Verify reads.
const MaxInput = 8 << 20

// Check is one named check and its outcome.
type Check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// Issuer is who the credential says issued it.
type Issuer struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
}

// Result is the verdict on one credential, in the shape INTERFACES.md documents.
type Result struct {
	Valid        bool    `json:"valid"`
	Format       string  `json:"format,omitempty"` // "ldp" or "jwt"
	Container    string  `json:"container,omitempty"`
	CredentialID string  `json:"credentialId,omitempty"`
	Name         string  `json:"name,omitempty"`
	Issuer       *Issuer `json:"issuer,omitempty"`
	Checks       []Check `json:"checks"`
	Status       string  `json:"status"`
	// Credential is the verified credential as decoded JSON (nil when unreadable).
	Credential map[string]any `json:"-"`
}

// Fetch reads a URL (a did:web document, a status list). Verify never calls it for contexts.
type Fetch func(ctx context.Context, url string) ([]byte, error)

// Options configure a verification.
type Options struct {
	Fetch Fetch
	Now   time.Time // zero: time.Now()
}

func (r *Result) add(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Message: fmt.Sprintf(format, args...)})
}

func (r *Result) failed(name string) bool {
	for _, c := range r.Checks {
		if c.Name == name && !c.OK {
			return true
		}
	}
	return false
}

// Verify checks one credential in any of the supported containers.
func Verify(ctx context.Context, input []byte, opts Options) Result {
	r := Result{Checks: []Check{}}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if len(input) > MaxInput {
		r.add(CheckFormat, false, "the input is larger than %d MiB", MaxInput>>20)
		return r.finish()
	}
	payload := bytes.TrimSpace(bytes.TrimPrefix(input, []byte("\xef\xbb\xbf")))
	switch {
	case bytes.HasPrefix(payload, []byte("\x89PNG")), bytes.HasPrefix(payload, []byte("<")):
		cred, container, err := bake.Unbake(payload)
		if err != nil {
			r.add(CheckFormat, false, "no credential could be read from the badge image: %v", err)
			return r.finish()
		}
		r.Container = container
		payload = bytes.TrimSpace(cred)
	}
	resolver := did.Resolver{Fetch: opts.Fetch}
	if len(payload) > 0 && payload[0] == '{' {
		r.Format = "ldp"
		verifyLDP(ctx, &r, payload, resolver, opts)
	} else if isCompactJWS(payload) {
		r.Format = "jwt"
		verifyJWT(ctx, &r, string(payload), resolver, opts)
	} else {
		r.add(CheckFormat, false, "not a credential: expected JSON with an embedded proof, a compact VC-JWT, or a baked PNG/SVG badge")
	}
	return r.finish()
}

func isCompactJWS(b []byte) bool {
	return bytes.Count(b, []byte(".")) == 2 && !bytes.ContainsAny(b, " \n\r\t{}\"")
}

func (r Result) finish() Result {
	r.Valid = true
	for _, c := range r.Checks {
		if !c.OK {
			r.Valid = false
		}
	}
	if len(r.Checks) == 0 {
		r.Valid = false
	}
	switch {
	case r.failed(CheckFormat), r.failed(CheckProof), r.failed(CheckSchema), r.failed(CheckContext), r.failed(CheckIssuer):
		r.Status = StatusInvalid
	case r.Status != "":
		// set by the status or validity check
	case !r.Valid:
		r.Status = StatusInvalid
	default:
		r.Status = StatusValid
	}
	return r
}

func verifyLDP(ctx context.Context, r *Result, raw []byte, resolver did.Resolver, opts Options) {
	doc, err := decodeObject(raw)
	if err != nil {
		r.add(CheckFormat, false, "the credential is not a readable JSON object: %v", err)
		return
	}
	r.Credential = doc
	describe(r, doc)
	checkSchema(r, doc)
	checkContext(r, doc)

	results, err := dataintegrity.Verify(ctx, doc, resolveFor(resolver))
	switch {
	case errors.Is(err, dataintegrity.ErrNoProof):
		r.add(CheckProof, false, "the credential has no embedded proof")
	case err != nil:
		r.add(CheckProof, false, "the proof does not verify: %v", err)
	default:
		suites := make([]string, 0, len(results))
		for _, p := range results {
			suites = append(suites, nonEmpty(p.Cryptosuite, p.Type))
		}
		r.add(CheckProof, true, "%s signature verified with %s", strings.Join(suites, ", "), results[0].VerificationMethod)
	}
	if err == nil {
		controllers := make([]string, 0, len(results))
		for _, p := range results {
			controllers = append(controllers, p.Controller)
			if p.ProofPurpose != dataintegrity.PurposeAssertionMethod {
				r.add(CheckIssuer, false, "the proof's purpose is %q, not assertionMethod", p.ProofPurpose)
				controllers = nil
				break
			}
		}
		if controllers != nil {
			checkIssuerBinding(r, doc, controllers)
		}
	}
	checkValidity(r, doc, opts.Now)
	checkStatus(ctx, r, doc, resolver, opts)
}

func verifyJWT(ctx context.Context, r *Result, token string, resolver did.Resolver, opts Options) {
	tok, err := vcjwt.Verify(ctx, token, resolver)
	if err != nil {
		if parsed, perr := vcjwt.Parse(token); perr == nil {
			r.Credential = parsed.Credential
			describe(r, parsed.Credential)
		}
		r.add(CheckProof, false, "the JWT signature does not verify: %v", err)
		return
	}
	r.Credential = tok.Credential
	describe(r, tok.Credential)
	r.add(CheckProof, true, "%s signature verified with %s", tok.Header.Alg, nonEmpty(tok.Key.ID, "the key in the header"))
	checkSchema(r, tok.Credential)
	checkContext(r, tok.Credential)
	if tok.Key.Controller == "" {
		r.add(CheckIssuer, false, "the signing key names no controller, so it cannot be bound to the issuer")
	} else if !tok.Key.AssertionMethod {
		r.add(CheckIssuer, false, "the issuer's DID document does not authorize key %s to issue credentials (assertionMethod)", tok.Key.ID)
	} else {
		checkIssuerBinding(r, tok.Credential, []string{tok.Key.Controller})
	}
	checkValidity(r, tok.Credential, opts.Now)
	checkStatus(ctx, r, tok.Credential, resolver, opts)
}

// resolveFor adapts the DID resolver to the shape Data Integrity verification takes, refusing
// keys their controller has not authorized for assertions.
func resolveFor(res did.Resolver) dataintegrity.Resolver {
	return func(ctx context.Context, vm string) (dataintegrity.VerificationKey, error) {
		k, err := res.ResolveKey(ctx, vm)
		if err != nil {
			return dataintegrity.VerificationKey{}, err
		}
		if !k.AssertionMethod {
			return dataintegrity.VerificationKey{}, fmt.Errorf("key %s is not listed under assertionMethod by its controller", vm)
		}
		return dataintegrity.VerificationKey{ID: k.ID, Controller: k.Controller, Public: k.Public}, nil
	}
}

func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the JSON object")
	}
	return normalizeNumbers(doc).(map[string]any), nil
}

// normalizeNumbers turns json.Number into float64 the way encoding/json does by default; the
// decode above used UseNumber only to keep huge integers from failing the decode.
func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalizeNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = normalizeNumbers(x)
		}
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return t.String()
		}
		return f
	}
	return v
}

func describe(r *Result, doc map[string]any) {
	r.CredentialID, _ = doc["id"].(string)
	r.Name, _ = doc["name"].(string)
	switch iss := doc["issuer"].(type) {
	case string:
		r.Issuer = &Issuer{ID: iss}
	case map[string]any:
		i := &Issuer{}
		i.ID, _ = iss["id"].(string)
		i.Name, _ = iss["name"].(string)
		i.URL, _ = iss["url"].(string)
		r.Issuer = i
	}
}

func issuerID(doc map[string]any) string {
	switch iss := doc["issuer"].(type) {
	case string:
		return iss
	case map[string]any:
		s, _ := iss["id"].(string)
		return s
	}
	return ""
}

func checkIssuerBinding(r *Result, doc map[string]any, controllers []string) {
	id := issuerID(doc)
	if id == "" {
		r.add(CheckIssuer, false, "the credential names no issuer id")
		return
	}
	for _, c := range controllers {
		if c != id {
			r.add(CheckIssuer, false, "the signing key belongs to %s, not to the issuer %s", nonEmpty(c, "no controller"), id)
			return
		}
	}
	r.add(CheckIssuer, true, "the signing key is controlled by the issuer %s", id)
}

func checkSchema(r *Result, doc map[string]any) {
	copyDoc := make(map[string]any, len(doc))
	for k, v := range doc {
		copyDoc[k] = v
	}
	note := ""
	if isVC11(doc) {
		// The OB 3.0 schema is written for the VC 2.0 form (1EdTech's VC 1.1-compatible variant
		// is not published); a VC 1.1 credential is checked with its context and dates under
		// their 2.0 names, everything else as it is.
		if ctxs, ok := copyDoc["@context"].([]any); ok && len(ctxs) > 0 {
			ctxs = append([]any{jsonld.CredentialsV2}, ctxs[1:]...)
			copyDoc["@context"] = ctxs
		}
		if v, ok := copyDoc["issuanceDate"]; ok {
			copyDoc["validFrom"] = v
			delete(copyDoc, "issuanceDate")
		}
		if v, ok := copyDoc["expirationDate"]; ok {
			copyDoc["validUntil"] = v
			delete(copyDoc, "expirationDate")
		}
		note = " (VC 1.1 form: its context and issuanceDate/expirationDate read as their VC 2.0 equivalents)"
	}
	raw, err := json.Marshal(copyDoc)
	if err != nil {
		r.add(CheckSchema, false, "cannot re-encode the credential: %v", err)
		return
	}
	if err := schema.ValidateCredential(raw); err != nil {
		r.add(CheckSchema, false, "does not match the Open Badges 3.0 JSON schema: %v", err)
		return
	}
	r.add(CheckSchema, true, "matches the official Open Badges 3.0 AchievementCredential JSON schema%s", note)
}

func isVC11(doc map[string]any) bool {
	switch c := doc["@context"].(type) {
	case []any:
		return len(c) > 0 && c[0] == jsonld.CredentialsV1
	case string:
		return c == jsonld.CredentialsV1
	}
	return false
}

func checkContext(r *Result, doc map[string]any) {
	ctxs, ok := doc["@context"].([]any)
	if !ok || len(ctxs) < 2 {
		r.add(CheckContext, false, "@context must list the VC context first and an Open Badges 3.0 context")
		return
	}
	first, _ := ctxs[0].(string)
	if first != jsonld.CredentialsV2 && first != jsonld.CredentialsV1 {
		r.add(CheckContext, false, "the first @context must be %s (or %s for VC 1.1)", jsonld.CredentialsV2, jsonld.CredentialsV1)
		return
	}
	hasOB := false
	for _, c := range ctxs {
		if s, ok := c.(string); ok && strings.HasPrefix(s, "https://purl.imsglobal.org/spec/ob/v3p0/context") {
			hasOB = true
		}
	}
	if !hasOB {
		r.add(CheckContext, false, "no Open Badges 3.0 context in @context")
		return
	}
	unsecured := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "proof" {
			unsecured[k] = v
		}
	}
	if _, err := jsonld.Canonicalize(unsecured); err != nil {
		r.add(CheckContext, false, "JSON-LD safe mode: %v", err)
		return
	}
	r.add(CheckContext, true, "every property is defined by the credential's contexts (JSON-LD safe mode)")
}

func timeField(doc map[string]any, names ...string) (time.Time, string, error) {
	for _, n := range names {
		if v, ok := doc[n]; ok {
			s, _ := v.(string)
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return time.Time{}, n, fmt.Errorf("%s %q is not an RFC 3339 date-time", n, s)
			}
			return t, n, nil
		}
	}
	return time.Time{}, "", nil
}

func checkValidity(r *Result, doc map[string]any, now time.Time) {
	from, _, err := timeField(doc, "validFrom", "issuanceDate")
	if err != nil {
		r.add(CheckValidity, false, "%v", err)
		return
	}
	until, _, err := timeField(doc, "validUntil", "expirationDate")
	if err != nil {
		r.add(CheckValidity, false, "%v", err)
		return
	}
	switch {
	case !from.IsZero() && now.Before(from):
		r.add(CheckValidity, false, "not valid before %s", from.UTC().Format(time.RFC3339))
		r.Status = StatusNotYetValid
	case !until.IsZero() && !now.Before(until):
		r.add(CheckValidity, false, "expired on %s", until.UTC().Format(time.RFC3339))
		r.Status = StatusExpired
	case until.IsZero():
		r.add(CheckValidity, true, "valid since %s, no expiry", nonEmpty(fmtTime(from), "an unstated date"))
	default:
		r.add(CheckValidity, true, "valid from %s until %s", nonEmpty(fmtTime(from), "an unstated date"), fmtTime(until))
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func checkStatus(ctx context.Context, r *Result, doc map[string]any, resolver did.Resolver, opts Options) {
	entries, err := statuslist.Entries(doc)
	if err != nil {
		r.add(CheckStatus, false, "credentialStatus is malformed: %v", err)
		return
	}
	if len(entries) == 0 {
		r.add(CheckStatus, true, "the credential has no status list: it cannot be revoked")
		return
	}
	if opts.Fetch == nil {
		r.add(CheckStatus, false, "the status list cannot be fetched (offline)")
		return
	}
	var msgs []string
	for _, e := range entries {
		msg, state, err := checkEntry(ctx, doc, e, resolver, opts)
		if err != nil {
			r.add(CheckStatus, false, "%v", err)
			return
		}
		if state != "" {
			r.add(CheckStatus, false, "%s", msg)
			if r.Status == "" || state == StatusRevoked {
				r.Status = state
			}
			return
		}
		msgs = append(msgs, msg)
	}
	r.add(CheckStatus, true, "%s", strings.Join(msgs, "; "))
}

// checkEntry fetches and verifies the list of one entry; it returns the state it sets
// (revoked, suspended) or "" when the bit is clear.
func checkEntry(ctx context.Context, doc, entry map[string]any, resolver did.Resolver, opts Options) (string, string, error) {
	typ, _ := entry["type"].(string)
	if typ == "1EdTechRevocationList" {
		id, _ := entry["id"].(string)
		raw, err := opts.Fetch(ctx, id)
		if err != nil {
			return "", "", fmt.Errorf("the revocation list %s cannot be fetched: %v", id, err)
		}
		var list map[string]any
		if err := json.Unmarshal(raw, &list); err != nil {
			return "", "", fmt.Errorf("the revocation list %s is not JSON: %v", id, err)
		}
		credID, _ := doc["id"].(string)
		revoked, err := statuslist.CheckRevocationList(list, credID)
		if err != nil {
			return "", "", fmt.Errorf("the revocation list %s: %v", id, err)
		}
		if revoked {
			return "revoked (1EdTech revocation list)", StatusRevoked, nil
		}
		return "not revoked (1EdTech revocation list)", "", nil
	}
	listURL, _ := entry["statusListCredential"].(string)
	if listURL == "" {
		return "", "", errors.New("a status entry names no statusListCredential")
	}
	raw, err := opts.Fetch(ctx, listURL)
	if err != nil {
		return "", "", fmt.Errorf("the status list %s cannot be fetched: %v", listURL, err)
	}
	list, err := decodeObject(raw)
	if err != nil {
		return "", "", fmt.Errorf("the status list %s is not a JSON object: %v", listURL, err)
	}
	proofs, err := dataintegrity.Verify(ctx, list, resolveFor(resolver))
	if err != nil {
		return "", "", fmt.Errorf("the status list %s is not signed validly: %v", listURL, err)
	}
	want := issuerID(doc)
	if got := issuerID(list); got != want {
		return "", "", fmt.Errorf("the status list %s was issued by %s, not by the credential's issuer %s", listURL, got, want)
	}
	for _, p := range proofs {
		if p.Controller != want {
			return "", "", fmt.Errorf("the status list %s is signed by a key of %s, not of the issuer", listURL, p.Controller)
		}
	}
	set, purpose, err := statuslist.Check(list, entry)
	if err != nil {
		return "", "", fmt.Errorf("status entry: %v", err)
	}
	if set {
		switch purpose {
		case "revocation":
			return "revoked by the issuer", StatusRevoked, nil
		case "suspension":
			return "suspended by the issuer", StatusSuspended, nil
		}
		return "", "", fmt.Errorf("the %s status is set; its meaning is not one this verifier knows", purpose)
	}
	switch purpose {
	case "revocation":
		return "not revoked", "", nil
	case "suspension":
		return "not suspended", "", nil
	}
	return purpose + " status not set", "", nil
}

func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
