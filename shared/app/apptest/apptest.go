// Package apptest runs a whole local Credence (app.OpenLocal, as `credence serve` wires it) on
// 127.0.0.1 for the tests of other packages: the independent verifiers, the browser tests.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/app"
)

// AdminKey is the bootstrap admin key of every test server (a test value, not a secret).
const AdminKey = "apptest-admin-key-0123456789"

// Server is a running local Credence.
type Server struct {
	t     testing.TB
	URL   string
	Local *app.Local
}

// Start opens a local Credence in a temporary directory behind an httptest server; both are
// closed when the test ends. Its logs are discarded.
func Start(t testing.TB) *Server {
	t.Helper()
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	local, err := app.OpenLocal(app.LocalOptions{Dir: t.TempDir(), BaseURL: srv.URL, AdminKey: AdminKey, Log: quiet})
	if err != nil {
		t.Fatalf("open local Credence: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = local.Close(ctx)
	})
	handler = local.Handler
	return &Server{t: t, URL: srv.URL, Local: local}
}

// API calls the admin API with the admin key and body as JSON (none when nil), fails the test
// unless the answer has status want, and returns the decoded answer.
func (s *Server) API(want int, method, path string, body any) map[string]any {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+AdminKey)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		s.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
	}
	return out
}

// Get fetches a public path and fails the test unless the answer is 200.
func (s *Server) Get(path string) []byte {
	s.t.Helper()
	res, err := http.Get(s.URL + path)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s", path, res.StatusCode, raw)
	}
	return raw
}

// Str is the non-empty string m[key], or a failed test.
func Str(t testing.TB, m map[string]any, key string) string {
	t.Helper()
	v, ok := m[key].(string)
	if !ok || v == "" {
		t.Fatalf("no %q in %v", key, m)
	}
	return v
}
