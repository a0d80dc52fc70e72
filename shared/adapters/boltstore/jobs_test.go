package boltstore

import (
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
}
