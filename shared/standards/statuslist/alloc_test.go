package statuslist

import (
	"errors"
	"io"
	"slices"
	"testing"
)

// smallList bypasses New's minimum so that every index of a list can be exercised.
func smallList(size int) *List { return &List{bits: make([]byte, size/8)} }

func newTestAllocator(t *testing.T, used *List) *Allocator {
	t.Helper()
	a, err := NewAllocator(used)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// chiSquare of counts against a uniform expectation.
func chiSquare(counts []int, total int) float64 {
	exp := float64(total) / float64(len(counts))
	var x float64
	for _, c := range counts {
		d := float64(c) - exp
		x += d * d / exp
	}
	return x
}

// With 15 degrees of freedom, P(chi-square > 60) is about 1e-7: a uniform picker essentially
// never fails this, a biased one (say, never the last index) fails it every time.
const chiLimit15 = 60

func TestTakeReachesEveryIndexThenFull(t *testing.T) {
	used := smallList(16)
	a := newTestAllocator(t, used)
	seen := map[int]bool{}
	for range 16 {
		i, err := a.Take()
		if err != nil {
			t.Fatal(err)
		}
		if seen[i] || i < 0 || i >= 16 {
			t.Fatalf("Take returned %d (seen before: %v)", i, seen[i])
		}
		seen[i] = true
		if v, _ := used.Get(i); !v {
			t.Fatalf("Take did not mark %d used", i)
		}
	}
	if _, err := a.Take(); !errors.Is(err, ErrFull) {
		t.Fatalf("17th Take: %v, want ErrFull", err)
	}
	if _, err := a.Pick(); !errors.Is(err, ErrFull) {
		t.Fatalf("Pick on a full list: %v, want ErrFull", err)
	}
	if a.Free() != 0 {
		t.Fatalf("Free = %d", a.Free())
	}
}

func TestPickUniformSmallList(t *testing.T) {
	a := newTestAllocator(t, smallList(16))
	counts := make([]int, 16)
	const n = 16000
	for range n {
		i, err := a.Pick()
		if err != nil {
			t.Fatal(err)
		}
		counts[i]++
	}
	if x := chiSquare(counts, n); x > chiLimit15 {
		t.Fatalf("chi-square %.1f over %v", x, counts)
	}
}

// A nearly full list forces the rank-select path; it must stay uniform over the few free slots.
func TestPickUniformNearlyFull(t *testing.T) {
	used, _ := New(MinSize)
	for i := range used.bits {
		used.bits[i] = 0xff
	}
	free := []int{0, 7, 8, 63, 64, 1000, 4095, 4096, 50000, 65535, 65536, 99999, 120000, 131000, 131064, MinSize - 1}
	for _, i := range free {
		used.Set(i, false)
	}
	a := newTestAllocator(t, used)
	if a.Free() != len(free) {
		t.Fatalf("Free = %d", a.Free())
	}
	counts := make([]int, len(free))
	const n = 4000
	for range n {
		i, err := a.Pick()
		if err != nil {
			t.Fatal(err)
		}
		k := slices.Index(free, i)
		if k < 0 {
			t.Fatalf("Pick returned used index %d", i)
		}
		counts[k]++
	}
	if x := chiSquare(counts, n); x > chiLimit15 {
		t.Fatalf("chi-square %.1f over %v", x, counts)
	}
}

func TestOneFreeIndex(t *testing.T) {
	used, _ := New(MinSize)
	for i := range used.bits {
		used.bits[i] = 0xff
	}
	used.Set(77777, false)
	a := newTestAllocator(t, used)
	i, err := a.Take()
	if err != nil || i != 77777 {
		t.Fatalf("Take = %d, %v; want 77777", i, err)
	}
	if _, err := a.Take(); !errors.Is(err, ErrFull) {
		t.Fatalf("after the last index: %v", err)
	}
}

func TestTakeIsNotSequential(t *testing.T) {
	used, _ := New(MinSize)
	a := newTestAllocator(t, used)
	var got []int
	for range 100 {
		i, err := a.Take()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, i)
	}
	if slices.IsSorted(got) {
		t.Fatalf("indexes come out in order: %v", got[:10])
	}
	adjacent := 0
	for k := 1; k < len(got); k++ {
		if d := got[k] - got[k-1]; d == 1 || d == -1 {
			adjacent++
		}
	}
	if adjacent > 2 {
		t.Fatalf("%d of 99 consecutive picks are neighbours", adjacent)
	}
	if span := slices.Max(got) - slices.Min(got); span < MinSize/2 {
		t.Fatalf("100 picks span only %d of %d", span, MinSize)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(got)))) != 100 {
		t.Fatal("Take handed out an index twice")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestAllocatorErrors(t *testing.T) {
	if _, err := NewAllocator(nil); err == nil {
		t.Fatal("nil bitmap accepted")
	}
	a := newTestAllocator(t, smallList(16))
	if err := a.MarkUsed(16); !errors.Is(err, ErrRange) {
		t.Fatalf("MarkUsed(16): %v", err)
	}
	if err := a.MarkUsed(3); err != nil || a.Free() != 15 {
		t.Fatalf("MarkUsed(3): %v, free %d", err, a.Free())
	}
	a.rand = failingReader{}
	if _, err := a.Pick(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("broken random source: %v", err)
	}
}

func BenchmarkPickNearlyFull(b *testing.B) {
	used, _ := New(MinSize)
	for i := range used.bits {
		used.bits[i] = 0xff
	}
	used.Set(MinSize-1, false)
	a, _ := NewAllocator(used)
	for b.Loop() {
		if _, err := a.Pick(); err != nil {
			b.Fatal(err)
		}
	}
}
