// Package statuslist implements W3C Bitstring Status List v1.0 (https://www.w3.org/TR/vc-bitstring-status-list/):
// the bitstring and its encodedList form, random index allocation, BitstringStatusListEntry values,
// the unsigned BitstringStatusListCredential, and the verifier's status check. It also reads the
// legacy StatusList2021 form and the 1EdTech Revocation List that older Open Badges 3.0 credentials
// use. Pure code: no I/O, no signing (the caller signs the list credential and verifies fetched ones).
package statuslist

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

const (
	// MinSize is the spec's minimum number of entries (16 KiB): smaller lists give holders too
	// little herd privacy, so they are neither produced nor accepted.
	MinSize = 131072
	// MaxBytes bounds the uncompressed bitstring Decode accepts (16 MiB = 134,217,728 entries).
	// A gzip stream inflates about a thousandfold, so without a bound a small encodedList could
	// demand gigabytes.
	MaxBytes = 16 << 20
	// MaxSize is MaxBytes in entries.
	MaxSize = MaxBytes * 8
)

var (
	// ErrMalformed marks an encodedList that is not base64url of a gzip stream (MALFORMED_VALUE_ERROR).
	ErrMalformed = errors.New("statuslist: malformed encodedList")
	// ErrTooSmall marks a list below MinSize entries (STATUS_LIST_LENGTH_ERROR).
	ErrTooSmall = errors.New("statuslist: list shorter than the 131,072-entry minimum")
	// ErrTooLarge marks a list above MaxSize entries.
	ErrTooLarge = errors.New("statuslist: list larger than the 16 MiB limit")
	// ErrRange marks an index outside the list (RANGE_ERROR).
	ErrRange = errors.New("statuslist: index out of range")
)

// List is a status bitstring. Index 0 is the most significant (left-most) bit of byte 0, as the
// spec's "Bitstring Encoding" section requires; getting this backwards silently reads the wrong
// credential's status.
type List struct {
	bits []byte
}

// New returns an all-zero list of size entries. size must be at least MinSize, at most MaxSize,
// and a multiple of 8 (the encoded form is whole bytes, so any other size would not round-trip).
func New(size int) (*List, error) {
	if err := checkSize(size); err != nil {
		return nil, err
	}
	return &List{bits: make([]byte, size/8)}, nil
}

func checkSize(size int) error {
	switch {
	case size < MinSize:
		return fmt.Errorf("%w: %d entries", ErrTooSmall, size)
	case size > MaxSize:
		return fmt.Errorf("%w: %d entries", ErrTooLarge, size)
	case size%8 != 0:
		return fmt.Errorf("statuslist: size %d is not a multiple of 8", size)
	}
	return nil
}

// FromBytes returns a list over a copy of b (bit 0 = MSB of b[0]), with the same size rules as New.
// It lets a store keep the raw bitmap and rebuild the list without a gzip round trip.
func FromBytes(b []byte) (*List, error) {
	if len(b) > MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(b))
	}
	if err := checkSize(len(b) * 8); err != nil {
		return nil, err
	}
	return &List{bits: bytes.Clone(b)}, nil
}

// Len returns the number of entries.
func (l *List) Len() int { return len(l.bits) * 8 }

// Bytes returns a copy of the bitstring.
func (l *List) Bytes() []byte { return bytes.Clone(l.bits) }

// Get returns entry i.
func (l *List) Get(i int) (bool, error) {
	if i < 0 || i >= l.Len() {
		return false, fmt.Errorf("%w: %d not in [0, %d)", ErrRange, i, l.Len())
	}
	return l.bit(i), nil
}

func (l *List) bit(i int) bool { return l.bits[i>>3]&(0x80>>(i&7)) != 0 }

// Set sets entry i to v.
func (l *List) Set(i int, v bool) error {
	if i < 0 || i >= l.Len() {
		return fmt.Errorf("%w: %d not in [0, %d)", ErrRange, i, l.Len())
	}
	if v {
		l.bits[i>>3] |= 0x80 >> (i & 7)
	} else {
		l.bits[i>>3] &^= 0x80 >> (i & 7)
	}
	return nil
}

// Count returns how many entries are set.
func (l *List) Count() int { return ones(l.bits) }

// A gzip.Writer carries about 800 KB of compressor state; pooling it keeps Encode cheap when a
// busy issuer republishes lists.
var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	return w
}}

// Encode returns the encodedList value: multibase base64url without padding ('u' prefix) of the
// gzip-compressed bitstring. The gzip header carries no name or time, so equal lists encode equally.
func (l *List) Encode() (string, error) {
	var buf bytes.Buffer
	zw := gzipPool.Get().(*gzip.Writer)
	defer gzipPool.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(l.bits); err != nil {
		return "", fmt.Errorf("statuslist: compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("statuslist: compress: %w", err)
	}
	out := make([]byte, 1+base64.RawURLEncoding.EncodedLen(buf.Len()))
	out[0] = 'u'
	base64.RawURLEncoding.Encode(out[1:], buf.Bytes())
	return string(out), nil
}

// maxEncodedLen bounds the text Decode looks at: gzip of MaxBytes of incompressible data plus
// headers, in base64. Anything longer cannot be a list Decode would accept.
var maxEncodedLen = 1 + base64.StdEncoding.EncodedLen(MaxBytes+MaxBytes/64+1024)

// Decode parses an encodedList. It accepts what deployed issuers emit: the spec's multibase form
// ('u' + base64url, no padding) and the legacy StatusList2021 form without the multibase prefix,
// with or without padding, in the URL-safe or the standard base64 alphabet. A gzip stream always
// starts with 1f 8b, which is "H4s" in base64, so a leading 'u' can only be the multibase prefix.
// The decompressed list must hold at least MinSize and at most MaxSize entries; decompression
// stops at MaxBytes+1 bytes, so a decompression bomb costs at most that much memory and time.
func Decode(encoded string) (*List, error) {
	s := strings.TrimSpace(encoded)
	if len(s) > maxEncodedLen {
		return nil, fmt.Errorf("%w: %d characters", ErrTooLarge, len(s))
	}
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	s = strings.TrimPrefix(s, "u")
	if !strings.HasPrefix(s, "H4s") {
		return nil, fmt.Errorf("%w: not a base64url gzip stream (expected multibase prefix 'u' then \"H4s\")", ErrMalformed)
	}
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: base64url: %v", ErrMalformed, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrMalformed, err)
	}
	// The gzip trailer's ISIZE could size the buffer up front, but it is attacker-supplied; grow
	// as data actually arrives instead.
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(zr, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrMalformed, err)
	}
	if n > MaxBytes {
		return nil, fmt.Errorf("%w: decompresses past %d bytes", ErrTooLarge, MaxBytes)
	}
	if n*8 < MinSize {
		return nil, fmt.Errorf("%w: %d entries", ErrTooSmall, n*8)
	}
	return &List{bits: buf.Bytes()}, nil
}
