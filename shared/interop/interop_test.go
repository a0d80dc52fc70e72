// Package interop proves that what Credence issues verifies with verifiers that share no code
// with it: Digital Bazaar's JavaScript VC stack for the embedded eddsa-rdfc-2022 proof (JSON-LD
// in safe mode), jose for the RS256 VC-JWT, and ajv with the official OB 3.0 JSON schema. The
// verifier is js/verify.mjs; it resolves the issuer's did:web document and the status lists from
// a local Credence server started here.
//
// The JavaScript dependencies come from js/package-lock.json (`bash js/install.sh`, which
// `make test` runs). Without js/node_modules the tests skip, unless CREDENCE_REQUIRE_EMULATORS=1
// (set by `make test`), where they fail: CI must not pass by skipping.
package interop_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/adapters/awstest"
	"github.com/credence-oss/credence/shared/app/apptest"
	"github.com/credence-oss/credence/shared/standards/jsonld"
	"github.com/credence-oss/credence/shared/standards/keys"
)

const jsDir = "js"

// node returns the node binary, or skips (fails under CREDENCE_REQUIRE_EMULATORS=1) when node
// or the installed JavaScript dependencies are missing.
func node(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv(awstest.RequireEnv) == "1" {
			t.Fatalf(format+" (required: %s=1); `bash shared/interop/js/install.sh` installs it", append(args, awstest.RequireEnv)...)
		}
		t.Skipf(format+"; skipping the independent-verifier tests (`make test` installs it)", args...)
	}
	bin, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "@digitalbazaar", "vc", "package.json")); err != nil {
		missing("shared/interop/js/node_modules is not installed")
	}
	return bin
}

type check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

type result struct {
	Format   string   `json:"format"`
	Verified bool     `json:"verified"`
	Status   string   `json:"status"`
	Errors   []string `json:"errors"`
	Checks   []check  `json:"checks"`
	exit     int
	raw      string
}

func (r result) check(name string) (check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return check{}, false
}

// runNode runs verify.mjs with args and returns its exit status, stdout and stderr.
func runNode(t *testing.T, nodeBin string, args ...string) (int, []byte, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, append([]string{"verify.mjs"}, args...)...)
	cmd.Dir = jsDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.Bytes(), stderr.Bytes()
	case errors.As(err, &exitErr) && ctx.Err() == nil:
		return exitErr.ExitCode(), stdout.Bytes(), stderr.Bytes()
	default:
		t.Fatalf("node verify.mjs %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.Bytes())
		return 0, nil, nil
	}
}

// verify runs the JavaScript verifier on a credential (JSON or JWT) written to a file.
func verify(t *testing.T, nodeBin, dir, name string, doc []byte) result {
	t.Helper()
	file, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runNode(t, nodeBin, file)
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("verify.mjs %s: exit %d, output is not one JSON result: %v\nstdout: %s\nstderr: %s", name, code, err, out, stderr)
	}
	r.exit, r.raw = code, strings.TrimSpace(string(out))
	if (code == 0) != (r.Verified && r.Status == "valid") {
		t.Fatalf("verify.mjs %s: exit %d does not match the result %s", name, code, r.raw)
	}
	if len(r.Checks) == 0 {
		t.Fatalf("verify.mjs %s: no checks ran: %s", name, r.raw)
	}
	return r
}

// server is a local Credence on 127.0.0.1 driven through its admin API.
// TestContextMapMatchesCredence: the verifier reads the URL -> file map of the JSON-LD contexts
// from shared/standards/jsonld's Go source; it must serve exactly the documents Credence embeds.
func TestContextMapMatchesCredence(t *testing.T) {
	nodeBin := node(t)
	code, out, stderr := runNode(t, nodeBin, "--list-contexts")
	if code != 0 {
		t.Fatalf("verify.mjs --list-contexts: exit %d: %s", code, stderr)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("--list-contexts output: %v: %s", err, out)
	}
	want := map[string]string{}
	for _, u := range jsonld.URLs() {
		raw, err := jsonld.ContextBytes(u)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		want[u] = hex.EncodeToString(sum[:])
	}
	var diff []string
	for u, h := range want {
		if got[u] != h {
			diff = append(diff, "verify.mjs serves "+u+" as "+or(got[u], "nothing")+", Credence embeds "+h)
		}
	}
	for u := range got {
		if _, ok := want[u]; !ok {
			diff = append(diff, "verify.mjs serves "+u+", which Credence does not embed")
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		t.Fatalf("the verifier's contexts differ from shared/standards/jsonld:\n%s", strings.Join(diff, "\n"))
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestUsage(t *testing.T) {
	nodeBin := node(t)
	for _, args := range [][]string{nil, {"a.json", "b.json"}, {"--unknown", "a.json"}, {filepath.Join(t.TempDir(), "missing.json")}} {
		if code, _, stderr := runNode(t, nodeBin, args...); code != 2 || !strings.Contains(string(stderr), "verify.mjs") {
			t.Errorf("verify.mjs %v: exit %d (want 2), stderr %q", args, code, stderr)
		}
	}
}

// TestSchemaOnOfficialExamples: the verifier's ajv setup accepts the spec's own
// OpenBadgeCredential examples and refuses an EndorsementCredential, so a schema verdict on
// Credence's output means what it says. (The examples' proofs are not checked here: their keys
// are not served from loopback.)
func TestSchemaOnOfficialExamples(t *testing.T) {
	nodeBin := node(t)
	dir := filepath.Join("..", "..", "testdata", "standards", "ob3-spec")
	for file, want := range map[string]bool{
		"complete-openbadgecredential.json": true,
		"basic-openbadgecredential.json":    true,
		"endorsementcredential.json":        false,
	} {
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		r := verify(t, nodeBin, t.TempDir(), file, raw)
		c, ok := r.check("schema")
		if !ok || c.OK != want || r.Verified {
			t.Errorf("%s: schema check %+v (want ok=%v), verified=%v: %s", file, c, want, r.Verified, r.raw)
		}
	}
}

// TestIndependentVerifiers issues a credential on a running local Credence and has the
// JavaScript verifier check both forms against the served did:web document and status lists:
// valid, then suspended, reinstated and revoked; tampered and unsafe variants must fail.
func TestIndependentVerifiers(t *testing.T) {
	nodeBin := node(t)
	s := apptest.Start(t)
	dir := t.TempDir()

	iss := s.API(201, "POST", "/v1/issuers", map[string]any{"name": "Interop University", "url": "https://interop.example.edu", "email": "registrar@interop.example.edu"})
	issuerID := apptest.Str(t, iss, "id")
	ach := s.API(201, "POST", "/v1/issuers/"+issuerID+"/achievements", map[string]any{
		"name": "Interoperability", "description": "Issued credentials others can verify.",
		"criteria": map[string]any{"narrative": "Passed an independent verifier."},
	})
	cred := s.API(201, "POST", "/v1/issuers/"+issuerID+"/credentials", map[string]any{
		"achievementId": apptest.Str(t, ach, "id"),
		"recipient":     map[string]any{"name": "Ada Lovelace", "email": "ada@example.org"},
	})
	credID := apptest.Str(t, cred, "id")
	ldp := s.Get("/c/" + credID + ".json")
	jwt := bytes.TrimSpace(s.Get("/c/" + credID + ".jwt"))
	if !bytes.Contains(ldp, []byte(`"did:web:127.0.0.1%3A`)) {
		t.Fatalf("the credential's issuer is not a loopback did:web DID: %s", ldp)
	}

	both := func(step string) (result, result) {
		t.Helper()
		return verify(t, nodeBin, dir, step+".json", ldp), verify(t, nodeBin, dir, step+".jwt", jwt)
	}
	wantChecks := map[string][]string{
		"ldp": {"schema", "proof", "status"},
		"jwt": {"signature", "schema", "claims", "data model", "status"},
	}
	expect := func(r result, format string, verified bool, status, statusBits string) {
		t.Helper()
		if r.Format != format || r.Verified != verified || r.Status != status {
			t.Fatalf("%s: got verified=%v status=%q, want verified=%v status=%q:\n%s", format, r.Verified, r.Status, verified, status, r.raw)
		}
		if !verified {
			return
		}
		for _, name := range wantChecks[format] {
			if c, ok := r.check(name); !ok || !c.OK {
				t.Fatalf("%s: check %q did not pass: %s", format, name, r.raw)
			}
		}
		if c, _ := r.check("status"); c.Message != statusBits {
			t.Fatalf("%s: status list bits %q, want %q", format, c.Message, statusBits)
		}
	}

	l, j := both("issued")
	expect(l, "ldp", true, "valid", "revocation=false")
	expect(j, "jwt", true, "valid", "revocation=false")

	t.Run("tampered", func(t *testing.T) {
		// One changed character in the recipient's name must break the proof and the signature.
		tl := bytes.Replace(ldp, []byte("Ada Lovelace"), []byte("Ada Lovelacf"), 1)
		r := verify(t, nodeBin, dir, "tampered.json", tl)
		if c, _ := r.check("proof"); r.Verified || r.Status != "invalid" || c.OK || !strings.Contains(c.Message, "Invalid signature") {
			t.Fatalf("tampered JSON credential: %s", r.raw)
		}
		tj := withPayload(t, jwt, func(p []byte) []byte { return bytes.Replace(p, []byte("Ada Lovelace"), []byte("Ada Lovelacf"), 1) }, nil)
		r = verify(t, nodeBin, dir, "tampered.jwt", tj)
		if c, _ := r.check("signature"); r.Verified || r.Status != "invalid" || c.OK || !strings.Contains(c.Message, "signature verification failed") {
			t.Fatalf("tampered JWT: %s", r.raw)
		}
	})

	t.Run("baked badges", func(t *testing.T) {
		// The downloads, unbaked by the JavaScript verifier's own PNG and SVG readers.
		png := s.Get("/c/" + credID + ".png")
		if r := verify(t, nodeBin, dir, "badge.png", png); r.Format != "ldp" || !r.Verified || r.Status != "valid" {
			t.Fatalf("baked PNG: %s", r.raw)
		}
		svg := s.Get("/c/" + credID + ".svg")
		if r := verify(t, nodeBin, dir, "badge.svg", svg); r.Format != "jwt" || !r.Verified || r.Status != "valid" {
			t.Fatalf("baked SVG: %s", r.raw)
		}
		if !bytes.Contains(png, []byte("Ada Lovelace")) {
			t.Fatal("the PNG does not carry the credential as plain iTXt text")
		}
		tampered := bytes.Replace(png, []byte("Ada Lovelace"), []byte("Ada Lovelacf"), 1)
		if r := verify(t, nodeBin, dir, "tampered.png", tampered); r.Verified {
			t.Fatalf("a PNG with a tampered credential verified: %s", r.raw)
		}
	})

	t.Run("undefined term", func(t *testing.T) {
		// Outside safe mode jsonld.js drops a property its contexts do not define, so the issuer's
		// original proof would still verify over a credential carrying an extra claim.
		var doc map[string]any
		if err := json.Unmarshal(ldp, &doc); err != nil {
			t.Fatal(err)
		}
		doc["credentialSubject"].(map[string]any)["undefinedTerm"] = "smuggled"
		raw, _ := json.Marshal(doc)
		r := verify(t, nodeBin, dir, "undefined.json", raw)
		if c, _ := r.check("proof"); r.Verified || c.OK || !strings.Contains(c.Message, "Safe mode validation error") || !strings.Contains(c.Message, "undefinedTerm") {
			t.Fatalf("JSON credential with an undefined term: %s", r.raw)
		}
		// The JWT is signed again with the issuer's own RSA key, so only safe mode can catch it.
		issuer, err := s.Local.Store.GetIssuer(context.Background(), issuerID)
		if err != nil {
			t.Fatal(err)
		}
		sign := func(input []byte) []byte {
			sig, err := s.Local.Keys.Sign(context.Background(), issuer.RSAKey, keys.RS256, input)
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}
		uj := withPayload(t, jwt, func(p []byte) []byte {
			var m map[string]any
			if err := json.Unmarshal(p, &m); err != nil {
				t.Fatal(err)
			}
			m["credentialSubject"].(map[string]any)["undefinedTerm"] = "smuggled"
			out, _ := json.Marshal(m)
			return out
		}, sign)
		r = verify(t, nodeBin, dir, "undefined.jwt", uj)
		sig, _ := r.check("signature")
		dm, _ := r.check("data model")
		if r.Verified || !sig.OK || dm.OK || !strings.Contains(dm.Message, "Safe mode validation error") || !strings.Contains(dm.Message, "undefinedTerm") {
			t.Fatalf("re-signed JWT with an undefined term: %s", r.raw)
		}
	})

	// A default credential has only a revocation entry (the single credentialStatus object the
	// OB 3.0 schema requires), so it cannot be suspended.
	s.API(409, "POST", "/v1/credentials/"+credID+"/suspend", map[string]any{"reason": "under review"})

	s.API(200, "POST", "/v1/credentials/"+credID+"/revoke", map[string]any{"reason": "issued in error"})
	l, j = both("revoked")
	expect(l, "ldp", true, "revoked", "revocation=true")
	expect(j, "jwt", true, "revoked", "revocation=true")
	if l.exit != 1 || j.exit != 1 {
		t.Fatalf("a revoked credential must exit 1: ldp %d, jwt %d", l.exit, j.exit)
	}

	t.Run("suspension opt-in", func(t *testing.T) {
		// An issuer that opts into suspension issues two status entries: Digital Bazaar's stack
		// checks both lists, and the official OB 3.0 schema refuses the array. This pins down
		// why suspension is opt-in.
		iss := s.API(201, "POST", "/v1/issuers", map[string]any{"name": "Suspending University", "url": "https://suspend.example.edu",
			"email": "registrar@suspend.example.edu", "statusPurposes": []string{"revocation", "suspension"}})
		id := apptest.Str(t, iss, "id")
		ach := s.API(201, "POST", "/v1/issuers/"+id+"/achievements", map[string]any{
			"name": "Interoperability", "description": "Issued credentials others can verify.",
			"criteria": map[string]any{"narrative": "Passed an independent verifier."},
		})
		cred := s.API(201, "POST", "/v1/issuers/"+id+"/credentials", map[string]any{
			"achievementId": apptest.Str(t, ach, "id"), "recipient": map[string]any{"name": "Ada Lovelace", "email": "ada@example.org"},
		})
		cid := apptest.Str(t, cred, "id")
		ldp := s.Get("/c/" + cid + ".json")
		jwt := bytes.TrimSpace(s.Get("/c/" + cid + ".jwt"))
		look := func(step, bits string) {
			t.Helper()
			for _, r := range []result{verify(t, nodeBin, dir, "optin-"+step+".json", ldp), verify(t, nodeBin, dir, "optin-"+step+".jwt", jwt)} {
				sc, _ := r.check("schema")
				st, _ := r.check("status")
				if r.Verified || sc.OK || !strings.Contains(sc.Message, "/credentialStatus must be object") || st.Message != bits {
					t.Fatalf("%s: want the schema to refuse the status array and status %q:\n%s", step, bits, r.raw)
				}
				proof, _ := r.check("proof")
				sig, _ := r.check("signature")
				if !proof.OK && !sig.OK {
					t.Fatalf("%s: the proof or signature must still verify:\n%s", step, r.raw)
				}
			}
		}
		look("issued", "revocation=false, suspension=false")
		s.API(200, "POST", "/v1/credentials/"+cid+"/suspend", map[string]any{"reason": "under review"})
		look("suspended", "revocation=false, suspension=true")
		s.API(200, "POST", "/v1/credentials/"+cid+"/reinstate", map[string]any{"reason": "cleared"})
		look("reinstated", "revocation=false, suspension=false")
	})
}

// withPayload rewrites a compact JWS's payload with edit and signs the result with sign, or keeps
// the original signature when sign is nil.
func withPayload(t *testing.T, jws []byte, edit func([]byte) []byte, sign func([]byte) []byte) []byte {
	t.Helper()
	parts := strings.Split(string(jws), ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", jws)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	edited := edit(payload)
	if bytes.Equal(edited, payload) {
		t.Fatal("the edit changed nothing")
	}
	input := parts[0] + "." + base64.RawURLEncoding.EncodeToString(edited)
	sig := parts[2]
	if sign != nil {
		sig = base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
	}
	return []byte(input + "." + sig)
}
