// Package localkeys is the local-mode Signer: private keys are generated into, and loaded from,
// one JSON file (PKCS#8 per key) that `credence serve` keeps in its data directory. It stands in
// for KMS when Credence runs on one machine; the file is as secret as a KMS key and must never be
// committed or shared.
package localkeys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/standards/keys"
)

// RefPrefix starts every KeyRef this store hands out, so a local key can never be mistaken for a
// KMS key id or ARN when a data directory is moved between modes.
const RefPrefix = "local:"

// fileComment is written into every key file: whoever opens it should learn what it is before
// they paste it anywhere.
const fileComment = "Credence local signing keys. This file holds PRIVATE keys: never commit it, " +
	"never share it, keep it readable by its owner only (mode 0600)."

const fileVersion = 1

// rsaBits is the size of generated RS256 keys, the same as KMS RSA_2048; imported keys may be
// larger but not smaller.
const rsaBits = 2048

// ErrAlgMismatch is returned when a key is asked to sign with an algorithm it does not hold.
var ErrAlgMismatch = errors.New("localkeys: algorithm does not match the key")

// ErrUnsupportedAlg is returned for an algorithm other than EdDSA, RS256 or ES256.
var ErrUnsupportedAlg = errors.New("localkeys: unsupported algorithm")

// keyFile is the on-disk shape. Keys are a map so encoding/json writes them sorted by ref and the
// file diffs cleanly between saves.
type keyFile struct {
	Comment string              `json:"comment"`
	Version int                 `json:"version"`
	Keys    map[string]fileItem `json:"keys"`
}

type fileItem struct {
	Alg         keys.Alg  `json:"alg"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	PKCS8       string    `json:"pkcs8"` // standard base64 of the PKCS#8 DER
}

type entry struct {
	item fileItem
	priv crypto.Signer
}

// Store is a Signer backed by one key file. It is safe for concurrent use by the goroutines of one
// process; two processes must not share a file (the last writer would win).
type Store struct {
	path string

	mu   sync.RWMutex
	keys map[domain.KeyRef]entry
}

var _ domain.Signer = (*Store)(nil)

// Open loads the key file at path, creating it (mode 0600, parent directory 0700) when it does
// not exist yet.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("localkeys: empty key file path")
	}
	s := &Store{path: path, keys: map[domain.KeyRef]entry{}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("localkeys: create key directory: %w", err)
		}
		if err := s.saveLocked(); err != nil {
			return nil, err
		}
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("localkeys: read key file: %w", err)
	}
	if err := s.load(data); err != nil {
		return nil, fmt.Errorf("localkeys: key file %s: %w", path, err)
	}
	return s, nil
}

// Path is the key file this store reads and writes.
func (s *Store) Path() string { return s.path }

func (s *Store) load(data []byte) error {
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("not a key file: %w", err)
	}
	if f.Version != fileVersion {
		return fmt.Errorf("unsupported key file version %d (want %d)", f.Version, fileVersion)
	}
	for ref, it := range f.Keys {
		if !strings.HasPrefix(ref, RefPrefix) {
			return fmt.Errorf("key %q: ref must start with %q", ref, RefPrefix)
		}
		der, err := base64.StdEncoding.DecodeString(it.PKCS8)
		if err != nil {
			return fmt.Errorf("key %q: pkcs8 is not base64: %w", ref, err)
		}
		raw, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return fmt.Errorf("key %q: %w", ref, err)
		}
		priv, err := checkPrivate(it.Alg, raw)
		if err != nil {
			return fmt.Errorf("key %q: %w", ref, err)
		}
		s.keys[domain.KeyRef(ref)] = entry{item: it, priv: priv}
	}
	return nil
}

// checkPrivate accepts a private key only if it is the kind alg signs with, so a hand-edited or
// imported key cannot silently sign with a weaker or different algorithm.
func checkPrivate(alg keys.Alg, priv crypto.PrivateKey) (crypto.Signer, error) {
	switch k := priv.(type) {
	case ed25519.PrivateKey:
		if alg != keys.EdDSA {
			return nil, fmt.Errorf("%w: Ed25519 key, alg %q", ErrAlgMismatch, alg)
		}
		if len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("localkeys: Ed25519 private key of %d bytes, want %d", len(k), ed25519.PrivateKeySize)
		}
		return k, nil
	case *rsa.PrivateKey:
		if alg != keys.RS256 {
			return nil, fmt.Errorf("%w: RSA key, alg %q", ErrAlgMismatch, alg)
		}
		if k.N.BitLen() < rsaBits {
			return nil, fmt.Errorf("localkeys: RSA key of %d bits, want at least %d", k.N.BitLen(), rsaBits)
		}
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("localkeys: invalid RSA key: %w", err)
		}
		return k, nil
	case *ecdsa.PrivateKey:
		if alg != keys.ES256 {
			return nil, fmt.Errorf("%w: ECDSA key, alg %q", ErrAlgMismatch, alg)
		}
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("localkeys: ECDSA key on %s, want P-256", k.Curve.Params().Name)
		}
		return k, nil
	}
	return nil, fmt.Errorf("localkeys: unsupported private key type %T", priv)
}

func generate(alg keys.Alg) (crypto.Signer, error) {
	switch alg {
	case keys.EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case keys.RS256:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case keys.ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlg, alg)
}

// CreateKey generates a key pair for alg (EdDSA: Ed25519, RS256: RSA-2048, ES256: P-256) and
// persists it before returning its ref.
func (s *Store) CreateKey(ctx context.Context, alg keys.Alg, description string) (domain.KeyRef, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	priv, err := generate(alg)
	if err != nil {
		return "", fmt.Errorf("localkeys: generate %s key: %w", alg, err)
	}
	return s.add(alg, description, priv)
}

// Import stores a given private key (ed25519.PrivateKey, *rsa.PrivateKey or *ecdsa.PrivateKey on
// P-256) under a new ref. It exists for test vectors and for moving an existing key into local
// mode; alg must match the key.
func (s *Store) Import(alg keys.Alg, description string, priv crypto.PrivateKey) (domain.KeyRef, error) {
	signer, err := checkPrivate(alg, priv)
	if err != nil {
		return "", err
	}
	return s.add(alg, description, signer)
}

func (s *Store) add(alg keys.Alg, description string, priv crypto.Signer) (domain.KeyRef, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("localkeys: encode %s key: %w", alg, err)
	}
	id, err := newUUID()
	if err != nil {
		return "", err
	}
	ref := domain.KeyRef(RefPrefix + id)
	e := entry{
		item: fileItem{Alg: alg, Description: description, Created: time.Now().UTC().Truncate(time.Second),
			PKCS8: base64.StdEncoding.EncodeToString(der)},
		priv: priv,
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[ref] = e
	if err := s.saveLocked(); err != nil {
		// A key the file does not hold would be lost on restart after credentials were signed
		// with it, so it must not be handed out.
		delete(s.keys, ref)
		return "", err
	}
	return ref, nil
}

// saveLocked writes the whole file to a temporary sibling and renames it over the old one, so a
// crash leaves either the old or the new file, never half of one. The caller holds s.mu (or owns
// s exclusively).
func (s *Store) saveLocked() error {
	f := keyFile{Comment: fileComment, Version: fileVersion, Keys: make(map[string]fileItem, len(s.keys))}
	for ref, e := range s.keys {
		f.Keys[string(ref)] = e.item
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("localkeys: encode key file: %w", err)
	}
	data = append(data, '\n')

	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".tmp-*") // CreateTemp uses mode 0600
	if err != nil {
		return fmt.Errorf("localkeys: write key file: %w", err)
	}
	tmpName := tmp.Name()
	committed := false
	defer func() {
		if !committed {
			_ = os.Remove(tmpName)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("localkeys: write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("localkeys: sync key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("localkeys: close key file: %w", err)
	}
	if err := os.Rename(tmpName, s.path); err != nil {
		return fmt.Errorf("localkeys: replace key file: %w", err)
	}
	committed = true
	// Make the rename itself durable; not every platform can open a directory for sync, and the
	// file is already complete, so a failure here is not worth failing the key for.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func (s *Store) lookup(ref domain.KeyRef) (entry, error) {
	s.mu.RLock()
	e, ok := s.keys[ref]
	s.mu.RUnlock()
	if !ok {
		return entry{}, fmt.Errorf("localkeys: %q: %w", ref, domain.ErrKeyNotFound)
	}
	return e, nil
}

// Sign signs message with the key: pure Ed25519 over the message for EdDSA, PKCS#1 v1.5 over
// SHA-256(message) for RS256, ECDSA over SHA-256(message) as raw R||S for ES256.
func (s *Store) Sign(ctx context.Context, ref domain.KeyRef, alg keys.Alg, message []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	if e.item.Alg != alg {
		return nil, fmt.Errorf("%w: %q holds an %s key, asked for %s", ErrAlgMismatch, ref, e.item.Alg, alg)
	}
	switch k := e.priv.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(k, message), nil
	case *rsa.PrivateKey:
		digest := sha256.Sum256(message)
		sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest[:])
		if err != nil {
			return nil, fmt.Errorf("localkeys: RS256 sign with %q: %w", ref, err)
		}
		return sig, nil
	case *ecdsa.PrivateKey:
		digest := sha256.Sum256(message)
		r, sv, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			return nil, fmt.Errorf("localkeys: ES256 sign with %q: %w", ref, err)
		}
		// JOSE ES256 wants fixed-width big-endian halves, not the DER that crypto/ecdsa favours.
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		sv.FillBytes(out[32:])
		return out, nil
	}
	return nil, fmt.Errorf("localkeys: %q holds an unsupported key type %T", ref, e.priv)
}

// PublicKey returns the key's public half: ed25519.PublicKey, *rsa.PublicKey or *ecdsa.PublicKey.
func (s *Store) PublicKey(ctx context.Context, ref domain.KeyRef) (crypto.PublicKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	return e.priv.Public(), nil
}

// Refs lists the refs the store holds, sorted, for tools that show or migrate local keys.
func (s *Store) Refs() []domain.KeyRef {
	s.mu.RLock()
	out := make([]domain.KeyRef, 0, len(s.keys))
	for ref := range s.keys {
		out = append(out, ref)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// newUUID returns a random (version 4) UUID; a local helper so the module needs no UUID library.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("localkeys: random key id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
