package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/adapters/httpfetch"
	"github.com/credence-oss/credence/shared/app"
	"github.com/credence-oss/credence/shared/standards/schema"
	"github.com/credence-oss/credence/shared/standards/verifier"
)

func (e *env) get(path string) []byte {
	e.t.Helper()
	res, err := http.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		e.t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	return b
}

func (e *env) verify(doc []byte) verifier.Result {
	f := httpfetch.New(httpfetch.Options{AllowLoopbackHTTP: true})
	return verifier.Verify(context.Background(), doc, verifier.Options{Fetch: f.Fetch})
}

func checkNames(r verifier.Result) string {
	var s []string
	for _, c := range r.Checks {
		mark := "ok"
		if !c.OK {
			mark = "FAIL"
		}
		s = append(s, c.Name+"="+mark+" ("+c.Message+")")
	}
	return strings.Join(s, "\n")
}

// TestIssueVerifyRevoke is the whole life of a credential through the public surface: issue,
// fetch both forms, verify them against the served DID document and status lists, revoke,
// and see the revocation in the status list and in the verdict.
func TestIssueVerifyRevoke(t *testing.T) {
	e := newEnv(t)
	a := e.issuer("Alpha")
	ldp := e.get("/c/" + a.credential + ".json")
	jwt := e.get("/c/" + a.credential + ".jwt")

	if err := schema.ValidateCredential(ldp); err != nil {
		t.Fatalf("issued credential fails the OB 3.0 schema: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(ldp, &doc); err != nil {
		t.Fatal(err)
	}
	if ctx := doc["@context"].([]any); ctx[0] != "https://www.w3.org/ns/credentials/v2" || ctx[1] != "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json" {
		t.Fatalf("contexts: %v", ctx)
	}
	if strings.Contains(string(ldp), "ada@example.org") || strings.Contains(string(jwt), "ada@example.org") {
		t.Fatal("the recipient's e-mail address leaked into the credential")
	}
	for name, form := range map[string][]byte{"ldp": ldp, "jwt": jwt} {
		r := e.verify(form)
		if !r.Valid || r.Status != verifier.StatusValid || r.Format != name {
			t.Fatalf("%s form does not verify:\n%s", name, checkNames(r))
		}
		if len(r.Checks) < 6 {
			t.Fatalf("%s: only %d checks ran", name, len(r.Checks))
		}
	}

	// By default a credential has one status entry, revocation, written as the single object
	// the official OB 3.0 schema requires; it cannot be suspended.
	if err := schema.Strict(schema.AchievementCredential, ldp); err != nil {
		t.Fatalf("issued credential fails the strict OB 3.0 schema: %v", err)
	}
	if st, ok := doc["credentialStatus"].(map[string]any); !ok || st["statusPurpose"] != "revocation" || st["type"] != "BitstringStatusListEntry" {
		t.Fatalf("credentialStatus: %v", doc["credentialStatus"])
	}
	if st, out := e.do("POST", "/v1/credentials/"+a.credential+"/suspend", e.admin, map[string]any{"reason": "x"}); st != 409 || errCode(out) != "suspension_not_enabled" {
		t.Fatalf("suspending a credential without a suspension entry: %d %v", st, out)
	}
	rec := e.must(200, "POST", "/v1/credentials/"+a.credential+"/revoke", e.admin, map[string]any{"reason": "issued in error"})
	if rec["status"] != "revoked" || rec["statusReason"] != "issued in error" {
		t.Fatalf("revoke answered %v", rec)
	}
	for name, form := range map[string][]byte{"ldp": ldp, "jwt": jwt} {
		if r := e.verify(form); r.Valid || r.Status != verifier.StatusRevoked {
			t.Fatalf("%s after revoke: %s\n%s", name, r.Status, checkNames(r))
		}
	}
	if st, out := e.do("POST", "/v1/credentials/"+a.credential+"/reinstate", e.admin, map[string]any{"reason": "x"}); st != 409 {
		t.Fatalf("reinstating a revoked credential: %d %v", st, out)
	}
	audit := e.must(200, "GET", "/v1/credentials/"+a.credential+"/audit", e.admin, nil)["items"].([]any)
	var actions []string
	for _, ev := range audit {
		actions = append(actions, ev.(map[string]any)["action"].(string))
	}
	if strings.Join(actions, ",") != "issue,revoke" {
		t.Fatalf("audit trail: %v", actions)
	}

	// Any single changed byte of the content breaks the proof.
	tampered := strings.Replace(string(ldp), "Ada Lovelace", "Ada Lovelacf", 1)
	if r := e.verify([]byte(tampered)); r.Valid || r.Status != verifier.StatusInvalid {
		t.Fatalf("tampered credential verified:\n%s", checkNames(r))
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	open := func() *app.Local {
		l, err := app.OpenLocal(app.LocalOptions{Dir: dir, BaseURL: "http://127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := open()
	demo, first, err := l.Seed(context.Background(), "")
	if err != nil || !first || demo.AdminKey == "" || demo.CredentialID == "" {
		t.Fatalf("seed: %+v %v %v", demo, first, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mails, _ := filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
	if len(mails) != 1 {
		t.Fatalf("the demo credential's mail: %v", mails)
	}
	raw, _ := os.ReadFile(mails[0])
	if !strings.Contains(string(raw), "ada@example.org") || !strings.Contains(string(raw), demo.CredentialID) {
		t.Fatalf("mail content:\n%s", raw)
	}
	l2 := open()
	defer l2.Close(ctx)
	again, first, err := l2.Seed(context.Background(), "")
	if err != nil || first || again.CredentialID != demo.CredentialID || again.AdminKey != demo.AdminKey {
		t.Fatalf("second start re-seeded or lost the demo: %+v %v %v", again, first, err)
	}
	p, err := l2.Service.Authenticate(context.Background(), demo.AdminKey)
	if err != nil || !p.Admin() {
		t.Fatalf("the admin key does not work after a restart: %v", err)
	}
	c, err := l2.Service.PublicCredential(context.Background(), demo.CredentialID)
	if err != nil || len(c.LDP) == 0 || c.JWT == "" {
		t.Fatalf("credential after restart: %v", err)
	}
}

// TestSuspensionOptIn: an issuer that asks for suspension gets credentials with two status
// entries (valid VC 2.0, outside the OB 3.0 schema's single object) that can be suspended and
// reinstated, each change re-signing the list and landing in the audit trail.
func TestSuspensionOptIn(t *testing.T) {
	e := newEnv(t)
	iss := e.must(201, "POST", "/v1/issuers", e.admin, map[string]any{"name": "Beta", "url": "https://beta.example.edu",
		"email": "reg@example.edu", "statusPurposes": []string{"suspension", "revocation"}})
	if got := iss["statusPurposes"]; len(got.([]any)) != 2 || got.([]any)[0] != "revocation" {
		t.Fatalf("statusPurposes: %v", got)
	}
	id := iss["id"].(string)
	for _, bad := range []any{[]string{"suspension"}, []string{"revocation", "refresh"}} {
		if st, out := e.do("PATCH", "/v1/issuers/"+id, e.admin, map[string]any{"statusPurposes": bad}); st != 422 || errCode(out) != "validation_failed" {
			t.Fatalf("statusPurposes %v: %d %v", bad, st, out)
		}
	}
	ach := e.must(201, "POST", "/v1/issuers/"+id+"/achievements", e.admin, map[string]any{"name": "Teamwork", "description": "Works well in teams.", "criteria": map[string]any{"narrative": "Nominated by peers."}})
	cred := e.must(201, "POST", "/v1/issuers/"+id+"/credentials", e.admin, map[string]any{"achievementId": ach["id"], "recipient": map[string]any{"name": "Ada Lovelace", "email": "ada@example.org"}})
	cid := cred["id"].(string)
	ldp := e.get("/c/" + cid + ".json")
	jwt := e.get("/c/" + cid + ".jwt")
	var doc map[string]any
	if err := json.Unmarshal(ldp, &doc); err != nil {
		t.Fatal(err)
	}
	entries, _ := doc["credentialStatus"].([]any)
	if len(entries) != 2 || entries[0].(map[string]any)["statusPurpose"] != "revocation" || entries[1].(map[string]any)["statusPurpose"] != "suspension" {
		t.Fatalf("credentialStatus: %v", doc["credentialStatus"])
	}
	e.must(200, "POST", "/v1/credentials/"+cid+"/suspend", e.admin, map[string]any{"reason": "under review"})
	if r := e.verify(ldp); r.Valid || r.Status != verifier.StatusSuspended {
		t.Fatalf("suspended credential: %s\n%s", r.Status, checkNames(r))
	}
	e.must(200, "POST", "/v1/credentials/"+cid+"/reinstate", e.admin, map[string]any{"reason": "cleared"})
	if r := e.verify(jwt); !r.Valid {
		t.Fatalf("reinstated credential:\n%s", checkNames(r))
	}
	e.must(200, "POST", "/v1/credentials/"+cid+"/suspend", e.admin, map[string]any{"reason": "again"})
	e.must(200, "POST", "/v1/credentials/"+cid+"/revoke", e.admin, map[string]any{"reason": "issued in error"})
	// Revoking a suspended credential lifts the suspension bit: the verdict is revoked.
	if r := e.verify(ldp); r.Valid || r.Status != verifier.StatusRevoked {
		t.Fatalf("revoked credential: %s\n%s", r.Status, checkNames(r))
	}
	audit := e.must(200, "GET", "/v1/credentials/"+cid+"/audit", e.admin, nil)["items"].([]any)
	var actions []string
	for _, ev := range audit {
		actions = append(actions, ev.(map[string]any)["action"].(string))
	}
	if strings.Join(actions, ",") != "issue,suspend,reinstate,suspend,revoke" {
		t.Fatalf("audit trail: %v", actions)
	}

	// Turning suspension off affects the next credential only.
	e.must(200, "PATCH", "/v1/issuers/"+id, e.admin, map[string]any{"statusPurposes": []string{"revocation"}})
	next := e.must(201, "POST", "/v1/issuers/"+id+"/credentials", e.admin, map[string]any{"achievementId": ach["id"], "recipient": map[string]any{"name": "Grace Hopper", "email": "grace@example.org"}})
	if err := schema.Strict(schema.AchievementCredential, e.get("/c/"+next["id"].(string)+".json")); err != nil {
		t.Fatalf("credential after opting out of suspension: %v", err)
	}
}

// errCode is the machine-readable code of an error answer ("" when there is none).
func errCode(out map[string]any) string {
	errObj, _ := out["error"].(map[string]any)
	code, _ := errObj["code"].(string)
	return code
}

type failingInvalidator struct{ calls int }

func (f *failingInvalidator) Invalidate(context.Context, ...string) error {
	f.calls++
	return errors.New("TooManyInvalidationsInProgress")
}

// TestRevokeSurvivesAFailingCDN: CloudFront refusing invalidations (as it does during a mass
// revocation) must not fail a revocation, nor leave the record behind the status list.
func TestRevokeSurvivesAFailingCDN(t *testing.T) {
	e := newEnv(t)
	a := e.issuer("Gamma")
	inv := &failingInvalidator{}
	e.local.Service.Invalidator = inv
	rec := e.must(200, "POST", "/v1/credentials/"+a.credential+"/revoke", e.admin, map[string]any{"reason": "issued in error"})
	if rec["status"] != "revoked" || inv.calls < 2 {
		t.Fatalf("revoke answered %v after %d invalidation attempts", rec, inv.calls)
	}
	if r := e.verify(e.get("/c/" + a.credential + ".json")); r.Status != verifier.StatusRevoked {
		t.Fatalf("after revoke: %s\n%s", r.Status, checkNames(r))
	}
}
