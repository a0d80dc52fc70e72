// Package emlmailer is the Mailer of local mode: each message becomes one RFC 5322 .eml file
// in a folder, which any mail client opens, so a newcomer sees exactly what a recipient gets.
package emlmailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credence-oss/credence/shared/domain"
)

// Mailer writes messages to Dir.
//
// Durability: a message is written to a hidden temporary file and renamed into place, so a
// reader (or a crash) never sees half a message. Files are not fsynced one by one (an fsync per
// file measured 0.3-0.5 ms of kernel CPU here, as much as a third of signing its credential,
// and made a bulk job slower); instead, every SyncEvery messages the mailer syncs the file
// system the folder is on. That bounds what a power loss can take to the last few hundred
// messages, and it keeps file creation cheaper on ext4 without a journal: its inode allocator
// will not reuse an inode deleted in the last 60 s, or in the last 300 s while the inode's
// table block is not yet written back, and it tests such inodes one by one, so after many
// files were deleted each new file scans past thousands of them. Syncing writes the blocks
// back and shortens the window (in perf samples of a 10,000-row roster, that scan went from
// about 13% to about 8%). Local mode's mail is a preview of what SES sends, which is where
// delivery must be durable.
type Mailer struct {
	Dir string
	Now func() time.Time
	// SyncEvery is how many messages are written between file-system syncs: 0 means
	// DefaultSyncEvery, a negative number never.
	SyncEvery int

	written atomic.Int64
	syncing sync.Mutex
	syncFS  func(*os.File) error // the platform's syncFS; a field so a test can count calls
}

// DefaultSyncEvery is how many messages a Mailer writes between file-system syncs.
const DefaultSyncEvery = 128

// New returns a mailer writing into dir (created if missing).
func New(dir string) (*Mailer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("emlmailer: %w", err)
	}
	return &Mailer{Dir: dir, Now: time.Now}, nil
}

// Send writes one message and returns its Message-ID.
func (m *Mailer) Send(_ context.Context, msg domain.Mail) (string, error) {
	if msg.To == "" || msg.From == "" {
		return "", fmt.Errorf("emlmailer: a message needs From and To")
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	messageID := "<" + id + "@credence.local>"
	var buf bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	hdr("From", msg.From)
	hdr("To", msg.To)
	if msg.ReplyTo != "" {
		hdr("Reply-To", msg.ReplyTo)
	}
	hdr("Subject", mime.QEncoding.Encode("utf-8", msg.Subject))
	hdr("Date", m.Now().UTC().Format(time.RFC1123Z))
	hdr("Message-ID", messageID)
	hdr("MIME-Version", "1.0")
	tags := make([]string, 0, len(msg.Tags))
	for k, v := range msg.Tags {
		tags = append(tags, k+"="+v)
	}
	sort.Strings(tags)
	if len(tags) > 0 {
		hdr("X-Credence-Tags", strings.Join(tags, "; "))
	}
	mw := multipart.NewWriter(&buf)
	hdr("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	buf.WriteString("\r\n")
	for _, part := range []struct{ ct, body string }{{"text/plain; charset=utf-8", msg.Text}, {"text/html; charset=utf-8", msg.HTML}} {
		if part.body == "" {
			continue
		}
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.ct}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return "", err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return "", err
		}
		_ = qp.Close()
	}
	_ = mw.Close()
	name := fmt.Sprintf("%s-%s.eml", m.Now().UTC().Format("20060102T150405"), id)
	tmp := filepath.Join(m.Dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return "", fmt.Errorf("emlmailer: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(m.Dir, name)); err != nil {
		return "", fmt.Errorf("emlmailer: %w", err)
	}
	every := int64(m.SyncEvery)
	if every == 0 {
		every = DefaultSyncEvery
	}
	if every > 0 && m.written.Add(1)%every == 0 {
		// The message is in place whatever the sync does; a failed sync leaves the write-out
		// to the kernel's own writeback.
		_ = m.sync()
	}
	return messageID, nil
}

// sync writes out the file system Dir is on. A sync already running covers the messages this
// one would: it is skipped, not queued.
func (m *Mailer) sync() error {
	if !m.syncing.TryLock() {
		return nil
	}
	defer m.syncing.Unlock()
	d, err := os.Open(m.Dir)
	if err != nil {
		return fmt.Errorf("emlmailer: sync: %w", err)
	}
	defer d.Close()
	if m.syncFS != nil {
		return m.syncFS(d)
	}
	return syncFS(d)
}
