package roster

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"hash/crc32"
	"io"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// rezip copies a zip archive, replacing the parts named in replace (nil drops the part) and
// appending the parts of add.
func rezip(t testing.TB, data []byte, replace map[string][]byte, add map[string][]byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	write := func(name string, body []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range zr.File {
		body, ok := replace[f.Name]
		if !ok {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			body, err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
		} else if body == nil {
			continue
		}
		write(f.Name, body)
	}
	for name, body := range add {
		write(name, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func partOf(t testing.TB, data []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestXLSXGoodFileWithDateCells(t *testing.T) {
	from := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	until := time.Date(2027, 6, 30, 9, 30, 0, 0, time.UTC)
	data := makeXLSX(t, [][]any{
		{"Email", "Name", "validFrom", "validUntil", "Result", "Student no."},
		{"Ada@Example.org", "Ada Lovelace", from, until, 1.5, 12345},
		{"bob@example.org", "Bob", "2026-02-01", "2027-01-01T00:00:00Z", nil, nil},
		{"not-an-address", "Carol", nil, nil, nil, nil},
		{"dan@example.org", "Dan", "yesterday", nil, nil, nil},
	}, nil)
	res := parseBytes(t, data, FormatXLSX, Options{})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if len(res.rows) != 2 {
		t.Fatalf("rows %+v rejects %+v", res.rows, res.errs)
	}
	a := res.rows[0]
	if a.Line != 2 || a.Email != "ada@example.org" || a.Name != "Ada Lovelace" || a.Result != "1.5" {
		t.Fatalf("row %+v", a)
	}
	if a.ValidFrom == nil || !a.ValidFrom.Equal(from) || a.ValidUntil == nil || !a.ValidUntil.Equal(until) {
		t.Fatalf("dates from a date cell: %v, %v; want %v, %v", a.ValidFrom, a.ValidUntil, from, until)
	}
	b := res.rows[1]
	if b.Line != 3 || b.ValidFrom == nil || !b.ValidFrom.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("row %+v", b)
	}
	want := []RowError{
		{Row: 4, Column: "Email", Message: `not a valid e-mail address: "not-an-address" (no @)`},
		{Row: 5, Column: "validFrom", Message: `not a date: "yesterday"; ` + dateHint},
	}
	if !reflect.DeepEqual(res.errs, want) {
		t.Fatalf("rejects\n got %+v\nwant %+v", res.errs, want)
	}
	if len(res.sum.Warnings) != 1 || !strings.Contains(res.sum.Warnings[0], "Student no.") {
		t.Fatalf("warnings %q", res.sum.Warnings)
	}
}

// A workbook saved with the 1904 date system (old Mac Excel) stores other serials for the
// same dates.
func TestXLSXDate1904(t *testing.T) {
	day := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	serial1904 := day.Sub(time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24
	data := makeXLSX(t, [][]any{{"email", "name", "validFrom"}, {"a@example.org", "A", serial1904}}, func(f *excelize.File) {
		date1904 := true
		if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &date1904}); err != nil {
			t.Fatal(err)
		}
	})
	res := parseBytes(t, data, FormatXLSX, Options{})
	if res.err != nil || len(res.rows) != 1 || res.rows[0].ValidFrom == nil || !res.rows[0].ValidFrom.Equal(day) {
		t.Fatalf("err %v rows %+v rejects %+v", res.err, res.rows, res.errs)
	}
}

func TestExcelSerial(t *testing.T) {
	cases := []struct {
		f    float64
		want time.Time
		ok   bool
	}{
		{1, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{59, time.Date(1900, 2, 28, 0, 0, 0, 0, time.UTC), true},
		{60, time.Time{}, false}, // Lotus's 29 February 1900
		{61, time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC), true},
		{46053.5, time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC), true},
		{0, time.Time{}, false},
		{-1, time.Time{}, false},
		{3e6, time.Time{}, false},
	}
	for _, c := range cases {
		got, ok := excelSerial(c.f, false)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("excelSerial(%v) = %v, %v; want %v, %v", c.f, got, ok, c.want, c.ok)
		}
	}
}

// Leading empty rows are skipped to the header, and every row keeps the number Excel shows.
func TestXLSXRowNumbers(t *testing.T) {
	data := makeXLSX(t, [][]any{
		nil,
		{nil, nil},
		{"email", "name"},      // row 3
		{"a@example.org", "A"}, // 4
		nil,                    // 5
		{"bad", "B"},           // 6
		nil, nil,               // 7, 8
		{"c@example.org", "C"}, // 9
	}, nil)
	res := parseBytes(t, data, FormatXLSX, Options{})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got := lines(res.rows); !reflect.DeepEqual(got, []int{4, 9}) {
		t.Fatalf("valid rows %v", got)
	}
	if len(res.errs) != 1 || res.errs[0].Row != 6 {
		t.Fatalf("rejects %+v", res.errs)
	}
}

func TestXLSXFileErrors(t *testing.T) {
	good := makeXLSX(t, [][]any{{"email", "name"}, {"a@example.org", "A"}}, nil)
	ct := string(partOf(t, good, "[Content_Types].xml"))
	cases := []struct {
		name string
		data []byte
		code string
	}{
		{"header only", makeXLSX(t, [][]any{{"email", "name"}}, nil), CodeEmpty},
		{"empty sheet", makeXLSX(t, nil, nil), CodeEmpty},
		{"missing column", makeXLSX(t, [][]any{{"email", "full name"}, {"a@example.org", "A"}}, nil), CodeMissingColumn},
		{"macro part", rezip(t, good, nil, map[string][]byte{"xl/vbaProject.bin": []byte("VBA")}), CodeMacro},
		{"macro part elsewhere, odd case", rezip(t, good, nil, map[string][]byte{"xl/sub/VBAProject.BIN": []byte("VBA")}), CodeMacro},
		{"macro-enabled content type", rezip(t, good, map[string][]byte{"[Content_Types].xml": []byte(strings.Replace(ct,
			"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "application/vnd.ms-excel.sheet.macroEnabled.main+xml", 1))}, nil), CodeMacro},
		{"binary workbook content type", rezip(t, good, map[string][]byte{"[Content_Types].xml": []byte(strings.Replace(ct,
			"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "application/vnd.ms-excel.sheet.binary.main", 1))}, nil), CodeFormat},
		{"word document", rezip(t, good, map[string][]byte{"[Content_Types].xml": []byte(strings.Replace(ct,
			"spreadsheetml.sheet.main+xml", "wordprocessingml.document.main+xml", 1))}, nil), CodeFormat},
		{"no content types", rezip(t, good, map[string][]byte{"[Content_Types].xml": nil}, nil), CodeFormat},
		{"no worksheet part", rezip(t, good, map[string][]byte{"xl/worksheets/sheet1.xml": nil}, nil), CodeDamaged},
		{"workbook not XML", rezip(t, good, map[string][]byte{"xl/workbook.xml": []byte("<workbook><sheets>")}, nil), CodeDamaged},
		{"too many parts", rezip(t, good, nil, manyParts(maxZipEntries)), CodeZipBomb},
		{"truncated zip", good[:len(good)/2], CodeDamaged},
		{"not a zip", []byte("email,name\na@example.org,A\n"), CodeFormat},
		{"legacy xls", append(append([]byte{}, oleMagic...), make([]byte, 600)...), CodeFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := parseBytes(t, c.data, FormatXLSX, Options{})
			wantCode(t, res.err, c.code)
			if len(res.rows) != 0 {
				t.Fatalf("%d rows handed out for a refused file", len(res.rows))
			}
		})
	}
}

func manyParts(n int) map[string][]byte {
	m := make(map[string][]byte, n)
	for i := range n {
		m["customXml/item"+strconv.Itoa(i)+".xml"] = nil
	}
	return m
}

func TestXLSXLimits(t *testing.T) {
	t.Run("too many rows is refused before any row", func(t *testing.T) {
		data := makeXLSX(t, [][]any{{"email", "name"}, {"a@example.org", "A"}, {"b@example.org", "B"}, {"c@example.org", "C"}}, nil)
		res := parseBytes(t, data, FormatXLSX, Options{MaxRows: 2})
		wantCode(t, res.err, CodeTooManyRows)
		if len(res.rows) != 0 {
			t.Fatal("rows handed out")
		}
		if res := parseBytes(t, data, FormatXLSX, Options{MaxRows: 3}); res.err != nil || len(res.rows) != 3 {
			t.Fatalf("exactly MaxRows: %v, %d rows", res.err, len(res.rows))
		}
	})
	t.Run("long row", func(t *testing.T) {
		data := makeXLSX(t, [][]any{{"email", "name", "evidenceNarrative"}, {"a@example.org", "A", strings.Repeat("n", 3000)}, {"b@example.org", "B"}}, nil)
		res := parseBytes(t, data, FormatXLSX, Options{MaxRowBytes: 1000})
		if res.err != nil || len(res.errs) != 1 || res.errs[0].Row != 2 || !strings.Contains(res.errs[0].Message, "longer than") || len(res.rows) != 1 {
			t.Fatalf("err %v rejects %+v rows %+v", res.err, res.errs, res.rows)
		}
	})
	t.Run("unpacked size", func(t *testing.T) {
		data := makeXLSX(t, [][]any{{"email", "name"}, {"a@example.org", "A"}}, nil)
		wantCode(t, parseBytes(t, data, FormatXLSX, Options{MaxUnzippedBytes: 1000}).err, CodeZipBomb)
	})
	t.Run("damaged sheet", func(t *testing.T) {
		data := makeXLSX(t, [][]any{{"email", "name"}, {"a@example.org", "A"}, {"b@example.org", "B"}, {"c@example.org", "C"}}, nil)
		sheet := string(partOf(t, data, "xl/worksheets/sheet1.xml"))
		i := strings.Index(sheet, `<row r="3"`)
		if i < 0 {
			t.Fatalf("no row 3 in %s", sheet)
		}
		broken := sheet[:i] + `<row r="3"><c r="A3" t="inlineStr"><is><t>b@example.org</is></c></row>` + sheet[strings.Index(sheet, `<row r="4"`):]
		res := parseBytes(t, rezip(t, data, map[string][]byte{"xl/worksheets/sheet1.xml": []byte(broken)}, nil), FormatXLSX, Options{})
		if res.err == nil {
			t.Fatalf("a damaged sheet was read to the end: rows %+v", res.rows)
		}
		if got := lines(res.rows); !reflect.DeepEqual(got, []int{2}) {
			t.Fatalf("rows before the damage %v", got)
		}
	})
}

// deflated returns n bytes of pad, deflated; pad compresses about 1,000 times.
func deflated(t testing.TB, n int, pad byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{pad}, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		if _, err := w.Write(chunk[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bombXLSX replaces the first worksheet of a good workbook by a part whose deflated body is
// raw and whose central directory entry claims uncompressed bytes.
func bombXLSX(t testing.TB, raw []byte, crc uint32, uncompressed uint64) []byte {
	t.Helper()
	good := makeXLSX(t, [][]any{{"email", "name"}, {"a@example.org", "A"}}, nil)
	zr, err := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if f.Name == "xl/worksheets/sheet1.xml" {
			w, err := zw.CreateRaw(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, CRC32: crc,
				CompressedSize64: uint64(len(raw)), UncompressedSize64: uncompressed})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(raw); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// allocDuring reports the bytes allocated while fn runs (the tests of this package do not
// run in parallel, so the count is this test's).
func allocDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestXLSXZipBombs(t *testing.T) {
	const size = 32 << 20
	body := deflated(t, size, ' ')
	spaces := crc32.NewIEEE()
	chunk := bytes.Repeat([]byte{' '}, 1<<20)
	for range size >> 20 {
		spaces.Write(chunk)
	}
	cases := []struct {
		name         string
		uncompressed uint64
		code         string
	}{
		// 32 MiB of whitespace in 32 KiB: the ratio gives it away.
		{"honest sizes", size, CodeZipBomb},
		// A central directory that claims 4 GiB for the same bytes: over the unpacked limit.
		{"claims 4 GiB", 4 << 30, CodeZipBomb},
		// One that claims 1 KiB: archive/zip stops reading at the claimed size.
		{"understated size", 1 << 10, CodeDamaged},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := bombXLSX(t, body, spaces.Sum32(), c.uncompressed)
			var res result
			alloc := allocDuring(func() { res = parseBytes(t, data, FormatXLSX, Options{}) })
			wantCode(t, res.err, c.code)
			// Refused from the zip directory or the first KiB of the part: nothing near the
			// 32 MiB the part unpacks to is ever allocated.
			if alloc > 4<<20 {
				t.Fatalf("refusing the bomb allocated %d bytes", alloc)
			}
		})
	}
}

func TestParserDetectsTheFormat(t *testing.T) {
	xlsx := makeXLSX(t, [][]any{{"email", "name"}, {"a@example.org", "A"}}, nil)
	csv := []byte("email,name\na@example.org,A\n")
	cases := []struct {
		name, filename string
		data           []byte
		code           string // "" for success
	}{
		{"csv", "roster.csv", csv, ""},
		{"xlsx", "roster.xlsx", xlsx, ""},
		{"xlsx named csv is read as xlsx", "roster.csv", xlsx, ""},
		{"text named xlsx", "roster.xlsx", csv, CodeFormat},
		{"macro-enabled name", "roster.xlsm", xlsx, CodeMacro},
		{"legacy xls", "roster.xls", append(append([]byte{}, oleMagic...), make([]byte, 100)...), CodeFormat},
		{"ods", "roster.ods", append([]byte("PK\x03\x04"+strings.Repeat("\x00", 26)+"mimetype"), "application/vnd.oasis.opendocument.spreadsheet"...), CodeFormat},
		{"binary", "roster.csv", []byte("\x01\x02\x03binary"), CodeFormat},
		{"empty", "roster.csv", nil, CodeEmpty},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rows int
			err := Parser(Options{})(context.Background(), bytes.NewReader(c.data), int64(len(c.data)), c.filename,
				func(r domainRow) error { rows++; return nil }, func(domainRowError) error { return nil })
			if c.code == "" {
				if err != nil || rows != 1 {
					t.Fatalf("err %v, %d rows", err, rows)
				}
				return
			}
			wantCode(t, err, c.code)
		})
	}
}

// What excelize would allocate for one row is bounded before it reads any: the number of
// cells, the XML of the row and the size of a shared string (copied for every cell using it).
func TestXLSXRowCostLimits(t *testing.T) {
	t.Run("too many cells", func(t *testing.T) {
		wide := make([]any, maxRowCells+1)
		for i := range wide {
			wide[i] = "x"
		}
		data := makeXLSX(t, [][]any{{"email", "name"}, {"a@example.org", "A"}, wide}, nil)
		fe := wantCode(t, parseBytes(t, data, FormatXLSX, Options{}).err, CodeTooLarge)
		if fe.Row != 3 {
			t.Fatalf("error %+v", fe)
		}
	})
	t.Run("huge shared string", func(t *testing.T) {
		// excelize cuts cell text to Excel's 32,767 characters, so the part is written here.
		data := makeXLSX(t, [][]any{{"email", "name", "evidenceNarrative"}, {"a@example.org", "A", "short"}}, nil)
		sst := string(partOf(t, data, "xl/sharedStrings.xml"))
		if !strings.Contains(sst, "<t>short</t>") {
			t.Fatalf("excelize no longer writes shared strings: %s", sst)
		}
		sst = strings.Replace(sst, "<t>short</t>", "<t>"+strings.Repeat("n", 200<<10)+"</t>", 1)
		data = rezip(t, data, map[string][]byte{"xl/sharedStrings.xml": []byte(sst)}, nil)
		fe := wantCode(t, parseBytes(t, data, FormatXLSX, Options{}).err, CodeTooLarge)
		if !strings.Contains(fe.Msg, "a text in the workbook") {
			t.Fatalf("error %+v", fe)
		}
	})
	t.Run("huge inline row", func(t *testing.T) {
		data := makeXLSX(t, [][]any{{"email", "name"}, {"a@example.org", "A"}, {"b@example.org", "B"}}, nil)
		sheet := string(partOf(t, data, "xl/worksheets/sheet1.xml"))
		i := strings.Index(sheet, `<row r="3"`)
		big := `<row r="3"><c r="A3" t="inlineStr"><is><t>` + strings.Repeat("n", 300<<10) + `</t></is></c></row>`
		sheet = sheet[:i] + big + sheet[strings.Index(sheet[i:], "</row>")+i+len("</row>"):]
		res := parseBytes(t, rezip(t, data, map[string][]byte{"xl/worksheets/sheet1.xml": []byte(sheet)}, nil), FormatXLSX, Options{})
		fe := wantCode(t, res.err, CodeTooLarge)
		if fe.Row != 3 || len(res.rows) != 0 {
			t.Fatalf("error %+v, %d rows", fe, len(res.rows))
		}
	})
	t.Run("a real roster with a long narrative passes", func(t *testing.T) {
		data := makeXLSX(t, [][]any{{"email", "name", "evidenceNarrative"}, {"a@example.org", "A", strings.Repeat("né ", 3000)}}, nil)
		res := parseBytes(t, data, FormatXLSX, Options{})
		if res.err != nil || len(res.rows) != 1 {
			t.Fatalf("err %v rows %d rejects %+v", res.err, len(res.rows), res.errs)
		}
	})
}

func TestScanXML(t *testing.T) {
	sheet := `<worksheet><sheetData><row r="1"><c r="A1"/><c r="B1"/></row><x:row r="4" spans="1:3">` +
		`<x:c/><x:c/><x:c/></x:row><row/><row r="9"/></sheetData></worksheet>`
	s, err := scanXML(strings.NewReader(sheet), "row", "c")
	if err != nil {
		t.Fatal(err)
	}
	if s.count != 4 || s.last != 9 || s.maxChildren != 3 || s.maxChildrenAt != 4 {
		t.Fatalf("%+v", s)
	}
	if want := len(`<x:row r="4" spans="1:3"><x:c/><x:c/><x:c/></x:row>`); s.maxBytes != want || s.maxBytesAt != 4 {
		t.Fatalf("largest row %d bytes at %d, want %d at 4", s.maxBytes, s.maxBytesAt, want)
	}
}
