package boltstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/credence-oss/credence/shared/domain"
)

// The JobStore lives in the same file as the Store, in buckets of its own:
//
//	bucket        key                                    value
//	jobs          (jobID)                                job without counters and errors
//	job_counts    (jobID)                                counters (binary, jobcodec.go)
//	job_errors    (jobID)                                row errors (binary, jobcodec.go)
//	job_rows      (jobID, row)                           row marker (outcome, mail, lease, error)
//	rosters       (issuerID, achievementID, sha256)      first jobID
//	suppressions  (issuerID, emailKey)                   suppression
//
// Open creates them with the others. A row's marker and the job's counters change in one bbolt transaction, which is what makes
// the counters exact: a redelivered row finds its marker and counts nothing.
var (
	bJobs         = []byte("jobs")
	bJobCounts    = []byte("job_counts")
	bJobErrors    = []byte("job_errors")
	bJobRows      = []byte("job_rows")
	bRosters      = []byte("rosters")
	bSuppressions = []byte("suppressions")
)

var _ domain.JobStore = (*Store)(nil)

type jobRec struct {
	ID             string            `json:"id"`
	IssuerID       string            `json:"iss"`
	AchievementID  string            `json:"ach"`
	Filename       string            `json:"fn,omitempty"`
	Notify         bool              `json:"nt,omitempty"`
	State          string            `json:"st"`
	Total          int               `json:"t,omitempty"`
	Issued         int               `json:"i,omitempty"`
	Rejected       int               `json:"r,omitempty"`
	Failed         int               `json:"f,omitempty"`
	Mailed         int               `json:"m,omitempty"`
	MailSuppressed int               `json:"ms,omitempty"`
	MailFailed     int               `json:"mf,omitempty"`
	Errors         []domain.RowError `json:"e,omitempty"`
	ErrorReportKey string            `json:"rk,omitempty"`
	UploadKey      string            `json:"uk,omitempty"`
	FileSHA256     string            `json:"sha,omitempty"`
	SourceJobID    string            `json:"src,omitempty"`
	Message        string            `json:"msg,omitempty"`
	CreatedAt      time.Time         `json:"ca"`
	UpdatedAt      time.Time         `json:"ua"`
}

func toJobRec(j domain.Job) jobRec {
	return jobRec{
		ID: j.ID, IssuerID: j.IssuerID, AchievementID: j.AchievementID, Filename: j.Filename, Notify: j.Notify,
		State: string(j.State), Total: j.Total, Issued: j.Issued, Rejected: j.Rejected, Failed: j.Failed,
		Mailed: j.Mailed, MailSuppressed: j.MailSuppressed, MailFailed: j.MailFailed, Errors: capErrors(nil, j.Errors),
		ErrorReportKey: j.ErrorReportKey, UploadKey: j.UploadKey, FileSHA256: j.FileSHA256, SourceJobID: j.SourceJobID,
		Message: j.Message, CreatedAt: j.CreatedAt.UTC(), UpdatedAt: j.UpdatedAt.UTC(),
	}
}

func (r jobRec) domain() domain.Job {
	errs := make([]domain.RowError, len(r.Errors))
	copy(errs, r.Errors)
	return domain.Job{
		ID: r.ID, IssuerID: r.IssuerID, AchievementID: r.AchievementID, Filename: r.Filename, Notify: r.Notify,
		State: domain.JobState(r.State), Total: r.Total, Issued: r.Issued, Rejected: r.Rejected, Failed: r.Failed,
		Mailed: r.Mailed, MailSuppressed: r.MailSuppressed, MailFailed: r.MailFailed, Errors: errs,
		ErrorReportKey: r.ErrorReportKey, UploadKey: r.UploadKey, FileSHA256: r.FileSHA256, SourceJobID: r.SourceJobID,
		Message: r.Message, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// capErrors appends add to errs while errs holds fewer than domain.MaxJobErrors.
func capErrors(errs, add []domain.RowError) []domain.RowError {
	room := domain.MaxJobErrors - len(errs)
	if room <= 0 {
		return errs
	}
	if len(add) > room {
		add = add[:room]
	}
	for _, e := range add {
		e.Message = domain.ClipRowMessage(e.Message)
		errs = append(errs, e)
	}
	return errs
}

type rowRec struct {
	Outcome      string    `json:"o,omitempty"`
	CredentialID string    `json:"c,omitempty"`
	Mail         string    `json:"m,omitempty"`
	LeaseUntil   time.Time `json:"l,omitzero"`
	// Err is the error of a row rejected or failed while issuing. Markers were JSON only before
	// errors were kept, so a JSON marker never has one.
	Err *markerErr `json:"-"`
}

// markerErr is a row's error without its row number, which the marker's key holds.
type markerErr struct{ Field, Message string }

func rowKey(jobID string, row int) []byte { return tuple(jobID, strconv.Itoa(row)) }

func checkRow(row int) error {
	if row < 1 {
		return fmt.Errorf("row %d: rows are numbered from 1", row)
	}
	return nil
}

// changeJob reads a job, lets change edit it and writes it back unless change answers false.
// change must not write: it runs before anything is written so that a batch can retry it.
func (s *Store) changeJob(ctx context.Context, id, what string, change func(tx *bolt.Tx, r *jobRec) (bool, error)) error {
	if err := domain.CheckKeys("job id", id); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(id)
		r, err := loadJob(tx, k, what+" "+id)
		if err != nil {
			return err
		}
		write, err := change(tx, &r)
		if err != nil || !write {
			return err
		}
		return storeJob(tx, k, r, what+" "+id)
	})
}

// changeCounts is changeJob for the per-row paths: it reads and writes only the job's counters
// (and appends to its error list), never the record with the job's other fields, which the
// row paths do not change. Same contract for change as changeJob.
func (s *Store) changeCounts(ctx context.Context, id, what string, change func(tx *bolt.Tx, c *jobCounts) (bool, []domain.RowError, error)) error {
	if err := domain.CheckKeys("job id", id); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(id)
		c, err := loadCounts(tx, k, what+" "+id)
		if err != nil {
			return err
		}
		write, add, err := change(tx, &c)
		if err != nil || !write {
			return err
		}
		if err := appendErrors(tx, k, &c, add); err != nil {
			return fmt.Errorf("%s %s: %w", what, id, err)
		}
		if err := tx.Bucket(bJobCounts).Put(k, c.encode()); err != nil {
			return fmt.Errorf("%s %s: write: %w", what, id, err)
		}
		return nil
	})
}

// loadJob reads a whole job: the record, then its counters and errors where they are kept
// apart (a job written before they were keeps them in the record).
func loadJob(tx *bolt.Tx, k []byte, what string) (jobRec, error) {
	r, err := get[jobRec](tx, bJobs, k, what)
	if err != nil {
		return r, err
	}
	v := tx.Bucket(bJobCounts).Get(k)
	if v == nil {
		return r, nil
	}
	c, err := decodeCounts(v)
	if err != nil {
		return r, fmt.Errorf("%s: %w", what, err)
	}
	c.into(&r)
	if r.Errors, err = decodeErrors(tx.Bucket(bJobErrors).Get(k), c.errs); err != nil {
		return r, fmt.Errorf("%s: %w", what, err)
	}
	return r, nil
}

// storeJob writes a whole job in three parts: the record without counters and errors, the
// counters, and the errors.
func storeJob(tx *bolt.Tx, k []byte, r jobRec, what string) error {
	c := countsOf(r)
	var errs []byte
	for _, e := range r.Errors {
		errs = appendRowError(errs, e)
	}
	r.Issued, r.Rejected, r.Failed, r.Mailed, r.MailSuppressed, r.MailFailed, r.Errors = 0, 0, 0, 0, 0, 0, nil
	if err := put(tx, bJobs, k, r, what); err != nil {
		return err
	}
	if err := tx.Bucket(bJobCounts).Put(k, c.encode()); err != nil {
		return fmt.Errorf("%s: write counters: %w", what, err)
	}
	if err := tx.Bucket(bJobErrors).Put(k, errs); err != nil {
		return fmt.Errorf("%s: write errors: %w", what, err)
	}
	return nil
}

// loadCounts reads a job's counters. A job stored before counters were kept apart is moved to
// the split layout first, so that the counters written next are the ones read.
func loadCounts(tx *bolt.Tx, k []byte, what string) (jobCounts, error) {
	if v := tx.Bucket(bJobCounts).Get(k); v != nil {
		c, err := decodeCounts(v)
		if err != nil {
			return c, fmt.Errorf("%s: %w", what, err)
		}
		return c, nil
	}
	r, err := get[jobRec](tx, bJobs, k, what)
	if err != nil {
		return jobCounts{}, err
	}
	if err := storeJob(tx, k, r, what); err != nil {
		return jobCounts{}, err
	}
	return countsOf(r), nil
}

// CreateJob implements domain.JobStore.
func (s *Store) CreateJob(ctx context.Context, j domain.Job) error {
	if err := domain.CheckKeys("job id", j.ID, "issuer id", j.IssuerID); err != nil {
		return fmt.Errorf("create job: %w", err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(j.ID)
		if exists(tx, bJobs, k) {
			return fmt.Errorf("create job %s: %w", j.ID, domain.ErrConflict)
		}
		return storeJob(tx, k, toJobRec(j), "create job "+j.ID)
	})
}

// GetJob implements domain.JobStore. bbolt reads are always consistent.
func (s *Store) GetJob(ctx context.Context, id string) (domain.Job, error) {
	var out domain.Job
	err := s.view(ctx, func(tx *bolt.Tx) error {
		r, err := loadJob(tx, tuple(id), "job "+id)
		out = r.domain()
		return err
	})
	return out, err
}

// SetJobFile implements domain.JobStore.
func (s *Store) SetJobFile(ctx context.Context, id, sha256, sourceJobID string) error {
	if err := domain.CheckKeys("file hash", sha256, "source job id", sourceJobID); err != nil {
		return fmt.Errorf("set file of job %s: %w", id, err)
	}
	return s.changeJob(ctx, id, "set file of job", func(_ *bolt.Tx, r *jobRec) (bool, error) {
		if r.State != string(domain.JobValidating) {
			return false, fmt.Errorf("set file of job %s: it is %s: %w", id, r.State, domain.ErrConflict)
		}
		r.FileSHA256, r.SourceJobID = sha256, sourceJobID
		return true, nil
	})
}

// FinishValidation implements domain.JobStore.
func (s *Store) FinishValidation(ctx context.Context, id string, v domain.JobValidation, at time.Time) (domain.Job, error) {
	var out domain.Job
	err := s.changeJob(ctx, id, "finish validation of job", func(_ *bolt.Tx, r *jobRec) (bool, error) {
		if r.State != string(domain.JobValidating) {
			return false, fmt.Errorf("finish validation of job %s: it is %s: %w", id, r.State, domain.ErrConflict)
		}
		r.State, r.Total, r.Rejected = string(domain.JobIssuing), v.Total, r.Rejected+v.Rejected
		r.Errors = capErrors(r.Errors, v.Errors)
		r.ErrorReportKey, r.UpdatedAt = v.ErrorReportKey, at.UTC()
		out = r.domain()
		return true, nil
	})
	return out, err
}

// FailJob implements domain.JobStore.
func (s *Store) FailJob(ctx context.Context, id, message string, at time.Time) error {
	return s.changeJob(ctx, id, "fail job", func(_ *bolt.Tx, r *jobRec) (bool, error) {
		if r.State != string(domain.JobValidating) && r.State != string(domain.JobIssuing) {
			return false, fmt.Errorf("fail job %s: it is %s: %w", id, r.State, domain.ErrConflict)
		}
		r.State, r.Message, r.UpdatedAt = string(domain.JobFailed), message, at.UTC()
		return true, nil
	})
}

// CompleteJob implements domain.JobStore.
func (s *Store) CompleteJob(ctx context.Context, id string, at time.Time) (domain.Job, bool, error) {
	var (
		out   domain.Job
		moved bool
	)
	err := s.changeJob(ctx, id, "complete job", func(_ *bolt.Tx, r *jobRec) (bool, error) {
		moved = false
		if j := r.domain(); j.State != domain.JobIssuing || !j.Accounted() {
			out = j
			return false, nil
		}
		r.State, r.UpdatedAt = string(domain.JobDone), at.UTC()
		out, moved = r.domain(), true
		return true, nil
	})
	return out, moved, err
}

// RecordRow implements domain.JobStore.
func (s *Store) RecordRow(ctx context.Context, jobID string, row int, outcome domain.RowOutcome, credentialID string, rowErr *domain.RowError, at time.Time) (bool, error) {
	switch outcome {
	case domain.RowIssued, domain.RowRejected, domain.RowFailed:
	default:
		return false, fmt.Errorf("record row %d of job %s: unknown outcome %q", row, jobID, outcome)
	}
	if err := checkRow(row); err != nil {
		return false, fmt.Errorf("record row of job %s: %w", jobID, err)
	}
	var changed bool
	err := s.changeCounts(ctx, jobID, "record row of job", func(tx *bolt.Tx, c *jobCounts) (bool, []domain.RowError, error) {
		changed = false
		k := rowKey(jobID, row)
		m, err := getRow(tx, k, fmt.Sprintf("row %d of job %s", row, jobID))
		if err != nil {
			return false, nil, err
		}
		switch {
		case m.Outcome == "":
		case m.Outcome == string(domain.RowFailed) && outcome == domain.RowIssued:
			c.failed--
		default:
			return false, nil, nil // a redelivery, or a final row
		}
		switch outcome {
		case domain.RowIssued:
			c.issued++
		case domain.RowRejected:
			c.rejected++
		case domain.RowFailed:
			c.failed++
		}
		var add []domain.RowError
		m.Err = nil // an issued row has none: a failed row moved to issued drops its own
		if rowErr != nil && outcome != domain.RowIssued {
			add = []domain.RowError{*rowErr}
			m.Err = &markerErr{Field: rowErr.Field, Message: domain.ClipRowMessage(rowErr.Message)}
		}
		m.Outcome, m.CredentialID = string(outcome), credentialID
		if err := putRow(tx, k, m, fmt.Sprintf("record row %d of job %s", row, jobID)); err != nil {
			return false, nil, err
		}
		changed = true
		return true, add, nil
	})
	return changed, err
}

// kindRowErrors is the listing kind of ListRowErrors' cursors (keys.go has the others).
const kindRowErrors byte = 'R'

// markerRow is the row number of a job_rows key under prefix (the job's tuple): the row part
// is decimal digits, which tuple writes unescaped.
func markerRow(k, prefix []byte) (int, bool) {
	digits := k[len(prefix):]
	if len(digits) < 2 || digits[len(digits)-1] != 0x00 || digits[0] < '1' || digits[0] > '9' {
		return 0, false
	}
	n, err := strconv.Atoi(string(digits[:len(digits)-1]))
	return n, err == nil && n > 0
}

// ListRowErrors implements domain.JobStore. A job's markers sort by the decimal text of their
// row ("10" before "9"), so a page walks all of them and sorts the rows with an error: markers
// without one are passed over by their first byte, and only the page's own errors are decoded.
// That is a read of every marker per page, cheap for the embedded store's jobs; the domain asks
// for pages of MaxPageLimit.
func (s *Store) ListRowErrors(ctx context.Context, jobID string, p domain.Page) ([]domain.RowError, string, error) {
	const what = "list row errors of job"
	if err := domain.CheckKeys("job id", jobID); err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	prefix := tuple(jobID)
	after := 0
	if p.Cursor != "" {
		key, err := decodeCursor(p.Cursor, kindRowErrors, prefix, 2)
		if err != nil {
			return nil, "", fmt.Errorf("%s %s: %w", what, jobID, err)
		}
		row, ok := markerRow(key, prefix)
		if !ok {
			return nil, "", fmt.Errorf("%s %s: %w: malformed position", what, jobID, domain.ErrInvalidCursor)
		}
		after = row
	}
	limit := p.Size()
	var (
		out  []domain.RowError
		next string
	)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if !exists(tx, bJobs, prefix) {
			return fmt.Errorf("%s %s: %w", what, jobID, domain.ErrNotFound)
		}
		markers := tx.Bucket(bJobRows)
		var rows []int
		c := markers.Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			if len(v) == 0 || v[0] != rowFormatErr {
				continue
			}
			row, ok := markerRow(k, prefix)
			if !ok {
				return fmt.Errorf("%s %s: malformed marker key %q", what, jobID, k)
			}
			if row > after {
				rows = append(rows, row)
			}
		}
		slices.Sort(rows)
		if len(rows) > limit {
			rows = rows[:limit]
			next = encodeCursor(kindRowErrors, rowKey(jobID, rows[limit-1]))
		}
		out = make([]domain.RowError, 0, len(rows))
		for _, row := range rows {
			m, err := getRow(tx, rowKey(jobID, row), fmt.Sprintf("row %d of job %s", row, jobID))
			if err != nil {
				return err
			}
			if m.Err == nil {
				return fmt.Errorf("%s %s: row %d: %w", what, jobID, row, errBadValue)
			}
			out = append(out, domain.RowError{Row: row, Field: m.Err.Field, Message: m.Err.Message})
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// SetErrorReport implements domain.JobStore.
func (s *Store) SetErrorReport(ctx context.Context, id, key string) error {
	if err := domain.CheckKeys("report key", key); err != nil {
		return fmt.Errorf("set error report of job %s: %w", id, err)
	}
	return s.changeJob(ctx, id, "set error report of job", func(_ *bolt.Tx, r *jobRec) (bool, error) {
		if r.ErrorReportKey != "" {
			return false, nil
		}
		r.ErrorReportKey = key
		return true, nil
	})
}

// ClaimRowMail implements domain.JobStore.
func (s *Store) ClaimRowMail(ctx context.Context, jobID string, row int, now, until time.Time) (claimed, settled bool, err error) {
	if err := domain.CheckKeys("job id", jobID); err != nil {
		return false, false, fmt.Errorf("claim mail: %w", err)
	}
	if err := checkRow(row); err != nil {
		return false, false, fmt.Errorf("claim mail of job %s: %w", jobID, err)
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		claimed, settled = false, false
		k := rowKey(jobID, row)
		what := fmt.Sprintf("claim mail of row %d of job %s", row, jobID)
		m, err := getRow(tx, k, what)
		if err != nil {
			return err
		}
		if m.Mail != "" {
			settled = true
			return nil
		}
		if now.Before(m.LeaseUntil) {
			return nil
		}
		m.LeaseUntil = until.UTC()
		if err := putRow(tx, k, m, what); err != nil {
			return err
		}
		claimed = true
		return nil
	})
	return claimed, settled, err
}

// RecordRowMail implements domain.JobStore.
func (s *Store) RecordRowMail(ctx context.Context, jobID string, row int, outcome domain.MailOutcome, at time.Time) (bool, error) {
	switch outcome {
	case domain.RowMailSent, domain.RowMailSuppressed, domain.RowMailFailed:
	default:
		return false, fmt.Errorf("record mail of row %d of job %s: unknown outcome %q", row, jobID, outcome)
	}
	if err := checkRow(row); err != nil {
		return false, fmt.Errorf("record mail of job %s: %w", jobID, err)
	}
	var changed bool
	err := s.changeCounts(ctx, jobID, "record mail of job", func(tx *bolt.Tx, c *jobCounts) (bool, []domain.RowError, error) {
		changed = false
		k := rowKey(jobID, row)
		what := fmt.Sprintf("record mail of row %d of job %s", row, jobID)
		m, err := getRow(tx, k, what)
		if err != nil || m.Mail != "" {
			return false, nil, err
		}
		switch outcome {
		case domain.RowMailSent:
			c.mailed++
		case domain.RowMailSuppressed:
			c.mailSuppressed++
		case domain.RowMailFailed:
			c.mailFailed++
		}
		m.Mail, m.LeaseUntil = string(outcome), time.Time{}
		if err := putRow(tx, k, m, what); err != nil {
			return false, nil, err
		}
		changed = true
		return true, nil, nil
	})
	return changed, err
}

// ClaimRoster implements domain.JobStore.
func (s *Store) ClaimRoster(ctx context.Context, issuerID, achievementID, sha256, jobID string) (string, error) {
	if err := domain.CheckKeys("issuer id", issuerID, "achievement id", achievementID, "file hash", sha256, "job id", jobID); err != nil {
		return "", fmt.Errorf("claim roster: %w", err)
	}
	var first string
	err := s.update(ctx, func(tx *bolt.Tx) error {
		k := tuple(issuerID, achievementID, sha256)
		b := tx.Bucket(bRosters)
		if v := b.Get(k); v != nil {
			first = string(v)
			return nil
		}
		first = jobID
		if err := b.Put(k, []byte(jobID)); err != nil {
			return fmt.Errorf("claim roster %s for job %s: %w", sha256, jobID, err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return first, nil
}

type suppressionRec struct {
	IssuerID string    `json:"iss"`
	EmailKey string    `json:"k"`
	Email    string    `json:"e,omitempty"`
	Reason   string    `json:"r,omitempty"`
	Detail   string    `json:"d,omitempty"`
	At       time.Time `json:"at"`
}

// Suppress implements domain.JobStore.
func (s *Store) Suppress(ctx context.Context, sup domain.Suppression) error {
	if err := domain.CheckKeys("issuer id", sup.IssuerID, "e-mail key", sup.EmailKey); err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	rec := suppressionRec{IssuerID: sup.IssuerID, EmailKey: sup.EmailKey, Email: sup.Email, Reason: sup.Reason, Detail: sup.Detail, At: sup.At.UTC()}
	return s.update(ctx, func(tx *bolt.Tx) error {
		return put(tx, bSuppressions, tuple(sup.IssuerID, sup.EmailKey), rec, "suppress an address of issuer "+sup.IssuerID)
	})
}

// GetSuppression implements domain.JobStore.
func (s *Store) GetSuppression(ctx context.Context, issuerID, emailKey string) (domain.Suppression, error) {
	var out domain.Suppression
	err := s.view(ctx, func(tx *bolt.Tx) error {
		r, err := get[suppressionRec](tx, bSuppressions, tuple(issuerID, emailKey), "suppression of issuer "+issuerID)
		out = domain.Suppression{IssuerID: r.IssuerID, EmailKey: r.EmailKey, Email: r.Email, Reason: r.Reason, Detail: r.Detail, At: r.At.UTC()}
		return err
	})
	return out, err
}
