package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/app"
	"github.com/credence-oss/credence/shared/domain"
)

// localServer runs the local app (as `credence serve` wires it) on 127.0.0.1 and returns its
// URL, the admin key, an issuer and an achievement.
func localServer(t *testing.T) (url, key, issuer, achievement string) {
	t.Helper()
	const admin = "cli-test-admin-key-0123456789"
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := app.OpenLocal(app.LocalOptions{Dir: t.TempDir(), BaseURL: srv.URL, AdminKey: admin, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = l.Close(ctx)
	})
	handler = l.Handler
	ctx, p := context.Background(), domain.Principal{KeyID: "test"}
	iss, err := l.Service.CreateIssuer(ctx, p, domain.IssuerInput{Name: "CLI U", URL: "https://cli.example.edu", Email: "reg@example.edu"})
	if err != nil {
		t.Fatal(err)
	}
	ach, err := l.Service.CreateAchievement(ctx, p, iss.ID, domain.AchievementInput{Name: "CLI", Description: "CLI.", Criteria: domain.CriteriaInput{Narrative: "Ran it."}})
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, admin, iss.ID, ach.ID
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRosterExitCodes(t *testing.T) {
	t.Setenv("CREDENCE_KEY", "")
	t.Setenv("CREDENCE_SERVER", "")
	url, key, issuer, ach := localServer(t)
	args := func(file string, extra ...string) []string {
		return append([]string{"roster", "--server", url, "--key", key, "--issuer", issuer, "--achievement", ach, "--interval", "20ms"}, append(extra, file)...)
	}
	var good strings.Builder
	good.WriteString("email,name\n")
	for i := 0; i < 25; i++ {
		fmt.Fprintf(&good, "p%d@example.org,Person %d\n", i, i)
	}

	code, out, errs := runCLI(args(writeFile(t, "good.csv", good.String()))...)
	if code != exitOK || !strings.Contains(out, "rows: 25, issued: 25, rejected: 0, failed: 0") || !strings.Contains(out, "mail: sent 25") {
		t.Fatalf("good roster: exit %d\n%s\n%s", code, out, errs)
	}
	// Off a terminal the progress comes as plain lines, no carriage returns.
	if strings.Contains(errs, "\r") || !strings.Contains(errs, "rows (issued") {
		t.Fatalf("progress on a non-terminal: %q", errs)
	}

	bad := "email,name\nok@example.org,Ok\nnot-an-address,Bad\nalso-ok@example.org,\n"
	code, out, errs = runCLI(args(writeFile(t, "bad.csv", bad))...)
	if code != exitInvalid || !strings.Contains(out, "issued: 1, rejected: 2") || !strings.Contains(out, "row 3, email:") ||
		!strings.Contains(out, "row 4, name:") || !strings.Contains(out, "error report: "+url+"/downloads/") {
		t.Fatalf("roster with bad rows: exit %d\n%s\n%s", code, out, errs)
	}

	code, out, errs = runCLI(args(writeFile(t, "junk.csv", "\x00\x01binary\x00"))...)
	if code != exitUsage || !strings.Contains(out, "failed") {
		t.Fatalf("unusable file: exit %d\n%s\n%s", code, out, errs)
	}

	code, _, errs = runCLI(args(writeFile(t, "cohort.txt", good.String()))...)
	if code != exitUsage || !strings.Contains(errs, "unsupported_format") {
		t.Fatalf("a .txt roster: exit %d\n%s", code, errs)
	}

	code, _, errs = runCLI("roster", "--server", url, "--key", "wrong-key-0123456789", "--issuer", issuer, "--achievement", ach, writeFile(t, "a.csv", good.String()))
	if code != exitUsage || !strings.Contains(errs, "unauthorized") {
		t.Fatalf("wrong key: exit %d\n%s", code, errs)
	}

	code, _, errs = runCLI("roster", "--server", url, "--issuer", issuer, "--achievement", ach, "x.csv")
	if code != exitUsage || !strings.Contains(errs, "missing --key") {
		t.Fatalf("no key: exit %d\n%s", code, errs)
	}
	code, _, _ = runCLI(args(filepath.Join(t.TempDir(), "absent.csv"))...)
	if code != exitUsage {
		t.Fatalf("absent file: exit %d", code)
	}
}
