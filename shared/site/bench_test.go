package site_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// BenchmarkCredentialPage is the page at the origin (budget: p99 under 20 ms locally): store
// reads, the server-side verification with its DID document and status list, the QR code and
// the template, without the network.
func BenchmarkCredentialPage(b *testing.B) {
	e := newEnv(b)
	f := e.demo()
	req := httptest.NewRequest("GET", "/c/"+f.credential.ID, nil)
	b.ReportAllocs()
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		w := httptest.NewRecorder()
		e.site.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		took = append(took, time.Since(start))
	}
	// The budget is on the tail, so report it beside the mean.
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}
