package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/credence-oss/credence/shared/domain"
)

// A bulk job's counters and row markers change with every row of a roster, so they are kept
// in small binary values of their own: a row's transaction then reads and writes a few dozen
// bytes instead of decoding and re-encoding the job with its error list (up to
// domain.MaxJobErrors messages of up to 1 KiB each) twice per row. Every value starts with a
// format byte; JSON values (written before) start with '{' and are still read.

const binFormat = 1

var errBadValue = errors.New("malformed stored value")

// jobCounts is what changes as rows are counted. errs is how many errors the job's error
// list holds, so appending one needs no decoding of the list.
type jobCounts struct {
	issued, rejected, failed, mailed, mailSuppressed, mailFailed, errs int
}

func countsOf(r jobRec) jobCounts {
	return jobCounts{issued: r.Issued, rejected: r.Rejected, failed: r.Failed, mailed: r.Mailed,
		mailSuppressed: r.MailSuppressed, mailFailed: r.MailFailed, errs: len(r.Errors)}
}

func (c jobCounts) into(r *jobRec) {
	r.Issued, r.Rejected, r.Failed, r.Mailed, r.MailSuppressed, r.MailFailed = c.issued, c.rejected, c.failed, c.mailed, c.mailSuppressed, c.mailFailed
}

func (c jobCounts) encode() []byte {
	b := make([]byte, 0, 1+7*binary.MaxVarintLen32)
	b = append(b, binFormat)
	for _, n := range [...]int{c.issued, c.rejected, c.failed, c.mailed, c.mailSuppressed, c.mailFailed, c.errs} {
		b = binary.AppendVarint(b, int64(n))
	}
	return b
}

func decodeCounts(v []byte) (jobCounts, error) {
	var c jobCounts
	if len(v) == 0 || v[0] != binFormat {
		return c, fmt.Errorf("job counters: %w", errBadValue)
	}
	v = v[1:]
	for _, p := range [...]*int{&c.issued, &c.rejected, &c.failed, &c.mailed, &c.mailSuppressed, &c.mailFailed, &c.errs} {
		n, w := binary.Varint(v)
		if w <= 0 {
			return c, fmt.Errorf("job counters: %w", errBadValue)
		}
		*p, v = int(n), v[w:]
	}
	if len(v) != 0 {
		return c, fmt.Errorf("job counters: %w", errBadValue)
	}
	return c, nil
}

// The error list is a run of (row, field, message) entries, appended to in place.

func appendRowError(b []byte, e domain.RowError) []byte {
	b = binary.AppendVarint(b, int64(e.Row))
	b = appendString(b, e.Field)
	return appendString(b, e.Message)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func readString(v []byte) (string, []byte, error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)-w) {
		return "", nil, errBadValue
	}
	return string(v[w : w+int(n)]), v[w+int(n):], nil
}

func decodeErrors(v []byte, n int) ([]domain.RowError, error) {
	out := make([]domain.RowError, 0, n)
	for len(v) > 0 {
		row, w := binary.Varint(v)
		if w <= 0 {
			return nil, fmt.Errorf("job errors: %w", errBadValue)
		}
		e := domain.RowError{Row: int(row)}
		var err error
		if e.Field, v, err = readString(v[w:]); err != nil {
			return nil, fmt.Errorf("job errors: %w", err)
		}
		if e.Message, v, err = readString(v); err != nil {
			return nil, fmt.Errorf("job errors: %w", err)
		}
		out = append(out, e)
	}
	if len(out) != n {
		return nil, fmt.Errorf("job errors: %d stored, the counters say %d: %w", len(out), n, errBadValue)
	}
	return out, nil
}

// appendErrors adds errors to a job's list while it holds fewer than domain.MaxJobErrors.
func appendErrors(tx *bolt.Tx, k []byte, c *jobCounts, add []domain.RowError) error {
	// Only the room left is looked at: every row path calls this, and building the full list
	// to cap it cost an allocation of MaxJobErrors entries per row.
	room := domain.MaxJobErrors - c.errs
	if room <= 0 || len(add) == 0 {
		return nil
	}
	clipped := capErrors(nil, add[:min(len(add), room)])
	b := tx.Bucket(bJobErrors)
	// bbolt's value is only valid inside the transaction and must not be changed: copy it.
	v := append([]byte(nil), b.Get(k)...)
	for _, e := range clipped {
		v = appendRowError(v, e)
	}
	c.errs += len(clipped)
	if err := b.Put(k, v); err != nil {
		return fmt.Errorf("write errors: %w", err)
	}
	return nil
}

// Row markers: outcome, credential id, mail outcome, lease end (Unix nanoseconds, 0 = none),
// and for a row rejected or failed while issuing its error's field and message. A marker
// without an error keeps format 1, byte for byte what it was before errors were kept, so a good
// row's write is unchanged and every marker written before still reads; one with an error is
// format 2, which also lets ListRowErrors pass over the others by their first byte.

const rowFormatErr = 2

func (m rowRec) encode() []byte {
	format, n := byte(binFormat), 16+len(m.Outcome)+len(m.CredentialID)+len(m.Mail)
	if m.Err != nil {
		format, n = rowFormatErr, n+4+len(m.Err.Field)+len(m.Err.Message)
	}
	b := make([]byte, 0, n)
	b = append(b, format)
	b = appendString(b, m.Outcome)
	b = appendString(b, m.CredentialID)
	b = appendString(b, m.Mail)
	var lease int64
	if !m.LeaseUntil.IsZero() {
		lease = m.LeaseUntil.UnixNano()
	}
	b = binary.AppendVarint(b, lease)
	if m.Err != nil {
		b = appendString(b, m.Err.Field)
		b = appendString(b, m.Err.Message)
	}
	return b
}

func decodeRow(v []byte) (rowRec, error) {
	var m rowRec
	if len(v) > 0 && v[0] == '{' {
		err := json.Unmarshal(v, &m)
		return m, err
	}
	if len(v) == 0 || (v[0] != binFormat && v[0] != rowFormatErr) {
		return m, errBadValue
	}
	withErr := v[0] == rowFormatErr
	var err error
	v = v[1:]
	for _, p := range [...]*string{&m.Outcome, &m.CredentialID, &m.Mail} {
		if *p, v, err = readString(v); err != nil {
			return m, err
		}
	}
	lease, w := binary.Varint(v)
	if w <= 0 {
		return m, errBadValue
	}
	if lease != 0 {
		m.LeaseUntil = time.Unix(0, lease).UTC()
	}
	v = v[w:]
	if withErr {
		m.Err = &markerErr{}
		if m.Err.Field, v, err = readString(v); err != nil {
			return m, err
		}
		if m.Err.Message, v, err = readString(v); err != nil {
			return m, err
		}
	}
	if len(v) != 0 {
		return m, errBadValue
	}
	return m, nil
}

// getRow reads a row's marker; a row nothing was recorded for yet is the zero marker.
func getRow(tx *bolt.Tx, key []byte, what string) (rowRec, error) {
	v := tx.Bucket(bJobRows).Get(key)
	if v == nil {
		return rowRec{}, nil
	}
	m, err := decodeRow(v)
	if err != nil {
		return m, fmt.Errorf("%s: decode stored marker: %w", what, err)
	}
	return m, nil
}

func putRow(tx *bolt.Tx, key []byte, m rowRec, what string) error {
	if err := tx.Bucket(bJobRows).Put(key, m.encode()); err != nil {
		return fmt.Errorf("%s: write: %w", what, err)
	}
	return nil
}
