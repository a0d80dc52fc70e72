package roster

import (
	"fmt"
	"runtime"
	"testing"
)

// TestDuplicateDetectorMemory measures the one structure that grows with the rows: the set
// of (e-mail, achievement) hashes, filled here as the processor fills it for 100,000 rows.
func TestDuplicateDetectorMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	seen := make(map[[16]byte]int32)
	for i := range DefaultMaxRows {
		seen[dupKey(fmt.Sprintf("a-rather-long-student-address-%06d@faculty.university.example.org", i), "")] = int32(i + 2)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	runtime.KeepAlive(seen)
	if len(seen) != DefaultMaxRows {
		t.Fatalf("%d keys: hashes collided", len(seen))
	}
	t.Logf("duplicate set for %d rows: %.1f MiB", DefaultMaxRows, float64(used)/(1<<20))
	// Strings of these addresses alone would take 7 MiB; the hashes stay near 20 bytes a
	// row plus the map's slack.
	if used > 6<<20 {
		t.Fatalf("the duplicate set takes %.1f MiB for %d rows", float64(used)/(1<<20), DefaultMaxRows)
	}
}
