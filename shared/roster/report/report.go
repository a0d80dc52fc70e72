// Package report writes a roster job's row-level error report: CSV that is safe to open in a
// spreadsheet. It is apart from package roster so that the workers which only rewrite a report
// (issue, mail) do not link the roster parsers and their XLSX library.
package report

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/credence-oss/credence/shared/domain"
)

// Header is the first row of the error report.
var Header = []string{"row", "column", "reason"}

// maxCell bounds a report cell; the parser's messages already quote at most a few dozen
// characters of user input, this also bounds what a caller puts in a RowError.
const maxCell = 1000

// Writer writes the row-level error report as CSV (RFC 4180, CRLF): a UTF-8 byte order mark
// so that Excel reads it as UTF-8, the header row,column,reason, then one line per RowError.
// A RowError with Row 0 (a file-level problem) has an empty row cell. Every cell is made safe
// to open in a spreadsheet: one that a spreadsheet would take for a formula gets a leading
// single quote.
type Writer struct {
	w       io.Writer
	cw      *csv.Writer
	started bool
}

// NewWriter streams a report to w; call Flush at the end.
func NewWriter(w io.Writer) *Writer {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &Writer{w: w, cw: cw}
}

func (rw *Writer) start() error {
	if rw.started {
		return nil
	}
	rw.started = true
	if _, err := io.WriteString(rw.w, "\ufeff"); err != nil {
		return fmt.Errorf("writing the error report: %w", err)
	}
	if err := rw.cw.Write(Header); err != nil {
		return fmt.Errorf("writing the error report: %w", err)
	}
	return nil
}

// Write adds one line.
func (rw *Writer) Write(e domain.RowError) error {
	if err := rw.start(); err != nil {
		return err
	}
	row := ""
	if e.Row > 0 {
		row = strconv.Itoa(e.Row)
	}
	if err := rw.cw.Write([]string{row, SafeCell(e.Field), SafeCell(e.Message)}); err != nil {
		return fmt.Errorf("writing the error report: %w", err)
	}
	return nil
}

// Flush writes what is buffered (and the header, for a report without lines).
func (rw *Writer) Flush() error {
	if err := rw.start(); err != nil {
		return err
	}
	rw.cw.Flush()
	if err := rw.cw.Error(); err != nil {
		return fmt.Errorf("writing the error report: %w", err)
	}
	return nil
}

// CSV is the report format for the domain (domain.ReportFormat): Write and Read.
type CSV struct{}

func (CSV) Write(w io.Writer, errs []domain.RowError) error { return Write(w, errs) }
func (CSV) Read(r io.Reader) ([]domain.RowError, error)     { return Read(r) }

var _ domain.ReportFormat = CSV{}

// Write writes errs as a report.
func Write(w io.Writer, errs []domain.RowError) error {
	rw := NewWriter(w)
	for _, e := range errs {
		if err := rw.Write(e); err != nil {
			return err
		}
	}
	return rw.Flush()
}

// SafeCell makes text safe for a spreadsheet cell: invalid UTF-8 is replaced, the text is cut
// to 1,000 characters, and text that a spreadsheet would evaluate as a formula (it starts,
// possibly after spaces, with = + - @, their full-width forms, or a tab or carriage return) is
// prefixed with a single quote, which spreadsheets treat as "this is text".
func SafeCell(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) > maxCell {
		n := 0
		for i := range s {
			if n == maxCell {
				s = s[:i] + "…"
				break
			}
			n++
		}
	}
	if s == "" {
		return s
	}
	if s[0] == '\t' || s[0] == '\r' {
		return "'" + s
	}
	first := strings.TrimLeftFunc(s, unicode.IsSpace)
	if first == "" {
		return s
	}
	switch r, _ := utf8.DecodeRuneInString(first); r {
	case '=', '+', '-', '@', '＝', '＋', '－', '＠':
		return "'" + s
	}
	return s
}

// Read reads a report back: an optional UTF-8 byte order mark, a header row, then
// row,column,reason lines (an empty row cell is a file-level error, row 0). Cells come back as
// they were written, made safe: Write leaves such a cell as it is, so rewriting a report read
// back writes the same bytes.
func Read(r io.Reader) ([]domain.RowError, error) {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = 3
	if _, err := cr.Read(); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("header: %w", err)
	}
	var out []domain.RowError
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		e := domain.RowError{Field: rec[1], Message: rec[2]}
		if rec[0] != "" {
			if e.Row, err = strconv.Atoi(rec[0]); err != nil || e.Row < 1 {
				line, _ := cr.FieldPos(0)
				return nil, fmt.Errorf("line %d: %q is not a row number", line, rec[0])
			}
		}
		out = append(out, e)
	}
}
