package app_test

import (
	"context"
	"encoding/json"
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

	e.must(200, "POST", "/v1/credentials/"+a.credential+"/suspend", e.admin, map[string]any{"reason": "under review"})
	if r := e.verify(ldp); r.Valid || r.Status != verifier.StatusSuspended {
		t.Fatalf("suspended credential: %s\n%s", r.Status, checkNames(r))
	}
	e.must(200, "POST", "/v1/credentials/"+a.credential+"/reinstate", e.admin, map[string]any{"reason": "cleared"})
	if r := e.verify(jwt); !r.Valid {
		t.Fatalf("reinstated credential:\n%s", checkNames(r))
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
	if strings.Join(actions, ",") != "issue,suspend,reinstate,revoke" {
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
