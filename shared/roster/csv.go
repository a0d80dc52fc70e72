package roster

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func parseCSV(ctx context.Context, r io.ReaderAt, size int64, opts Options, emit func(Row) error, reject func(RowError) error) (Summary, error) {
	head := make([]byte, min(size, 4))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return Summary{}, fmt.Errorf("roster: reading the file: %w", err)
	}
	if err := checkTextEncoding(head); err != nil {
		return Summary{}, err
	}
	start := int64(0)
	if bytes.HasPrefix(head, utf8BOM) {
		start = int64(len(utf8BOM))
	}
	body := func() io.Reader { return io.NewSectionReader(r, start, size-start) }

	sep, err := detectSeparator(body(), opts.MaxRowBytes)
	if err != nil {
		return Summary{}, err
	}
	if err := prescanCSV(body(), sep, opts); err != nil {
		return Summary{}, err
	}

	lim := &rowLimitReader{r: body(), limit: int64(opts.MaxRowBytes) + csvReadAhead}
	cr := csv.NewReader(lim)
	cr.Comma = rune(sep)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.ReuseRecord = true

	// A spreadsheet shows every line outside quotes as a row, empty ones included, while
	// encoding/csv skips empty lines and counts the lines inside quoted cells: rows are
	// numbered from the lines csv reports, minus the line breaks inside cells.
	var p *processor
	prevRow, prevEnd := 0, 0
	for {
		lim.reset()
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, errRowTooLong) {
			return summaryOf(p), &FileError{Code: CodeTooLarge, Row: prevRow + 1, Msg: fmt.Sprintf(
				"the row is longer than %s; is a closing quote missing?", humanBytes(int64(opts.MaxRowBytes)))}
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			row := prevRow + pe.StartLine - prevEnd
			prevRow, prevEnd = row, pe.Line
			if p == nil {
				return Summary{}, &FileError{Code: CodeBadHeader, Row: row, Msg: "the header row cannot be read: " + quoteProblem(pe.Err)}
			}
			if err := p.rejectRow(row, quoteProblem(pe.Err)); err != nil {
				return p.done(), err
			}
			continue
		}
		if err != nil {
			return summaryOf(p), fmt.Errorf("roster: reading the CSV: %w", err)
		}
		startLine, _ := cr.FieldPos(0)
		lastLine, _ := cr.FieldPos(len(rec) - 1)
		row := prevRow + startLine - prevEnd
		prevRow, prevEnd = row, lastLine+strings.Count(rec[len(rec)-1], "\n")

		if p == nil {
			h, warnings, err := parseHeader(rec, row)
			if err != nil {
				return Summary{}, err
			}
			p = newProcessor(ctx, opts, h, warnings, emit, reject)
			p.sepName = map[byte]string{',': "comma", ';': "semicolon"}[sep]
			continue
		}
		if err := p.process(row, rec); err != nil {
			return p.done(), err
		}
	}
	if p == nil {
		return Summary{}, fileErr(CodeEmpty, "the file has no header row")
	}
	if p.sum.Total == 0 {
		return p.done(), &FileError{Code: CodeEmpty, Msg: "the file has a header row but no data rows"}
	}
	return p.done(), nil
}

func summaryOf(p *processor) Summary {
	if p == nil {
		return Summary{}
	}
	return p.done()
}

func quoteProblem(err error) string {
	switch {
	case errors.Is(err, csv.ErrBareQuote):
		return "a double quote inside a cell that does not start with one; put the cell in double quotes and double every quote inside it"
	case errors.Is(err, csv.ErrQuote):
		return "text after the closing double quote of a cell; double every quote inside a quoted cell"
	}
	return "the row cannot be read as CSV: " + err.Error()
}

// checkTextEncoding refuses the encodings Excel offers besides UTF-8 that are recognisable
// from their first bytes. Single-byte code pages (Windows-1252...) are not: they show up as
// rows whose text is not UTF-8.
func checkTextEncoding(head []byte) error {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return fileErr(CodeEncoding, "the file is UTF-16 (Excel's \"Unicode Text\"); save it as \"CSV UTF-8\" or .xlsx")
	case bytes.IndexByte(head, 0) >= 0:
		return fileErr(CodeEncoding, "the file contains NUL bytes: it is not a UTF-8 CSV (UTF-16 without a byte order mark, or a binary file)")
	}
	return nil
}

// detectSeparator reads the header line and picks the separator it uses more of, comma or
// semicolon (Excel writes semicolons where the decimal separator is a comma).
func detectSeparator(r io.Reader, maxRow int) (byte, error) {
	buf := make([]byte, 4096)
	commas, semis, seen := 0, 0, 0
	inQuotes, started := false, false
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			seen++
			switch {
			case c == '"':
				inQuotes = !inQuotes
			case inQuotes:
			case c == '\n' && started:
				return pick(commas, semis), nil
			case c == ',':
				commas++
			case c == ';':
				semis++
			}
			if c != '\n' && c != '\r' {
				started = true // empty lines before the header do not end it
			}
			if seen > maxRow && !started {
				return 0, fileErr(CodeEmpty, "the file has no header row")
			}
			if seen > maxRow+4096 {
				return 0, fileErr(CodeTooLarge, "the header row is longer than %s", humanBytes(int64(maxRow)))
			}
		}
		if errors.Is(err, io.EOF) {
			return pick(commas, semis), nil
		}
		if err != nil {
			return 0, fmt.Errorf("roster: reading the file: %w", err)
		}
	}
}

func pick(commas, semis int) byte {
	if semis > commas {
		return ';'
	}
	return ','
}

// prescanCSV walks the file once before any row is handed out, following encoding/csv's
// quoting rules, to refuse up front a file with more than MaxRows data rows, a row longer
// than MaxRowBytes, or a quoted cell that is never closed (which would swallow every later
// row). It costs a byte loop over the file, a few milliseconds for 10 MB.
func prescanCSV(r io.Reader, sep byte, opts Options) error {
	const (
		fieldStart = iota // at the start of a field: a quote opens a quoted field
		unquoted
		quoted
		quoteInQuoted // a quote in a quoted field: closes it unless another quote follows
	)
	var (
		buf                                 = make([]byte, 64<<10)
		state                               = fieldStart
		row, recBytes, nonBlank, quotedFrom = 1, 0, 0, 0
		content                             = false
	)
	endRecord := func() error {
		if content {
			nonBlank++
			if nonBlank-1 > opts.MaxRows { // the first non-blank record is the header
				return &FileError{Code: CodeTooManyRows, Row: row, Msg: fmt.Sprintf("the roster has more than %d rows; split it into smaller files", opts.MaxRows)}
			}
		}
		row++
		recBytes, content, state = 0, false, fieldStart
		return nil
	}
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			recBytes++
			if recBytes > opts.MaxRowBytes {
				return &FileError{Code: CodeTooLarge, Row: row, Msg: fmt.Sprintf("the row is longer than %s; is a closing quote missing?", humanBytes(int64(opts.MaxRowBytes)))}
			}
			if state == quoteInQuoted {
				if c == '"' {
					state, content = quoted, true
					continue
				}
				state = unquoted // csv rejects text after the closing quote; the row ends as usual
			}
			if state == quoted {
				switch c {
				case '"':
					state = quoteInQuoted
				case ' ', '\t', '\r', '\n':
				default:
					content = true
				}
				continue
			}
			switch c {
			case '\n':
				if err := endRecord(); err != nil {
					return err
				}
			case sep:
				state = fieldStart
			case '"':
				if state == fieldStart {
					state, quotedFrom = quoted, row
				} else {
					content = true
				}
			case ' ', '\t', '\r':
				state = unquoted
			default:
				state, content = unquoted, true
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("roster: reading the file: %w", err)
		}
	}
	if state == quoted {
		return &FileError{Code: CodeDamaged, Row: quotedFrom, Msg: "a cell opens a double quote that is never closed, so the rest of the file cannot be read; close the quote"}
	}
	if recBytes > 0 {
		return endRecord()
	}
	return nil
}

// csvReadAhead is the buffer encoding/csv reads ahead with (bufio's default): the byte count
// under the reader overshoots the row by at most this much.
const csvReadAhead = 4096

var errRowTooLong = errors.New("row too long")

// rowLimitReader bounds the bytes encoding/csv may pull for one record, so a hostile file
// the pre-scan misjudged still cannot make it buffer more than about MaxRowBytes.
type rowLimitReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (l *rowLimitReader) reset() { l.n = 0 }

func (l *rowLimitReader) Read(b []byte) (int, error) {
	if l.n > l.limit {
		return 0, errRowTooLong
	}
	n, err := l.r.Read(b)
	l.n += int64(n)
	return n, err
}
