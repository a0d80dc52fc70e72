package statuslist

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
)

// ErrFull means every index of the list is taken: open a new list.
var ErrFull = errors.New("statuslist: no free index left in the list")

// Allocator hands out status list indexes uniformly at random among the free ones, as the spec's
// privacy guidance asks ("Implementations SHOULD assign indexes randomly"): a sequential index
// would reveal issue order and roughly how many credentials an issuer has issued.
//
// It works over a bitmap of *allocated* indexes (a separate List from the published status
// bits: an index stays allocated when its status bit is cleared again). The store owns that bitmap
// and keeps it consistent across concurrent issuers with conditional writes, in either of two ways:
//
//   - bitmap item with a version: read bitmap+version, Take(), write the bitmap back on condition
//     that the version is unchanged; on a conflict, reload and retry;
//   - one item per index: Pick(), create the index item on condition that it does not exist; on a
//     conflict, MarkUsed(i) and Pick() again.
//
// The Allocator keeps no other state, so it never goes stale when the bitmap is changed
// directly. It is not safe for concurrent use.
type Allocator struct {
	used *List
	rand io.Reader // crypto/rand.Reader outside tests
	buf  [8]byte   // a field, not a local, so reading random bytes does not allocate
}

// NewAllocator returns an allocator over used, the bitmap of allocated indexes; Take and
// MarkUsed change it in place.
func NewAllocator(used *List) (*Allocator, error) {
	if used == nil {
		return nil, errors.New("statuslist: allocator needs a bitmap")
	}
	return &Allocator{used: used, rand: rand.Reader}, nil
}

// Free returns how many indexes are still free.
func (a *Allocator) Free() int { return a.used.Len() - a.used.Count() }

// MarkUsed records index i as allocated.
func (a *Allocator) MarkUsed(i int) error { return a.used.Set(i, true) }

// Take picks a free index and marks it used.
func (a *Allocator) Take() (int, error) {
	i, err := a.Pick()
	if err != nil {
		return 0, err
	}
	return i, a.used.Set(i, true)
}

// probes is how many uniform guesses Pick makes before counting: while at least half the list is
// free, eight guesses all miss with probability under 1/256.
const probes = 8

// Pick returns a free index chosen uniformly at random (crypto/rand) without marking it, or
// ErrFull. Both of its paths are uniform over the free indexes: a guess that lands on a free
// index is a uniform draw from them, and otherwise it draws a rank r uniformly in [0, free) and
// returns the r-th free index. So it is O(1) on an emptyish list, and a nearly full list costs
// one linear scan (about 2,000 word operations for 131,072 entries), never an unbounded retry loop.
func (a *Allocator) Pick() (int, error) {
	n := a.used.Len()
	if n == 0 {
		return 0, ErrFull
	}
	for range probes {
		i, err := a.intn(n)
		if err != nil {
			return 0, err
		}
		if !a.used.bit(i) {
			return i, nil
		}
	}
	free := a.Free()
	if free == 0 {
		return 0, fmt.Errorf("%w (%d entries)", ErrFull, n)
	}
	r, err := a.intn(free)
	if err != nil {
		return 0, err
	}
	i := selectZero(a.used.bits, r)
	if i < 0 {
		return 0, fmt.Errorf("statuslist: internal error: rank %d of %d free not found", r, free)
	}
	return i, nil
}

// intn returns a uniform integer in [0, n) from a.rand, rejecting the top of the uint64 range so
// that no value is favoured by the modulo.
func (a *Allocator) intn(n int) (int, error) {
	if n <= 0 {
		return 0, fmt.Errorf("statuslist: intn(%d)", n)
	}
	un := uint64(n)
	limit := math.MaxUint64 - math.MaxUint64%un
	for {
		if _, err := io.ReadFull(a.rand, a.buf[:]); err != nil {
			return 0, fmt.Errorf("statuslist: random source: %w", err)
		}
		v := binary.LittleEndian.Uint64(a.buf[:])
		if v < limit {
			return int(v % un), nil
		}
	}
}

// ones counts set bits.
func ones(b []byte) int {
	n := 0
	for len(b) >= 8 {
		n += bits.OnesCount64(binary.BigEndian.Uint64(b))
		b = b[8:]
	}
	for _, c := range b {
		n += bits.OnesCount8(c)
	}
	return n
}

// selectZero returns the index of the r-th (0-based) zero bit, in list order (MSB first). The
// caller guarantees there are more than r zeros.
func selectZero(b []byte, r int) int {
	base := 0
	for len(b) >= 8 {
		w := binary.BigEndian.Uint64(b)
		z := 64 - bits.OnesCount64(w)
		if r < z {
			break
		}
		r -= z
		b = b[8:]
		base += 64
	}
	for _, c := range b {
		z := 8 - bits.OnesCount8(c)
		if r < z {
			for j := range 8 {
				if c&(0x80>>j) == 0 {
					if r == 0 {
						return base + j
					}
					r--
				}
			}
		}
		r -= z
		base += 8
	}
	return -1 // unreachable when the caller's guarantee holds
}
