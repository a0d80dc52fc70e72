package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/api"
	"github.com/credence-oss/credence/shared/app"
)

// env is a running local Credence (embedded store, local keys) behind an httptest server.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	local *app.Local
	admin string
}

const adminKey = "test-admin-key-0123456789"

func newEnv(t *testing.T) *env {
	t.Helper()
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	local, err := app.OpenLocal(app.LocalOptions{Dir: t.TempDir(), BaseURL: srv.URL, AdminKey: adminKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = local.Close(ctx)
	})
	handler = local.Handler
	return &env{t: t, srv: srv, local: local, admin: adminKey}
}

func (e *env) do(method, path, key string, body any, headers ...string) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

func (e *env) must(status int, method, path, key string, body any, headers ...string) map[string]any {
	e.t.Helper()
	got, out := e.do(method, path, key, body, headers...)
	if got != status {
		e.t.Fatalf("%s %s: status %d, want %d: %v", method, path, got, status, out)
	}
	return out
}

type fixture struct {
	issuer, achievement, credential, key string
}

func (e *env) issuer(name string) fixture {
	e.t.Helper()
	iss := e.must(201, "POST", "/v1/issuers", e.admin, map[string]any{"name": name, "url": "https://" + strings.ToLower(name) + ".example.edu", "email": "reg@example.edu"})
	id := iss["id"].(string)
	ach := e.must(201, "POST", "/v1/issuers/"+id+"/achievements", e.admin, map[string]any{"name": "Teamwork", "description": "Works well in teams.", "criteria": map[string]any{"narrative": "Nominated by peers."}})
	cred := e.must(201, "POST", "/v1/issuers/"+id+"/credentials", e.admin, map[string]any{"achievementId": ach["id"], "recipient": map[string]any{"name": "Ada Lovelace", "email": "ada@example.org"}})
	key := e.must(201, "POST", "/v1/keys", e.admin, map[string]any{"name": name + " key", "issuerId": id})
	return fixture{issuer: id, achievement: ach["id"].(string), credential: cred["id"].(string), key: key["secret"].(string)}
}

// TestScopedKeyCannotReachAnotherIssuer walks every route with issuer A's key against issuer
// B's objects: each must answer 404, exactly as if B's objects did not exist.
func TestScopedKeyCannotReachAnotherIssuer(t *testing.T) {
	e := newEnv(t)
	a, b := e.issuer("Alpha"), e.issuer("Beta")
	bKeyID := e.must(200, "GET", "/v1/keys?issuerId="+b.issuer, e.admin, nil)["items"].([]any)[0].(map[string]any)["id"].(string)
	fill := func(p string) string {
		r := strings.NewReplacer("{issuerId}", b.issuer, "{achievementId}", b.achievement, "{credentialId}", b.credential, "{keyId}", bKeyID)
		return r.Replace(p)
	}
	bodies := map[string]any{
		"PATCH /v1/issuers/{issuerId}":                              map[string]any{"name": "Hijacked"},
		"POST /v1/issuers/{issuerId}/achievements":                  map[string]any{"name": "X", "description": "Y", "criteria": map[string]any{"narrative": "Z"}},
		"PATCH /v1/issuers/{issuerId}/achievements/{achievementId}": map[string]any{"name": "Hijacked"},
		"POST /v1/issuers/{issuerId}/credentials":                   map[string]any{"achievementId": b.achievement, "recipient": map[string]any{"name": "Eve", "email": "eve@example.org"}},
		"POST /v1/credentials/{credentialId}/revoke":                map[string]any{"reason": "x"},
		"POST /v1/credentials/{credentialId}/suspend":               map[string]any{"reason": "x"},
		"POST /v1/credentials/{credentialId}/reinstate":             map[string]any{"reason": "x"},
	}
	checked := 0
	for _, rt := range api.Routes {
		if !strings.Contains(rt.Pattern, "{") {
			continue // collection routes without an id are covered below
		}
		path := fill(rt.Pattern)
		status, out := e.do(rt.Method, path, a.key, bodies[rt.Method+" "+rt.Pattern])
		if status != 404 {
			t.Errorf("%s %s with issuer A's key: status %d, want 404 (%v)", rt.Method, rt.Pattern, status, out)
		}
		checked++
	}
	if checked < 14 {
		t.Fatalf("only %d id routes checked; the route table shrank?", checked)
	}
	// Collection routes: A's key sees only A.
	list := e.must(200, "GET", "/v1/issuers", a.key, nil)["items"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != a.issuer {
		t.Fatalf("issuer list for A's key: %v", list)
	}
	if st, _ := e.do("POST", "/v1/issuers", a.key, map[string]any{"name": "New", "url": "https://n.example", "email": "n@example.org"}); st != 403 {
		t.Fatalf("a scoped key created an issuer: %d", st)
	}
	if st, _ := e.do("POST", "/v1/keys", a.key, map[string]any{"name": "x", "issuerId": b.issuer}); st != 404 {
		t.Fatalf("A's key created a key for B: %d", st)
	}
	if st, _ := e.do("GET", "/v1/keys?issuerId="+b.issuer, a.key, nil); st != 404 {
		t.Fatalf("A's key listed B's keys: %d", st)
	}
	// Nothing of B's changed.
	cred := e.must(200, "GET", "/v1/credentials/"+b.credential, e.admin, nil)
	if cred["status"] != "active" {
		t.Fatalf("B's credential was changed: %v", cred["status"])
	}
	if iss := e.must(200, "GET", "/v1/issuers/"+b.issuer, e.admin, nil); iss["name"] != "Beta" {
		t.Fatalf("B's issuer was changed: %v", iss["name"])
	}
	// A's key still works on A.
	e.must(200, "GET", "/v1/credentials/"+a.credential, a.key, nil)
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	a := e.issuer("Alpha")
	for _, rt := range api.Routes {
		path := strings.NewReplacer("{issuerId}", a.issuer, "{achievementId}", a.achievement, "{credentialId}", a.credential, "{keyId}", "k").Replace(rt.Pattern)
		if st, out := e.do(rt.Method, path, "", map[string]any{}); st != 401 || out["error"].(map[string]any)["code"] != "unauthorized" {
			t.Errorf("%s %s without a key: %d %v", rt.Method, rt.Pattern, st, out)
		}
		if st, _ := e.do(rt.Method, path, "cred_not-a-real-key-at-all", map[string]any{}); st != 401 {
			t.Errorf("%s %s with an unknown key: %d", rt.Method, rt.Pattern, st)
		}
	}
	keys := e.must(200, "GET", "/v1/keys?issuerId="+a.issuer, e.admin, nil)["items"].([]any)
	e.must(200, "POST", "/v1/keys/"+keys[0].(map[string]any)["id"].(string)+"/revoke", e.admin, nil)
	if st, _ := e.do("GET", "/v1/issuers/"+a.issuer, a.key, nil); st != 401 {
		t.Fatalf("a revoked key got %d, want 401", st)
	}
	// The public routes need no key.
	for _, p := range []string{"/healthz", "/c/" + a.credential + ".json", "/c/" + a.credential + ".jwt", "/issuers/" + a.issuer + "/did.json", "/issuers/" + a.issuer} {
		if st, _ := e.do("GET", p, "", nil); st != 200 {
			t.Errorf("public %s: %d", p, st)
		}
	}
}

func TestBadInputGetsSpecificErrors(t *testing.T) {
	e := newEnv(t)
	a := e.issuer("Alpha")
	cases := []struct {
		name, path string
		body       any
		status     int
		code       string
	}{
		{"malformed", "/v1/issuers", `{"name":`, 400, "malformed_json"},
		{"oversized", "/v1/issuers", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "body_too_large"},
		{"unknown field", "/v1/issuers", map[string]any{"name": "X", "url": "https://x.example", "email": "a@b.example", "colour": "red"}, 400, "unknown_field"},
		{"invalid fields", "/v1/issuers", map[string]any{"name": "", "url": "not a url", "email": "nope"}, 422, "validation_failed"},
		{"wrong type", "/v1/issuers/" + a.issuer + "/achievements", map[string]any{"name": 5}, 400, "invalid_type"},
		{"no criteria", "/v1/issuers/" + a.issuer + "/achievements", map[string]any{"name": "N", "description": "D"}, 422, "validation_failed"},
		{"unknown achievement", "/v1/issuers/" + a.issuer + "/credentials", map[string]any{"achievementId": "nope", "recipient": map[string]any{"name": "A", "email": "a@example.org"}}, 422, "unknown_achievement"},
		{"bad email", "/v1/issuers/" + a.issuer + "/credentials", map[string]any{"achievementId": a.achievement, "recipient": map[string]any{"name": "A", "email": "not-an-email"}}, 422, "validation_failed"},
		{"until before from", "/v1/issuers/" + a.issuer + "/credentials", map[string]any{"achievementId": a.achievement, "recipient": map[string]any{"name": "A", "email": "a@example.org"}, "validFrom": "2030-01-01T00:00:00Z", "validUntil": "2029-01-01T00:00:00Z"}, 422, "validation_failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, out := e.do("POST", c.path, e.admin, c.body)
			errObj, _ := out["error"].(map[string]any)
			if st != c.status || errObj == nil || errObj["code"] != c.code {
				t.Fatalf("status %d body %v; want %d %s", st, out, c.status, c.code)
			}
		})
	}
	if st, out := e.do("GET", "/v1/issuers/"+a.issuer+"/credentials?cursor=garbage", e.admin, nil); st != 400 {
		t.Fatalf("garbage cursor: %d %v", st, out)
	}
}

func TestIdempotencyKeyReturnsTheFirstCredential(t *testing.T) {
	e := newEnv(t)
	a := e.issuer("Alpha")
	body := map[string]any{"achievementId": a.achievement, "recipient": map[string]any{"name": "Grace Hopper", "email": "grace@example.org"}}
	first := e.must(201, "POST", "/v1/issuers/"+a.issuer+"/credentials", e.admin, body, "Idempotency-Key", "row-42")
	second := e.must(201, "POST", "/v1/issuers/"+a.issuer+"/credentials", e.admin, body, "Idempotency-Key", "row-42")
	if first["id"] != second["id"] || first["jwt"] != second["jwt"] {
		t.Fatalf("a retried request made a second credential: %v vs %v", first["id"], second["id"])
	}
	other := map[string]any{"achievementId": a.achievement, "recipient": map[string]any{"name": "Someone Else", "email": "else@example.org"}}
	if st, out := e.do("POST", "/v1/issuers/"+a.issuer+"/credentials", e.admin, other, "Idempotency-Key", "row-42"); st != 422 {
		t.Fatalf("reusing a key with another body: %d %v", st, out)
	}
	list := e.must(200, "GET", "/v1/issuers/"+a.issuer+"/credentials?email=grace@example.org", e.admin, nil)["items"].([]any)
	if len(list) != 1 {
		t.Fatalf("credentials for grace: %d, want exactly 1", len(list))
	}
}

// TestIdempotencyKeyOnIssuersAndAchievements: the other creates replay their first result too,
// and say so in Idempotent-Replayed.
func TestIdempotencyKeyOnIssuersAndAchievements(t *testing.T) {
	e := newEnv(t)
	post := func(path string, body any) (string, string) {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+e.admin)
		req.Header.Set("Idempotency-Key", "k-1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 201 {
			t.Fatalf("POST %s: %d %v %v", path, res.StatusCode, out, err)
		}
		if res.Header.Get("Location") == "" {
			t.Fatalf("POST %s: no Location", path)
		}
		return out["id"].(string), res.Header.Get("Idempotent-Replayed")
	}
	iss := map[string]any{"name": "Delta", "url": "https://delta.example.edu", "email": "reg@example.edu"}
	first, replayed := post("/v1/issuers", iss)
	again, replayedAgain := post("/v1/issuers", iss)
	if first != again || replayed != "" || replayedAgain != "true" {
		t.Fatalf("issuer: %s then %s, replayed %q then %q", first, again, replayed, replayedAgain)
	}
	ach := map[string]any{"name": "Teamwork", "description": "Works well in teams.", "criteria": map[string]any{"narrative": "Nominated by peers."}}
	a1, _ := post("/v1/issuers/"+first+"/achievements", ach)
	a2, rep := post("/v1/issuers/"+first+"/achievements", ach)
	if a1 != a2 || rep != "true" {
		t.Fatalf("achievement: %s then %s, replayed %q", a1, a2, rep)
	}
	if list := e.must(200, "GET", "/v1/issuers/"+first+"/achievements", e.admin, nil)["items"].([]any); len(list) != 1 {
		t.Fatalf("%d achievements after a retried create, want 1", len(list))
	}
}
