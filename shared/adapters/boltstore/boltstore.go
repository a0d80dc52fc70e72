// Package boltstore is the embedded domain.Store of local mode (`credence serve`): one bbolt
// file, one bbolt transaction per method, so every conditional write is trivially atomic.
//
// Layout: one bucket per entity holding JSON records (records.go), plus index buckets for the
// access paths; every key is a tuple (keys.go) so ids never collide with separators.
//
//	bucket              key                                   value
//	issuers             (issuerID)                            issuer
//	achievements        (issuerID, achievementID)             achievement
//	credentials         (credentialID)                        credential without LDP and JWT
//	credential_docs     (credentialID)                        LDP and JWT (binary, records.go)
//	cred_by_issuer      (issuerID, issuedAt, credentialID)    -
//	cred_by_achievement (issuerID, achievementID, issuedAt, credentialID)  -
//	cred_by_email       (issuerID, emailKey, issuedAt, credentialID)       achievementID
//	audit               ("c", credentialID, at, seq) or ("i", issuerID, at, seq)  event
//	status_claims       (issuerID, listID, index)             -
//	status_claim_counts (issuerID, listID)                    uint64 big-endian
//	status_lists        (issuerID, listID)                    status list
//	api_keys            (keyID)                               api key
//	api_key_hashes      (hash)                                keyID
//	api_keys_by_issuer  (issuerID or "", createdAt, keyID)    -
//	idempotency         (scope, key)                          record
//
// issuedAt, createdAt and at are fixed-width UTC timestamps, so index order is time order and
// "newest first" is a reverse cursor walk. The index entries of a credential are written in the
// same transaction as the record and never change (issuer, achievement, e-mail key and issue
// time are immutable), so status and mail updates touch the record only.
package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/credence-oss/credence/shared/domain"
)

var (
	bIssuers       = []byte("issuers")
	bAchievements  = []byte("achievements")
	bCredentials   = []byte("credentials")
	bCredDocs      = []byte("credential_docs")
	bCredByIssuer  = []byte("cred_by_issuer")
	bCredByAch     = []byte("cred_by_achievement")
	bCredByEmail   = []byte("cred_by_email")
	bAudit         = []byte("audit")
	bClaims        = []byte("status_claims")
	bClaimCounts   = []byte("status_claim_counts")
	bStatusLists   = []byte("status_lists")
	bAPIKeys       = []byte("api_keys")
	bAPIKeyHashes  = []byte("api_key_hashes")
	bAPIKeysByIss  = []byte("api_keys_by_issuer")
	bIdempotency   = []byte("idempotency")
	allBuckets     = [][]byte{bIssuers, bAchievements, bCredentials, bCredDocs, bCredByIssuer, bCredByAch, bCredByEmail, bAudit, bClaims, bClaimCounts, bStatusLists, bAPIKeys, bAPIKeyHashes, bAPIKeysByIss, bIdempotency, bJobs, bJobCounts, bJobErrors, bJobRows, bRosters, bSuppressions}
	errStoreClosed = errors.New("boltstore: closed")
)

// Store is the bbolt implementation of domain.Store. It is safe for concurrent use; bbolt
// serializes writers and lets readers run alongside.
type Store struct {
	db      *bolt.DB
	now     func() time.Time // for idempotency expiry; a field so tests can pin it
	commits committer
}

var _ domain.Store = (*Store)(nil)

// Open opens (creating if needed) the store file at path. Only one process can hold it: a
// second Open of the same file fails after a second instead of waiting forever.
func Open(path string) (*Store, error) {
	// The freelist is not written on every commit (bbolt rebuilds it from the pages when it
	// opens): commits write less and durability is unchanged; a bulk roster commits thousands
	// of times.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltstore: initialise %s: %w", path, err)
	}
	return &Store{db: db, now: time.Now}, nil
}

// Close releases the file. Calls after Close fail.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close: %w", err)
	}
	return nil
}

// --- transaction helpers

func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.View(fn)
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return errStoreClosed
	}
	return err
}

// update runs fn in a write transaction and returns once it is on disk. Every commit is two
// fdatasyncs (bbolt writes the pages, then the meta page), about 4 ms on the disks measured,
// which would cap local issuing at a few hundred writes a second; so writes are group
// committed (committer): the writes that arrive while a commit is syncing share the next one.
// A lone writer commits at once, with no waiting for company.
//
// fn may run more than once (a write that fails is taken out of its group, which runs again
// without it), and an error from fn rolls back its whole group, so fn's expected outcomes
// (ErrConflict, ErrNotFound) are passed out beside the transaction instead; every fn here
// reports those before it writes anything.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var outcome error
	err := s.commits.do(s.db, func(tx *bolt.Tx) error {
		outcome = nil
		ferr := fn(tx)
		if errors.Is(ferr, domain.ErrConflict) || errors.Is(ferr, domain.ErrNotFound) {
			outcome = ferr
			return nil
		}
		return ferr
	})
	if err == nil {
		err = outcome
	}
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return errStoreClosed
	}
	return err
}

func get[R any](tx *bolt.Tx, bucket, key []byte, what string) (R, error) {
	var r R
	v := tx.Bucket(bucket).Get(key)
	if v == nil {
		return r, fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("%s: decode stored record: %w", what, err)
	}
	return r, nil
}

func put(tx *bolt.Tx, bucket, key []byte, rec any, what string) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", what, err)
	}
	if err := tx.Bucket(bucket).Put(key, v); err != nil {
		return fmt.Errorf("%s: write: %w", what, err)
	}
	return nil
}

func exists(tx *bolt.Tx, bucket, key []byte) bool { return tx.Bucket(bucket).Get(key) != nil }

// --- issuers

// CreateIssuer implements domain.Store.
func (s *Store) CreateIssuer(ctx context.Context, iss domain.Issuer) error {
	if err := domain.CheckKeys("issuer id", iss.ID); err != nil {
		return fmt.Errorf("create issuer: %w", err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(iss.ID)
		if exists(tx, bIssuers, k) {
			return fmt.Errorf("create issuer %s: %w", iss.ID, domain.ErrConflict)
		}
		return put(tx, bIssuers, k, toIssuerRec(iss), "create issuer "+iss.ID)
	})
}

// GetIssuer implements domain.Store.
func (s *Store) GetIssuer(ctx context.Context, id string) (domain.Issuer, error) {
	var out domain.Issuer
	err := s.view(ctx, func(tx *bolt.Tx) error {
		r, err := get[issuerRec](tx, bIssuers, tuple(id), "issuer "+id)
		out = r.domain()
		return err
	})
	return out, err
}

// UpdateIssuer implements domain.Store.
func (s *Store) UpdateIssuer(ctx context.Context, iss domain.Issuer) error {
	if err := domain.CheckKeys("issuer id", iss.ID); err != nil {
		return fmt.Errorf("update issuer: %w", err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(iss.ID)
		if !exists(tx, bIssuers, k) {
			return fmt.Errorf("update issuer %s: %w", iss.ID, domain.ErrNotFound)
		}
		return put(tx, bIssuers, k, toIssuerRec(iss), "update issuer "+iss.ID)
	})
}

// ListIssuers implements domain.Store: by id, ascending.
func (s *Store) ListIssuers(ctx context.Context, p domain.Page) ([]domain.Issuer, string, error) {
	var (
		out  []domain.Issuer
		next string
	)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		out, next, err = scan(tx, bIssuers, kindIssuers, nil, 1, false, p, func(k, v []byte) (domain.Issuer, bool, error) {
			var r issuerRec
			if err := json.Unmarshal(v, &r); err != nil {
				return domain.Issuer{}, false, fmt.Errorf("decode issuer: %w", err)
			}
			return r.domain(), true, nil
		})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list issuers: %w", err)
	}
	return out, next, nil
}

// --- achievements

// CreateAchievement implements domain.Store.
func (s *Store) CreateAchievement(ctx context.Context, a domain.Achievement) error {
	if err := domain.CheckKeys("issuer id", a.IssuerID, "achievement id", a.ID); err != nil {
		return fmt.Errorf("create achievement: %w", err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(a.IssuerID, a.ID)
		if exists(tx, bAchievements, k) {
			return fmt.Errorf("create achievement %s/%s: %w", a.IssuerID, a.ID, domain.ErrConflict)
		}
		return put(tx, bAchievements, k, toAchievementRec(a), "create achievement "+a.ID)
	})
}

// GetAchievement implements domain.Store.
func (s *Store) GetAchievement(ctx context.Context, issuerID, id string) (domain.Achievement, error) {
	var out domain.Achievement
	err := s.view(ctx, func(tx *bolt.Tx) error {
		r, err := get[achievementRec](tx, bAchievements, tuple(issuerID, id), "achievement "+issuerID+"/"+id)
		out = r.domain()
		return err
	})
	return out, err
}

// UpdateAchievement implements domain.Store.
func (s *Store) UpdateAchievement(ctx context.Context, a domain.Achievement) error {
	if err := domain.CheckKeys("issuer id", a.IssuerID, "achievement id", a.ID); err != nil {
		return fmt.Errorf("update achievement: %w", err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(a.IssuerID, a.ID)
		if !exists(tx, bAchievements, k) {
			return fmt.Errorf("update achievement %s/%s: %w", a.IssuerID, a.ID, domain.ErrNotFound)
		}
		return put(tx, bAchievements, k, toAchievementRec(a), "update achievement "+a.ID)
	})
}

// ListAchievements implements domain.Store: by id, ascending.
func (s *Store) ListAchievements(ctx context.Context, issuerID string, p domain.Page) ([]domain.Achievement, string, error) {
	var (
		out  []domain.Achievement
		next string
	)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		out, next, err = scan(tx, bAchievements, kindAchievements, tuple(issuerID), 2, false, p, func(k, v []byte) (domain.Achievement, bool, error) {
			var r achievementRec
			if err := json.Unmarshal(v, &r); err != nil {
				return domain.Achievement{}, false, fmt.Errorf("decode achievement: %w", err)
			}
			return r.domain(), true, nil
		})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list achievements of %s: %w", issuerID, err)
	}
	return out, next, nil
}

// --- credentials

// CreateCredential implements domain.Store.
func (s *Store) CreateCredential(ctx context.Context, c domain.Credential) error {
	return s.CreateCredentialAudited(ctx, c, nil)
}

// CreateCredentialAudited implements domain.AuditedCreator: the credential and its issue event
// in one transaction, one commit instead of two on the issuing path.
func (s *Store) CreateCredentialAudited(ctx context.Context, c domain.Credential, issued *domain.AuditEvent) error {
	if err := domain.CheckKeys("credential id", c.ID, "issuer id", c.IssuerID); err != nil {
		return fmt.Errorf("create credential: %w", err)
	}
	if !utf8.ValidString(c.JWT) {
		return fmt.Errorf("create credential %s: the JWT is not valid UTF-8", c.ID)
	}
	ts, err := timeKey(c.IssuedAt)
	if err != nil {
		return fmt.Errorf("create credential %s: issuedAt: %w", c.ID, err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(c.ID)
		if exists(tx, bCredentials, k) {
			return fmt.Errorf("create credential %s: %w", c.ID, domain.ErrConflict)
		}
		if err := put(tx, bCredentials, k, toCredentialRec(c), "create credential "+c.ID); err != nil {
			return err
		}
		if err := tx.Bucket(bCredDocs).Put(k, docRec{LDP: c.LDP, JWT: c.JWT}.encode()); err != nil {
			return fmt.Errorf("create credential %s: write: %w", c.ID, err)
		}
		if err := tx.Bucket(bCredByIssuer).Put(tuple(c.IssuerID, ts, c.ID), nil); err != nil {
			return fmt.Errorf("create credential %s: index: %w", c.ID, err)
		}
		if err := tx.Bucket(bCredByAch).Put(tuple(c.IssuerID, c.AchievementID, ts, c.ID), nil); err != nil {
			return fmt.Errorf("create credential %s: index: %w", c.ID, err)
		}
		if c.EmailKey != "" {
			if err := tx.Bucket(bCredByEmail).Put(tuple(c.IssuerID, c.EmailKey, ts, c.ID), []byte(c.AchievementID)); err != nil {
				return fmt.Errorf("create credential %s: index: %w", c.ID, err)
			}
		}
		if issued != nil {
			return appendAudit(tx, *issued)
		}
		return nil
	})
}

var _ domain.AuditedCreator = (*Store)(nil)

// GetCredential implements domain.Store.
func (s *Store) GetCredential(ctx context.Context, id string) (domain.Credential, error) {
	var out domain.Credential
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = getFullCredential(tx, id)
		return err
	})
	return out, err
}

func getFullCredential(tx *bolt.Tx, id string) (domain.Credential, error) {
	r, err := get[credentialRec](tx, bCredentials, tuple(id), "credential "+id)
	if err != nil {
		return domain.Credential{}, err
	}
	d, err := getDoc(tx, tuple(id), "signed credential "+id)
	if err != nil {
		return domain.Credential{}, err
	}
	c := r.domain()
	c.LDP, c.JWT = d.LDP, d.JWT
	return c, nil
}

// ListCredentials implements domain.Store: newest first by IssuedAt, then id, without LDP and
// JWT. The filter picks
// the index: by e-mail key when given (a recipient has few credentials, so an achievement
// filter on top is checked entry by entry), else by achievement, else all of the issuer's.
func (s *Store) ListCredentials(ctx context.Context, issuerID string, f domain.CredentialFilter, p domain.Page) ([]domain.Credential, string, error) {
	var (
		bucket []byte
		kind   byte
		prefix []byte
		parts  int
	)
	switch {
	case f.EmailKey != "":
		bucket, kind, prefix, parts = bCredByEmail, kindCredByEmail, tuple(issuerID, f.EmailKey), 4
	case f.AchievementID != "":
		bucket, kind, prefix, parts = bCredByAch, kindCredByAch, tuple(issuerID, f.AchievementID), 4
	default:
		bucket, kind, prefix, parts = bCredByIssuer, kindCredAll, tuple(issuerID), 3
	}
	var (
		out  []domain.Credential
		next string
	)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		creds := tx.Bucket(bCredentials)
		var err error
		out, next, err = scan(tx, bucket, kind, prefix, parts, true, p, func(k, v []byte) (domain.Credential, bool, error) {
			if f.EmailKey != "" && f.AchievementID != "" && string(v) != f.AchievementID {
				return domain.Credential{}, false, nil
			}
			ps, err := splitTuple(k)
			if err != nil {
				return domain.Credential{}, false, fmt.Errorf("index key %x: %w", k, err)
			}
			id := ps[len(ps)-1]
			raw := creds.Get(tuple(id))
			if raw == nil {
				return domain.Credential{}, false, fmt.Errorf("index names credential %s, which is missing", id)
			}
			var r credentialRec
			if err := json.Unmarshal(raw, &r); err != nil {
				return domain.Credential{}, false, fmt.Errorf("decode credential %s: %w", id, err)
			}
			return r.domain(), true, nil
		})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list credentials of %s: %w", issuerID, err)
	}
	return out, next, nil
}

// scan walks the keys under prefix in bucket, ascending or (desc) descending, resuming after
// p.Cursor, and decodes each with take (which may skip an entry) until it has a page. It looks
// one accepted entry beyond the page, so the cursor it returns is "" exactly when nothing
// follows.
func scan[T any](tx *bolt.Tx, bucket []byte, kind byte, prefix []byte, parts int, desc bool, p domain.Page, take func(k, v []byte) (T, bool, error)) ([]T, string, error) {
	limit := p.Size()
	var after []byte
	if p.Cursor != "" {
		var err error
		if after, err = decodeCursor(p.Cursor, kind, prefix, parts); err != nil {
			return nil, "", err
		}
	}
	c := tx.Bucket(bucket).Cursor()
	var k, v []byte
	switch {
	case !desc && after == nil:
		k, v = c.Seek(prefix)
	case !desc:
		k, v = c.Seek(after)
		if k != nil && string(k) == string(after) {
			k, v = c.Next()
		}
	default:
		// Descending: position on the first key past the range, then step back.
		from := after
		if from == nil {
			from = prefixEnd(prefix)
		}
		if from == nil {
			k, v = c.Last()
		} else if k, v = c.Seek(from); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	var (
		out     []T
		lastKey []byte
	)
	for ; k != nil && hasPrefix(k, prefix); k, v = step(c, desc) {
		item, ok, err := take(k, v)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			continue
		}
		if len(out) == limit {
			return out, encodeCursor(kind, lastKey), nil
		}
		out = append(out, item)
		lastKey = append(lastKey[:0], k...)
	}
	return out, "", nil
}

func step(c *bolt.Cursor, desc bool) ([]byte, []byte) {
	if desc {
		return c.Prev()
	}
	return c.Next()
}

func hasPrefix(k, prefix []byte) bool {
	return len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix)
}

// prefixEnd is the smallest key greater than every key that starts with prefix, or nil when
// there is none (an empty prefix, or one of all 0xff).
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// UpdateCredentialStatus implements domain.Store.
func (s *Store) UpdateCredentialStatus(ctx context.Context, id string, from, to domain.Status, reason string, at time.Time, audit domain.AuditEvent) (domain.Credential, error) {
	if audit.CredentialID != "" && audit.CredentialID != id {
		return domain.Credential{}, fmt.Errorf("update credential %s status: the audit event is about credential %s", id, audit.CredentialID)
	}
	var out domain.Credential
	err := s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(id)
		r, err := get[credentialRec](tx, bCredentials, k, "credential "+id)
		if err != nil {
			return err
		}
		if r.Status != string(from) {
			return fmt.Errorf("credential %s is %s, not %s: %w", id, r.Status, from, domain.ErrConflict)
		}
		r.Status, r.StatusReason, r.StatusChangedAt = string(to), reason, at.UTC()
		if err := put(tx, bCredentials, k, r, "credential "+id); err != nil {
			return err
		}
		audit.CredentialID = id
		if audit.IssuerID == "" {
			audit.IssuerID = r.IssuerID
		}
		if audit.At.IsZero() {
			audit.At = at
		}
		if err := appendAudit(tx, audit); err != nil {
			return err
		}
		d, err := getDoc(tx, k, "signed credential "+id)
		if err != nil {
			return err
		}
		out = r.domain()
		out.LDP, out.JWT = d.LDP, d.JWT
		return nil
	})
	if err != nil {
		return domain.Credential{}, fmt.Errorf("update credential status: %w", err)
	}
	return out, nil
}

// UpdateCredentialMail implements domain.Store.
func (s *Store) UpdateCredentialMail(ctx context.Context, id string, m domain.MailState) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(id)
		r, err := get[credentialRec](tx, bCredentials, k, "credential "+id)
		if err != nil {
			return fmt.Errorf("update mail state: %w", err)
		}
		r.Mail = toMailRec(m)
		return put(tx, bCredentials, k, r, "credential "+id)
	})
}

// --- status lists

// indexKey writes the index zero-padded so claims sort numerically (for whoever inspects them).
func indexKey(index int) string { return fmt.Sprintf("%020d", index) }

// ClaimStatusIndex implements domain.Store.
func (s *Store) ClaimStatusIndex(ctx context.Context, issuerID, listID string, index int) error {
	if err := domain.CheckKeys("issuer id", issuerID, "list id", listID); err != nil {
		return fmt.Errorf("claim status index: %w", err)
	}
	if index < 0 {
		return fmt.Errorf("claim status index %d: an index is never negative", index)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(issuerID, listID, indexKey(index))
		claims := tx.Bucket(bClaims)
		if claims.Get(k) != nil {
			return fmt.Errorf("status index %s/%s/%d: %w", issuerID, listID, index, domain.ErrConflict)
		}
		if err := claims.Put(k, nil); err != nil {
			return fmt.Errorf("claim status index: %w", err)
		}
		counts := tx.Bucket(bClaimCounts)
		ck := tuple(issuerID, listID)
		n := uint64(0)
		if v := counts.Get(ck); len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		if err := counts.Put(ck, binary.BigEndian.AppendUint64(nil, n+1)); err != nil {
			return fmt.Errorf("count status index: %w", err)
		}
		return nil
	})
}

// CountStatusIndexes implements domain.Store.
func (s *Store) CountStatusIndexes(ctx context.Context, issuerID, listID string) (int, error) {
	var n int
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bClaimCounts).Get(tuple(issuerID, listID))
		switch len(v) {
		case 0:
		case 8:
			n = int(binary.BigEndian.Uint64(v))
		default:
			return fmt.Errorf("count of %s/%s: stored value of %d bytes", issuerID, listID, len(v))
		}
		return nil
	})
	return n, err
}

// GetStatusList implements domain.Store.
func (s *Store) GetStatusList(ctx context.Context, issuerID, listID string) (domain.StatusList, error) {
	var out domain.StatusList
	err := s.view(ctx, func(tx *bolt.Tx) error {
		r, err := get[statusListRec](tx, bStatusLists, tuple(issuerID, listID), "status list "+issuerID+"/"+listID)
		out = r.domain()
		return err
	})
	return out, err
}

// PutStatusList implements domain.Store.
func (s *Store) PutStatusList(ctx context.Context, l domain.StatusList) error {
	if err := domain.CheckKeys("issuer id", l.IssuerID, "list id", l.ListID); err != nil {
		return fmt.Errorf("put status list: %w", err)
	}
	if l.Version < 1 {
		return fmt.Errorf("put status list %s/%s: version %d: versions start at 1", l.IssuerID, l.ListID, l.Version)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(l.IssuerID, l.ListID)
		cur, err := get[statusListRec](tx, bStatusLists, k, "status list")
		switch {
		case errors.Is(err, domain.ErrNotFound):
			if l.Version != 1 {
				return fmt.Errorf("put status list %s/%s version %d: none stored: %w", l.IssuerID, l.ListID, l.Version, domain.ErrConflict)
			}
		case err != nil:
			return err
		case cur.Version != l.Version-1:
			return fmt.Errorf("put status list %s/%s version %d: stored version is %d: %w", l.IssuerID, l.ListID, l.Version, cur.Version, domain.ErrConflict)
		}
		return put(tx, bStatusLists, k, toStatusListRec(l), "status list")
	})
}

// --- API keys

// CreateAPIKey implements domain.Store. The hash must be unique too: it is how keys are found.
func (s *Store) CreateAPIKey(ctx context.Context, k domain.APIKey) error {
	if err := domain.CheckKeys("api key id", k.ID, "api key hash", k.Hash); err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	ts, err := timeKey(k.CreatedAt)
	if err != nil {
		return fmt.Errorf("create api key %s: createdAt: %w", k.ID, err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		if exists(tx, bAPIKeys, tuple(k.ID)) {
			return fmt.Errorf("create api key %s: %w", k.ID, domain.ErrConflict)
		}
		if exists(tx, bAPIKeyHashes, tuple(k.Hash)) {
			return fmt.Errorf("create api key %s: another key has the same hash: %w", k.ID, domain.ErrConflict)
		}
		if err := put(tx, bAPIKeys, tuple(k.ID), toAPIKeyRec(k), "api key "+k.ID); err != nil {
			return err
		}
		if err := tx.Bucket(bAPIKeyHashes).Put(tuple(k.Hash), []byte(k.ID)); err != nil {
			return fmt.Errorf("create api key %s: hash index: %w", k.ID, err)
		}
		if err := tx.Bucket(bAPIKeysByIss).Put(tuple(k.IssuerID, ts, k.ID), nil); err != nil {
			return fmt.Errorf("create api key %s: issuer index: %w", k.ID, err)
		}
		return nil
	})
}

// GetAPIKeyByHash implements domain.Store.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (domain.APIKey, error) {
	var out domain.APIKey
	err := s.view(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(bAPIKeyHashes).Get(tuple(hash))
		if id == nil {
			return fmt.Errorf("api key by hash: %w", domain.ErrNotFound)
		}
		r, err := get[apiKeyRec](tx, bAPIKeys, tuple(string(id)), "api key "+string(id))
		out = r.domain()
		return err
	})
	return out, err
}

// GetAPIKey implements domain.Store.
func (s *Store) GetAPIKey(ctx context.Context, id string) (domain.APIKey, error) {
	var out domain.APIKey
	err := s.view(ctx, func(tx *bolt.Tx) error {
		r, err := get[apiKeyRec](tx, bAPIKeys, tuple(id), "api key "+id)
		out = r.domain()
		return err
	})
	return out, err
}

// ListAPIKeys implements domain.Store: by CreatedAt, then id.
func (s *Store) ListAPIKeys(ctx context.Context, issuerID string) ([]domain.APIKey, error) {
	var out []domain.APIKey
	err := s.view(ctx, func(tx *bolt.Tx) error {
		keys := tx.Bucket(bAPIKeys)
		prefix := tuple(issuerID)
		c := tx.Bucket(bAPIKeysByIss).Cursor()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
			ps, err := splitTuple(k)
			if err != nil || len(ps) != 3 {
				return fmt.Errorf("index key %x: malformed", k)
			}
			var r apiKeyRec
			raw := keys.Get(tuple(ps[2]))
			if raw == nil {
				return fmt.Errorf("index names api key %s, which is missing", ps[2])
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("decode api key %s: %w", ps[2], err)
			}
			out = append(out, r.domain())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey implements domain.Store; a revoked key keeps its first revocation time.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) (domain.APIKey, error) {
	var out domain.APIKey
	err := s.update(ctx, func(tx *bolt.Tx) error {
		r, err := get[apiKeyRec](tx, bAPIKeys, tuple(id), "api key "+id)
		if err != nil {
			return err
		}
		if r.RevokedAt.IsZero() {
			r.RevokedAt = at.UTC()
			if err := put(tx, bAPIKeys, tuple(id), r, "api key "+id); err != nil {
				return err
			}
		}
		out = r.domain()
		return nil
	})
	if err != nil {
		return domain.APIKey{}, fmt.Errorf("revoke api key: %w", err)
	}
	return out, nil
}

// --- audit

// AppendAudit implements domain.Store. Events about a credential are kept under it; others
// (about an issuer) under the issuer.
func (s *Store) AppendAudit(ctx context.Context, e domain.AuditEvent) error {
	if e.CredentialID == "" && e.IssuerID == "" {
		return errors.New("append audit: the event names neither a credential nor an issuer")
	}
	return s.update(ctx, func(tx *bolt.Tx) error { return appendAudit(tx, e) })
}

func appendAudit(tx *bolt.Tx, e domain.AuditEvent) error {
	owner, id := "c", e.CredentialID
	if id == "" {
		owner, id = "i", e.IssuerID
	}
	if err := domain.CheckKeys("audit owner id", id); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	ts, err := timeKey(e.At)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	b := tx.Bucket(bAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	// The sequence keeps events with equal times in the order they were appended.
	return put(tx, bAudit, tuple(owner, id, ts, fmt.Sprintf("%020d", seq)), toAuditRec(e), "append audit")
}

// ListAudit implements domain.Store: oldest first.
func (s *Store) ListAudit(ctx context.Context, credentialID string) ([]domain.AuditEvent, error) {
	var out []domain.AuditEvent
	err := s.view(ctx, func(tx *bolt.Tx) error {
		prefix := tuple("c", credentialID)
		c := tx.Bucket(bAudit).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var r auditRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode audit event: %w", err)
			}
			out = append(out, r.domain())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list audit of %s: %w", credentialID, err)
	}
	return out, nil
}

// --- idempotency

// PutIdempotency implements domain.Store. A record past its ExpiresAt counts as absent.
func (s *Store) PutIdempotency(ctx context.Context, rec domain.Idempotency) (domain.Idempotency, error) {
	if err := domain.CheckKeys("idempotency key", rec.Key); err != nil {
		return domain.Idempotency{}, fmt.Errorf("put idempotency record: %w", err)
	}
	if !utf8.ValidString(rec.Scope) {
		return domain.Idempotency{}, fmt.Errorf("put idempotency record: scope %q is not valid UTF-8", rec.Scope)
	}
	var out domain.Idempotency
	err := s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(rec.Scope, rec.Key)
		cur, err := get[idemRec](tx, bIdempotency, k, "idempotency record")
		switch {
		case err == nil && !expired(cur.ExpiresAt, s.now()):
			out = cur.domain()
			return fmt.Errorf("idempotency key %q: %w", rec.Key, domain.ErrConflict)
		case err != nil && !errors.Is(err, domain.ErrNotFound):
			return err
		}
		r := toIdemRec(rec)
		out = r.domain()
		return put(tx, bIdempotency, k, r, "idempotency record")
	})
	if err != nil && !errors.Is(err, domain.ErrConflict) {
		return domain.Idempotency{}, fmt.Errorf("put idempotency record: %w", err)
	}
	return out, err
}

// GetIdempotency implements domain.Store.
func (s *Store) GetIdempotency(ctx context.Context, scope, key string) (domain.Idempotency, error) {
	var out domain.Idempotency
	err := s.view(ctx, func(tx *bolt.Tx) error {
		r, err := get[idemRec](tx, bIdempotency, tuple(scope, key), "idempotency record")
		if err != nil {
			return err
		}
		if expired(r.ExpiresAt, s.now()) {
			return fmt.Errorf("idempotency record expired at %v: %w", r.ExpiresAt, domain.ErrNotFound)
		}
		out = r.domain()
		return nil
	})
	return out, err
}

func expired(expiresAt, now time.Time) bool { return !expiresAt.IsZero() && !now.Before(expiresAt) }
