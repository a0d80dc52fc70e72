package boltstore

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credence-oss/credence/shared/domain"
)

func benchCredential(i int) domain.Credential {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	return domain.Credential{
		ID: fmt.Sprintf("urn:uuid:%08d-0000-4000-8000-000000000000", i), IssuerID: "issuer", AchievementID: fmt.Sprintf("ach-%d", i%5),
		RecipientName: "Zoë Ångström", RecipientEmail: "zoe@example.org", EmailKey: fmt.Sprintf("ek-%d", i%1000),
		ValidFrom: at, IssuedAt: at, Status: domain.StatusActive, StatusListID: "1", StatusIndex: i,
		LDP: make([]byte, 2500), JWT: string(make([]byte, 3500)),
	}
}

// BenchmarkCreateCredential is one issue's write in local mode, one caller at a time: each is a
// bbolt transaction with its own fsync, so the disk's sync latency sets the pace.
func BenchmarkCreateCredential(b *testing.B) {
	s, _ := openTemp(&testing.T{})
	defer s.Close()
	ctx := b.Context()
	b.ResetTimer()
	for i := range b.N {
		if err := s.CreateCredential(ctx, benchCredential(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateCredentialParallel is the same with 8 writers per core, as the issue worker
// runs them: concurrent writes share commits.
func BenchmarkCreateCredentialParallel(b *testing.B) {
	s, _ := openTemp(&testing.T{})
	defer s.Close()
	ctx := b.Context()
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.CreateCredential(ctx, benchCredential(int(next.Add(1)))); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkListCredentials pages 50 of 10,000 credentials, newest first, by achievement.
func BenchmarkListCredentials(b *testing.B) {
	s, _ := openTemp(&testing.T{})
	defer s.Close()
	ctx := b.Context()
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 10000; i += 32 {
				if err := s.CreateCredential(ctx, benchCredential(i)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ResetTimer()
	for range b.N {
		items, next, err := s.ListCredentials(ctx, "issuer", domain.CredentialFilter{AchievementID: "ach-3"}, domain.Page{Limit: 50})
		if err != nil || len(items) != 50 || next == "" {
			b.Fatalf("%d items, %q, %v", len(items), next, err)
		}
	}
}
