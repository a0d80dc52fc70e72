package storetest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/credence-oss/credence/shared/domain"
)

// RunJobs is the contract every domain.JobStore passes. newStore must return a new, empty
// store each time it is called and register its own cleanup.
//
// Where the port leaves a choice open, the contract fixes it:
//
//   - GetJob returns Errors as a non-nil slice (the API shows [] rather than null), times in
//     UTC equal to what was stored at least to the millisecond.
//   - Every method on a job id that does not exist answers domain.ErrNotFound (RecordRow and
//     RecordRowMail too: they never create a job); ClaimRowMail is the exception, it leases
//     a row's mail whether or not the store knows the job, because it only guards sending.
//   - Rows may be recorded while the job is still validating (the roster worker queues rows
//     before it has read the whole file) and after it is done or failed (a dead-letter
//     redrive); their counts add to what validation reports.
//   - Only failed -> issued moves a recorded row; any other second outcome leaves it alone.
//     A row's error is appended only when the call changed the row.
//   - CompleteJob never fails because of the state: it answers (job, false, nil) for a job
//     that is not issuing or not accounted for.
//   - A mail lease runs out at `until`: a claim with now >= until takes it over.
//   - A row error's message is kept to its first MaxRowErrorMessage bytes (whole UTF-8
//     characters), so that a hundred errors always fit in a DynamoDB item; ListRowErrors
//     returns it clipped alike.
//   - ListRowErrors lists a row's error under the row it was recorded for, whatever Row the
//     RowError passed to RecordRow said; a row's error is the one of the call that changed the
//     row, a redelivery with another message leaves it alone. It lists [] (or nil) and no
//     cursor for a job without row errors.
//   - SetErrorReport on a job that has a report key succeeds and changes nothing.
//   - Row numbers below 1, empty ids and an empty file hash or source job are refused with an error that is neither ErrNotFound
//     nor ErrConflict.
func RunJobs(t *testing.T, newStore func(t *testing.T) domain.JobStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s domain.JobStore)
	}{
		{"CreateGet", testJobCreateGet},
		{"SetJobFile", testJobSetFile},
		{"FinishValidation", testJobFinishValidation},
		{"FinishValidationErrorCap", testJobFinishValidationCap},
		{"RecordRow", testJobRecordRow},
		{"RecordRowErrorCap", testJobRecordRowCap},
		{"RecordRowConcurrent", testJobRecordRowConcurrent},
		{"RowErrors", testJobRowErrors},
		{"RowErrorsPaging", testJobRowErrorsPaging},
		{"SetErrorReport", testJobSetErrorReport},
		{"MailLeases", testJobMailLeases},
		{"MailConcurrent", testJobMailConcurrent},
		{"CompleteJob", testJobComplete},
		{"CompleteJobNotify", testJobCompleteNotify},
		{"FailJob", testJobFail},
		{"ClaimRoster", testJobClaimRoster},
		{"Suppressions", testJobSuppressions},
		{"LongMessages", testJobLongMessages},
		{"InvalidInput", testJobInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// MaxRowErrorMessage is how many bytes of a row error's message a JobStore keeps.
const MaxRowErrorMessage = 1024

var jobT0 = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.FixedZone("CET", 3600))

func newJob(id string, notify bool) domain.Job {
	return domain.Job{
		ID: id, IssuerID: "iss-" + id, AchievementID: "ach#1", Filename: "Kurs Ä 2025.csv",
		Notify: notify, State: domain.JobValidating, Errors: []domain.RowError{},
		UploadKey: domain.RosterKey(id), CreatedAt: jobT0, UpdatedAt: jobT0,
	}
}

func normJob(j domain.Job) domain.Job {
	j.CreatedAt, j.UpdatedAt = ms(j.CreatedAt), ms(j.UpdatedAt)
	return j
}

func sameJob(t *testing.T, what string, got, want domain.Job) {
	t.Helper()
	checkUTC(t, what, got.CreatedAt, got.UpdatedAt)
	if got.Errors == nil {
		t.Errorf("%s: Errors is nil, want a non-nil slice", what)
	}
	g, w := normJob(got), normJob(want)
	if len(g.Errors) == 0 && len(w.Errors) == 0 {
		g.Errors, w.Errors = nil, nil
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, g, w)
	}
}

func mustCreateJob(t *testing.T, s domain.JobStore, j domain.Job) {
	t.Helper()
	must(t, "CreateJob "+j.ID, s.CreateJob(ctxT(t), j))
}

func mustGetJob(t *testing.T, s domain.JobStore, id string) domain.Job {
	t.Helper()
	j, err := s.GetJob(ctxT(t), id)
	must(t, "GetJob "+id, err)
	return j
}

// startJob creates a job and finishes its validation with total rows, none rejected.
func startJob(t *testing.T, s domain.JobStore, id string, notify bool, total int) domain.Job {
	t.Helper()
	mustCreateJob(t, s, newJob(id, notify))
	j, err := s.FinishValidation(ctxT(t), id, domain.JobValidation{Total: total}, jobT0.Add(time.Second))
	must(t, "FinishValidation "+id, err)
	return j
}

func record(t *testing.T, s domain.JobStore, id string, row int, o domain.RowOutcome, wantChanged bool) {
	t.Helper()
	var rowErr *domain.RowError
	credID := ""
	if o == domain.RowIssued {
		credID = fmt.Sprintf("cred-%s-%d", id, row)
	} else {
		rowErr = &domain.RowError{Row: row, Field: "email", Message: fmt.Sprintf("row %d %s", row, o)}
	}
	changed, err := s.RecordRow(ctxT(t), id, row, o, credID, rowErr, jobT0.Add(time.Minute))
	must(t, fmt.Sprintf("RecordRow(%s, %d, %s)", id, row, o), err)
	if changed != wantChanged {
		t.Fatalf("RecordRow(%s, %d, %s): changed=%v, want %v", id, row, o, changed, wantChanged)
	}
}

type counts struct{ Issued, Rejected, Failed, Mailed, MailSuppressed, MailFailed int }

func countsOf(j domain.Job) counts {
	return counts{j.Issued, j.Rejected, j.Failed, j.Mailed, j.MailSuppressed, j.MailFailed}
}

func wantCounts(t *testing.T, s domain.JobStore, id, what string, want counts) domain.Job {
	t.Helper()
	j := mustGetJob(t, s, id)
	if got := countsOf(j); got != want {
		t.Fatalf("%s: counters %+v, want %+v", what, got, want)
	}
	return j
}

// notMissingOrTaken is what the contract asks of refused input: a plain error, not one the
// domain would read as "absent" or "already there".
func notMissingOrTaken(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrConflict) {
		t.Fatalf("%s: got error %v, want a plain error", what, err)
	}
}

// --- jobs

func testJobCreateGet(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	j := newJob("job-1", true)
	mustCreateJob(t, s, j)
	sameJob(t, "GetJob after CreateJob", mustGetJob(t, s, j.ID), j)

	other := j
	other.Filename, other.Notify = "other.csv", false
	wantErr(t, "CreateJob of an existing id", s.CreateJob(ctx, other), domain.ErrConflict)
	sameJob(t, "the job after a refused CreateJob", mustGetJob(t, s, j.ID), j)

	// A job created without an errors slice still reads back with one.
	bare := newJob("job-2", false)
	bare.Errors = nil
	mustCreateJob(t, s, bare)
	if got := mustGetJob(t, s, "job-2"); got.Errors == nil || len(got.Errors) != 0 {
		t.Fatalf("errors of a job created with none: %#v, want an empty slice", got.Errors)
	}

	_, err := s.GetJob(ctx, "absent")
	wantErr(t, "GetJob of an absent job", err, domain.ErrNotFound)
}

func testJobSetFile(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	j := newJob("job-1", true)
	mustCreateJob(t, s, j)
	must(t, "SetJobFile", s.SetJobFile(ctx, j.ID, "aa11", "job-0"))
	// A retried roster event sets it again before validation is over: allowed.
	must(t, "SetJobFile again", s.SetJobFile(ctx, j.ID, "bb22", j.ID))
	j.FileSHA256, j.SourceJobID = "bb22", j.ID
	sameJob(t, "after SetJobFile", mustGetJob(t, s, j.ID), j)

	wantErr(t, "SetJobFile of an absent job", s.SetJobFile(ctx, "absent", "cc33", "absent"), domain.ErrNotFound)

	_, err := s.FinishValidation(ctx, j.ID, domain.JobValidation{Total: 1}, jobT0)
	must(t, "FinishValidation", err)
	wantErr(t, "SetJobFile of an issuing job", s.SetJobFile(ctx, j.ID, "dd44", "x"), domain.ErrConflict)

	mustCreateJob(t, s, newJob("job-2", false))
	must(t, "FailJob", s.FailJob(ctx, "job-2", "unreadable", jobT0))
	wantErr(t, "SetJobFile of a failed job", s.SetJobFile(ctx, "job-2", "ee55", "job-2"), domain.ErrConflict)

	if got := mustGetJob(t, s, j.ID); got.FileSHA256 != "bb22" || got.SourceJobID != j.ID {
		t.Fatalf("a refused SetJobFile changed the job: sha %q source %q", got.FileSHA256, got.SourceJobID)
	}
}

func testJobFinishValidation(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	j := newJob("job-1", false)
	mustCreateJob(t, s, j)
	// Rows already queued by the roster worker are recorded before the validation finishes.
	record(t, s, j.ID, 2, domain.RowRejected, true)
	record(t, s, j.ID, 3, domain.RowIssued, true)

	at := jobT0.Add(5 * time.Second)
	v := domain.JobValidation{
		Total: 10, Rejected: 2, ErrorReportKey: domain.ReportKey(j.ID),
		Errors: []domain.RowError{{Row: 5, Field: "email", Message: "not an address"}, {Row: 7, Message: "empty"}},
	}
	got, err := s.FinishValidation(ctx, j.ID, v, at)
	must(t, "FinishValidation", err)
	want := j
	want.State, want.Total, want.Issued, want.Rejected = domain.JobIssuing, 10, 1, 3
	want.ErrorReportKey, want.UpdatedAt = v.ErrorReportKey, at
	want.Errors = []domain.RowError{{Row: 2, Field: "email", Message: "row 2 rejected"}, v.Errors[0], v.Errors[1]}
	sameJob(t, "the job FinishValidation returns", got, want)
	sameJob(t, "GetJob after FinishValidation", mustGetJob(t, s, j.ID), want)

	// The roster event is delivered again after the move: refused, nothing counted twice.
	_, err = s.FinishValidation(ctx, j.ID, v, at.Add(time.Second))
	wantErr(t, "a retried FinishValidation", err, domain.ErrConflict)
	sameJob(t, "the job after a retried FinishValidation", mustGetJob(t, s, j.ID), want)

	_, err = s.FinishValidation(ctx, "absent", v, at)
	wantErr(t, "FinishValidation of an absent job", err, domain.ErrNotFound)

	mustCreateJob(t, s, newJob("job-2", false))
	must(t, "FailJob", s.FailJob(ctx, "job-2", "too large", at))
	_, err = s.FinishValidation(ctx, "job-2", v, at)
	wantErr(t, "FinishValidation of a failed job", err, domain.ErrConflict)
}

func testJobFinishValidationCap(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	mustCreateJob(t, s, newJob("job-1", false))
	for row := 2; row <= 4; row++ {
		record(t, s, "job-1", row, domain.RowFailed, true)
	}
	v := domain.JobValidation{Total: 500, Rejected: 150}
	for i := range 150 {
		v.Errors = append(v.Errors, domain.RowError{Row: 10 + i, Message: "bad"})
	}
	got, err := s.FinishValidation(ctx, "job-1", v, jobT0)
	must(t, "FinishValidation", err)
	if got.Rejected != 150 || got.Failed != 3 {
		t.Fatalf("rejected %d failed %d, want 150 and 3", got.Rejected, got.Failed)
	}
	if len(got.Errors) != domain.MaxJobErrors {
		t.Fatalf("%d errors kept, want %d", len(got.Errors), domain.MaxJobErrors)
	}
	for i, e := range got.Errors {
		want := 10 + i - 3
		if i < 3 {
			want = 2 + i
		}
		if e.Row != want {
			t.Fatalf("error #%d is of row %d, want %d (recorded rows first, then validation's in order)", i, e.Row, want)
		}
	}
	if n := len(mustGetJob(t, s, "job-1").Errors); n != domain.MaxJobErrors {
		t.Fatalf("GetJob: %d errors, want %d", n, domain.MaxJobErrors)
	}
}

func testJobRecordRow(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	id := startJob(t, s, "job-1", false, 10).ID

	record(t, s, id, 2, domain.RowIssued, true)
	record(t, s, id, 2, domain.RowIssued, false) // redelivered
	record(t, s, id, 3, domain.RowRejected, true)
	record(t, s, id, 3, domain.RowRejected, false)
	record(t, s, id, 4, domain.RowFailed, true)
	record(t, s, id, 4, domain.RowFailed, false)
	wantCounts(t, s, id, "one of each, each twice", counts{Issued: 1, Rejected: 1, Failed: 1})

	// A dead-letter redrive issues the failed row: it moves, once.
	record(t, s, id, 4, domain.RowIssued, true)
	record(t, s, id, 4, domain.RowIssued, false)
	record(t, s, id, 4, domain.RowFailed, false) // a stale failure after the redrive
	wantCounts(t, s, id, "after failed -> issued", counts{Issued: 2, Rejected: 1})

	// Issued and rejected are final.
	record(t, s, id, 2, domain.RowFailed, false)
	record(t, s, id, 2, domain.RowRejected, false)
	record(t, s, id, 3, domain.RowIssued, false)
	record(t, s, id, 3, domain.RowFailed, false)
	j := wantCounts(t, s, id, "after outcomes on final rows", counts{Issued: 2, Rejected: 1})

	// Only the calls that changed a rejected or failed row left an error.
	wantRows := []int{3, 4}
	if len(j.Errors) != len(wantRows) {
		t.Fatalf("errors %+v, want one for each of rows %v", j.Errors, wantRows)
	}
	for i, e := range j.Errors {
		if e.Row != wantRows[i] || e.Field != "email" || e.Message == "" {
			t.Fatalf("error #%d = %+v, want row %d as recorded", i, e, wantRows[i])
		}
	}
	if j.State != domain.JobIssuing || j.Total != 10 {
		t.Fatalf("RecordRow changed the job's state or total: %s %d", j.State, j.Total)
	}

	// A row number is per job.
	other := startJob(t, s, "job-2", false, 10).ID
	record(t, s, other, 2, domain.RowFailed, true)
	wantCounts(t, s, other, "another job's row 2", counts{Failed: 1})
	wantCounts(t, s, id, "the first job after another job's row 2", counts{Issued: 2, Rejected: 1})

	_, err := s.RecordRow(ctx, "absent", 2, domain.RowIssued, "c", nil, jobT0)
	wantErr(t, "RecordRow of an absent job", err, domain.ErrNotFound)
}

func testJobRecordRowCap(t *testing.T, s domain.JobStore) {
	id := startJob(t, s, "job-1", false, 200).ID
	n := domain.MaxJobErrors + 7
	for row := 2; row < 2+n; row++ {
		o := domain.RowFailed
		if row%2 == 0 {
			o = domain.RowRejected
		}
		record(t, s, id, row, o, true)
	}
	j := mustGetJob(t, s, id)
	if j.Rejected+j.Failed != n {
		t.Fatalf("rejected %d + failed %d, want %d: a full error list must not stop the counting", j.Rejected, j.Failed, n)
	}
	if len(j.Errors) != domain.MaxJobErrors {
		t.Fatalf("%d errors kept, want %d", len(j.Errors), domain.MaxJobErrors)
	}
	for i, e := range j.Errors {
		if e.Row != 2+i {
			t.Fatalf("error #%d is of row %d, want the first %d in order", i, e.Row, domain.MaxJobErrors)
		}
	}
}

// testJobRecordRowConcurrent is at-least-once delivery with many workers: every row arrives
// three times, from different goroutines, at once.
func testJobRecordRowConcurrent(t *testing.T, s domain.JobStore) {
	const rows, workers = 50, 50
	id := startJob(t, s, "job-1", false, rows).ID
	outcome := func(row int) domain.RowOutcome {
		if row%5 == 0 {
			return domain.RowRejected
		}
		return domain.RowIssued
	}
	var (
		wg       sync.WaitGroup
		changed  [rows + 2]atomic.Int32
		failures = make(chan error, workers*3)
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 3 {
				row := 2 + (w+k)%rows
				o := outcome(row)
				var rowErr *domain.RowError
				if o == domain.RowRejected {
					rowErr = &domain.RowError{Row: row, Message: "refused"}
				}
				c, err := s.RecordRow(ctxT(t), id, row, o, fmt.Sprintf("cred-%d", row), rowErr, jobT0)
				if err != nil {
					failures <- fmt.Errorf("RecordRow(row %d): %w", row, err)
					return
				}
				if c {
					changed[row].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Fatal(err)
	}
	var want counts
	for row := 2; row < 2+rows; row++ {
		if n := changed[row].Load(); n != 1 {
			t.Errorf("row %d: %d deliveries reported a change, want exactly 1", row, n)
		}
		if outcome(row) == domain.RowRejected {
			want.Rejected++
		} else {
			want.Issued++
		}
	}
	j := wantCounts(t, s, id, "after concurrent redelivered rows", want)
	if len(j.Errors) != want.Rejected {
		t.Fatalf("%d errors, want one per rejected row (%d)", len(j.Errors), want.Rejected)
	}
	if !j.Accounted() {
		t.Fatalf("job not accounted for after every row was recorded: %+v", countsOf(j))
	}
}

// rowErrors reads every row error of a job, limit at a time.
func rowErrors(t *testing.T, s domain.JobStore, id string, limit, total int) []domain.RowError {
	t.Helper()
	return collect(t, fmt.Sprintf("ListRowErrors(%s, limit %d)", id, limit), limit, total, func(p domain.Page) ([]domain.RowError, string, error) {
		return s.ListRowErrors(ctxT(t), id, p)
	})
}

// testJobRowErrors: every rejected or failed row keeps its error with its marker, listed in
// row order (numeric: 9 before 10 before 100), and only while the row is rejected or failed.
func testJobRowErrors(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	id := startJob(t, s, "job-1", false, 2000).ID
	sameItems(t, "a job without row errors", rowErrors(t, s, id, 0, 0), nil)

	for _, row := range []int{1000, 100, 10, 9} {
		o := domain.RowRejected
		if row%2 == 0 {
			o = domain.RowFailed
		}
		record(t, s, id, row, o, true)
	}
	record(t, s, id, 2, domain.RowIssued, true)
	// A failed row issued by a dead-letter redrive drops its error; a stale failure after that
	// changes nothing and stores none.
	record(t, s, id, 11, domain.RowFailed, true)
	record(t, s, id, 11, domain.RowIssued, true)
	record(t, s, id, 11, domain.RowFailed, false)
	// A redelivery with another message keeps the first.
	record(t, s, id, 12, domain.RowRejected, true)
	changed, err := s.RecordRow(ctx, id, 12, domain.RowRejected, "", &domain.RowError{Row: 12, Message: "second"}, jobT0)
	must(t, "RecordRow again", err)
	if changed {
		t.Fatal("a redelivered rejected row changed")
	}
	// A row recorded without an error has none to list.
	changed, err = s.RecordRow(ctx, id, 3, domain.RowFailed, "", nil, jobT0)
	if err != nil || !changed {
		t.Fatalf("RecordRow without an error: changed=%v, %v", changed, err)
	}
	// The row is the one recorded, whatever the RowError said.
	changed, err = s.RecordRow(ctx, id, 14, domain.RowRejected, "", &domain.RowError{Row: 99, Field: "achievementId", Message: "no achievement x"}, jobT0)
	if err != nil || !changed {
		t.Fatalf("RecordRow of row 14: changed=%v, %v", changed, err)
	}
	// Rows of other jobs, one of them named like a longer version of this one.
	for _, other := range []string{"job-10", "job-1#2"} {
		startJob(t, s, other, false, 10)
		record(t, s, other, 5, domain.RowRejected, true)
		record(t, s, other, 9, domain.RowFailed, true)
	}

	e := func(row int, o domain.RowOutcome) domain.RowError {
		return domain.RowError{Row: row, Field: "email", Message: fmt.Sprintf("row %d %s", row, o)}
	}
	want := []domain.RowError{
		e(9, domain.RowRejected), e(10, domain.RowFailed), e(12, domain.RowRejected),
		{Row: 14, Field: "achievementId", Message: "no achievement x"},
		e(100, domain.RowFailed), e(1000, domain.RowFailed),
	}
	for _, limit := range []int{0, 1, 2, len(want), len(want) + 1} {
		sameItems(t, fmt.Sprintf("row errors, %d a page", limit), rowErrors(t, s, id, limit, len(want)), want)
	}
	sameItems(t, "another job's row errors", rowErrors(t, s, "job-10", 0, 2),
		[]domain.RowError{e(5, domain.RowRejected), e(9, domain.RowFailed)})

	j := wantCounts(t, s, id, "after the rows", counts{Issued: 2, Rejected: 3, Failed: 4})
	if len(j.Errors) != 7 {
		// The job's list keeps what it always kept: the error of every call that changed a row
		// and had one, in call order, row 11's too.
		t.Fatalf("the job's errors: %+v, want the 7 recorded", j.Errors)
	}

	_, _, err = s.ListRowErrors(ctx, "absent", domain.Page{})
	wantErr(t, "ListRowErrors of an absent job", err, domain.ErrNotFound)
}

// testJobRowErrorsPaging: the row errors past MaxJobErrors are all there, and cursors belong
// to their job's listing.
func testJobRowErrorsPaging(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	n := domain.MaxJobErrors + 23
	id := startJob(t, s, "job-1", false, n).ID
	var want []domain.RowError
	for row := 2; row < 2+n; row++ {
		o := domain.RowFailed
		if row%3 == 0 {
			o = domain.RowRejected
		}
		record(t, s, id, row, o, true)
		want = append(want, domain.RowError{Row: row, Field: "email", Message: fmt.Sprintf("row %d %s", row, o)})
	}
	if got := len(mustGetJob(t, s, id).Errors); got != domain.MaxJobErrors {
		t.Fatalf("the job keeps %d errors, want %d", got, domain.MaxJobErrors)
	}
	sameItems(t, "every row error, 10 a page", rowErrors(t, s, id, 10, n), want)
	sameItems(t, "every row error, one page", rowErrors(t, s, id, n, n), want)

	first, cur, err := s.ListRowErrors(ctx, id, domain.Page{Limit: n - 1})
	must(t, "ListRowErrors", err)
	if len(first) != n-1 || cur == "" {
		t.Fatalf("a page one short of all: %d errors, cursor %q", len(first), cur)
	}
	// A cursor can be used again, and resumes after the page's last row.
	for range 2 {
		rest, next, err := s.ListRowErrors(ctx, id, domain.Page{Cursor: cur, Limit: n})
		must(t, "ListRowErrors from the cursor", err)
		if len(rest) != 1 || rest[0] != want[n-1] || next != "" {
			t.Fatalf("after the cursor: %+v, next %q; want %+v alone", rest, next, want[n-1])
		}
	}

	startJob(t, s, "job-2", false, 5)
	record(t, s, "job-2", 2, domain.RowRejected, true)
	record(t, s, "job-2", 3, domain.RowRejected, true)
	_, cur2, err := s.ListRowErrors(ctx, "job-2", domain.Page{Limit: 1})
	must(t, "ListRowErrors of job-2", err)
	if cur2 == "" {
		t.Fatal("job-2's first page of one has no cursor")
	}
	wrong := []struct{ name, id, cursor string }{
		{"job-1's cursor on job-2", "job-2", cur},
		{"job-2's cursor on job-1", id, cur2},
		{"not base64", id, "***not a cursor***"},
		{"truncated", id, cur[:len(cur)/2]},
		{"base64 of garbage", id, base64.RawURLEncoding.EncodeToString([]byte("\x00\xff garbage \x01"))},
		{"huge", id, strings.Repeat("QUFB", 20000)},
	}
	for _, w := range wrong {
		items, next, err := s.ListRowErrors(ctx, w.id, domain.Page{Cursor: w.cursor})
		if !errors.Is(err, domain.ErrInvalidCursor) {
			t.Errorf("%s: got %d errors, cursor %q, error %v; want ErrInvalidCursor", w.name, len(items), next, err)
		}
	}
}

func testJobSetErrorReport(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	j := startJob(t, s, "job-1", false, 3)
	key := domain.ReportKey(j.ID)
	must(t, "SetErrorReport", s.SetErrorReport(ctx, j.ID, key))
	j.ErrorReportKey = key
	sameJob(t, "after SetErrorReport", mustGetJob(t, s, j.ID), j)
	// A second run (at-least-once) or another key: the job keeps the report it has.
	must(t, "SetErrorReport again", s.SetErrorReport(ctx, j.ID, key))
	must(t, "SetErrorReport of another key", s.SetErrorReport(ctx, j.ID, "reports/other.csv"))
	sameJob(t, "after SetErrorReport of another key", mustGetJob(t, s, j.ID), j)

	// The roster worker's report stays the job's.
	mustCreateJob(t, s, newJob("job-2", false))
	_, err := s.FinishValidation(ctx, "job-2", domain.JobValidation{Total: 2, Rejected: 1,
		Errors: []domain.RowError{{Row: 2, Message: "bad"}}, ErrorReportKey: domain.ReportKey("job-2")}, jobT0)
	must(t, "FinishValidation", err)
	must(t, "SetErrorReport of a job with a report", s.SetErrorReport(ctx, "job-2", "reports/other.csv"))
	if got := mustGetJob(t, s, "job-2"); got.ErrorReportKey != domain.ReportKey("job-2") {
		t.Fatalf("report key %q, want the roster worker's %q", got.ErrorReportKey, domain.ReportKey("job-2"))
	}

	// Counting goes on as before.
	record(t, s, j.ID, 2, domain.RowFailed, true)
	wantCounts(t, s, j.ID, "a row after SetErrorReport", counts{Failed: 1})

	wantErr(t, "SetErrorReport of an absent job", s.SetErrorReport(ctx, "absent", key), domain.ErrNotFound)
}

// --- mail

func testJobMailLeases(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	id := startJob(t, s, "job-1", true, 10).ID
	for row := 2; row <= 4; row++ {
		record(t, s, id, row, domain.RowIssued, true)
	}
	now := jobT0.Add(time.Hour)
	claim := func(row int, at time.Time, wantClaimed, wantSettled bool) {
		t.Helper()
		c, st, err := s.ClaimRowMail(ctx, id, row, at, at.Add(2*time.Minute))
		must(t, fmt.Sprintf("ClaimRowMail(row %d at %v)", row, at), err)
		if c != wantClaimed || st != wantSettled {
			t.Fatalf("ClaimRowMail(row %d at +%v): claimed=%v settled=%v, want %v %v", row, at.Sub(now), c, st, wantClaimed, wantSettled)
		}
	}
	mail := func(row int, o domain.MailOutcome, wantChanged bool) {
		t.Helper()
		c, err := s.RecordRowMail(ctx, id, row, o, now)
		must(t, fmt.Sprintf("RecordRowMail(row %d, %s)", row, o), err)
		if c != wantChanged {
			t.Fatalf("RecordRowMail(row %d, %s): changed=%v, want %v", row, o, c, wantChanged)
		}
	}

	claim(2, now, true, false)
	claim(2, now.Add(time.Minute), false, false)                    // another sender, lease running
	claim(2, now.Add(2*time.Minute-time.Millisecond), false, false) // still running
	claim(3, now, true, false)                                      // leases are per row
	claim(2, now.Add(2*time.Minute), true, false)                   // the lease ran out: taken over
	claim(2, now.Add(3*time.Minute), false, false)                  // ... with a lease of its own

	mail(2, domain.RowMailSent, true)
	mail(2, domain.RowMailSent, false)
	mail(2, domain.RowMailFailed, false) // settled is final
	claim(2, now.Add(time.Hour), false, true)

	// Settling needs no lease (a re-upload's row counts a mail sent before).
	mail(4, domain.RowMailSuppressed, true)
	mail(4, domain.RowMailSuppressed, false)
	claim(4, now, false, true)
	mail(3, domain.RowMailFailed, true)
	claim(3, now.Add(time.Hour), false, true)
	wantCounts(t, s, id, "after the mail of three rows", counts{Issued: 3, Mailed: 1, MailSuppressed: 1, MailFailed: 1})

	_, err := s.RecordRowMail(ctx, "absent", 2, domain.RowMailSent, now)
	wantErr(t, "RecordRowMail of an absent job", err, domain.ErrNotFound)
}

// testJobMailConcurrent: mail messages are delivered more than once too; one sender wins
// each row's lease and each row's mail is counted once.
func testJobMailConcurrent(t *testing.T, s domain.JobStore) {
	const rows = 20
	id := startJob(t, s, "job-1", true, rows).ID
	for row := 2; row < 2+rows; row++ {
		record(t, s, id, row, domain.RowIssued, true)
	}
	now := jobT0.Add(time.Hour)
	var (
		wg       sync.WaitGroup
		claims   [rows + 2]atomic.Int32
		failures = make(chan error, rows*3)
	)
	for k := range 3 {
		for row := 2; row < 2+rows; row++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, _, err := s.ClaimRowMail(ctxT(t), id, row, now.Add(time.Duration(k)*time.Millisecond), now.Add(time.Minute))
				if err != nil {
					failures <- fmt.Errorf("ClaimRowMail(row %d): %w", row, err)
					return
				}
				if c {
					claims[row].Add(1)
				}
				if _, err := s.RecordRowMail(ctxT(t), id, row, domain.RowMailSent, now); err != nil {
					failures <- fmt.Errorf("RecordRowMail(row %d): %w", row, err)
				}
			}()
		}
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Fatal(err)
	}
	for row := 2; row < 2+rows; row++ {
		if n := claims[row].Load(); n > 1 {
			t.Errorf("row %d: %d senders claimed the mail, want at most 1", row, n)
		}
	}
	wantCounts(t, s, id, "after concurrent mail", counts{Issued: rows, Mailed: rows})
}

// --- job states

func testJobComplete(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	complete := func(id string, wantMoved bool, wantState domain.JobState) domain.Job {
		t.Helper()
		j, moved, err := s.CompleteJob(ctx, id, jobT0.Add(time.Hour))
		must(t, "CompleteJob "+id, err)
		if moved != wantMoved || j.State != wantState || j.ID != id {
			t.Fatalf("CompleteJob(%s): moved=%v state=%s id=%s, want %v %s", id, moved, j.State, j.ID, wantMoved, wantState)
		}
		return j
	}

	// A validating job is not complete even when its rows are all counted.
	mustCreateJob(t, s, newJob("job-v", false))
	record(t, s, "job-v", 2, domain.RowIssued, true)
	complete("job-v", false, domain.JobValidating)

	id := startJob(t, s, "job-1", false, 3).ID
	complete(id, false, domain.JobIssuing)
	record(t, s, id, 2, domain.RowIssued, true)
	record(t, s, id, 3, domain.RowRejected, true)
	complete(id, false, domain.JobIssuing)
	record(t, s, id, 4, domain.RowFailed, true)
	j := complete(id, true, domain.JobDone)
	if ms(j.UpdatedAt) != ms(jobT0.Add(time.Hour)) || j.Issued != 1 || j.Rejected != 1 || j.Failed != 1 {
		t.Fatalf("the job CompleteJob returns: %+v", j)
	}
	complete(id, false, domain.JobDone) // a second worker settles it too
	if got := mustGetJob(t, s, id); got.State != domain.JobDone {
		t.Fatalf("state after CompleteJob: %s", got.State)
	}

	// An empty roster (every row rejected by validation) completes at once.
	mustCreateJob(t, s, newJob("job-e", true))
	_, err := s.FinishValidation(ctx, "job-e", domain.JobValidation{Total: 2, Rejected: 2}, jobT0)
	must(t, "FinishValidation", err)
	complete("job-e", true, domain.JobDone)

	mustCreateJob(t, s, newJob("job-f", false))
	must(t, "FailJob", s.FailJob(ctx, "job-f", "not a roster", jobT0))
	complete("job-f", false, domain.JobFailed)

	_, _, err = s.CompleteJob(ctx, "absent", jobT0)
	wantErr(t, "CompleteJob of an absent job", err, domain.ErrNotFound)
}

func testJobCompleteNotify(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	id := startJob(t, s, "job-1", true, 2).ID
	record(t, s, id, 2, domain.RowIssued, true)
	record(t, s, id, 3, domain.RowIssued, true)
	if _, moved, err := s.CompleteJob(ctx, id, jobT0); err != nil || moved {
		t.Fatalf("CompleteJob before any mail: moved=%v err=%v, want false nil", moved, err)
	}
	if _, err := s.RecordRowMail(ctx, id, 2, domain.RowMailSent, jobT0); err != nil {
		t.Fatal(err)
	}
	if _, moved, err := s.CompleteJob(ctx, id, jobT0); err != nil || moved {
		t.Fatalf("CompleteJob with one mail unsettled: moved=%v err=%v, want false nil", moved, err)
	}
	if _, err := s.RecordRowMail(ctx, id, 3, domain.RowMailSuppressed, jobT0); err != nil {
		t.Fatal(err)
	}
	if j, moved, err := s.CompleteJob(ctx, id, jobT0); err != nil || !moved || j.State != domain.JobDone {
		t.Fatalf("CompleteJob with every mail settled: moved=%v state=%s err=%v, want true done nil", moved, j.State, err)
	}
}

func testJobFail(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	at := jobT0.Add(time.Minute)
	j := newJob("job-1", false)
	mustCreateJob(t, s, j)
	must(t, "FailJob of a validating job", s.FailJob(ctx, j.ID, "the file is empty", at))
	j.State, j.Message, j.UpdatedAt = domain.JobFailed, "the file is empty", at
	sameJob(t, "after FailJob", mustGetJob(t, s, j.ID), j)
	wantErr(t, "FailJob of a failed job", s.FailJob(ctx, j.ID, "again", at), domain.ErrConflict)
	sameJob(t, "after a refused FailJob", mustGetJob(t, s, j.ID), j)

	startJob(t, s, "job-2", false, 5)
	must(t, "FailJob of an issuing job", s.FailJob(ctx, "job-2", "stopped", at))
	if got := mustGetJob(t, s, "job-2"); got.State != domain.JobFailed || got.Message != "stopped" || got.Total != 5 {
		t.Fatalf("an issuing job after FailJob: %+v", got)
	}

	startJob(t, s, "job-3", false, 0)
	if _, moved, err := s.CompleteJob(ctx, "job-3", at); err != nil || !moved {
		t.Fatalf("CompleteJob of an empty job: moved=%v err=%v", moved, err)
	}
	wantErr(t, "FailJob of a done job", s.FailJob(ctx, "job-3", "late", at), domain.ErrConflict)
	if got := mustGetJob(t, s, "job-3"); got.State != domain.JobDone || got.Message != "" {
		t.Fatalf("a done job after a refused FailJob: state %s message %q", got.State, got.Message)
	}

	wantErr(t, "FailJob of an absent job", s.FailJob(ctx, "absent", "x", at), domain.ErrNotFound)
}

// --- rosters and suppressions

func testJobClaimRoster(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	claim := func(issuer, ach, sha, job, want string) {
		t.Helper()
		got, err := s.ClaimRoster(ctx, issuer, ach, sha, job)
		must(t, fmt.Sprintf("ClaimRoster(%s, %s, %s, %s)", issuer, ach, sha, job), err)
		if got != want {
			t.Fatalf("ClaimRoster(%s, %s, %s, %s) = %s, want %s", issuer, ach, sha, job, got, want)
		}
	}
	claim("iss", "ach", "sha1", "job-1", "job-1")
	claim("iss", "ach", "sha1", "job-1", "job-1") // a retried roster event
	claim("iss", "ach", "sha1", "job-2", "job-1") // a re-upload
	claim("iss", "ach", "sha2", "job-3", "job-3")
	claim("iss", "ach2", "sha1", "job-4", "job-4")
	claim("iss2", "ach", "sha1", "job-5", "job-5")
	// ids holding the separators of the adapters' key schemes must not meet
	claim("a#b", "c", "sha1", "job-6", "job-6")
	claim("a", "b#c", "sha1", "job-7", "job-7")

	// Uploads of the same file racing each other agree on one first job.
	const n = 10
	var (
		wg   sync.WaitGroup
		got  [n]string
		errs [n]error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = s.ClaimRoster(ctxT(t), "iss", "ach", "race", fmt.Sprintf("racer-%d", i))
		}()
	}
	wg.Wait()
	for i := range n {
		must(t, "concurrent ClaimRoster", errs[i])
		if got[i] != got[0] {
			t.Fatalf("concurrent claims answered %v, want one job", got)
		}
	}
	claim("iss", "ach", "race", "late", got[0])
}

func testJobSuppressions(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	key := domain.EmailLookupKey("iss", "Ada@Example.org")
	_, err := s.GetSuppression(ctx, "iss", key)
	wantErr(t, "GetSuppression before Suppress", err, domain.ErrNotFound)

	sup := domain.Suppression{IssuerID: "iss", EmailKey: key, Email: "Ada@Example.org", Reason: "bounced",
		Detail: "550 5.1.1 user unknown", At: jobT0}
	must(t, "Suppress", s.Suppress(ctx, sup))
	sameSuppression(t, "GetSuppression", s, sup)

	sup.Reason, sup.Detail, sup.At = "complained", "", jobT0.Add(time.Hour)
	must(t, "Suppress again", s.Suppress(ctx, sup))
	sameSuppression(t, "GetSuppression after a refresh", s, sup)

	_, err = s.GetSuppression(ctx, "other", key)
	wantErr(t, "GetSuppression of another issuer", err, domain.ErrNotFound)
	_, err = s.GetSuppression(ctx, "iss", domain.EmailLookupKey("iss", "bob@example.org"))
	wantErr(t, "GetSuppression of another address", err, domain.ErrNotFound)
}

func sameSuppression(t *testing.T, what string, s domain.JobStore, want domain.Suppression) {
	t.Helper()
	got, err := s.GetSuppression(ctxT(t), want.IssuerID, want.EmailKey)
	must(t, what, err)
	checkUTC(t, what, got.At)
	got.At, want.At = ms(got.At), ms(want.At)
	if got != want {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func testJobInvalid(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	notMissingOrTaken(t, "CreateJob with an empty id", s.CreateJob(ctx, newJob("", false)))
	id := startJob(t, s, "job-1", true, 5).ID
	for _, row := range []int{0, -1} {
		_, err := s.RecordRow(ctx, id, row, domain.RowIssued, "c", nil, jobT0)
		notMissingOrTaken(t, fmt.Sprintf("RecordRow of row %d", row), err)
		_, _, err = s.ClaimRowMail(ctx, id, row, jobT0, jobT0.Add(time.Minute))
		notMissingOrTaken(t, fmt.Sprintf("ClaimRowMail of row %d", row), err)
		_, err = s.RecordRowMail(ctx, id, row, domain.RowMailSent, jobT0)
		notMissingOrTaken(t, fmt.Sprintf("RecordRowMail of row %d", row), err)
	}
	_, err := s.RecordRow(ctx, id, 2, "lost", "c", nil, jobT0)
	notMissingOrTaken(t, "RecordRow of an unknown outcome", err)
	_, err = s.RecordRowMail(ctx, id, 2, "lost", jobT0)
	notMissingOrTaken(t, "RecordRowMail of an unknown outcome", err)
	mustCreateJob(t, s, newJob("job-v", false))
	notMissingOrTaken(t, "SetJobFile without a hash", s.SetJobFile(ctx, "job-v", "", "job-v"))
	notMissingOrTaken(t, "SetJobFile without a source job", s.SetJobFile(ctx, "job-v", "aa11", ""))
	_, err = s.ClaimRoster(ctx, "", "ach", "sha", "job")
	notMissingOrTaken(t, "ClaimRoster with an empty issuer", err)
	notMissingOrTaken(t, "Suppress with an empty e-mail key", s.Suppress(ctx, domain.Suppression{IssuerID: "iss", Reason: "bounced"}))
	_, _, err = s.ListRowErrors(ctx, "", domain.Page{})
	notMissingOrTaken(t, "ListRowErrors with an empty job id", err)
	notMissingOrTaken(t, "SetErrorReport with an empty key", s.SetErrorReport(ctx, id, ""))
	notMissingOrTaken(t, "SetErrorReport with an empty job id", s.SetErrorReport(ctx, "", "reports/x.csv"))
	wantCounts(t, s, id, "after refused input", counts{})
}

func testJobLongMessages(t *testing.T, s domain.JobStore) {
	ctx := ctxT(t)
	// 'é' is two bytes and the limit is even, so an odd prefix makes the cut fall inside one.
	long := "x" + strings.Repeat("é", 3*MaxRowErrorMessage)
	mustCreateJob(t, s, newJob("job-1", false))
	_, err := s.RecordRow(ctx, "job-1", 2, domain.RowFailed, "", &domain.RowError{Row: 2, Message: long}, jobT0)
	must(t, "RecordRow with a long message", err)
	j, err := s.FinishValidation(ctx, "job-1", domain.JobValidation{Total: 3, Rejected: 1,
		Errors: []domain.RowError{{Row: 3, Message: long}}}, jobT0)
	must(t, "FinishValidation with a long message", err)
	if len(j.Errors) != 2 {
		t.Fatalf("errors %d, want 2", len(j.Errors))
	}
	listed, _, err := s.ListRowErrors(ctx, "job-1", domain.Page{})
	must(t, "ListRowErrors", err)
	if len(listed) != 1 || listed[0].Row != 2 {
		t.Fatalf("row errors %d, want row 2's", len(listed))
	}
	for i, e := range append(mustGetJob(t, s, "job-1").Errors, listed...) {
		if len(e.Message) > MaxRowErrorMessage || len(e.Message) < MaxRowErrorMessage-4 ||
			!utf8.ValidString(e.Message) || !strings.HasPrefix(long, e.Message) {
			t.Fatalf("error #%d: message of %d bytes (valid UTF-8 %v), want a prefix of at most %d whole characters",
				i, len(e.Message), utf8.ValidString(e.Message), MaxRowErrorMessage)
		}
	}
}
