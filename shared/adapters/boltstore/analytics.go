package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/credence-oss/credence/shared/domain"
)

// Analytics is the embedded domain.Analytics, in the same bbolt file as the Store: one bucket
// of uint64 big-endian counts keyed by tuple
//
//	("i", issuerID, day, dim, key, event)   issuer counter
//	("c", credentialID, day, event)          credential counter
//
// so that an issuer's (or a credential's) range of days is one cursor walk. An Increment is one
// bbolt write transaction: bbolt serializes writers, so the read-add-write inside it cannot
// lose a concurrent increment.
type Analytics struct{ s *Store }

var _ domain.Analytics = (*Analytics)(nil)

var bAnalytics = []byte("analytics")

// NewAnalytics returns the analytics of s.
func NewAnalytics(s *Store) *Analytics { return &Analytics{s: s} }

func counterKey(c domain.Counter) []byte {
	if c.CredentialID != "" {
		return tuple("c", c.CredentialID, c.Day, c.Event)
	}
	return tuple("i", c.IssuerID, c.Day, c.Dim, c.Key, c.Event)
}

// Increment adds every counter in one transaction.
func (a *Analytics) Increment(ctx context.Context, counters []domain.Counter) error {
	for _, c := range counters {
		if err := c.Check(); err != nil {
			return err
		}
	}
	if len(counters) == 0 {
		return nil
	}
	return a.s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bAnalytics)
		if err != nil {
			return fmt.Errorf("boltstore: analytics bucket: %w", err)
		}
		for _, c := range counters {
			k := counterKey(c)
			var n uint64
			if v := b.Get(k); len(v) == 8 {
				n = binary.BigEndian.Uint64(v)
			}
			var buf [8]byte
			binary.BigEndian.PutUint64(buf[:], n+uint64(c.N))
			if err := b.Put(k, buf[:]); err != nil {
				return fmt.Errorf("boltstore: count %s: %w", c.Event, err)
			}
		}
		return nil
	})
}

// Query returns the issuer's counters of the days from..to.
func (a *Analytics) Query(ctx context.Context, issuerID, from, to string) ([]domain.Counter, error) {
	if err := checkRange("issuer id", issuerID, from, to); err != nil {
		return nil, err
	}
	var out []domain.Counter
	err := a.walk(ctx, tuple("i", issuerID), from, to, 6, func(p []string, n int64) {
		out = append(out, domain.Counter{IssuerID: p[1], Day: p[2], Dim: p[3], Key: p[4], Event: p[5], N: n})
	})
	return out, err
}

// QueryCredential returns the credential's counters of the days from..to.
func (a *Analytics) QueryCredential(ctx context.Context, credentialID, from, to string) ([]domain.Counter, error) {
	if err := checkRange("credential id", credentialID, from, to); err != nil {
		return nil, err
	}
	var out []domain.Counter
	err := a.walk(ctx, tuple("c", credentialID), from, to, 4, func(p []string, n int64) {
		out = append(out, domain.Counter{CredentialID: p[1], Day: p[2], Event: p[3], N: n})
	})
	return out, err
}

func checkRange(what, id, from, to string) error {
	if err := domain.CheckKeys(what, id); err != nil {
		return err
	}
	if err := domain.CheckDay(from); err != nil {
		return fmt.Errorf("boltstore: from: %w", err)
	}
	if err := domain.CheckDay(to); err != nil {
		return fmt.Errorf("boltstore: to: %w", err)
	}
	return nil
}

// walk visits the counters under owner whose day (part 2) is within from..to; the tuple order
// is the order the port promises.
func (a *Analytics) walk(ctx context.Context, owner []byte, from, to string, parts int, fn func([]string, int64)) error {
	return a.s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bAnalytics)
		if b == nil {
			return nil // nothing counted yet
		}
		c := b.Cursor()
		start := append(bytes.Clone(owner), tuple(from)...)
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, owner); k, v = c.Next() {
			p, err := splitTuple(k)
			if err != nil || len(p) != parts || len(v) != 8 {
				return fmt.Errorf("boltstore: malformed analytics entry %q", k)
			}
			if p[2] > to {
				break
			}
			fn(p, int64(binary.BigEndian.Uint64(v)))
		}
		return nil
	})
}
