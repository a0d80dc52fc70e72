package roster

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// checkInvariants parses data and checks what must hold whatever the input: no panic, rows
// in file order below the header, a rejected row counted once, counts that add up, and
// errors that are either a *FileError or a wrapped callback error.
func checkInvariants(t *testing.T, data []byte, format string) {
	opts := Options{MaxRows: 200, MaxRowBytes: 4 << 10, MaxUnzippedBytes: 8 << 20, MaxInMemoryParts: 4 << 20,
		Now: func() time.Time { return testNow }}
	if format == FormatXLSX {
		opts.TempDir = t.TempDir() // excelize's spilled parts, removed with the test
	}
	last, lastReject, rejectedRows := 0, 0, 0
	sum, err := Parse(context.Background(), bytes.NewReader(data), int64(len(data)), format, opts,
		func(r Row) error {
			if r.Line <= last || r.Line < 2 || r.Line <= lastReject {
				t.Fatalf("row %d after row %d (last reject %d)", r.Line, last, lastReject)
			}
			if r.Email == "" || r.Name == "" {
				t.Fatalf("valid row %d without e-mail or name: %+v", r.Line, r)
			}
			last = r.Line
			return nil
		},
		func(e RowError) error {
			if e.Row < 2 || e.Row < lastReject || e.Row <= last {
				t.Fatalf("reject of row %d after row %d (last reject %d)", e.Row, last, lastReject)
			}
			if e.Row != lastReject {
				rejectedRows++
			}
			lastReject = e.Row
			return nil
		})
	if err != nil {
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Fatalf("not a *FileError: %v", err)
		}
		return
	}
	if sum.Total != sum.Valid+sum.Rejected || sum.Rejected != rejectedRows || sum.Total == 0 {
		t.Fatalf("summary %+v, %d rejected rows seen", sum, rejectedRows)
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		csvRows("email,name,validFrom,validUntil", "a@example.org,A,2026-01-01,2027-01-01", "bad,,x,y", "a@example.org,A again,,"),
		"\ufeffEmail;Name\r\na@example.org;\"Lovelace; Ada\"\r\n\r\nb@example.org;\"B\nC\"\r\n",
		"email,name\n\"a@example.org\",\"A\"x\nb@example.org,\"B",
		"email,name,achievementId,evidenceUrl\na@example.org,A,ach1,https://e.org/x\n=1+1,@A,-,+\n",
		"email,name\nRen\xe9e@example.org,Ren\xe9e\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Detect(data[:min(len(data), sniffBytes)], "roster.csv"); err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("Detect: not a *FileError: %v", err)
			}
		}
		checkInvariants(t, data, FormatCSV)
	})
}

// FuzzParseXLSX is slow to fuzz (excelize instrumented for coverage); minimizing each new
// input takes minutes, so run it with -fuzzminimizetime 0 for a short session.
func FuzzParseXLSX(f *testing.F) {
	good := makeXLSX(f, [][]any{
		{"email", "name", "validFrom", "validUntil", "result"},
		{"a@example.org", "A", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "2027-01-01", 3.5},
		nil,
		{"bad", nil, 45000, "x"},
	}, nil)
	f.Add(good)
	f.Add(rezip(f, good, map[string][]byte{"xl/worksheets/sheet1.xml": []byte(
		`<worksheet><sheetData><row r="2"><c r="A2" t="inlineStr"><is><t>email</t></is></c><c r="B2" t="inlineStr"><is><t>name</t></is></c></row>` +
			`<row r="1"><c t="s"><v>99</v></c><c t="n"><v>1e308</v></c></row><row r="1048577"/></sheetData></worksheet>`)}, nil))
	f.Add(good[:len(good)-100])
	f.Fuzz(func(t *testing.T, data []byte) {
		checkInvariants(t, data, FormatXLSX)
	})
}
