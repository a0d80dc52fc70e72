package jsonld

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// benchCases are the two units of work of an eddsa-rdfc-2022 issue: the credential and the proof
// options (with the credential's @context) are canonicalized separately, so one benchmark
// operation canonicalizes both. Run with -cpu 1 to get the single-core figure the budget is
// stated in.
func benchCases(b testing.TB) []struct {
	name      string
	doc, opts map[string]any
} {
	vec := filepath.Join(vectors, "ob3-ldp-test-vector")
	cred := readJSON(b, filepath.Join(vec, "credential-unsigned.json"))
	opts := readJSON(b, filepath.Join(vec, "proof-options.json"))
	opts["@context"] = cred["@context"]
	return []struct {
		name      string
		doc, opts map[string]any
	}{
		{"ob3-vector", cred, opts},
		{"rich-credential", readJSON(b, "testdata/rich-credential.json"), readJSON(b, "testdata/rich-proof-options.json")},
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			before := fallbacks.Load()
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu := threadCPU()
			for i := 0; i < b.N; i++ {
				if _, err := Canonicalize(c.doc); err != nil {
					b.Fatal(err)
				}
				if _, err := Canonicalize(c.opts); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
			if fallbacks.Load() != before {
				b.Fatal("the fast path fell back to json-gold")
			}
		})
	}
}

func BenchmarkCanonicalizeReference(b *testing.B) {
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu := threadCPU()
			for i := 0; i < b.N; i++ {
				if _, err := CanonicalizeReference(c.doc); err != nil {
					b.Fatal(err)
				}
				if _, err := CanonicalizeReference(c.opts); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkJSONGold is json-gold alone, without the safe-mode pre-check CanonicalizeReference
// adds, for comparison with what callers paid before.
func BenchmarkJSONGold(b *testing.B) {
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := normalizeGold(c.doc); err != nil {
					b.Fatal(err)
				}
				if _, err := normalizeGold(c.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU adds the CPU time this goroutine's thread spent per operation (cpu-ns/op); with
// -cpu 1 that includes the garbage collector's share.
func reportCPU(b *testing.B, start time.Duration) {
	if d := threadCPU() - start; d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
