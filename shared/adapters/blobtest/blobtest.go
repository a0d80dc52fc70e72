// Package blobtest is the contract every domain.Blobs implementation passes. Each adapter's
// tests call Run with a constructor for a fresh, empty store; the same assertions then hold for
// S3 and for the local folder, so the domain and the clients (the CLI, a browser form) can rely
// on one behaviour.
//
// Where the port's comments leave a choice open, the contract fixes it:
//
//   - An Upload is an HTML-form POST: every entry of Fields as a form field, in any order, then
//     the file as the field "file" (S3 ignores fields after the file, so the file goes last).
//     Fields["key"] names the key the upload writes (S3 requires it; the local store mirrors
//     it so that a client treats both alike). MaxBytes is the maxBytes asked for; ExpiresAt is
//     when the upload stops working.
//   - An upload of 1..MaxBytes bytes succeeds with a 2xx status. An empty file, a file of more
//     than MaxBytes, an upload after ExpiresAt and an upload whose fields were changed (another
//     key, a changed signature or policy) are refused: an error status or a broken connection,
//     and nothing is stored under any key.
//   - Open of an absent key fails with an error that wraps domain.ErrNotFound. A Blob reads
//     like an *os.File: ReadAt past the end returns the bytes there are and io.EOF.
//   - A GET of a DownloadURL returns the bytes with Content-Disposition: attachment and the
//     filename asked for (non-ASCII names included, as RFC 6266 filename*).
//   - Keys are the domain's ("rosters/<id>", "reports/<id>.csv"): slash-separated segments of
//     letters, digits, '.', '_' and '-', none empty and none starting with '.'. Every method
//     refuses any other key with an error that is not ErrNotFound, so no adapter can be
//     talked into writing outside its folder or prefix.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/domain"
)

// Env is one fresh store under test and how to reach what serves its URLs.
type Env struct {
	Blobs domain.Blobs
	// Client sends uploads and downloads; nil means http.DefaultClient.
	Client *http.Client
	// Now is the clock of whoever checks uploads; nil means time.Now.
	Now func() time.Time
	// Advance moves that clock forward by d. Nil: the expiry case waits in real time for a
	// short-lived upload to run out.
	Advance func(d time.Duration)
	// NotEnforced, when set, says why the store behind the URLs accepts any well-formed upload
	// form (an emulator that does not check POST policies). The refusal cases are then skipped
	// with this reason; the adapter must test its policy some other way.
	NotEnforced string
}

// Run runs the contract against stores made by newEnv, one per subtest.
func Run(t *testing.T, newEnv func(t *testing.T) Env) {
	t.Run("UploadThenOpen", func(t *testing.T) { testUploadThenOpen(t, newEnv(t)) })
	t.Run("UploadExactlyMaxBytes", func(t *testing.T) { testUploadExactlyMax(t, newEnv(t)) })
	t.Run("UploadTooLarge", func(t *testing.T) { testUploadTooLarge(t, newEnv(t)) })
	t.Run("UploadEmpty", func(t *testing.T) { testUploadEmpty(t, newEnv(t)) })
	t.Run("UploadExpired", func(t *testing.T) { testUploadExpired(t, newEnv(t)) })
	t.Run("UploadTampered", func(t *testing.T) { testUploadTampered(t, newEnv(t)) })
	t.Run("PutOpen", func(t *testing.T) { testPutOpen(t, newEnv(t)) })
	t.Run("PutReplaces", func(t *testing.T) { testPutReplaces(t, newEnv(t)) })
	t.Run("OpenMissing", func(t *testing.T) { testOpenMissing(t, newEnv(t)) })
	t.Run("DownloadURL", func(t *testing.T) { testDownloadURL(t, newEnv(t)) })
	t.Run("DownloadMissing", func(t *testing.T) { testDownloadMissing(t, newEnv(t)) })
	t.Run("BadKeys", func(t *testing.T) { testBadKeys(t, newEnv(t)) })
}

// PostForm submits up the way a browser form does: Fields (sorted, for reproducible requests),
// then body as the file field "file" named filename.
func PostForm(ctx context.Context, client *http.Client, up domain.Upload, filename string, body []byte) (*http.Response, error) {
	if client == nil {
		client = http.DefaultClient
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	names := make([]string, 0, len(up.Fields))
	for k := range up.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := mw.WriteField(k, up.Fields[k]); err != nil {
			return nil, fmt.Errorf("upload form: field %s: %w", k, err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		return nil, fmt.Errorf("upload form: file: %w", err)
	}
	if _, err := fw.Write(body); err != nil {
		return nil, fmt.Errorf("upload form: file: %w", err)
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("upload form: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, up.URL, &buf)
	if err != nil {
		return nil, fmt.Errorf("upload request: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("upload to %s: %w", up.URL, err)
	}
	return resp, nil
}

// Key returns a fresh roster key, so subtests sharing a backend never collide.
func Key(t testing.TB) string {
	t.Helper()
	return "rosters/" + randomHex(t, 10)
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// post uploads and reports whether the store accepted it, with what it answered.
func (e Env) post(t *testing.T, up domain.Upload, body []byte) (bool, string) {
	t.Helper()
	resp, err := PostForm(t.Context(), e.Client, up, "roster.csv", body)
	if err != nil {
		// A server that refuses a large body may close the connection before the client has
		// sent it all; the client then sees a write error instead of the status.
		return false, err.Error()
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode/100 == 2, fmt.Sprintf("%s: %s", resp.Status, msg)
}

func (e Env) presign(t *testing.T, key string, max int64, ttl time.Duration) domain.Upload {
	t.Helper()
	up, err := e.Blobs.PresignUpload(t.Context(), key, max, ttl)
	if err != nil {
		t.Fatalf("PresignUpload(%q, %d, %v): %v", key, max, ttl, err)
	}
	return up
}

func (e Env) mustUpload(t *testing.T, up domain.Upload, body []byte) {
	t.Helper()
	if ok, msg := e.post(t, up, body); !ok {
		t.Fatalf("upload of %d bytes (max %d) refused: %s", len(body), up.MaxBytes, msg)
	}
}

func (e Env) skipUnenforced(t *testing.T) {
	t.Helper()
	if e.NotEnforced != "" {
		t.Skip("upload policy not enforced here: " + e.NotEnforced)
	}
}

// assertAbsent checks that key holds nothing.
func (e Env) assertAbsent(t *testing.T, key string) {
	t.Helper()
	b, err := e.Blobs.Open(t.Context(), key)
	if err == nil {
		size := b.Size()
		b.Close()
		t.Fatalf("%s holds %d bytes; want nothing stored", key, size)
	}
	if !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("Open(%s) = %v; want domain.ErrNotFound", key, err)
	}
}

// assertContent opens key and checks its size, every byte through ReadAt at several offsets,
// and the io.EOF behaviour at and past the end.
func (e Env) assertContent(t *testing.T, key string, want []byte) {
	t.Helper()
	b, err := e.Blobs.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer b.Close()
	if b.Size() != int64(len(want)) {
		t.Fatalf("Size() = %d; want %d", b.Size(), len(want))
	}
	got, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: read %d bytes that differ from the %d stored", key, len(got), len(want))
	}
	n := int64(len(want))
	// Out of order on purpose: an XLSX reader starts at the end, then jumps back.
	for _, off := range []int64{n - 22, 0, n / 2, 1, n - 1} {
		if off < 0 || off >= n {
			continue
		}
		size := min(int64(17), n-off)
		p := make([]byte, size)
		k, err := b.ReadAt(p, off)
		if int64(k) != size || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt(%d bytes, %d) = %d, %v", size, off, k, err)
		}
		if !bytes.Equal(p, want[off:off+size]) {
			t.Fatalf("ReadAt(%d bytes, %d) returned other bytes than stored", size, off)
		}
	}
	// Across the end: the bytes there are, and io.EOF.
	if n >= 3 {
		p := make([]byte, 10)
		k, err := b.ReadAt(p, n-3)
		if k != 3 || err != io.EOF {
			t.Fatalf("ReadAt(10 bytes, size-3) = %d, %v; want 3, io.EOF", k, err)
		}
		if !bytes.Equal(p[:3], want[n-3:]) {
			t.Fatalf("ReadAt across the end returned other bytes than stored")
		}
	}
	if k, err := b.ReadAt(make([]byte, 4), n); k != 0 || err != io.EOF {
		t.Fatalf("ReadAt(4 bytes, size) = %d, %v; want 0, io.EOF", k, err)
	}
}

func testUploadThenOpen(t *testing.T, e Env) {
	key := Key(t)
	const max = 1 << 20
	ttl := 15 * time.Minute
	before := e.now()
	up := e.presign(t, key, max, ttl)
	if up.URL == "" {
		t.Fatal("Upload.URL is empty")
	}
	if up.MaxBytes != max {
		t.Errorf("Upload.MaxBytes = %d; want %d", up.MaxBytes, max)
	}
	if up.Fields["key"] != key {
		t.Errorf(`Upload.Fields["key"] = %q; want %q`, up.Fields["key"], key)
	}
	// Second precision is what S3 policies carry.
	if lo, hi := before.Add(ttl-time.Second), e.now().Add(ttl+time.Second); up.ExpiresAt.Before(lo) || up.ExpiresAt.After(hi) {
		t.Errorf("Upload.ExpiresAt = %v; want within [%v, %v]", up.ExpiresAt, lo, hi)
	}
	e.assertAbsent(t, key) // presigning stores nothing
	body := randomBytes(t, 300<<10+7)
	e.mustUpload(t, up, body)
	e.assertContent(t, key, body)
}

func testUploadExactlyMax(t *testing.T, e Env) {
	key := Key(t)
	const max = 64 << 10
	up := e.presign(t, key, max, 15*time.Minute)
	body := randomBytes(t, max)
	e.mustUpload(t, up, body)
	e.assertContent(t, key, body)
}

func testUploadTooLarge(t *testing.T, e Env) {
	e.skipUnenforced(t)
	const max = 64 << 10
	for _, size := range []int{max + 1, 4 * max} {
		key := Key(t)
		up := e.presign(t, key, max, 15*time.Minute)
		if ok, msg := e.post(t, up, randomBytes(t, size)); ok {
			t.Fatalf("upload of %d bytes with max %d accepted: %s", size, max, msg)
		}
		e.assertAbsent(t, key)
	}
}

func testUploadEmpty(t *testing.T, e Env) {
	e.skipUnenforced(t)
	key := Key(t)
	up := e.presign(t, key, 1<<20, 15*time.Minute)
	if ok, msg := e.post(t, up, nil); ok {
		t.Fatalf("empty upload accepted: %s", msg)
	}
	e.assertAbsent(t, key)
}

func testUploadExpired(t *testing.T, e Env) {
	e.skipUnenforced(t)
	key := Key(t)
	ttl := 2 * time.Second
	up := e.presign(t, key, 1<<20, ttl)
	if e.Advance != nil {
		e.Advance(ttl + 2*time.Second)
	} else {
		time.Sleep(time.Until(up.ExpiresAt) + 1500*time.Millisecond)
	}
	if ok, msg := e.post(t, up, []byte("email,name\na@example.org,A\n")); ok {
		t.Fatalf("upload after ExpiresAt accepted: %s", msg)
	}
	e.assertAbsent(t, key)
}

func testUploadTampered(t *testing.T, e Env) {
	e.skipUnenforced(t)
	key := Key(t)
	up := e.presign(t, key, 1<<20, 15*time.Minute)
	if _, ok := up.Fields["key"]; !ok {
		t.Fatal(`Upload.Fields has no "key"`)
	}
	body := []byte("email,name\na@example.org,A\n")
	for field, value := range up.Fields {
		other := key + "x"
		if field != "key" {
			other = tamper(value)
		}
		changed := domain.Upload{URL: up.URL, MaxBytes: up.MaxBytes, ExpiresAt: up.ExpiresAt, Fields: map[string]string{}}
		for k, v := range up.Fields {
			changed.Fields[k] = v
		}
		changed.Fields[field] = other
		if ok, msg := e.post(t, changed, body); ok {
			t.Fatalf("upload with field %q changed from %q to %q accepted: %s", field, value, other, msg)
		}
		e.assertAbsent(t, key)
		if field == "key" {
			e.assertAbsent(t, other)
		}
	}
	// The untouched upload still works: the refusals above were about the changes.
	e.mustUpload(t, up, body)
	e.assertContent(t, key, body)
}

// tamper changes one character of v, keeping it in the same alphabet where it can.
func tamper(v string) string {
	if v == "" {
		return "x"
	}
	b := []byte(v)
	i := len(b) / 2
	switch {
	case b[i] == 'A':
		b[i] = 'B'
	case b[i] >= '0' && b[i] <= '8':
		b[i]++
	default:
		b[i] = 'A'
	}
	return string(b)
}

func testPutOpen(t *testing.T, e Env) {
	key := "reports/" + randomHex(t, 8) + ".csv"
	body := []byte("row,field,message\n2,email,not an e-mail address\n")
	if err := e.Blobs.Put(t.Context(), key, bytes.NewReader(body), int64(len(body)), "text/csv"); err != nil {
		t.Fatalf("Put: %v", err)
	}
	e.assertContent(t, key, body)
	big := randomBytes(t, 1<<20+5)
	key2 := "reports/" + randomHex(t, 8) + ".csv"
	if err := e.Blobs.Put(t.Context(), key2, bytes.NewReader(big), int64(len(big)), "text/csv"); err != nil {
		t.Fatalf("Put: %v", err)
	}
	e.assertContent(t, key2, big)
	e.assertContent(t, key, body) // one key's write leaves the others alone
}

func testPutReplaces(t *testing.T, e Env) {
	key := "reports/" + randomHex(t, 8) + ".csv"
	for _, body := range [][]byte{[]byte("first version, longer than the second\n"), []byte("second\n")} {
		if err := e.Blobs.Put(t.Context(), key, bytes.NewReader(body), int64(len(body)), "text/csv"); err != nil {
			t.Fatalf("Put: %v", err)
		}
		e.assertContent(t, key, body)
	}
}

func testOpenMissing(t *testing.T, e Env) {
	e.assertAbsent(t, Key(t))
	e.assertAbsent(t, "reports/"+randomHex(t, 8)+".csv")
}

func testDownloadURL(t *testing.T, e Env) {
	key := "reports/" + randomHex(t, 8) + ".csv"
	body := []byte("row,field,message\n3,name,required\n")
	if err := e.Blobs.Put(t.Context(), key, bytes.NewReader(body), int64(len(body)), "text/csv"); err != nil {
		t.Fatalf("Put: %v", err)
	}
	for _, name := range []string{"roster-errors.csv", "Cohort 2024 (spring)-errors.csv", "Zürich Kurs-errors.csv"} {
		u, err := e.Blobs.DownloadURL(t.Context(), key, name, time.Hour)
		if err != nil {
			t.Fatalf("DownloadURL: %v", err)
		}
		got, header := e.get(t, u, http.StatusOK)
		if !bytes.Equal(got, body) {
			t.Fatalf("download of %s returned %q; want %q", key, got, body)
		}
		disp, params, err := mime.ParseMediaType(header.Get("Content-Disposition"))
		if err != nil {
			t.Fatalf("Content-Disposition %q: %v", header.Get("Content-Disposition"), err)
		}
		if disp != "attachment" || params["filename"] != name {
			t.Fatalf("Content-Disposition %q = %s, filename %q; want attachment, %q",
				header.Get("Content-Disposition"), disp, params["filename"], name)
		}
	}
}

func testDownloadMissing(t *testing.T, e Env) {
	u, err := e.Blobs.DownloadURL(t.Context(), "reports/"+randomHex(t, 8)+".csv", "x.csv", time.Hour)
	if err != nil {
		return // refusing to sign for an absent object is fine too
	}
	e.get(t, u, http.StatusNotFound)
}

func (e Env) get(t *testing.T, u string, want int) ([]byte, http.Header) {
	t.Helper()
	client := e.Client
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatalf("download URL %q: %v", u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %s %q; want %d", u, resp.Status, body, want)
	}
	return body, resp.Header
}

func testBadKeys(t *testing.T, e Env) {
	ctx := t.Context()
	for _, key := range []string{"", "/rosters/x", "rosters/../../x", "../x", "rosters//x", "rosters/x/",
		"rosters/.hidden", "rosters/x\x00y", `rosters\x`, "rosters/a b", strings.Repeat("a", 1025)} {
		if err := e.Blobs.Put(ctx, key, strings.NewReader("x"), 1, "text/plain"); err == nil {
			t.Errorf("Put(%q) succeeded; want the key refused", key)
		}
		if _, err := e.Blobs.PresignUpload(ctx, key, 10, time.Minute); err == nil {
			t.Errorf("PresignUpload(%q) succeeded; want the key refused", key)
		}
		if _, err := e.Blobs.DownloadURL(ctx, key, "x.csv", time.Minute); err == nil {
			t.Errorf("DownloadURL(%q) succeeded; want the key refused", key)
		}
		if b, err := e.Blobs.Open(ctx, key); err == nil {
			b.Close()
			t.Errorf("Open(%q) succeeded; want the key refused", key)
		} else if errors.Is(err, domain.ErrNotFound) {
			t.Errorf("Open(%q) = %v; want a refusal, not ErrNotFound", key, err)
		}
	}
	for _, max := range []int64{0, -1} {
		if _, err := e.Blobs.PresignUpload(ctx, Key(t), max, time.Minute); err == nil {
			t.Errorf("PresignUpload with maxBytes %d succeeded; want an error", max)
		}
	}
	if _, err := e.Blobs.PresignUpload(ctx, Key(t), 10, 0); err == nil {
		t.Error("PresignUpload with ttl 0 succeeded; want an error")
	}
}
