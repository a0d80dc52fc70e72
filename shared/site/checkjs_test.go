package site_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/credence-oss/credence/shared/adapters/awstest"
)

// harness runs assets/check.js under Node with the few browser objects it touches stubbed: a
// #browser-check element, location, and a fetch that resolves the page's relative URLs against
// the test server. Node has WebCrypto, fetch, atob and TextDecoder as browsers do, so the
// signature really is checked by the script, not by Go.
const harness = `
const fs = require('fs');
const [base, jwtPath, credId, script] = process.argv.slice(1);
const attrs = {'data-result': 'pending', 'data-jwt': jwtPath, 'data-credential-id': credId};
const p = {textContent: ''};
const box = {getAttribute: k => attrs[k], setAttribute: (k, v) => { attrs[k] = v; }, querySelector: () => p};
globalThis.window = globalThis;
globalThis.document = {getElementById: id => id === 'browser-check' ? box : null};
globalThis.location = new URL(base);
const realFetch = globalThis.fetch;
globalThis.fetch = (u, o) => realFetch(new URL(u, base), o);
eval(fs.readFileSync(script, 'utf8'));
const t0 = Date.now();
(function wait() {
  if (attrs['data-result'] !== 'pending' || Date.now() - t0 > 15000) {
    console.log(JSON.stringify({result: attrs['data-result'], text: p.textContent}));
    return;
  }
  setTimeout(wait, 10);
})();
`

func runCheckJS(t *testing.T, base, jwtPath, credID string) (result, text string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv(awstest.RequireEnv) == "1" {
			t.Fatalf("node is not installed, and %s=1 (make test) requires every tool", awstest.RequireEnv)
		}
		t.Skip("node is not installed; check.js is exercised by the browser tests instead")
	}
	out, err := exec.Command(node, "-e", harness, base, jwtPath, credID, "assets/check.js").CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var r struct{ Result, Text string }
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	return r.Result, r.Text
}

func TestCheckJS(t *testing.T) {
	if _, err := os.Stat("assets/check.js"); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	f := e.demo()
	page := e.srv.URL + "/c/" + f.credential.ID
	jwtPath := "/c/" + f.credential.ID + ".jwt"

	if res, text := runCheckJS(t, e.srv.URL, jwtPath, page); res != "ok" || text != "Signature checked in your browser" {
		t.Fatalf("genuine token: %s %q", res, text)
	}

	// Another credential's genuine token must not pass for this page's.
	other := e.demo()
	res, text := runCheckJS(t, e.srv.URL, "/c/"+other.credential.ID+".jwt", page)
	if res != "fail" || !strings.Contains(text, "not this page") {
		t.Fatalf("token of another credential: %s %q", res, text)
	}

	// A token whose signature does not match its payload.
	parts := strings.Split(f.credential.JWT, ".")
	sig := []byte(parts[2])
	if sig[10] == 'A' {
		sig[10] = 'B'
	} else {
		sig[10] = 'A'
	}
	e.mu.Lock()
	e.extra["/tampered.jwt"] = []byte(parts[0] + "." + parts[1] + "." + string(sig))
	e.mu.Unlock()
	res, text = runCheckJS(t, e.srv.URL, "/tampered.jwt", page)
	if res != "fail" || !strings.Contains(text, "does not match") {
		t.Fatalf("tampered signature: %s %q", res, text)
	}

	e.mu.Lock()
	e.extra["/garbage.jwt"] = []byte("not a token")
	e.mu.Unlock()
	if res, text = runCheckJS(t, e.srv.URL, "/garbage.jwt", page); res != "fail" || !strings.Contains(text, "not a compact JWS") {
		t.Fatalf("garbage: %s %q", res, text)
	}
}
