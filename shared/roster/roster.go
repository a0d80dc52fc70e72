// Package roster reads the roster files of bulk issuance (CSV or XLSX, INTERFACES.md "Roster
// files") as a stream and checks every row, so the caller can queue the good rows and report
// the bad ones with their row number, column and reason.
//
// The package is pure: it reads only the io.ReaderAt it is given (XLSX parsing may spill large
// worksheet parts to temporary files, see Options.TempDir) and talks to no service.
//
// Memory stays bounded whatever the number of rows: rows are handed to the caller one at a
// time and nothing is kept per row except the duplicate detector, a map from a 16-byte hash of
// (e-mail, achievement) to the row number, which costs about 2.6 MiB for 100,000 rows
// (measured by TestDuplicateDetectorMemory). XLSX files are held whole in memory by excelize
// (at most MaxBytes), and what one worksheet row can cost is bounded before excelize reads
// it (cells per row, bytes of its XML, bytes of a shared string).
//
// Header names match case-insensitively and ignoring spaces, dashes and underscores
// ("E-Mail", "Valid From"). Unknown columns are ignored with a warning in the Summary, not
// refused: rosters exported from student systems carry extra columns the uploader should not
// have to delete. A missing email or name column, or a column given twice, refuses the file.
package roster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Row is one valid roster row.
type Row struct {
	// Line is the row number a spreadsheet user sees: the header is row 1, the first data row
	// is row 2, and blank rows still take up a number.
	Line int
	// Email is trimmed and lower-cased; Name is trimmed.
	Email, Name string
	// ValidFrom and ValidUntil are nil when the cell is empty; otherwise in UTC.
	ValidFrom, ValidUntil *time.Time
	EvidenceURL           string
	EvidenceNarrative     string
	Result                string
	// AchievementID overrides the job's achievement; empty means the job's. Lower-cased.
	AchievementID string
}

// RowError is one reason a row was rejected. A row may have several.
type RowError struct {
	Row int // as Row.Line; 0 for a problem with the whole file
	// Column is the header name as written in the file; empty when the problem is the row as a
	// whole (for instance a row with more cells than the header).
	Column  string
	Message string
}

func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Message)
	}
	return fmt.Sprintf("row %d, column %s: %s", e.Row, e.Column, e.Message)
}

// Summary counts the rows of a file. Blank rows are not counted; Total == Valid + Rejected.
type Summary struct {
	Total, Valid, Rejected int
	// Warnings are file-level remarks that do not reject anything (unknown columns, ...).
	Warnings []string
}

// Defaults of Options.
const (
	DefaultMaxRows          = 100_000
	DefaultMaxBytes         = 50 << 20
	DefaultMaxRowBytes      = 64 << 10
	DefaultMaxUnzippedBytes = 200 << 20
	// DefaultMaxInMemoryParts bounds the XLSX parts that excelize keeps in memory (styles,
	// small worksheets, images...): everything except worksheets and the shared strings
	// larger than the spill threshold, which go to temporary files.
	DefaultMaxInMemoryParts = 32 << 20
	// xlsxSpillThreshold is excelize's UnzipXMLSizeLimit: worksheets and shared strings larger
	// than this are unpacked to a temporary file and streamed from there, not held in memory.
	xlsxSpillThreshold = 4 << 20
)

// Options tune Parse. The zero value is ready to use.
type Options struct {
	MaxRows  int              // data rows; default 100,000
	MaxBytes int64            // file size; default 50 MiB (the upload limit)
	Now      func() time.Time // for "validUntil in the past"; default time.Now
	// AchievementID is the job's achievement. Rows without an achievementId cell count as
	// this achievement when looking for duplicates, so "a@x.org" with an empty cell and
	// "a@x.org" with the job's id are the same credential.
	AchievementID string
	// MaxRowBytes bounds one row; default 64 KiB. For CSV this is approximate (within a few
	// KiB) because it is enforced on the byte stream under the CSV reader.
	MaxRowBytes int
	// MaxUnzippedBytes bounds the total uncompressed size of an XLSX; default 200 MiB.
	MaxUnzippedBytes int64
	// MaxInMemoryParts bounds the XLSX parts held in memory; default 32 MiB.
	MaxInMemoryParts int64
	// TempDir is where large XLSX worksheets are unpacked; default os.TempDir().
	TempDir string
}

func (o Options) withDefaults() Options {
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxRowBytes <= 0 {
		o.MaxRowBytes = DefaultMaxRowBytes
	}
	if o.MaxUnzippedBytes <= 0 {
		o.MaxUnzippedBytes = DefaultMaxUnzippedBytes
	}
	if o.MaxInMemoryParts <= 0 {
		o.MaxInMemoryParts = DefaultMaxInMemoryParts
	}
	return o
}

// Codes of FileError, stable for API error bodies and tests.
const (
	CodeTooLarge      = "too_large"      // over MaxBytes, MaxRowBytes or the unzip limits
	CodeTooManyRows   = "too_many_rows"  // over MaxRows
	CodeMissingColumn = "missing_column" // email or name missing from the header
	CodeBadHeader     = "bad_header"     // no header, a column twice, header not UTF-8
	CodeEmpty         = "empty"          // no header or no data rows
	CodeEncoding      = "encoding"       // UTF-16 and other encodings that are not UTF-8
	CodeFormat        = "unsupported"    // not CSV or XLSX: .xls, .xlsb, .ods, encrypted, unknown
	CodeMacro         = "macro_enabled"  // .xlsm and friends
	CodeZipBomb       = "zip_bomb"       // compression ratio or entry count out of bounds
	CodeDamaged       = "damaged"        // a broken CSV quote or a broken workbook
	CodeWorkbookError = "workbook_error" // excelize refused the workbook
	CodeInternal      = "internal_error" // never expected; see parseXLSX
)

// FileError refuses (or, for a limit found mid-stream, stops) a whole file. Its message is
// meant for the person who uploaded the file. Parse returns it as is; use errors.As.
type FileError struct {
	Code string
	Msg  string
	Row  int // the row where the problem was found, 0 when it is not about a row
}

func (e *FileError) Error() string {
	if e.Row > 0 {
		return fmt.Sprintf("roster: row %d: %s", e.Row, e.Msg)
	}
	return "roster: " + e.Msg
}

func fileErr(code, format string, args ...any) *FileError {
	return &FileError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Formats returned by Detect and accepted by Parse.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// Parse streams the file, calling emit for each valid row and reject for each reason a row is
// invalid, in file order; it returns when the file is done or emit/reject return an error
// (returned wrapped, so errors.Is finds it). format is "csv" or "xlsx" (use Detect to sniff).
//
// A file over MaxRows is refused before any row is emitted (CSV: a quote-aware pre-scan;
// XLSX: a count of the worksheet's rows); should the pre-scan be fooled the count is still
// enforced while streaming. Problems with the whole file come back as a *FileError, with the
// Summary of what was read so far.
func Parse(ctx context.Context, r io.ReaderAt, size int64, format string, opts Options, emit func(Row) error, reject func(RowError) error) (Summary, error) {
	opts = opts.withDefaults()
	if emit == nil || reject == nil {
		return Summary{}, errors.New("roster: Parse needs emit and reject callbacks")
	}
	if size > opts.MaxBytes {
		return Summary{}, fileErr(CodeTooLarge, "the file is %s; the limit is %s", humanBytes(size), humanBytes(opts.MaxBytes))
	}
	if size <= 0 {
		return Summary{}, fileErr(CodeEmpty, "the file is empty")
	}
	switch format {
	case FormatCSV:
		return parseCSV(ctx, r, size, opts, emit, reject)
	case FormatXLSX:
		return parseXLSX(ctx, r, size, opts, emit, reject)
	}
	return Summary{}, fmt.Errorf("roster: unknown format %q (want %q or %q)", format, FormatCSV, FormatXLSX)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
