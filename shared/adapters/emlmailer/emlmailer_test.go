package emlmailer

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credence-oss/credence/shared/domain"
)

func TestWritesAParseableMultipartMessage(t *testing.T) {
	dir := t.TempDir()
	m, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	id, err := m.Send(context.Background(), domain.Mail{To: "ada@example.org", From: "Uni <b@example.edu>", Subject: "Félicitations — badge",
		Text: "Hello Ada", HTML: "<p>Hello <b>Ada</b></p>", Tags: map[string]string{"credential": "c1"}})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("want one .eml file, got %v", files)
	}
	f, _ := os.Open(files[0])
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subj != "Félicitations — badge" || msg.Header.Get("Message-Id") != id || msg.Header.Get("To") != "ada@example.org" {
		t.Fatalf("headers: %v (subject %q)", msg.Header, subj)
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // NextPart decodes quoted-printable
		parts = append(parts, p.Header.Get("Content-Type")+"|"+string(b))
	}
	if len(parts) != 2 || !strings.Contains(parts[0], "Hello Ada") || !strings.Contains(parts[1], "<b>Ada</b>") {
		t.Fatalf("parts: %q", parts)
	}
}

func TestSyncsTheFileSystemEverySyncEveryMessages(t *testing.T) {
	dir := t.TempDir()
	m, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.SyncEvery = 3
	var synced []string
	m.syncFS = func(d *os.File) error {
		synced = append(synced, d.Name())
		err := syncFS(d) // the real call too, so a platform where it fails shows up here
		if err != nil {
			t.Errorf("syncFS: %v", err)
		}
		return err
	}
	for i := 0; i < 7; i++ {
		if _, err := m.Send(context.Background(), domain.Mail{To: "ada@example.org", From: "b@example.edu", Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(synced) != 2 || synced[0] != dir {
		t.Fatalf("want 2 syncs of %s after 7 messages with SyncEvery 3, got %v", dir, synced)
	}
	m.SyncEvery = -1
	for i := 0; i < 6; i++ {
		if _, err := m.Send(context.Background(), domain.Mail{To: "ada@example.org", From: "b@example.edu", Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(synced) != 2 {
		t.Fatalf("SyncEvery < 0 must never sync; got %d syncs", len(synced))
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.eml")); len(files) != 13 {
		t.Fatalf("want 13 messages, got %d", len(files))
	}
}
