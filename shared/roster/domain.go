package roster

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/credence-oss/credence/shared/domain"
)

// sniffBytes is how much of the file Detect looks at: the magic numbers and enough text to
// tell a CSV from a binary file.
const sniffBytes = 512

// Parser is Parse as a domain.RosterParser, for the wiring (shared/app): it tells the format
// from the file's first bytes and its name (Detect) and maps rows and row errors to their
// domain types. A *FileError comes back unwrapped, so the job's failure message is the one
// written for the uploader.
//
// The domain's parser signature carries no job, so opts.AchievementID (the job's achievement
// for duplicate detection) is whatever the caller fixed here, usually empty: a row naming the
// job's achievement explicitly and one leaving the cell empty are then not recognised as the
// same credential by the parser. The issuing side is idempotent per (job, row) either way.
func Parser(opts Options) domain.RosterParser {
	return func(ctx context.Context, r io.ReaderAt, size int64, filename string,
		emit func(domain.RosterRow) error, reject func(domain.RowError) error) error {
		if size <= 0 {
			return fileErr(CodeEmpty, "the file is empty")
		}
		head := make([]byte, min(size, sniffBytes))
		n, err := r.ReadAt(head, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("roster: reading the start of %s: %w", echo(filename), err)
		}
		format, err := Detect(head[:n], filename)
		if err != nil {
			return err
		}
		_, err = Parse(ctx, r, size, format, opts, func(row Row) error {
			return emit(domain.RosterRow{
				Row: row.Line, Email: row.Email, Name: row.Name,
				ValidFrom: row.ValidFrom, ValidUntil: row.ValidUntil,
				EvidenceURL: row.EvidenceURL, EvidenceNarrative: row.EvidenceNarrative,
				Result: row.Result, AchievementID: row.AchievementID,
			})
		}, func(e RowError) error {
			return reject(domain.RowError{Row: e.Row, Field: e.Column, Message: e.Message})
		})
		return err
	}
}

// The wiring relies on this fitting the domain's port.
var _ domain.RosterParser = Parser(Options{})
