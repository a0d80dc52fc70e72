package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/standards/bake"
	"github.com/credence-oss/credence/shared/standards/dataintegrity"
	"github.com/credence-oss/credence/shared/standards/did"
)

// signedFile writes an OB 3.0 credential signed by a fresh did:key issuer and returns its path.
func signedFile(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/standards/ob3-ldp-test-vector/credential-unsigned.json")
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	_ = json.Unmarshal(raw, &c)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	d, _ := did.KeyDID(pub)
	c["issuer"].(map[string]any)["id"] = d
	signed, err := dataintegrity.Sign(context.Background(), c, dataintegrity.Options{VerificationMethod: d + "#" + strings.TrimPrefix(d, "did:key:"), Created: time.Now()},
		func(_ context.Context, m []byte) ([]byte, error) { return ed25519.Sign(priv, m), nil })
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(signed)
	p := filepath.Join(dir, "cred.json")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVerifyExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := signedFile(t, dir)
	code, out, errs := runCLI("verify", good)
	if code != 0 || !strings.Contains(out, "VALID") {
		t.Fatalf("valid credential: exit %d\n%s%s", code, out, errs)
	}

	code, out, _ = runCLI("verify", "--json", good)
	var res struct {
		Valid  bool   `json:"valid"`
		Format string `json:"format"`
		Status string `json:"status"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 || !res.Valid || res.Format != "ldp" || res.Status != "valid" || len(res.Checks) < 6 {
		t.Fatalf("--json: exit %d %v %s", code, err, out)
	}

	raw, _ := os.ReadFile(good)
	bad := filepath.Join(dir, "tampered.json")
	_ = os.WriteFile(bad, bytes.Replace(raw, []byte("Teamwork Badge"), []byte("Teamwork Badgf"), 1), 0o600)
	code, out, _ = runCLI("verify", "--json", good, bad)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 2 || !strings.Contains(lines[1], `"name":"proof","ok":false`) {
		t.Fatalf("one tampered of two: exit %d\n%s", code, out)
	}

	if code, _, _ := runCLI("verify"); code != 2 {
		t.Fatalf("no arguments: exit %d", code)
	}
	if code, _, errs := runCLI("verify", filepath.Join(dir, "missing.json")); code != 2 || !strings.Contains(errs, "missing.json") {
		t.Fatalf("unreadable input: exit %d %s", code, errs)
	}
	if code, _, _ := runCLI("verify", "--bogus", good); code != 2 {
		t.Fatalf("unknown flag: exit %d", code)
	}
	if code, _, _ := runCLI("frobnicate"); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
	// An official OB 3.0 example carries no proof: invalid, naming the proof check.
	code, out, _ = runCLI("verify", "../../testdata/standards/ob3-spec/basic-openbadgecredential.json")
	if code != 1 || !strings.Contains(out, "FAIL proof") {
		t.Fatalf("unsigned example: exit %d\n%s", code, out)
	}
	// The same credential baked into a PNG badge.
	png, err := os.ReadFile("../../testdata/bake/badge.png")
	if err != nil {
		t.Fatal(err)
	}
	baked, err := bake.BakePNG(png, raw)
	if err != nil {
		t.Fatal(err)
	}
	bakedPath := filepath.Join(dir, "badge.png")
	_ = os.WriteFile(bakedPath, baked, 0o600)
	if code, out, _ = runCLI("verify", bakedPath); code != 0 || !strings.Contains(out, "VALID") {
		t.Fatalf("baked badge: exit %d\n%s", code, out)
	}
}
