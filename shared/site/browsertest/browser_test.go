package browsertest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/adapters/awstest"
	"github.com/credence-oss/credence/shared/app/apptest"
)

const (
	// ChromiumEnv names the browser binary; .ci/testenv.sh exports it.
	ChromiumEnv = "CREDENCE_TEST_CHROMIUM"
	// UpdateEnv=1 rewrites docs/screenshots/ instead of a temporary directory.
	UpdateEnv = "CREDENCE_UPDATE_SCREENSHOTS"
	recipient = "Ada Lovelace"
)

// tools returns node and chromium, or skips (fails under CREDENCE_REQUIRE_EMULATORS=1, as
// `make test` sets it) when either, or drive.mjs's npm packages, are missing.
func tools(t *testing.T) (nodeBin, chromium string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv(awstest.RequireEnv) == "1" {
			t.Fatalf(format+" (required: %s=1); `bash .ci/testenv.sh install` installs it", append(args, awstest.RequireEnv)...)
		}
		t.Skipf(format+"; skipping the browser tests (`make test` installs it)", args...)
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	chromium = os.Getenv(ChromiumEnv)
	if chromium == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				chromium = p
				break
			}
		}
	}
	if chromium == "" {
		missing("chromium is not installed and %s is not set", ChromiumEnv)
	}
	if _, err := os.Stat(chromium); err != nil {
		// A set but wrong path is a broken setup, never a reason to skip.
		t.Fatalf("%s=%q: %v", ChromiumEnv, chromium, err)
	}
	for _, pkg := range []string{"playwright-core", "axe-core"} {
		if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err != nil {
			missing("shared/site/browsertest/node_modules/%s is not installed (npm ci)", pkg)
		}
	}
	return nodeBin, chromium
}

func id(t *testing.T, m map[string]any) string {
	t.Helper()
	v, _ := m["id"].(string)
	if v == "" {
		t.Fatalf("no id in %v", m)
	}
	return v
}

// tamper changes one character of the recipient's name inside the JWT's payload and keeps the
// header and the signature, so the token still parses and names this page's credential: only
// the signature check can tell.
func tamper(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", jwt)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(payload, []byte(recipient), []byte(recipient[:len(recipient)-1]+"f"), 1)
	if bytes.Equal(changed, payload) {
		t.Fatalf("the JWT payload does not contain %q: %s", recipient, payload)
	}
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(changed) + "." + parts[2]
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

type axeResult struct {
	Passes     int            `json:"passes"`
	Violations []axeViolation `json:"violations"`
}

type pageReport struct {
	Error            string            `json:"error"`
	HTTPStatus       int               `json:"httpStatus"`
	Title            string            `json:"title"`
	Lang             string            `json:"lang"`
	Credential       string            `json:"credential"`
	Status           string            `json:"status"`
	StatusText       string            `json:"statusText"`
	QR               *qrReport         `json:"qr"`
	BrowserCheck     string            `json:"browserCheck"`
	BrowserCheckText string            `json:"browserCheckText"`
	Links            map[string]string `json:"links"`
	Checks           []struct {
		Name string `json:"name"`
		OK   string `json:"ok"`
	} `json:"checks"`
	BadgeLoaded     bool       `json:"badgeLoaded"`
	CSP             []string   `json:"csp"`
	Console         []string   `json:"console"`
	PageErrors      []string   `json:"pageErrors"`
	Axe             *axeResult `json:"axe"`
	AxePhone        *axeResult `json:"axePhone"`
	AxeResult       *axeResult `json:"axeResult"`
	Screenshot      string     `json:"screenshot"`
	ScreenshotPhone string     `json:"screenshotPhone"`
	Phone           struct {
		ScrollWidth int      `json:"scrollWidth"`
		Overflowing []string `json:"overflowing"`
	} `json:"phone"`
	TamperedServed int    `json:"tamperedServed"`
	Verdict        string `json:"verdict"`
	VerdictClass   string `json:"verdictClass"`
}

type qrReport struct {
	Width      float64 `json:"width"`
	Height     float64 `json:"height"`
	Shapes     int     `json:"shapes"`
	PathLength int     `json:"pathLength"`
}

type report struct {
	BrowserVersion string                `json:"browserVersion"`
	Pages          map[string]pageReport `json:"pages"`
	Offsite        []string              `json:"offsite"`
}

// TestPagesInChromium issues a valid and a revoked credential on a local Credence and has
// headless Chromium open their pages and the verify tool. One browser run serves every subtest:
// starting Chromium costs more than all the pages together.
func TestPagesInChromium(t *testing.T) {
	nodeBin, chromium := tools(t)
	s := apptest.Start(t)

	iss := s.API(201, "POST", "/v1/issuers", map[string]any{
		"name": "Northfield University", "url": "https://www.northfield.example.edu", "email": "registrar@northfield.example.edu",
		"branding": map[string]any{"primaryColor": "#1a4f8b"},
	})
	ach := s.API(201, "POST", "/v1/issuers/"+id(t, iss)+"/achievements", map[string]any{
		"name": "Data Analysis with Python", "achievementType": "Certificate",
		"description": "Cleans, explores and visualises real data sets with pandas and matplotlib, and reports findings to a non-technical audience.",
		"criteria":    map[string]any{"narrative": "Completed six graded labs and a capstone analysis of a public data set, assessed by two instructors."},
		"skills":      []string{"Python", "pandas", "Data visualisation", "Statistical reasoning"},
	})
	issue := func() string {
		c := s.API(201, "POST", "/v1/issuers/"+id(t, iss)+"/credentials", map[string]any{
			"achievementId": id(t, ach),
			"recipient":     map[string]any{"name": recipient, "email": "ada@example.org"},
		})
		return id(t, c)
	}
	validID, revokedID := issue(), issue()
	s.API(200, "POST", "/v1/credentials/"+revokedID+"/revoke", map[string]any{"reason": "issued in error"})

	validJWT := string(bytes.TrimSpace(s.Get("/c/" + validID + ".jwt")))
	revokedJWT := string(bytes.TrimSpace(s.Get("/c/" + revokedID + ".jwt")))

	shots := t.TempDir()
	if os.Getenv(UpdateEnv) == "1" {
		var err error
		if shots, err = filepath.Abs(filepath.Join("..", "..", "..", "docs", "screenshots")); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := map[string]any{
		"chromium":      chromium,
		"base":          s.URL,
		"valid":         map[string]any{"url": s.URL + "/c/" + validID, "jwtPath": "/c/" + validID + ".jwt"},
		"revoked":       map[string]any{"url": s.URL + "/c/" + revokedID, "jwt": revokedJWT},
		"tamperedJWT":   tamper(t, validJWT),
		"screenshotDir": shots,
	}
	cfgFile := filepath.Join(t.TempDir(), "config.json")
	raw, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, "drive.mjs", cfgFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("node drive.mjs: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.Bytes(), stdout.Bytes())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("drive.mjs output is not one JSON report: %v\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	t.Logf("Chromium %s drove 4 pages in %s", rep.BrowserVersion, time.Since(t0).Round(time.Millisecond))

	if len(rep.Offsite) > 0 {
		t.Errorf("the pages asked for addresses off the local server (blocked): %v", rep.Offsite)
	}
	page := func(t *testing.T, name string) pageReport {
		t.Helper()
		p, ok := rep.Pages[name]
		if !ok {
			t.Fatalf("drive.mjs reported nothing for %s: %s", name, stdout.Bytes())
		}
		if p.Error != "" {
			t.Fatalf("%s: the browser run failed: %s", name, p.Error)
		}
		if len(p.CSP) > 0 || len(p.PageErrors) > 0 {
			t.Errorf("%s: CSP violations %v, script errors %v", name, p.CSP, p.PageErrors)
		}
		return p
	}

	t.Run("valid", func(t *testing.T) {
		p := page(t, "valid")
		if len(p.Console) > 0 {
			t.Errorf("console errors: %v", p.Console)
		}
		if p.HTTPStatus != 200 || p.Lang != "en" || !strings.Contains(p.Title, "Data Analysis with Python") {
			t.Errorf("status %d, lang %q, title %q", p.HTTPStatus, p.Lang, p.Title)
		}
		if p.Credential != validID {
			t.Errorf("main#content[data-credential] = %q, want %q", p.Credential, validID)
		}
		if p.Status != "valid" || !strings.HasPrefix(p.StatusText, "Valid.") || !strings.Contains(p.StatusText, "Northfield University") {
			t.Errorf("status %q: %q", p.Status, p.StatusText)
		}
		// A QR code of a URL has dozens of modules; an empty or placeholder SVG has few.
		if p.QR == nil || p.QR.Width < 100 || p.QR.Height < 100 || p.QR.Shapes == 0 || p.QR.PathLength < 200 {
			t.Errorf("figure#qr svg missing, too small or empty: %+v", p.QR)
		}
		if p.BrowserCheck != "ok" || p.BrowserCheckText != "Signature checked in your browser" {
			t.Errorf("in-browser check: %q %q", p.BrowserCheck, p.BrowserCheckText)
		}
		for name, link := range p.Links {
			if link == "" {
				t.Errorf("a#%s is missing", name)
			}
		}
		if !strings.HasSuffix(p.Links["download-jwt"], "/c/"+validID+".jwt") || !strings.HasPrefix(p.Links["linkedin-add"], "https://www.linkedin.com/") {
			t.Errorf("links: %v", p.Links)
		}
		if len(p.Checks) == 0 {
			t.Error("no server checks listed")
		}
		for _, c := range p.Checks {
			if c.OK != "true" {
				t.Errorf("server check %s: data-ok=%q", c.Name, c.OK)
			}
		}
		if !p.BadgeLoaded {
			t.Error("the badge image did not load")
		}
		narrow(t, p)
		accessible(t, "credential page (1280 px)", p.Axe)
		accessible(t, "credential page (390 px)", p.AxePhone)
		screenshot(t, filepath.Join(shots, p.Screenshot), 1280)
		screenshot(t, filepath.Join(shots, p.ScreenshotPhone), 390)
	})

	t.Run("tampered JWT", func(t *testing.T) {
		p := page(t, "tampered")
		if p.TamperedServed == 0 {
			t.Fatal("the page never fetched its JWT, so the tampered token was not checked")
		}
		const want = "The signature could not be checked in your browser: the signature does not match the issuer's key."
		if p.BrowserCheck != "fail" || p.BrowserCheckText != want {
			t.Errorf("in-browser check of a tampered token: %q %q, want fail %q", p.BrowserCheck, p.BrowserCheckText, want)
		}
		// The server's own checks are of the stored credential and stay green: the two verdicts
		// are independent, which is the point of checking in the browser.
		if p.Status != "valid" {
			t.Errorf("status %q", p.Status)
		}
	})

	t.Run("revoked", func(t *testing.T) {
		p := page(t, "revoked")
		if len(p.Console) > 0 {
			t.Errorf("console errors: %v", p.Console)
		}
		if p.HTTPStatus != 200 || p.Credential != revokedID {
			t.Errorf("status %d, credential %q", p.HTTPStatus, p.Credential)
		}
		if p.Status != "revoked" || !strings.HasPrefix(p.StatusText, "Revoked.") ||
			!strings.Contains(p.StatusText, "This credential was revoked by Northfield University") {
			t.Errorf("status %q: %q", p.Status, p.StatusText)
		}
		// The token is genuine; revocation is the status list's business, not the signature's.
		if p.BrowserCheck != "ok" {
			t.Errorf("in-browser check: %q %q", p.BrowserCheck, p.BrowserCheckText)
		}
		narrow(t, p)
		accessible(t, "revoked credential page", p.Axe)
		screenshot(t, filepath.Join(shots, p.Screenshot), 1280)
		screenshot(t, filepath.Join(shots, p.ScreenshotPhone), 390)
	})

	t.Run("verify tool", func(t *testing.T) {
		p := page(t, "verify")
		if p.HTTPStatus != 200 || p.Lang != "en" {
			t.Errorf("status %d, lang %q", p.HTTPStatus, p.Lang)
		}
		if p.Verdict != "This credential was revoked by its issuer." || !strings.Contains(p.VerdictClass, "bad") {
			t.Errorf("verdict for the pasted revoked JWT: %q (class %q)", p.Verdict, p.VerdictClass)
		}
		accessible(t, "/verify", p.Axe)
		accessible(t, "/verify with a result", p.AxeResult)
	})
}

// narrow fails when the page is wider than a 390 px phone screen, so it would scroll sideways.
func narrow(t *testing.T, p pageReport) {
	t.Helper()
	if p.Phone.ScrollWidth == 0 || p.Phone.ScrollWidth > 390 {
		t.Errorf("at 390 px the page is %d px wide; sticking out:\n  %s", p.Phone.ScrollWidth, strings.Join(p.Phone.Overflowing, "\n  "))
	}
}

// accessible fails on axe-core violations of impact serious or critical and lists every
// violation, minor ones included, so a failure shows the whole picture.
func accessible(t *testing.T, what string, r *axeResult) {
	t.Helper()
	if r == nil || r.Passes == 0 {
		t.Errorf("%s: axe-core did not run (%+v)", what, r)
		return
	}
	var all []string
	bad := false
	for _, v := range r.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = true
		}
		all = append(all, fmt.Sprintf("[%s] %s: %s\n      %s", v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "\n      ")))
	}
	if bad {
		t.Errorf("%s: axe-core found serious or critical violations:\n  %s", what, strings.Join(all, "\n  "))
	} else if len(all) > 0 {
		t.Logf("%s: minor axe-core findings:\n  %s", what, strings.Join(all, "\n  "))
	}
}

// screenshot checks a full-page PNG is there, decodes, and is as wide as the viewport.
func screenshot(t *testing.T, file string, width int) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Errorf("screenshot %s: %v", file, err)
		return
	}
	if cfg.Width != width || cfg.Height < 400 {
		t.Errorf("screenshot %s is %dx%d, want %d px wide and a full page tall", filepath.Base(file), cfg.Width, cfg.Height, width)
	}
}
