package boltstore

import (
	"path/filepath"
	"testing"

	"github.com/credence-oss/credence/shared/adapters/storetest"
	"github.com/credence-oss/credence/shared/domain"
)

func TestAnalyticsContract(t *testing.T) {
	storetest.RunAnalytics(t, func(t *testing.T) domain.Analytics {
		s, err := Open(filepath.Join(t.TempDir(), "credence.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return NewAnalytics(s)
	})
}

// TestAnalyticsSurviveReopen: counts live in the store file, not in memory.
func TestAnalyticsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credence.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c := domain.Counter{IssuerID: "i", Day: "2025-01-01", Event: "view", N: 3}
	if err := NewAnalytics(s).Increment(t.Context(), []domain.Counter{c}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := NewAnalytics(s).Query(t.Context(), "i", "2025-01-01", "2025-01-01")
	if err != nil || len(got) != 1 || got[0] != c {
		t.Fatalf("after reopen: %v %v, want [%v]", got, err, c)
	}
}
