package roster

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCSVGoodFile(t *testing.T) {
	in := csvRows("email,name,validFrom,validUntil,evidenceUrl,evidenceNarrative,result,achievementId",
		"Ada@Example.org, Ada Lovelace ,2026-01-31,2027-01-31T09:00:00+01:00,https://example.org/e/1,Built the engine,A+,ACH1",
		"bob@example.org,Bob,,,,,,",
	)
	res := parseCSVString(t, in)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if len(res.errs) != 0 {
		t.Fatalf("unexpected rejects: %v", res.errs)
	}
	from := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	until := time.Date(2027, 1, 31, 8, 0, 0, 0, time.UTC)
	want := []Row{
		{Line: 2, Email: "ada@example.org", Name: "Ada Lovelace", ValidFrom: &from, ValidUntil: &until,
			EvidenceURL: "https://example.org/e/1", EvidenceNarrative: "Built the engine", Result: "A+", AchievementID: "ach1"},
		{Line: 3, Email: "bob@example.org", Name: "Bob"},
	}
	if !reflect.DeepEqual(res.rows, want) {
		t.Fatalf("rows:\n got %+v\nwant %+v", res.rows, want)
	}
	if res.sum.Total != 2 || res.sum.Valid != 2 || res.sum.Rejected != 0 || len(res.sum.Warnings) != 0 {
		t.Fatalf("summary %+v", res.sum)
	}
}

// Excel's "CSV UTF-8" on a machine whose decimal separator is a comma: BOM, semicolons, CRLF.
func TestCSVBOMSemicolonCRLF(t *testing.T) {
	in := "\ufeffEmail;Name;Result\r\na@example.org;\"Lovelace, Ada\";1,5\r\nb@example.org;Bob;2\r\n"
	res := parseCSVString(t, in)
	if res.err != nil || len(res.errs) != 0 {
		t.Fatalf("err %v, rejects %v", res.err, res.errs)
	}
	if len(res.rows) != 2 || res.rows[0].Name != "Lovelace, Ada" || res.rows[0].Result != "1,5" || res.rows[1].Line != 3 {
		t.Fatalf("rows %+v", res.rows)
	}
}

func TestCSVNoTrailingNewline(t *testing.T) {
	res := parseCSVString(t, "email,name\na@example.org,Ada")
	if res.err != nil || len(res.rows) != 1 || res.rows[0].Name != "Ada" {
		t.Fatalf("err %v rows %+v", res.err, res.rows)
	}
}

// Row numbers are what a spreadsheet shows: a quoted cell spanning lines is one row, and a
// blank line is a row of its own.
func TestCSVRowNumbersWithMultilineCellsAndBlankLines(t *testing.T) {
	in := "email,name,evidenceNarrative\r\n" +
		"a@example.org,Ada,\"line one\r\nline two\r\nline three\"\r\n" + // row 2
		"\r\n" + // row 3, blank
		"not-an-address,Bob,x\r\n" + // row 4
		"\"c@example.org\",\"Carol\nSmith\",y\r\n" + // row 5: newline in a middle cell (and rejected for it)
		"d@example.org,Dan,z\r\n" // row 6
	res := parseCSVString(t, in)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got := lines(res.rows); !reflect.DeepEqual(got, []int{2, 6}) {
		t.Fatalf("valid rows %v, want [2 6]", got)
	}
	if res.rows[0].EvidenceNarrative != "line one\nline two\nline three" {
		t.Fatalf("narrative %q", res.rows[0].EvidenceNarrative)
	}
	if len(res.errs) != 2 || res.errs[0].Row != 4 || res.errs[0].Column != "email" || res.errs[1].Row != 5 || res.errs[1].Column != "name" {
		t.Fatalf("rejects %+v", res.errs)
	}
	if res.sum.Total != 4 || res.sum.Rejected != 2 {
		t.Fatalf("summary %+v", res.sum)
	}
}

func TestCSVHeaderVariants(t *testing.T) {
	// Case, surrounding spaces, and spaces, dashes or underscores inside names all match; the
	// Column of a RowError is the header cell as the uploader wrote it.
	in := csvRows(" E-Mail ;NAME;Valid From;valid_until;Evidence URL;Comments",
		"a@example.org;Ada;2026-01-01;2027-01-01;https://example.org;anything",
		"b@example.org;Bob;nope;;;",
	)
	res := parseCSVString(t, in)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if len(res.rows) != 1 || res.rows[0].ValidUntil == nil || res.rows[0].EvidenceURL != "https://example.org" {
		t.Fatalf("rows %+v", res.rows)
	}
	if len(res.errs) != 1 || res.errs[0].Row != 3 || res.errs[0].Column != "Valid From" {
		t.Fatalf("rejects %+v", res.errs)
	}
	// Unknown columns are ignored, not refused: rosters exported from other systems carry
	// extra columns (student number, comments) that the uploader should not have to delete.
	if len(res.sum.Warnings) != 1 || !strings.Contains(res.sum.Warnings[0], `"Comments"`) {
		t.Fatalf("warnings %q", res.sum.Warnings)
	}
}

func TestCSVHeaderErrors(t *testing.T) {
	cases := []struct {
		name, in, code, msg string
	}{
		{"no email", "name,result\nAda,1\n", CodeMissingColumn, `"email" is missing`},
		{"no name", "email\na@example.org\n", CodeMissingColumn, `"name" is missing`},
		{"neither", "foo,bar\n1,2\n", CodeMissingColumn, `"email" and "name" are missing`},
		{"twice", "email,name,E-mail\na@example.org,Ada,b@example.org\n", CodeBadHeader, "appears twice"},
		{"not utf8", "email,n\xe4me\na@example.org,Ada\n", CodeEncoding, "not UTF-8"},
		{"bad quote in header", "email,\"name\"x\na@example.org,Ada\n", CodeBadHeader, "header row cannot be read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := parseCSVString(t, c.in)
			fe := wantCode(t, res.err, c.code)
			if !strings.Contains(fe.Msg, c.msg) || fe.Row != 1 {
				t.Fatalf("error %+v, want row 1 and %q", fe, c.msg)
			}
			if len(res.rows)+len(res.errs) != 0 {
				t.Fatal("rows handed out for a refused file")
			}
		})
	}
}

func TestCSVEmptyFiles(t *testing.T) {
	for name, in := range map[string]string{
		"only header":         "email,name\n",
		"header, blank lines": "email,name\r\n\r\n\n,\n",
		"blank lines":         "\n\n\n",
		"only a BOM":          "\ufeff",
	} {
		t.Run(name, func(t *testing.T) {
			res := parseCSVString(t, in)
			wantCode(t, res.err, CodeEmpty)
		})
	}
	t.Run("zero bytes", func(t *testing.T) {
		wantCode(t, parseCSVString(t, "").err, CodeEmpty)
	})
}

// rowCase is one bad row at row 3 of a file whose row 2 is fine.
type rowCase struct {
	name   string
	header string
	row    string
	column string // "" for the row as a whole
	msg    string
}

func TestCSVRowErrors(t *testing.T) {
	long := strings.Repeat("x", 201)
	cases := []rowCase{
		{"email missing", "email,name", ",Ada", "email", "e-mail address is missing"},
		{"email without @", "email,name", "ada.example.org,Ada", "email", "(no @)"},
		{"email with display name", "email,name", "Ada <ada@example.org>,Ada", "email", "write only the address"},
		{"email bad domain", "email,name", "ada@localhost,Ada", "email", "not a domain name"},
		{"email numeric tld", "email,name", "ada@example.123,Ada", "email", "not a domain name"},
		{"email too long", "email,name", strings.Repeat("a", 250) + "@example.org,Ada", "email", "longer than 254"},
		{"email local part too long", "email,name", strings.Repeat("a", 65) + "@example.org,Ada", "email", "before the @ is longer than 64"},
		{"name missing", "email,name", "ada@example.org,  ", "name", "name is missing"},
		{"name too long", "email,name", "ada@example.org," + long, "name", "longer than 200"},
		{"name with a line break", "email,name", "ada@example.org,\"Ada\nLovelace\"", "name", "one line"},
		{"validFrom not a date", "email,name,validFrom", "ada@example.org,Ada,31/01/2026", "validFrom", "not a date"},
		{"validFrom impossible day", "email,name,validFrom", "ada@example.org,Ada,2026-02-30", "validFrom", "not a date"},
		{"validFrom without zone", "email,name,validFrom", "ada@example.org,Ada,2026-01-31T09:00:00", "validFrom", "no time zone"},
		{"validUntil not a date", "email,name,validUntil", "ada@example.org,Ada,soon", "validUntil", "not a date"},
		{"validUntil before validFrom", "email,name,validFrom,validUntil", "ada@example.org,Ada,2027-01-02,2027-01-01", "validUntil", "must be after validFrom"},
		{"validUntil equal to validFrom", "email,name,validFrom,validUntil", "ada@example.org,Ada,2027-01-01,2027-01-01T00:00:00Z", "validUntil", "must be after validFrom"},
		{"validUntil in the past", "email,name,validUntil", "ada@example.org,Ada,2026-02-28", "validUntil", "in the past"},
		{"evidenceUrl relative", "email,name,evidenceUrl", "ada@example.org,Ada,/e/1", "evidenceUrl", "absolute http or https"},
		{"evidenceUrl javascript", "email,name,evidenceUrl", "ada@example.org,Ada,javascript:alert(1)", "evidenceUrl", "absolute http or https"},
		{"evidenceUrl with password", "email,name,evidenceUrl", "ada@example.org,Ada,https://u:p@example.org/", "evidenceUrl", "user name or password"},
		{"evidenceNarrative too long", "email,name,evidenceNarrative", "ada@example.org,Ada," + strings.Repeat("n", 10001), "evidenceNarrative", "longer than 10000"},
		{"result too long", "email,name,result", "ada@example.org,Ada," + long, "result", "longer than 200"},
		{"achievementId bad", "email,name,achievementId", "ada@example.org,Ada,ach-1", "achievementId", "1 to 64 letters"},
		{"duplicate", "email,name", "FIRST@example.org,Again", "email", "duplicate of row 2"},
		{"too few cells", "email,name,result", "ada@example.org,Ada", "", "has 2 cells but the header has 3"},
		{"too many cells", "email,name", "ada@example.org,Lovelace, Ada", "", "has 3 cells but the header has 2"},
		{"bare quote", "email,name", "ada@example.org,Ada \"the\" Countess", "", "double quote inside a cell"},
		{"text after closing quote", "email,name", "ada@example.org,\"Ada\" Lovelace", "", "text after the closing double quote"},
		{"not UTF-8", "email,name", "ada@example.org,Ad\xe9le", "name", "not UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			good := "first@example.org,First"
			if n := strings.Count(c.header, ","); n > 1 {
				good += strings.Repeat(",", n-1)
			}
			last := "last@example.org,Last" + strings.Repeat(",", strings.Count(c.header, ",")-1)
			res := parseCSVString(t, csvRows(c.header, good, c.row, last))
			if res.err != nil {
				t.Fatal(res.err)
			}
			if len(res.errs) != 1 {
				t.Fatalf("want one reject, got %+v", res.errs)
			}
			e := res.errs[0]
			if e.Row != 3 || e.Column != c.column || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("got %+v, want row 3, column %q, message containing %q", e, c.column, c.msg)
			}
			// The good rows around the bad one are not lost.
			if got := lines(res.rows); !reflect.DeepEqual(got, []int{2, 4}) {
				t.Fatalf("valid rows %v, want [2 4]", got)
			}
			if res.sum.Total != 3 || res.sum.Valid != 2 || res.sum.Rejected != 1 {
				t.Fatalf("summary %+v", res.sum)
			}
		})
	}
}

func TestCSVSeveralErrorsInOneRow(t *testing.T) {
	res := parseCSVString(t, csvRows("email,name,validFrom", "nope,,tomorrow"))
	if res.err != nil {
		t.Fatal(res.err)
	}
	var cols []string
	for _, e := range res.errs {
		if e.Row != 2 {
			t.Fatalf("row %d", e.Row)
		}
		cols = append(cols, e.Column)
	}
	if !reflect.DeepEqual(cols, []string{"email", "name", "validFrom"}) {
		t.Fatalf("columns %v", cols)
	}
	if res.sum.Total != 1 || res.sum.Rejected != 1 {
		t.Fatalf("summary %+v", res.sum)
	}
}

func TestCSVDuplicates(t *testing.T) {
	in := csvRows("email,name,achievementId",
		"a@example.org,A,",        // 2
		"a@example.org,A,other",   // 3: another achievement, fine
		"A@Example.org,A again,",  // 4: duplicate of 2 (case-insensitive)
		"b@example.org,,",         // 5: bad (no name), not remembered
		"b@example.org,B,",        // 6: fine, row 5 did not count
		"a@example.org,A,OTHER",   // 7: duplicate of 3
		"a@example.org,A,job",     // 8: the job's achievement, written out: duplicate of 2
		"c@example.org,C,job",     // 9
		"c@example.org,C,",        // 10: duplicate of 9
		"d@example.org,D,bad-id!", // 11: bad achievement id
		"d@example.org,D,bad-id!", // 12: the same bad id: its own error, not a duplicate
	)
	res := parseBytes(t, []byte(in), FormatCSV, Options{AchievementID: "job"})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got := lines(res.rows); !reflect.DeepEqual(got, []int{2, 3, 6, 9}) {
		t.Fatalf("valid rows %v", got)
	}
	want := map[int]string{4: "duplicate of row 2", 5: "name is missing", 7: "duplicate of row 3", 8: "duplicate of row 2", 10: "duplicate of row 9", 11: "letters", 12: "letters"}
	if len(res.errs) != len(want) {
		t.Fatalf("rejects %+v", res.errs)
	}
	for _, e := range res.errs {
		if !strings.Contains(e.Message, want[e.Row]) {
			t.Errorf("row %d: %q, want %q", e.Row, e.Message, want[e.Row])
		}
	}
}

func TestCSVNotUTF8(t *testing.T) {
	t.Run("Windows-1252 cells are rejected row by row", func(t *testing.T) {
		res := parseCSVString(t, csvRows("email,name", "a@example.org,Ren\xe9e", "b@example.org,Bob", "c@example.org,Zo\xeb"))
		if res.err != nil {
			t.Fatal(res.err)
		}
		if len(res.rows) != 1 || len(res.errs) != 2 || res.errs[0].Row != 2 || res.errs[1].Row != 4 {
			t.Fatalf("rows %+v rejects %+v", res.rows, res.errs)
		}
		if len(res.sum.Warnings) != 1 || !strings.Contains(res.sum.Warnings[0], "2 rows had text that is not UTF-8") {
			t.Fatalf("warnings %q", res.sum.Warnings)
		}
	})
	for name, in := range map[string]string{
		"UTF-16LE with BOM":    "\xff\xfee\x00m\x00a\x00i\x00l\x00",
		"UTF-16BE with BOM":    "\xfe\xff\x00e\x00m\x00a\x00i\x00l",
		"UTF-16LE without BOM": "e\x00m\x00a\x00i\x00l\x00,\x00",
	} {
		t.Run(name, func(t *testing.T) {
			wantCode(t, parseCSVString(t, in).err, CodeEncoding)
		})
	}
}

func TestCSVFileLimits(t *testing.T) {
	t.Run("too many rows is refused before any row", func(t *testing.T) {
		in := csvRows("email,name", "a@example.org,A", "b@example.org,B", "", "c@example.org,C")
		res := parseBytes(t, []byte(in), FormatCSV, Options{MaxRows: 2})
		fe := wantCode(t, res.err, CodeTooManyRows)
		if fe.Row != 5 || len(res.rows) != 0 {
			t.Fatalf("error %+v, rows %d", fe, len(res.rows))
		}
		// Exactly MaxRows (blank rows do not count) is fine.
		in = csvRows("email,name", "a@example.org,A", "", "b@example.org,B")
		if res := parseBytes(t, []byte(in), FormatCSV, Options{MaxRows: 2}); res.err != nil || len(res.rows) != 2 {
			t.Fatalf("err %v rows %d", res.err, len(res.rows))
		}
	})
	t.Run("unclosed quote", func(t *testing.T) {
		res := parseCSVString(t, csvRows("email,name", "a@example.org,A", "b@example.org,\"B", "c@example.org,C"))
		fe := wantCode(t, res.err, CodeDamaged)
		if fe.Row != 3 || len(res.rows) != 0 {
			t.Fatalf("error %+v rows %d", fe, len(res.rows))
		}
	})
	t.Run("row too long", func(t *testing.T) {
		in := csvRows("email,name", "a@example.org,"+strings.Repeat("x", 2000))
		fe := wantCode(t, parseBytes(t, []byte(in), FormatCSV, Options{MaxRowBytes: 1000}).err, CodeTooLarge)
		if fe.Row != 2 {
			t.Fatalf("error %+v", fe)
		}
	})
	t.Run("header too long", func(t *testing.T) {
		in := "email,name," + strings.Repeat("x", 20000) + "\na@example.org,A,\n"
		wantCode(t, parseBytes(t, []byte(in), FormatCSV, Options{MaxRowBytes: 1000}).err, CodeTooLarge)
	})
	t.Run("file too large", func(t *testing.T) {
		in := csvRows("email,name", "a@example.org,A")
		wantCode(t, parseBytes(t, []byte(in), FormatCSV, Options{MaxBytes: 10}).err, CodeTooLarge)
	})
}

func TestCallbackErrorsStopTheParse(t *testing.T) {
	in := []byte(csvRows("email,name", "a@example.org,A", "bad,B", "c@example.org,C"))
	stop := errors.New("queue down")
	calls := 0
	_, err := Parse(context.Background(), strings.NewReader(string(in)), int64(len(in)), FormatCSV, Options{},
		func(Row) error { calls++; return stop }, func(RowError) error { calls++; return nil })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("emit error: %v after %d calls", err, calls)
	}
	calls = 0
	_, err = Parse(context.Background(), strings.NewReader(string(in)), int64(len(in)), FormatCSV, Options{},
		func(Row) error { calls++; return nil }, func(RowError) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 2 || !strings.Contains(err.Error(), "row 3") {
		t.Fatalf("reject error: %v after %d calls", err, calls)
	}
}

func TestContextCancelled(t *testing.T) {
	var b strings.Builder
	b.WriteString("email,name\n")
	for i := range 1000 {
		b.WriteString("u")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a'+i%26)) + "@example.org,U\n")
	}
	ctx, cancel := context.WithCancel(context.Background())
	emitted := 0
	_, err := Parse(ctx, strings.NewReader(b.String()), int64(b.Len()), FormatCSV, Options{},
		func(Row) error {
			emitted++
			if emitted == 10 {
				cancel()
			}
			return nil
		}, func(RowError) error { return nil })
	if !errors.Is(err, context.Canceled) || emitted >= 1000 {
		t.Fatalf("err %v after %d rows", err, emitted)
	}
}

func TestParseArguments(t *testing.T) {
	in := strings.NewReader("email,name\na@example.org,A\n")
	if _, err := Parse(context.Background(), in, in.Size(), "ods", Options{}, func(Row) error { return nil }, func(RowError) error { return nil }); err == nil {
		t.Fatal("unknown format accepted")
	}
	if _, err := Parse(context.Background(), in, in.Size(), FormatCSV, Options{}, nil, nil); err == nil {
		t.Fatal("nil callbacks accepted")
	}
}
