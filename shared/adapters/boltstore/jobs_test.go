package boltstore

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/credence-oss/credence/shared/adapters/storetest"
	"github.com/credence-oss/credence/shared/domain"
)

func TestJobsContract(t *testing.T) {
	storetest.RunJobs(t, func(t *testing.T) domain.JobStore {
		s, err := Open(filepath.Join(t.TempDir(), "credence.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// A job written before counters, errors and row markers were kept apart (one JSON record, JSON
// markers) reads the same and keeps counting from where it was.
func TestJobsOldLayout(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "credence.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	old := domain.Job{ID: "j1", IssuerID: "iss", AchievementID: "ach", Notify: true, State: domain.JobIssuing,
		Total: 3, Issued: 1, Rejected: 1, Errors: []domain.RowError{{Row: 3, Field: "email", Message: "bad"}}, CreatedAt: at, UpdatedAt: at}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := put(tx, bJobs, tuple("j1"), toJobRec(old), "old job"); err != nil {
			return err
		}
		return put(tx, bJobRows, rowKey("j1", 2), rowRec{Outcome: string(domain.RowIssued), CredentialID: "c2"}, "old row")
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if got, err := s.GetJob(ctx, "j1"); err != nil || got.Issued != 1 || got.Rejected != 1 || len(got.Errors) != 1 || got.Errors[0] != old.Errors[0] {
		t.Fatalf("old job read as %+v, %v", got, err)
	}
	if changed, err := s.RecordRow(ctx, "j1", 4, domain.RowFailed, "", &domain.RowError{Row: 4, Message: "down"}, at); err != nil || !changed {
		t.Fatalf("new row: changed=%v, %v", changed, err)
	}
	if changed, err := s.RecordRow(ctx, "j1", 2, domain.RowIssued, "c2", nil, at); err != nil || changed {
		t.Fatalf("redelivered row of an old marker: changed=%v, %v", changed, err)
	}
	if claimed, settled, err := s.ClaimRowMail(ctx, "j1", 2, at, at.Add(time.Minute)); err != nil || !claimed || settled {
		t.Fatalf("claim mail of an old marker: %v %v %v", claimed, settled, err)
	}
	if changed, err := s.RecordRowMail(ctx, "j1", 2, domain.RowMailSent, at); err != nil || !changed {
		t.Fatalf("mail of an old marker: changed=%v, %v", changed, err)
	}
	got, err := s.GetJob(ctx, "j1")
	want := []domain.RowError{{Row: 3, Field: "email", Message: "bad"}, {Row: 4, Message: "down"}}
	if err != nil || got.Issued != 1 || got.Rejected != 1 || got.Failed != 1 || got.Mailed != 1 || !reflect.DeepEqual(got.Errors, want) {
		t.Fatalf("after counting: %+v, %v", got, err)
	}
	if !got.CreatedAt.Equal(at) || got.State != domain.JobIssuing || got.Total != 3 || !got.Notify {
		t.Fatalf("job fields lost: %+v", got)
	}
	// Markers written before errors were kept have none; the new row's marker has its error.
	listed, next, err := s.ListRowErrors(ctx, "j1", domain.Page{})
	if wantList := []domain.RowError{{Row: 4, Message: "down"}}; err != nil || next != "" || !reflect.DeepEqual(listed, wantList) {
		t.Fatalf("row errors after old markers: %+v %q %v, want %+v", listed, next, err, wantList)
	}
}

// Binary markers written before errors were kept (format 1) still read, and a failed one still
// moves to issued; markers without an error are still written as format 1, byte for byte.
func TestJobsMarkerFormats(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "credence.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateJob(ctx, domain.Job{ID: "j1", IssuerID: "iss", AchievementID: "ach", State: domain.JobIssuing, Total: 3, Failed: 1, CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	// Format 1: outcome "failed", no credential, no mail, no lease.
	old := append([]byte{1, 6}, "failed\x00\x00\x00"...)
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bJobRows).Put(rowKey("j1", 2), old) }); err != nil {
		t.Fatal(err)
	}
	if m, err := decodeRow(old); err != nil || m.Outcome != "failed" || m.Err != nil {
		t.Fatalf("format 1 marker read as %+v, %v", m, err)
	}
	if got := (rowRec{Outcome: "failed"}).encode(); !bytes.Equal(got, old) {
		t.Fatalf("a marker without an error encodes as %x, want format 1 %x", got, old)
	}
	if changed, err := s.RecordRow(ctx, "j1", 2, domain.RowIssued, "c2", nil, at); err != nil || !changed {
		t.Fatalf("an old failed marker moved to issued: changed=%v, %v", changed, err)
	}
	if got, err := s.GetJob(ctx, "j1"); err != nil || got.Issued != 1 || got.Failed != 0 {
		t.Fatalf("after the move: %+v, %v", got, err)
	}

	// Format 2 round-trips, and malformed values are refused, not misread.
	lease := at.Add(time.Minute)
	m := rowRec{Outcome: "rejected", Mail: "sent", LeaseUntil: lease, Err: &markerErr{Field: "email", Message: "nö"}}
	v := m.encode()
	if v[0] != rowFormatErr {
		t.Fatalf("a marker with an error has format %d", v[0])
	}
	back, err := decodeRow(v)
	if err != nil || !reflect.DeepEqual(back, m) {
		t.Fatalf("format 2 round trip: %+v, %v; want %+v", back, err, m)
	}
	for _, bad := range [][]byte{v[:len(v)-1], append(append([]byte(nil), v...), 0), append([]byte{1}, v[1:]...), {3}} {
		if _, err := decodeRow(bad); err == nil {
			t.Errorf("malformed marker %x decoded", bad)
		}
	}
}
