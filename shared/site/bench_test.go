package site_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkCredentialPage is the page at the origin (budget: p99 under 20 ms locally): store
// reads, the server-side verification with its DID document and status list, the QR code and
// the template, without the network.
func BenchmarkCredentialPage(b *testing.B) {
	e := newEnv(b)
	f := e.demo()
	req := httptest.NewRequest("GET", "/c/"+f.credential.ID, nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.site.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
