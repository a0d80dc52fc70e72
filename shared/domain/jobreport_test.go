package domain

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reportJobs keeps the row errors of one job and its report key; the rest of the port is nil.
type reportJobs struct {
	JobStore
	job      Job
	rowErrs  []RowError
	setCalls int
}

func (r *reportJobs) ListRowErrors(_ context.Context, jobID string, p Page) ([]RowError, string, error) {
	if jobID != r.job.ID {
		return nil, "", ErrNotFound
	}
	from := 0
	if p.Cursor != "" {
		from, _ = strconv.Atoi(p.Cursor)
	}
	to := min(from+p.Size(), len(r.rowErrs))
	next := ""
	if to < len(r.rowErrs) {
		next = strconv.Itoa(to)
	}
	return r.rowErrs[from:to], next, nil
}

func (r *reportJobs) SetErrorReport(_ context.Context, id, key string) error {
	r.setCalls++
	if r.job.ErrorReportKey == "" {
		r.job.ErrorReportKey = key
	}
	return nil
}

func (r *reportJobs) CompleteJob(context.Context, string, time.Time) (Job, bool, error) {
	r.job.State = JobDone
	return r.job, true, nil
}

type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

// reportBlobs is a map of blobs; with failPut set it refuses every write.
type reportBlobs struct {
	Blobs
	m       map[string][]byte
	failPut bool
}

func (b *reportBlobs) Open(_ context.Context, key string) (Blob, error) {
	v, ok := b.m[key]
	if !ok {
		return nil, ErrNotFound
	}
	return memBlob{bytes.NewReader(v)}, nil
}

func (b *reportBlobs) Put(_ context.Context, key string, body io.Reader, _ int64, _ string) error {
	if b.failPut {
		return errors.New("bucket says no")
	}
	v, err := io.ReadAll(body)
	b.m[key] = v
	return err
}

// csvReport is the shape shared/roster writes (which this package cannot import): a byte
// order mark, a header, and a leading quote on a cell a spreadsheet would take for a formula.
func csvReport(w io.Writer, errs []RowError) error {
	_, _ = io.WriteString(w, "\ufeff")
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	safe := func(s string) string {
		if strings.HasPrefix(s, "=") {
			return "'" + s
		}
		return s
	}
	_ = cw.Write([]string{"row", "column", "reason"})
	for _, e := range errs {
		row := ""
		if e.Row > 0 {
			row = strconv.Itoa(e.Row)
		}
		_ = cw.Write([]string{row, safe(e.Field), safe(e.Message)})
	}
	cw.Flush()
	return cw.Error()
}

func TestIssueErrorsJoinTheReportOnce(t *testing.T) {
	ctx := context.Background()
	validation := []RowError{
		{Message: "the header has a blank column"},
		{Row: 3, Field: "email", Message: "not an address"},
		{Row: 3, Field: "name", Message: "required"},
		{Row: 12, Field: "result", Message: "=SUM(A1:A9) is not a result"},
	}
	var first bytes.Buffer
	if err := csvReport(&first, validation); err != nil {
		t.Fatal(err)
	}
	jobs := &reportJobs{job: Job{ID: "j1", State: JobIssuing, Total: 2000, Rejected: 1500, Failed: 1, ErrorReportKey: ReportKey("j1")}}
	// More than a page of issue-time errors (ListRowErrors is read to its end), in row order.
	for row := 4; row < 4+MaxPageLimit+200; row++ {
		if row != 12 {
			jobs.rowErrs = append(jobs.rowErrs, RowError{Row: row, Field: "achievementId", Message: fmt.Sprintf("no achievement for row %d", row)})
		}
	}
	jobs.rowErrs = append(jobs.rowErrs, RowError{Row: 5000, Message: "could not be issued: disk says no"})
	blobs := &reportBlobs{m: map[string][]byte{ReportKey("j1"): first.Bytes()}}
	b := &Bulk{Svc: &Service{Clock: time.Now}, Jobs: jobs, Blobs: blobs, Report: csvReport}

	if err := b.addIssueErrors(ctx, jobs.job); err != nil {
		t.Fatal(err)
	}
	once := append([]byte(nil), blobs.m[ReportKey("j1")]...)
	got, err := parseReport(bytes.NewReader(once))
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]RowError{}, validation[:3]...), jobs.rowErrs[:8]...) // rows 4..11
	want = append(want, RowError{Row: 12, Field: "result", Message: "'=SUM(A1:A9) is not a result"})
	want = append(want, jobs.rowErrs[8:]...)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("report after one run: %d lines, want %d; first lines %+v", len(got), len(want), got[:min(6, len(got))])
	}
	if jobs.setCalls != 0 {
		t.Fatalf("SetErrorReport called %d times for a job that had a report", jobs.setCalls)
	}

	// At least once: a second run reads its own report back and writes the same bytes.
	if err := b.addIssueErrors(ctx, jobs.job); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blobs.m[ReportKey("j1")], once) {
		t.Fatal("a second run changed the report")
	}

	// A job whose only bad rows went bad while issuing gets a report, and its key.
	jobs.job = Job{ID: "j1", State: JobIssuing, Total: 3, Failed: 1}
	jobs.rowErrs = []RowError{{Row: 2, Message: "could not be issued: disk says no"}}
	delete(blobs.m, ReportKey("j1"))
	if _, moved, err := b.complete(ctx, jobs.job); err != nil || !moved {
		t.Fatalf("complete: moved=%v, %v", moved, err)
	}
	if jobs.job.ErrorReportKey != ReportKey("j1") || jobs.setCalls != 1 {
		t.Fatalf("report key %q after %d SetErrorReport calls", jobs.job.ErrorReportKey, jobs.setCalls)
	}
	if got, err := parseReport(bytes.NewReader(blobs.m[ReportKey("j1")])); err != nil || !reflect.DeepEqual(got, jobs.rowErrs) {
		t.Fatalf("report %+v, %v; want %+v", got, err, jobs.rowErrs)
	}

	// A report that cannot be written does not keep the job from completing.
	jobs.job = Job{ID: "j1", State: JobIssuing, Total: 3, Failed: 1}
	blobs.failPut = true
	if j, moved, err := b.complete(ctx, jobs.job); err != nil || !moved || j.State != JobDone {
		t.Fatalf("complete with the bucket refusing: %s moved=%v, %v", j.State, moved, err)
	}
}

func TestParseReportRefusesWhatIsNotAReport(t *testing.T) {
	for _, in := range []string{
		"row,column,reason\r\nx,email,bad\r\n", // not a row number
		"row,column,reason\r\n-2,email,bad\r\n",
		"row,column\r\n2,email\r\n", // not three columns
		"row,column,reason\r\n2,email,\"unterminated\r\n",
	} {
		if got, err := parseReport(strings.NewReader(in)); err == nil {
			t.Errorf("%q read as %+v", in, got)
		}
	}
	if got, err := parseReport(strings.NewReader("")); err != nil || len(got) != 0 {
		t.Errorf("an empty report: %+v, %v", got, err)
	}
}
