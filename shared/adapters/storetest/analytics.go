package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/credence-oss/credence/shared/domain"
)

// RunAnalytics is the contract every domain.Analytics passes. newAnalytics must return new,
// empty analytics each time it is called and register its own cleanup.
//
// Where the port leaves a choice open, the contract fixes it:
//
//   - Query answers one counter per (Day, Dim, Key, Event) with the summed N, IssuerID set and
//     CredentialID empty; QueryCredential one per (Day, Event) with CredentialID set and
//     IssuerID, Dim and Key empty. Both order by Day, Dim, Key, Event; both are inclusive of
//     from and to and answer an empty result (not an error) when nothing was counted.
//   - A counter that fails domain.Counter.Check, and a query with an empty id or a day that is
//     not YYYY-MM-DD, fail with an error that is neither ErrNotFound nor ErrConflict, and an
//     Increment holding one such counter writes none of its counters.
//   - A cancelled context fails Increment and counts nothing.
//   - A count written is visible to the next query (read-your-writes).
func RunAnalytics(t *testing.T, newAnalytics func(t *testing.T) domain.Analytics) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a domain.Analytics)
	}{
		{"IncrementAndQuery", testAnalyticsQuery},
		{"DayRange", testAnalyticsDayRange},
		{"Isolation", testAnalyticsIsolation},
		{"CredentialCounters", testAnalyticsCredential},
		{"Concurrent", testAnalyticsConcurrent},
		{"InvalidInput", testAnalyticsInvalid},
		{"CancelledContext", testAnalyticsCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newAnalytics(t))
		})
	}
}

func ic(issuer, day, dim, key, event string, n int64) domain.Counter {
	return domain.Counter{IssuerID: issuer, Day: day, Dim: dim, Key: key, Event: event, N: n}
}

func mustIncrement(t *testing.T, a domain.Analytics, cs ...domain.Counter) {
	t.Helper()
	if err := a.Increment(ctxT(t), cs); err != nil {
		t.Fatalf("Increment(%v): %v", cs, err)
	}
}

func mustQuery(t *testing.T, a domain.Analytics, issuer, from, to string) []domain.Counter {
	t.Helper()
	got, err := a.Query(ctxT(t), issuer, from, to)
	if err != nil {
		t.Fatalf("Query(%s, %s, %s): %v", issuer, from, to, err)
	}
	return got
}

func testAnalyticsQuery(t *testing.T, a domain.Analytics) {
	d := "2025-03-14"
	// One page view as the domain records it, then more of the same and other events, some
	// of them in one call with repeated counters (which must add, not overwrite).
	mustIncrement(t, a,
		ic("iss", d, domain.DimTotal, "", "view", 1),
		ic("iss", d, domain.DimCountry, "DE", "view", 1),
		ic("iss", d, domain.DimAchievement, "ach-1", "view", 1),
	)
	mustIncrement(t, a,
		ic("iss", d, domain.DimTotal, "", "view", 2),
		ic("iss", d, domain.DimTotal, "", "view", 3),
		ic("iss", d, domain.DimTotal, "", "share", 1),
		ic("iss", d, domain.DimCountry, "FR", "view", 1),
		ic("iss", d, domain.DimAchievement, "ach-1", "linkedin", 4),
		// ids and keys with the separators and escape characters of the adapters' key schemes
		ic("iss", d, domain.DimAchievement, "a#b%23c\x00", "view", 7),
		ic("iss", d, domain.DimAchievement, "a", "view", 11),
	)
	want := []domain.Counter{
		ic("iss", d, domain.DimTotal, "", "share", 1),
		ic("iss", d, domain.DimTotal, "", "view", 6),
		ic("iss", d, domain.DimAchievement, "a", "view", 11),
		ic("iss", d, domain.DimAchievement, "a#b%23c\x00", "view", 7),
		ic("iss", d, domain.DimAchievement, "ach-1", "linkedin", 4),
		ic("iss", d, domain.DimAchievement, "ach-1", "view", 1),
		ic("iss", d, domain.DimCountry, "DE", "view", 1),
		ic("iss", d, domain.DimCountry, "FR", "view", 1),
	}
	sameItems(t, "one day's counters", mustQuery(t, a, "iss", d, d), want)
	sameItems(t, "an empty range", mustQuery(t, a, "iss", "2025-03-15", "2025-04-30"), nil)
	sameItems(t, "an unknown issuer", mustQuery(t, a, "nobody", d, d), nil)
}

func testAnalyticsDayRange(t *testing.T, a domain.Analytics) {
	days := []string{"2024-12-31", "2025-01-01", "2025-01-02", "2025-01-10", "2025-01-31", "2025-02-01"}
	for i, d := range days {
		mustIncrement(t, a, ic("iss", d, domain.DimTotal, "", "view", int64(i+1)))
	}
	got := mustQuery(t, a, "iss", "2025-01-01", "2025-01-31")
	var want []domain.Counter
	for i, d := range days[1:5] {
		want = append(want, ic("iss", d, domain.DimTotal, "", "view", int64(i+2)))
	}
	sameItems(t, "January (bounds inclusive, neighbours excluded)", got, want)
	sameItems(t, "a single day", mustQuery(t, a, "iss", "2025-01-10", "2025-01-10"),
		[]domain.Counter{ic("iss", "2025-01-10", domain.DimTotal, "", "view", 4)})
}

func testAnalyticsIsolation(t *testing.T, a domain.Analytics) {
	d := "2025-05-05"
	// "i" and "i#x" (and a credential named like the issuer) must not see each other's counts.
	mustIncrement(t, a,
		ic("i", d, domain.DimTotal, "", "view", 1),
		ic("i#x", d, domain.DimTotal, "", "view", 2),
		ic("i%23x", d, domain.DimTotal, "", "view", 3),
		domain.Counter{CredentialID: "i", Day: d, Event: "view", N: 5},
	)
	sameItems(t, "issuer i", mustQuery(t, a, "i", d, d), []domain.Counter{ic("i", d, domain.DimTotal, "", "view", 1)})
	sameItems(t, "issuer i#x", mustQuery(t, a, "i#x", d, d), []domain.Counter{ic("i#x", d, domain.DimTotal, "", "view", 2)})
	sameItems(t, "issuer i%23x", mustQuery(t, a, "i%23x", d, d), []domain.Counter{ic("i%23x", d, domain.DimTotal, "", "view", 3)})
}

func testAnalyticsCredential(t *testing.T, a domain.Analytics) {
	cc := func(id, day, event string, n int64) domain.Counter {
		return domain.Counter{CredentialID: id, Day: day, Event: event, N: n}
	}
	mustIncrement(t, a, cc("c1", "2025-06-01", "view", 1), cc("c1", "2025-06-01", "view", 1), cc("c1", "2025-06-02", "verify", 1), cc("c2", "2025-06-01", "view", 9))
	mustIncrement(t, a, cc("c1", "2025-06-01", "download", 2))
	got, err := a.QueryCredential(ctxT(t), "c1", "2025-06-01", "2025-06-30")
	if err != nil {
		t.Fatal(err)
	}
	sameItems(t, "credential c1", got, []domain.Counter{cc("c1", "2025-06-01", "download", 2), cc("c1", "2025-06-01", "view", 2), cc("c1", "2025-06-02", "verify", 1)})
	if got := mustQuery(t, a, "c1", "2025-06-01", "2025-06-30"); len(got) != 0 {
		t.Fatalf("credential counters showed up as issuer counters: %v", got)
	}
}

// testAnalyticsConcurrent is the reason the port says "atomic": 50 writers adding to the same
// counters at once must all count.
func testAnalyticsConcurrent(t *testing.T, a domain.Analytics) {
	const writers, each = 50, 4
	d := "2025-07-07"
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := a.Increment(context.Background(), []domain.Counter{
					ic("iss", d, domain.DimTotal, "", "view", 1),
					ic("iss", d, domain.DimCountry, fmt.Sprintf("C%c", 'A'+w%2), "view", 1),
					{CredentialID: "cred", Day: d, Event: "view", N: 1},
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Increment: %v", err)
	}
	total := int64(writers * each)
	sameItems(t, "after concurrent increments", mustQuery(t, a, "iss", d, d), []domain.Counter{
		ic("iss", d, domain.DimTotal, "", "view", total),
		ic("iss", d, domain.DimCountry, "CA", "view", total/2),
		ic("iss", d, domain.DimCountry, "CB", "view", total/2),
	})
	got, err := a.QueryCredential(ctxT(t), "cred", d, d)
	if err != nil {
		t.Fatal(err)
	}
	sameItems(t, "credential after concurrent increments", got, []domain.Counter{{CredentialID: "cred", Day: d, Event: "view", N: total}})
}

func testAnalyticsInvalid(t *testing.T, a domain.Analytics) {
	d := "2025-08-08"
	good := ic("iss", d, domain.DimTotal, "", "view", 1)
	bad := map[string]domain.Counter{
		"no owner":              {Day: d, Event: "view", N: 1},
		"two owners":            {IssuerID: "iss", CredentialID: "c", Day: d, Event: "view", N: 1},
		"bad day":               ic("iss", "2025-13-01", domain.DimTotal, "", "view", 1),
		"day with time":         ic("iss", "2025-08-08T00:00:00Z", domain.DimTotal, "", "view", 1),
		"no event":              ic("iss", d, domain.DimTotal, "", "", 1),
		"event with separators": ic("iss", d, domain.DimTotal, "", "view#x", 1),
		"zero":                  ic("iss", d, domain.DimTotal, "", "view", 0),
		"negative":              ic("iss", d, domain.DimTotal, "", "view", -5),
		"unknown dimension":     ic("iss", d, "city", "Paris", "view", 1),
		"dimension without key": ic("iss", d, domain.DimCountry, "", "view", 1),
		"total with key":        ic("iss", d, domain.DimTotal, "DE", "view", 1),
		"credential with dim":   {CredentialID: "c", Day: d, Dim: domain.DimCountry, Key: "DE", Event: "view", N: 1},
		"invalid UTF-8":         ic("iss\xff", d, domain.DimTotal, "", "view", 1),
	}
	for name, c := range bad {
		err := a.Increment(ctxT(t), []domain.Counter{good, c})
		if err == nil {
			t.Errorf("%s: Increment accepted %+v", name, c)
			continue
		}
		if errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrConflict) {
			t.Errorf("%s: error %v is ErrNotFound/ErrConflict", name, err)
		}
	}
	if got := mustQuery(t, a, "iss", d, d); len(got) != 0 {
		t.Fatalf("a refused Increment counted its valid counters: %v", got)
	}
	queries := map[string][3]string{
		"empty issuer": {"", d, d}, "bad from": {"iss", "yesterday", d}, "bad to": {"iss", d, "2025-02-30"},
	}
	for name, q := range queries {
		if _, err := a.Query(ctxT(t), q[0], q[1], q[2]); err == nil || errors.Is(err, domain.ErrNotFound) {
			t.Errorf("Query with %s: err = %v, want a validation error", name, err)
		}
		if _, err := a.QueryCredential(ctxT(t), q[0], q[1], q[2]); err == nil || errors.Is(err, domain.ErrNotFound) {
			t.Errorf("QueryCredential with %s: err = %v, want a validation error", name, err)
		}
	}
	if err := a.Increment(ctxT(t), nil); err != nil {
		t.Fatalf("an empty Increment failed: %v", err)
	}
}

func testAnalyticsCancelled(t *testing.T, a domain.Analytics) {
	d := "2025-09-09"
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	if err := a.Increment(ctx, []domain.Counter{ic("iss", d, domain.DimTotal, "", "view", 1)}); err == nil {
		t.Fatal("Increment with a cancelled context succeeded")
	}
	if got := mustQuery(t, a, "iss", d, d); len(got) != 0 {
		t.Fatalf("a cancelled Increment counted: %v", got)
	}
}
