package roster

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ReportHeader is the first row of the error report.
var ReportHeader = []string{"row", "column", "reason"}

// maxReportCell bounds a report cell; messages already quote at most maxEcho characters of
// user input, this also bounds what a caller puts in a RowError.
const maxReportCell = 1000

// ReportWriter writes the row-level error report as CSV (RFC 4180, CRLF): a UTF-8 byte order
// mark so that Excel reads it as UTF-8, the header row,column,reason, then one line per
// RowError. A RowError with Row 0 (a file-level problem) has an empty row cell. Every cell is
// made safe to open in a spreadsheet: one that a spreadsheet would take for a formula gets a
// leading single quote.
type ReportWriter struct {
	w       io.Writer
	cw      *csv.Writer
	started bool
}

// NewReportWriter streams a report to w; call Flush at the end.
func NewReportWriter(w io.Writer) *ReportWriter {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &ReportWriter{w: w, cw: cw}
}

func (rw *ReportWriter) start() error {
	if rw.started {
		return nil
	}
	rw.started = true
	if _, err := io.WriteString(rw.w, "\ufeff"); err != nil {
		return fmt.Errorf("roster: writing the report: %w", err)
	}
	if err := rw.cw.Write(ReportHeader); err != nil {
		return fmt.Errorf("roster: writing the report: %w", err)
	}
	return nil
}

// Write adds one line.
func (rw *ReportWriter) Write(e RowError) error {
	if err := rw.start(); err != nil {
		return err
	}
	row := ""
	if e.Row > 0 {
		row = strconv.Itoa(e.Row)
	}
	if err := rw.cw.Write([]string{row, SafeCell(e.Column), SafeCell(e.Message)}); err != nil {
		return fmt.Errorf("roster: writing the report: %w", err)
	}
	return nil
}

// Flush writes what is buffered (and the header, for a report without lines).
func (rw *ReportWriter) Flush() error {
	if err := rw.start(); err != nil {
		return err
	}
	rw.cw.Flush()
	if err := rw.cw.Error(); err != nil {
		return fmt.Errorf("roster: writing the report: %w", err)
	}
	return nil
}

// WriteReport writes errs as a CSV report: row,column,reason; safe to open in a spreadsheet.
func WriteReport(w io.Writer, errs []RowError) error {
	rw := NewReportWriter(w)
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
	if utf8.RuneCountInString(s) > maxReportCell {
		n := 0
		for i := range s {
			if n == maxReportCell {
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
