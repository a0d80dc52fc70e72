package verifier

import (
	"context"
	"github.com/credence-oss/credence/shared/standards/vectors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary bytes through the whole pipeline (sniffing, unbaking, JSON, JWT,
// JSON-LD, proofs): it must answer with a verdict, never panic, and never call valid what it
// could not check.
func FuzzVerify(f *testing.F) {
	for _, pattern := range []string{"ob3-spec/*.json", "ob3-ldp-test-vector/*.json", "w3c-vc-di-eddsa/*/signed*.json"} {
		files, _ := filepath.Glob(vectors.Path(pattern))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	for _, file := range []string{"badge-ob3-vector.png", "badge-ob3-vector.svg"} {
		if b, err := os.ReadFile(vectors.Path("..", "bake", file)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("eyJhbGciOiJFZERTQSJ9.e30.AAAA"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r := Verify(ctx, in, Options{Fetch: fetchMap(nil), Now: now})
		if r.Valid && r.Status != StatusValid {
			t.Fatalf("valid with status %s", r.Status)
		}
		if r.Status == "" || len(r.Checks) == 0 {
			t.Fatalf("no verdict: %+v", r)
		}
	})
}
