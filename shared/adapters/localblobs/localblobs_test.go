package localblobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/adapters/blobtest"
	"github.com/credence-oss/credence/shared/adapters/localblobs"
	"github.com/credence-oss/credence/shared/domain"
)

// fakeClock is a clock tests move by hand; the handler reads it from its own goroutines.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// server opens a store in dir and serves its handler on 127.0.0.1, mounted as shared/app does.
func server(t *testing.T, dir string, clock *fakeClock) (*localblobs.Store, *httptest.Server) {
	t.Helper()
	s, err := localblobs.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Now = clock.Now
	s.Log = slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	mux.Handle(localblobs.UploadPath, s.Handler())
	mux.Handle(localblobs.DownloadPath, s.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.BaseURL = srv.URL
	return s, srv
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().Truncate(time.Second)} }

func TestContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobtest.Env {
		clock := newClock()
		s, srv := server(t, t.TempDir(), clock)
		return blobtest.Env{Blobs: s, Client: srv.Client(), Now: clock.Now, Advance: clock.Advance}
	})
}

type apiError struct {
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

// post uploads and returns the status and the error code of the answer.
func post(t *testing.T, client *http.Client, up domain.Upload, body []byte) (int, string) {
	t.Helper()
	resp, err := blobtest.PostForm(t.Context(), client, up, "roster.csv", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e apiError
	if resp.StatusCode >= 300 {
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("%s: body %q is not a JSON error: %v", resp.Status, raw, err)
		}
	}
	return resp.StatusCode, e.Error.Code
}

func TestUploadStatuses(t *testing.T) {
	clock := newClock()
	s, srv := server(t, t.TempDir(), clock)
	ctx := t.Context()
	body := []byte("email,name\na@example.org,A\n")

	up, err := s.PresignUpload(ctx, "rosters/j1", int64(len(body)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if status, code := post(t, srv.Client(), up, append(body, 'x')); status != http.StatusRequestEntityTooLarge || code != "file_too_large" {
		t.Errorf("one byte too many: %d %q; want 413 file_too_large", status, code)
	}
	if status, code := post(t, srv.Client(), up, nil); status != http.StatusBadRequest || code != "empty_file" {
		t.Errorf("empty: %d %q; want 400 empty_file", status, code)
	}
	if status, _ := post(t, srv.Client(), up, body); status != http.StatusNoContent {
		t.Errorf("exact size: %d; want 204", status)
	}

	tampered := up
	tampered.URL = up.URL[:len(up.URL)-3] + "AAA"
	if tampered.URL == up.URL {
		tampered.URL = up.URL[:len(up.URL)-3] + "BBB"
	}
	if status, code := post(t, srv.Client(), tampered, body); status != http.StatusForbidden || code != "invalid_token" {
		t.Errorf("tampered token: %d %q; want 403 invalid_token", status, code)
	}
	wrongKey := up
	wrongKey.Fields = map[string]string{"key": "rosters/j2"}
	if status, code := post(t, srv.Client(), wrongKey, body); status != http.StatusForbidden || code != "key_mismatch" {
		t.Errorf("other key: %d %q; want 403 key_mismatch", status, code)
	}
	noKey := up
	noKey.Fields = nil
	if status, code := post(t, srv.Client(), noKey, body); status != http.StatusForbidden || code != "key_mismatch" {
		t.Errorf("no key field: %d %q; want 403 key_mismatch", status, code)
	}

	// A download URL's token must not open an upload.
	dl, err := s.DownloadURL(ctx, "rosters/j1", "x.csv", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	asUpload := up
	asUpload.URL = strings.Replace(dl, localblobs.DownloadPath, localblobs.UploadPath, 1)
	if status, code := post(t, srv.Client(), asUpload, body); status != http.StatusForbidden || code != "invalid_token" {
		t.Errorf("download token used to upload: %d %q; want 403 invalid_token", status, code)
	}

	clock.Advance(time.Minute)
	if status, code := post(t, srv.Client(), up, body); status != http.StatusForbidden || code != "expired_token" {
		t.Errorf("at ExpiresAt: %d %q; want 403 expired_token", status, code)
	}
	resp, err := srv.Client().Get(dl)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("expired download: %d; want 403", resp.StatusCode)
	}
}

func TestOnUpload(t *testing.T) {
	clock := newClock()
	s, srv := server(t, t.TempDir(), clock)
	var mu sync.Mutex
	var got []string
	s.OnUpload = func(ctx context.Context, key string) {
		// The file must be readable by the time the event is raised.
		b, err := s.Open(ctx, key)
		if err != nil {
			t.Errorf("OnUpload(%s): Open: %v", key, err)
		} else {
			b.Close()
		}
		mu.Lock()
		got = append(got, key)
		mu.Unlock()
	}
	up, err := s.PresignUpload(t.Context(), "rosters/j1", 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	post(t, srv.Client(), up, []byte("too long for ten bytes"))
	if err := s.Put(t.Context(), "reports/j1.csv", strings.NewReader("r"), 1, "text/csv"); err != nil {
		t.Fatal(err)
	}
	if status, _ := post(t, srv.Client(), up, []byte("email\n")); status != http.StatusNoContent {
		t.Fatalf("upload: %d", status)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "rosters/j1" {
		t.Fatalf("OnUpload calls = %q; want exactly [rosters/j1] (not for refused uploads, not for Put)", got)
	}
}

// URLs are signed with a secret kept in the folder, so they work after a restart and not
// against another data directory.
func TestURLsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	clock := newClock()
	s1, _ := server(t, dir, clock)
	up, err := s1.PresignUpload(t.Context(), "rosters/j1", 100, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s2, srv2 := server(t, dir, clock)
	up.URL = srv2.URL + up.URL[len(s1.BaseURL):]
	if status, code := post(t, srv2.Client(), up, []byte("email\n")); status != http.StatusNoContent {
		t.Fatalf("upload after restart: %d %q; want 204", status, code)
	}
	if _, err := s2.Open(t.Context(), "rosters/j1"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, ".secret")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, %v; want mode 0600", st, err)
	}
	_, srv3 := server(t, t.TempDir(), clock)
	up.URL = srv3.URL + up.URL[len(srv2.URL):]
	if status, code := post(t, srv3.Client(), up, []byte("email\n")); status != http.StatusForbidden || code != "invalid_token" {
		t.Fatalf("upload to another data directory: %d %q; want 403 invalid_token", status, code)
	}
}

func TestPutSizeMismatchStoresNothing(t *testing.T) {
	s, err := localblobs.Open(t.TempDir(), "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, size := range []int64{3, 5} {
		if err := s.Put(ctx, "reports/a.csv", strings.NewReader("four"), size, "text/csv"); err == nil {
			t.Errorf("Put of 4 bytes with size %d succeeded", size)
		}
		if _, err := s.Open(ctx, "reports/a.csv"); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("after a refused Put: Open = %v; want ErrNotFound", err)
		}
	}
	// A failed write leaves no temp file behind either.
	entries, err := os.ReadDir(filepath.Join(s.Dir(), "reports"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("reports/ holds %d entries after refused Puts; want none", len(entries))
	}
	if err := s.Put(ctx, "reports/a.csv", bytes.NewReader(nil), 0, "text/csv"); err != nil {
		t.Errorf("Put of an empty object: %v", err)
	}
}

func TestFolderIsNotAnObject(t *testing.T) {
	s, err := localblobs.Open(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "rosters/x/y", strings.NewReader("z"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(t.Context(), "rosters/x"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("Open of a folder = %v; want ErrNotFound", err)
	}
}

func TestCorruptSecretRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".secret"), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := localblobs.Open(dir, ""); err == nil {
		t.Fatal("Open with a 5-byte secret succeeded; want an error")
	}
}
