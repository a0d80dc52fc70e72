package boltstore

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/credence-oss/credence/shared/domain"
)

// Keys are tuples of strings in an order-preserving encoding: each part is written with 0x00
// escaped as 0x01 0x01 and 0x01 as 0x01 0x02, then terminated by 0x00. Byte order of encoded
// keys is then the tuple order (part by part, shorter first), a prefix of whole parts selects
// exactly the tuples that start with those parts, and no id can forge a separator.

func tuple(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = appendPart(b, p)
	}
	return b
}

func appendPart(b []byte, p string) []byte {
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case 0x00:
			b = append(b, 0x01, 0x01)
		case 0x01:
			b = append(b, 0x01, 0x02)
		default:
			b = append(b, c)
		}
	}
	return append(b, 0x00)
}

var errBadTuple = errors.New("malformed key")

// splitTuple decodes an encoded tuple and refuses anything tuple never produces.
func splitTuple(b []byte) ([]string, error) {
	var (
		parts []string
		cur   []byte
	)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case 0x00:
			parts = append(parts, string(cur))
			cur = cur[:0]
		case 0x01:
			if i+1 >= len(b) {
				return nil, errBadTuple
			}
			i++
			switch b[i] {
			case 0x01:
				cur = append(cur, 0x00)
			case 0x02:
				cur = append(cur, 0x01)
			default:
				return nil, errBadTuple
			}
		default:
			cur = append(cur, c)
		}
	}
	if len(cur) > 0 || (len(b) > 0 && b[len(b)-1] != 0x00) {
		return nil, errBadTuple // an unterminated last part
	}
	return parts, nil
}

// timeKey is a fixed-width UTC timestamp, so that byte order is time order in index keys.
const timeKeyLayout = "2006-01-02T15:04:05.000000000Z07:00"

func timeKey(t time.Time) (string, error) {
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return "", fmt.Errorf("time %v is outside the years 1 to 9999 a store key can hold", t)
	}
	return t.Format(timeKeyLayout), nil
}

// Listings a cursor can belong to; the kind is part of the cursor so that one listing's cursor
// is refused by another even when the key shapes would let it through.
const (
	kindIssuers      byte = 'I'
	kindAchievements byte = 'A'
	kindCredAll      byte = 'C'
	kindCredByAch    byte = 'H'
	kindCredByEmail  byte = 'E'
)

const cursorVersion byte = 1

// encodeCursor makes the opaque cursor: version, listing kind and the last returned index key.
func encodeCursor(kind byte, key []byte) string {
	b := make([]byte, 0, len(key)+2)
	b = append(b, cursorVersion, kind)
	b = append(b, key...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxCursor bounds the input we decode at all: real cursors hold a few ids and a timestamp.
const maxCursor = 8 << 10

// decodeCursor returns the index key a cursor resumes after, after checking it was made by the
// same listing (kind), for the same partition (prefix) and has that listing's key shape.
func decodeCursor(cursor string, kind byte, prefix []byte, parts int) ([]byte, error) {
	if len(cursor) > maxCursor {
		return nil, fmt.Errorf("%w: %d characters is longer than any cursor this store makes", domain.ErrInvalidCursor, len(cursor))
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url: %v", domain.ErrInvalidCursor, err)
	}
	if len(b) < 2 || b[0] != cursorVersion {
		return nil, fmt.Errorf("%w: unknown format", domain.ErrInvalidCursor)
	}
	if b[1] != kind {
		return nil, fmt.Errorf("%w: it belongs to another listing or filter", domain.ErrInvalidCursor)
	}
	key := b[2:]
	if !bytes.HasPrefix(key, prefix) {
		return nil, fmt.Errorf("%w: it belongs to another issuer or filter", domain.ErrInvalidCursor)
	}
	ps, err := splitTuple(key)
	if err != nil || len(ps) != parts {
		return nil, fmt.Errorf("%w: malformed position", domain.ErrInvalidCursor)
	}
	return key, nil
}
