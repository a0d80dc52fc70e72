package domain

import (
	"bytes"
	"context"
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

// lineReport is a report format for these tests: one row<TAB>field<TAB>message line per error.
// The domain only writes what it reads back; the CSV itself is shared/roster/report's.
type lineReport struct{}

func (lineReport) Write(w io.Writer, errs []RowError) error {
	for _, e := range errs {
		if _, err := fmt.Fprintf(w, "%d\t%s\t%s\n", e.Row, e.Field, e.Message); err != nil {
			return err
		}
	}
	return nil
}

func (lineReport) Read(r io.Reader) ([]RowError, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var out []RowError
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("not a report line: %q", line)
		}
		row, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, err
		}
		out = append(out, RowError{Row: row, Field: f[1], Message: f[2]})
	}
	return out, nil
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
	if err := (lineReport{}).Write(&first, validation); err != nil {
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
	b := &Bulk{Svc: &Service{Clock: time.Now}, Jobs: jobs, Blobs: blobs, Report: lineReport{}}

	if err := b.addIssueErrors(ctx, jobs.job); err != nil {
		t.Fatal(err)
	}
	once := append([]byte(nil), blobs.m[ReportKey("j1")]...)
	got, err := (lineReport{}).Read(bytes.NewReader(once))
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]RowError{}, validation[:3]...), jobs.rowErrs[:8]...) // rows 4..11
	want = append(want, validation[3])
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
	if got, err := (lineReport{}).Read(bytes.NewReader(blobs.m[ReportKey("j1")])); err != nil || !reflect.DeepEqual(got, jobs.rowErrs) {
		t.Fatalf("report %+v, %v; want %+v", got, err, jobs.rowErrs)
	}

	// A report that cannot be written does not keep the job from completing.
	jobs.job = Job{ID: "j1", State: JobIssuing, Total: 3, Failed: 1}
	blobs.failPut = true
	if j, moved, err := b.complete(ctx, jobs.job); err != nil || !moved || j.State != JobDone {
		t.Fatalf("complete with the bucket refusing: %s moved=%v, %v", j.State, moved, err)
	}
}
