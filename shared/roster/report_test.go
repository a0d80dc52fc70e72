package roster

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/roster/report"
)

// The rows the parser rejects go through the report unchanged, row and column included.
func TestParserRejectsIntoReport(t *testing.T) {
	in := []byte(csvRows("E-mail,Name", "=cmd@x,A", "b@example.org,"))
	var errs []domain.RowError
	err := Parser(Options{})(t.Context(), bytes.NewReader(in), int64(len(in)), "r.csv",
		func(domain.RosterRow) error { return nil }, func(e domain.RowError) error { errs = append(errs, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, errs); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), utf8BOM) {
		t.Fatalf("no byte order mark: %q", buf.Bytes())
	}
	got, err := csv.NewReader(bytes.NewReader(buf.Bytes()[len(utf8BOM):])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1][0] != "2" || got[1][1] != "E-mail" || got[2][0] != "3" || got[2][1] != "Name" {
		t.Fatalf("report %q", got)
	}
}
