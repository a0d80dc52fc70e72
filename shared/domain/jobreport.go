package domain

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
)

// complete moves an issuing job whose rows are all accounted for to done, after adding the rows
// that went bad while issuing (rejected by the domain, or failed every delivery) to its error
// report: the roster worker's report has only the rows the file validation refused, and the
// job's own error list stops at MaxJobErrors.
//
// The report comes first so that "done" means the report is final: the CLI takes the report's
// URL from the first answer that says done. Every caller holds an issuing, accounted job, so
// several can get here at once (the last rows' workers, a GetJob) and a delivery that failed
// after the report was written gets here again: the report is rebuilt from the same stored
// errors each time, so writing it twice writes the same bytes.
//
// A report that cannot be written is logged and the job completes all the same: the counters
// and the job's error list are right without it, a job kept from completing by its report would
// never finish if the cause lasts, and a worker that failed its delivery here would only repeat
// the row's work. Nothing retries it later: that would need a mark of "report pending" stored
// with the job and looked at by every GetJob, for a failure the log names.
func (b *Bulk) complete(ctx context.Context, cur Job) (Job, bool, error) {
	if err := b.addIssueErrors(ctx, cur); err != nil {
		b.Svc.log(ctx).Error("the error report lacks the rows that went bad while issuing", "jobId", cur.ID, "err", err)
	}
	return b.Jobs.CompleteJob(ctx, cur.ID, b.now())
}

// addIssueErrors rewrites the job's error report with the errors RecordRow kept for its rows,
// merged with the lines the roster worker wrote, in row order, and records the report's key on
// a job that had none. A job with no such errors keeps its report as it is.
func (b *Bulk) addIssueErrors(ctx context.Context, j Job) error {
	if j.Rejected+j.Failed == 0 {
		return nil
	}
	issued, err := b.allRowErrors(ctx, j.ID)
	if err != nil {
		return err
	}
	if len(issued) == 0 {
		return nil
	}
	key := j.ErrorReportKey
	var lines []RowError
	if key != "" {
		// The validation's lines are read back rather than derived again from the file: the
		// checks depend on the time and on the issuer's achievements, which may have changed
		// since (a deleted achievement would turn rows issued since into validation errors).
		if lines, err = b.readReport(ctx, key); err != nil {
			return err
		}
	} else {
		key = ReportKey(j.ID)
	}
	lines = mergeReport(lines, issued)
	var buf bytes.Buffer
	if err := b.Report.Write(&buf, lines); err != nil {
		return fmt.Errorf("write the error report: %w", err)
	}
	if err := b.Blobs.Put(ctx, key, bytes.NewReader(buf.Bytes()), int64(buf.Len()), "text/csv; charset=utf-8"); err != nil {
		return fmt.Errorf("store the error report: %w", err)
	}
	if j.ErrorReportKey == "" {
		if err := b.Jobs.SetErrorReport(ctx, j.ID, key); err != nil {
			return fmt.Errorf("record the error report: %w", err)
		}
	}
	b.Svc.log(ctx).Info("error report completed with the rows that went bad while issuing", "jobId", j.ID,
		"lines", len(lines), "issueErrors", len(issued))
	return nil
}

// allRowErrors reads every error ListRowErrors has for a job.
func (b *Bulk) allRowErrors(ctx context.Context, jobID string) ([]RowError, error) {
	var (
		all    []RowError
		cursor string
	)
	for {
		page, next, err := b.Jobs.ListRowErrors(ctx, jobID, Page{Cursor: cursor, Limit: MaxPageLimit})
		if err != nil {
			return nil, fmt.Errorf("list row errors: %w", err)
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		if next == cursor {
			return nil, fmt.Errorf("list row errors: the listing does not advance past %q", cursor)
		}
		cursor = next
	}
}

// mergeReport puts the issue-time errors among the report's lines in row order (stable, so a
// row's lines keep their order). A row with an issue-time error has no validation line (the
// roster worker queues only rows that passed), so the report's lines of such a row can only be
// that same error written by an earlier run of this merge: they are replaced, which makes the
// merge give the same result however often it runs.
func mergeReport(lines, issued []RowError) []RowError {
	rows := make(map[int]bool, len(issued))
	for _, e := range issued {
		rows[e.Row] = true
	}
	out := make([]RowError, 0, len(lines)+len(issued))
	for _, e := range lines {
		if !rows[e.Row] {
			out = append(out, e)
		}
	}
	out = append(out, issued...)
	slices.SortStableFunc(out, func(a, b RowError) int { return cmp.Compare(a.Row, b.Row) })
	return out
}

// readReport reads an error report back.
func (b *Bulk) readReport(ctx context.Context, key string) ([]RowError, error) {
	blob, err := b.Blobs.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("open the error report %s: %w", key, err)
	}
	defer blob.Close()
	lines, err := b.Report.Read(io.NewSectionReader(blob, 0, blob.Size()))
	if err != nil {
		return nil, fmt.Errorf("read the error report %s: %w", key, err)
	}
	return lines, nil
}
