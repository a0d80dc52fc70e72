package domain

import (
	"testing"
	"time"
)

func TestCurrentStatus(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until := from.AddDate(1, 0, 0)
	changed := from.AddDate(0, 6, 0)
	base := Credential{ValidFrom: from, ValidUntil: until, Status: StatusActive}
	for _, tc := range []struct {
		name   string
		edit   func(*Credential)
		now    time.Time
		state  string
		since  time.Time
		reason string
	}{
		{"valid", func(*Credential) {}, from.AddDate(0, 1, 0), PublicValid, from, ""},
		{"valid without end", func(c *Credential) { c.ValidUntil = time.Time{} }, until.AddDate(5, 0, 0), PublicValid, from, ""},
		{"expired at the instant", func(*Credential) {}, until, PublicExpired, until, ""},
		{"not yet valid", func(*Credential) {}, from.Add(-time.Second), PublicNotYetValid, from, ""},
		{"revoked", func(c *Credential) { c.Status, c.StatusChangedAt, c.StatusReason = StatusRevoked, changed, "error" },
			from.AddDate(0, 7, 0), PublicRevoked, changed, "error"},
		{"revoked outranks expired", func(c *Credential) { c.Status, c.StatusChangedAt = StatusRevoked, changed },
			until.AddDate(1, 0, 0), PublicRevoked, changed, ""},
		{"suspended", func(c *Credential) { c.Status, c.StatusChangedAt, c.StatusReason = StatusSuspended, changed, "review" },
			from.AddDate(0, 7, 0), PublicSuspended, changed, "review"},
	} {
		c := base
		tc.edit(&c)
		got := CurrentStatus(c, tc.now)
		if got.State != tc.state || !got.Since.Equal(tc.since) || got.Reason != tc.reason {
			t.Errorf("%s: %+v, want %s since %s (%q)", tc.name, got, tc.state, tc.since, tc.reason)
		}
	}
}
