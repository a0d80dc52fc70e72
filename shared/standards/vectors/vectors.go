// Package vectors reads the official test vectors and examples kept in the repository's
// testdata/standards (provenance in testdata/standards/PROVENANCE.md), for the standards
// packages' tests.
package vectors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir is testdata/standards, found from this file so that tests at any depth share it.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "standards")
}

// Path joins parts under Dir.
func Path(parts ...string) string { return filepath.Join(append([]string{Dir()}, parts...)...) }

// Read returns a vector file's bytes, or fails the test.
func Read(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(Path(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// JSON returns a vector file decoded as a JSON object, or fails the test.
func JSON(t testing.TB, parts ...string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(Read(t, parts...), &m); err != nil {
		t.Fatalf("%s: %v", filepath.Join(parts...), err)
	}
	return m
}
