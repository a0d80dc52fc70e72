package boltstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/credence-oss/credence/shared/domain"
)

// Concurrent writes share commits, yet each gets its own outcome: a write that fails (or
// panics) leaves no trace and takes no other write down, an expected outcome (ErrConflict) is
// reported without rolling anything back, and every other write is on disk when it returns.
func TestGroupCommitOutcomes(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	ctx := context.Background()
	boom := errors.New("boom")
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.update(ctx, func(tx *bolt.Tx) error {
				k := tuple("k", fmt.Sprint(i))
				if err := tx.Bucket(bIdempotency).Put(k, []byte("v")); err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return boom // after writing: its write must be rolled back
				case 5:
					panic("bad write")
				case 7:
					return domain.ErrConflict // reported, written before it: kept (fns report first)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	err := s.db.View(func(tx *bolt.Tx) error {
		for i := range n {
			v := tx.Bucket(bIdempotency).Get(tuple("k", fmt.Sprint(i)))
			switch i % 10 {
			case 3:
				if !errors.Is(errs[i], boom) || v != nil {
					t.Errorf("write %d: err %v, stored %q; want boom and nothing stored", i, errs[i], v)
				}
			case 5:
				if errs[i] == nil || v != nil {
					t.Errorf("write %d: err %v, stored %q; want the panic as an error and nothing stored", i, errs[i], v)
				}
			case 7:
				if !errors.Is(errs[i], domain.ErrConflict) {
					t.Errorf("write %d: err %v, want ErrConflict", i, errs[i])
				}
			default:
				if errs[i] != nil || string(v) != "v" {
					t.Errorf("write %d: err %v, stored %q", i, errs[i], v)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
