package boltstore

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/adapters/storetest"
	"github.com/credence-oss/credence/shared/domain"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credence.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		s, _ := openTemp(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// TestReopen checks that everything written survives closing and reopening the file, including
// the index entries, counters and the audit sequence.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	s, path := openTemp(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	cred := domain.Credential{ID: "c1", IssuerID: "i1", AchievementID: "a1", EmailKey: "ek", IssuedAt: at, Status: domain.StatusActive,
		StatusListID: "1", StatusIndex: 42, LDP: []byte("{\"ü\":1}\x00\xff"), JWT: "h.p.s"}
	steps := []error{
		s.CreateIssuer(ctx, domain.Issuer{ID: "i1", Name: "One", EdKey: "ed", RSAKey: "rsa", CreatedAt: at}),
		s.CreateAchievement(ctx, domain.Achievement{ID: "a1", IssuerID: "i1", Name: "A"}),
		s.CreateCredential(ctx, cred),
		s.ClaimStatusIndex(ctx, "i1", "1", 42),
		s.PutStatusList(ctx, domain.StatusList{IssuerID: "i1", ListID: "1-revocation", Version: 1, Credential: []byte("sl")}),
		s.CreateAPIKey(ctx, domain.APIKey{ID: "k1", Hash: "h1", CreatedAt: at}),
		s.AppendAudit(ctx, domain.AuditEvent{IssuerID: "i1", CredentialID: "c1", Action: "issue", At: at}),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if _, err := s.PutIdempotency(ctx, domain.Idempotency{Scope: "s", Key: "k", ResultID: "c1", CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetIssuer(ctx, "i1"); err == nil {
		t.Fatal("a closed store still answers")
	}

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	iss, err := s.GetIssuer(ctx, "i1")
	if err != nil || iss.EdKey != "ed" || iss.RSAKey != "rsa" || !iss.CreatedAt.Equal(at) {
		t.Errorf("issuer after reopen: %+v, %v", iss, err)
	}
	if _, err := s.GetAchievement(ctx, "i1", "a1"); err != nil {
		t.Errorf("achievement after reopen: %v", err)
	}
	for _, f := range []domain.CredentialFilter{{}, {AchievementID: "a1"}, {EmailKey: "ek"}} {
		items, _, err := s.ListCredentials(ctx, "i1", f, domain.Page{})
		if err != nil || len(items) != 1 || items[0].ID != "c1" || items[0].StatusIndex != 42 || items[0].EmailKey != "ek" {
			t.Errorf("credentials %+v after reopen: %+v, %v", f, items, err)
		}
	}
	if c, err := s.GetCredential(ctx, "c1"); err != nil || string(c.LDP) != string(cred.LDP) || c.JWT != cred.JWT {
		t.Errorf("credential after reopen: %+v, %v", c, err)
	}
	if n, err := s.CountStatusIndexes(ctx, "i1", "1"); err != nil || n != 1 {
		t.Errorf("count after reopen: %d, %v", n, err)
	}
	if err := s.ClaimStatusIndex(ctx, "i1", "1", 42); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("claim after reopen: %v, want ErrConflict", err)
	}
	if l, err := s.GetStatusList(ctx, "i1", "1-revocation"); err != nil || l.Version != 1 || string(l.Credential) != "sl" {
		t.Errorf("status list after reopen: %+v, %v", l, err)
	}
	if k, err := s.GetAPIKeyByHash(ctx, "h1"); err != nil || k.ID != "k1" {
		t.Errorf("api key after reopen: %+v, %v", k, err)
	}
	if r, err := s.GetIdempotency(ctx, "s", "k"); err != nil || r.ResultID != "c1" {
		t.Errorf("idempotency after reopen: %+v, %v", r, err)
	}
	// The audit sequence continues: a new event at the same instant sorts after the old one.
	if err := s.AppendAudit(ctx, domain.AuditEvent{CredentialID: "c1", Action: "resend", At: at}); err != nil {
		t.Fatal(err)
	}
	if ev, err := s.ListAudit(ctx, "c1"); err != nil || len(ev) != 2 || ev[0].Action != "issue" || ev[1].Action != "resend" {
		t.Errorf("audit after reopen: %+v, %v", ev, err)
	}
}

// TestLocked checks that a second Open of a held file fails with a clear error instead of
// waiting forever.
func TestLocked(t *testing.T) {
	s, path := openTemp(t)
	defer s.Close()
	if s2, err := Open(path); err == nil {
		s2.Close()
		t.Fatal("a second Open of a held file succeeded")
	}
}

func TestTuple(t *testing.T) {
	cases := [][]string{{}, {""}, {"a"}, {"a", ""}, {"", "a"}, {"a\x00b", "\x01"}, {"\x00\x01\x02", "日本"}}
	for _, c := range cases {
		got, err := splitTuple(tuple(c...))
		if err != nil || len(got) != len(c) {
			t.Errorf("split(tuple(%q)) = %q, %v", c, got, err)
			continue
		}
		for i := range c {
			if got[i] != c[i] {
				t.Errorf("split(tuple(%q)) = %q", c, got)
			}
		}
	}
	// Order of encodings is tuple order.
	ordered := [][]string{{"a"}, {"a", ""}, {"a", "\x00"}, {"a", "b"}, {"a\x00"}, {"a\x01"}, {"a\x02"}, {"ab"}, {"b"}}
	for i := 1; i < len(ordered); i++ {
		if string(tuple(ordered[i-1]...)) >= string(tuple(ordered[i]...)) {
			t.Errorf("tuple(%q) does not sort before tuple(%q)", ordered[i-1], ordered[i])
		}
	}
	for _, bad := range []string{"a", "\x01", "\x01\x03\x00", "a\x00b"} {
		if _, err := splitTuple([]byte(bad)); err == nil {
			t.Errorf("splitTuple(%q) accepted", bad)
		}
	}
}
