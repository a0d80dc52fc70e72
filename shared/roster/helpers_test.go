package roster

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// testNow is fixed so that "validUntil in the past" does not depend on the day the tests run.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type result struct {
	rows []Row
	errs []RowError
	sum  Summary
	err  error
}

func (r result) fileErr(t *testing.T) *FileError {
	t.Helper()
	var fe *FileError
	if !errors.As(r.err, &fe) {
		t.Fatalf("want a *FileError, got %v", r.err)
	}
	return fe
}

func parseBytes(t testing.TB, data []byte, format string, opts Options) result {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	var res result
	res.sum, res.err = Parse(context.Background(), bytes.NewReader(data), int64(len(data)), format, opts,
		func(r Row) error { res.rows = append(res.rows, r); return nil },
		func(e RowError) error { res.errs = append(res.errs, e); return nil })
	return res
}

func parseCSVString(t testing.TB, s string) result {
	t.Helper()
	return parseBytes(t, []byte(s), FormatCSV, Options{})
}

func wantCode(t *testing.T, err error, code string) *FileError {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("want a *FileError %s, got %v", code, err)
	}
	if fe.Code != code {
		t.Fatalf("want code %s, got %s (%s)", code, fe.Code, fe.Msg)
	}
	return fe
}

func lines(rows []Row) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = r.Line
	}
	return out
}

// makeXLSX builds a workbook whose first sheet holds cells, row by row from A1; a nil cell is
// left empty, a time.Time becomes an Excel date cell.
func makeXLSX(t testing.TB, cells [][]any, edit func(f *excelize.File)) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for r, row := range cells {
		for c, v := range row {
			if v == nil {
				continue
			}
			name, err := excelize.CoordinatesToCellName(c+1, r+1)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.SetCellValue("Sheet1", name, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if edit != nil {
		edit(f)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func csvRows(header string, rows ...string) string {
	return strings.Join(append([]string{header}, rows...), "\n") + "\n"
}
