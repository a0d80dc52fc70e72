package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/credence-oss/credence/shared/domain"
)

func readReport(t *testing.T, b []byte) [][]string {
	t.Helper()
	bom := []byte("\ufeff")
	if !bytes.HasPrefix(b, bom) {
		t.Fatalf("no byte order mark: %q", b)
	}
	recs, err := csv.NewReader(bytes.NewReader(b[len(bom):])).ReadAll()
	if err != nil {
		t.Fatalf("the report is not CSV: %v", err)
	}
	return recs
}

func TestReportEscapesFormulas(t *testing.T) {
	errs := []domain.RowError{
		{Row: 2, Field: "email", Message: "not a valid e-mail address"},
		{Row: 3, Field: "=HYPERLINK(\"http://evil\")", Message: "+cmd|' /C calc'!A0"},
		{Row: 4, Field: "-2+3", Message: "@SUM(A1)"},
		{Row: 5, Field: "\tTAB", Message: "\r=CR"},
		{Row: 6, Field: "  =spaces first", Message: "＝full width"},
		{Row: 0, Field: "", Message: "the file as a whole"},
		{Row: 7, Field: "Name", Message: "line one\nline two, with \"quotes\""},
		{Row: 8, Field: "Ad\xe9le", Message: "a = b is fine inside"},
	}
	var buf bytes.Buffer
	if err := Write(&buf, errs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("\r\n")) {
		t.Fatal("the report does not use CRLF")
	}
	got := readReport(t, buf.Bytes())
	want := [][]string{
		{"row", "column", "reason"},
		{"2", "email", "not a valid e-mail address"},
		{"3", "'=HYPERLINK(\"http://evil\")", "'+cmd|' /C calc'!A0"},
		{"4", "'-2+3", "'@SUM(A1)"},
		{"5", "'\tTAB", "'=CR"}, // encoding/csv's CRLF writer drops a lone CR; the quote stays first
		{"6", "'  =spaces first", "'＝full width"},
		{"", "", "the file as a whole"},
		{"7", "Name", "line one\nline two, with \"quotes\""},
		{"8", "Ad\uFFFDle", "a = b is fine inside"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("report\n got %q\nwant %q", got, want)
	}
}

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"   ":             "   ",
		"plain":           "plain",
		"=1+1":            "'=1+1",
		"+1":              "'+1",
		"-1":              "'-1",
		"@x":              "'@x",
		"\t=1":            "'\t=1",
		"\r=1":            "'\r=1",
		" \u00a0=1":       "' \u00a0=1",
		"＠x":              "'＠x",
		"1=1":             "1=1",
		"mail@example.io": "mail@example.io",
	} {
		if got := SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("é", 5000)
	if got := SafeCell(long); len([]rune(got)) != maxCell+1 || !strings.HasSuffix(got, "…") {
		t.Errorf("a long cell is cut to %d characters", len([]rune(got)))
	}
}

func TestReportEmptyAndStreaming(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if got := readReport(t, buf.Bytes()); !reflect.DeepEqual(got, [][]string{Header}) {
		t.Fatalf("empty report %q", got)
	}
	buf.Reset()
	rw := NewWriter(&buf)
	for i := 2; i < 5; i++ {
		if err := rw.Write(domain.RowError{Row: i, Field: "email", Message: "bad"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := rw.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := readReport(t, buf.Bytes()); len(got) != 4 || got[3][0] != "4" {
		t.Fatalf("report %q", got)
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestReportWriteErrors(t *testing.T) {
	errs := make([]domain.RowError, 5000) // more than the CSV writer buffers
	for i := range errs {
		errs[i] = domain.RowError{Row: i + 2, Field: "email", Message: strings.Repeat("x", 50)}
	}
	for _, n := range []int{0, 1} {
		err := Write(&failingWriter{n: n}, errs)
		if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "writing the error report") {
			t.Fatalf("after %d writes: %v", n, err)
		}
	}
}

// A report read back and written again is the same bytes (the domain rewrites a job's report
// when the job completes), formula cells and file-level lines included.
func TestReadBackAndRewriteIsStable(t *testing.T) {
	errs := []domain.RowError{
		{Message: "the header has a blank column"},
		{Row: 3, Field: "email", Message: "not an address"},
		{Row: 12, Field: "=cmd", Message: "=SUM(A1:A9) is not a result"},
		{Row: 13, Field: "name", Message: "line one\nline two, with \"quotes\""},
	}
	var first, second bytes.Buffer
	if err := (CSV{}).Write(&first, errs); err != nil {
		t.Fatal(err)
	}
	got, err := (CSV{}).Read(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want := append([]domain.RowError(nil), errs...)
	want[2] = domain.RowError{Row: 12, Field: "'=cmd", Message: "'=SUM(A1:A9) is not a result"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v\nwant %+v", got, want)
	}
	if err := Write(&second, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatalf("rewritten report differs:\n%q\n%q", first.Bytes(), second.Bytes())
	}
}

func TestReadRefusesWhatIsNotAReport(t *testing.T) {
	for _, in := range []string{
		"row,column,reason\r\nx,email,bad\r\n", // not a row number
		"row,column,reason\r\n-2,email,bad\r\n",
		"row,column\r\n2,email\r\n", // not three columns
		"row,column,reason\r\n2,email,\"unterminated\r\n",
	} {
		if got, err := Read(strings.NewReader(in)); err == nil {
			t.Errorf("%q read as %+v", in, got)
		}
	}
	if got, err := Read(strings.NewReader("")); err != nil || len(got) != 0 {
		t.Errorf("an empty report: %+v, %v", got, err)
	}
}
