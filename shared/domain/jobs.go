package domain

import (
	"context"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// TopicRoster carries "a roster file arrived" (the S3 ObjectCreated event on AWS, the local
// upload handler under `credence serve`) to the roster worker.
const TopicRoster = "roster"

// JobState is where a bulk job is.
type JobState string

// Job states. A job is validating from its creation until its file has been read through;
// issuing while rows are issued and mailed; done when every row is accounted for and every
// issued row's mail has been handed to the mailer (or suppressed, or given up on); failed when
// the file as a whole cannot be used (unreadable, not a roster, too large).
const (
	JobValidating JobState = "validating"
	JobIssuing    JobState = "issuing"
	JobDone       JobState = "done"
	JobFailed     JobState = "failed"
)

// MaxJobErrors is how many row errors a job keeps in its record (the API shows them); the
// error report in the blob store has all of them (the rows that went bad while issuing are
// added to it when the job completes, from ListRowErrors).
const MaxJobErrors = 100

// RowError is one rejected (or failed) roster row.
type RowError struct {
	Row     int    `json:"row"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Job is one bulk issuance: a roster file and what became of its rows.
type Job struct {
	ID            string   `json:"id"`
	IssuerID      string   `json:"issuerId"`
	AchievementID string   `json:"achievementId"`
	Filename      string   `json:"filename"`
	Notify        bool     `json:"notify"`
	State         JobState `json:"state"`

	Total    int `json:"total"`    // data rows in the file (known once validated)
	Issued   int `json:"issued"`   // rows whose credential exists
	Rejected int `json:"rejected"` // rows refused by validation (file or domain rules)
	Failed   int `json:"failed"`   // rows that kept failing and went to the dead-letter queue
	Mailed   int `json:"mailed"`   // issued rows whose mail was handed to the mailer
	// MailSuppressed: issued rows not mailed because the address bounced or complained before.
	MailSuppressed int `json:"mailSuppressed"`
	// MailFailed: issued rows whose mail the mailer kept refusing.
	MailFailed int `json:"mailFailed"`

	Errors []RowError `json:"errors"`
	// The blob keys are in the JSON because adapters may store the job as JSON; the API shows
	// a view of the job, never these.
	ErrorReportKey string `json:"errorReportKey,omitempty"` // blob key of the full error report (CSV)
	UploadKey      string `json:"uploadKey,omitempty"`      // blob key of the roster file
	FileSHA256     string `json:"fileSha256,omitempty"`
	// SourceJobID is the first job of the same issuer that processed a byte-identical file for
	// the same achievement; its (job, row) pairs name the credentials, so a re-upload finds the
	// credentials it made instead of issuing them again. It equals ID for a first upload.
	SourceJobID string    `json:"sourceJobId,omitempty"`
	Message     string    `json:"message,omitempty"` // why the job failed
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Accounted reports whether every row is issued, rejected or failed and, when the job
// notifies, every issued row's mail is settled (sent, suppressed or given up on).
func (j Job) Accounted() bool {
	if j.State != JobIssuing && j.State != JobDone {
		return false
	}
	if j.Issued+j.Rejected+j.Failed < j.Total {
		return false
	}
	return !j.Notify || j.Mailed+j.MailSuppressed+j.MailFailed >= j.Issued
}

// RowOutcome is what became of one roster row.
type RowOutcome string

// Row outcomes. A failed row may still be issued later (a dead-letter redrive): the store then
// moves it from failed to issued. Issued and rejected are final.
const (
	RowIssued   RowOutcome = "issued"
	RowRejected RowOutcome = "rejected"
	RowFailed   RowOutcome = "failed"
)

// MailOutcome is what became of one issued row's mail.
type MailOutcome string

// Mail outcomes of a job row; each is final and counted once.
const (
	RowMailSent       MailOutcome = "sent"
	RowMailSuppressed MailOutcome = "suppressed"
	RowMailFailed     MailOutcome = "failed"
)

// MailFailed is the credential mail state after the mailer refused the message for good.
const MailFailed = "failed"

// JobValidation is what reading a roster file through found.
type JobValidation struct {
	Total    int
	Rejected int        // rows the file validation refused
	Errors   []RowError // the first MaxJobErrors of them
	// ErrorReportKey is the blob key of the error report ("" when no row was rejected).
	ErrorReportKey string
}

// Suppression is an address the issuer no longer mails (it bounced or complained).
type Suppression struct {
	IssuerID string    `json:"issuerId"`
	EmailKey string    `json:"emailKey"` // EmailLookupKey(issuer, email)
	Email    string    `json:"email"`
	Reason   string    `json:"reason"` // bounced, complained
	Detail   string    `json:"detail,omitempty"`
	At       time.Time `json:"at"`
}

// JobStore keeps bulk jobs, the per-row markers that make their counters exact under
// at-least-once delivery, roster identities and mail suppressions. It is a port of its own so
// that the Store adapters need not change; both adapters (boltstore, dynamostore) implement it
// and pass adapters/storetest.RunJobs.
//
// Counting is exact because every counter change is made in the same transaction as a
// conditional change of the row's marker: a redelivered row, or a row whose first delivery
// crashed after its credential was stored but before it was counted, is counted once when it
// is recorded again, and never twice.
type JobStore interface {
	// CreateJob stores a new job; ErrConflict when the id exists.
	CreateJob(ctx context.Context, j Job) error
	// GetJob reads a job (strongly consistent); ErrNotFound when absent.
	GetJob(ctx context.Context, id string) (Job, error)
	// SetJobFile records the roster file's SHA-256 and the job whose rows name its credentials,
	// while the job is validating; ErrConflict in any other state.
	SetJobFile(ctx context.Context, id, sha256, sourceJobID string) error
	// FinishValidation moves a validating job to issuing and records what validation found
	// (total, rejected count added once, errors appended up to MaxJobErrors, report key).
	// ErrConflict when the job is not validating (a retried roster event after the move).
	FinishValidation(ctx context.Context, id string, v JobValidation, at time.Time) (Job, error)
	// FailJob moves a validating or issuing job to failed with a message; ErrConflict when it
	// is done or failed already.
	FailJob(ctx context.Context, id, message string, at time.Time) error
	// CompleteJob moves an issuing job to done if Accounted holds for the stored counters;
	// it returns the job and whether it moved.
	CompleteJob(ctx context.Context, id string, at time.Time) (Job, bool, error)

	// RecordRow records the outcome of a row and counts it, once: a row already recorded with
	// the same or a final outcome is left alone (changed=false); a failed row that is now issued
	// moves from failed to issued. rowErr, for rejected and failed rows, is appended to the
	// job's errors while it holds fewer than MaxJobErrors, and is kept with the row's marker in
	// the same write whatever the list holds (ListRowErrors), its message clipped like the
	// list's (ClipRowMessage) and its Row the row recorded; a failed row moved to issued loses it.
	RecordRow(ctx context.Context, jobID string, row int, outcome RowOutcome, credentialID string, rowErr *RowError, at time.Time) (changed bool, err error)
	// ListRowErrors pages the errors RecordRow kept with a job's rows, every one of them (the
	// job's own list stops at MaxJobErrors), in row order. The cursor is "" exactly when nothing
	// follows; ErrInvalidCursor for a cursor this listing did not issue for this job; ErrNotFound
	// when the job does not exist. Rows the file validation rejected are not here: they were
	// never recorded one by one, the error report holds them.
	ListRowErrors(ctx context.Context, jobID string, p Page) ([]RowError, string, error)
	// SetErrorReport records key as the blob key of the job's error report when the job has
	// none yet (its only bad rows went bad while issuing); a job that has one keeps it, and
	// nothing else changes. ErrNotFound when the job does not exist.
	SetErrorReport(ctx context.Context, id, key string) error
	// ClaimRowMail leases the mail of a row to one sender until `until`: false when the row's
	// mail is settled (settled=true) or leased by someone else whose lease has not run out.
	ClaimRowMail(ctx context.Context, jobID string, row int, now, until time.Time) (claimed, settled bool, err error)
	// RecordRowMail settles a row's mail and counts it once (changed=false when it was settled).
	RecordRowMail(ctx context.Context, jobID string, row int, outcome MailOutcome, at time.Time) (changed bool, err error)

	// ClaimRoster remembers that jobID is the first job of (issuer, achievement, file SHA-256)
	// and returns that first job's id: jobID itself, or the job that claimed it earlier.
	ClaimRoster(ctx context.Context, issuerID, achievementID, sha256, jobID string) (string, error)

	// Suppress records (or refreshes) a suppressed address of an issuer.
	Suppress(ctx context.Context, s Suppression) error
	// GetSuppression returns the suppression of EmailLookupKey(issuer, email); ErrNotFound if none.
	GetSuppression(ctx context.Context, issuerID, emailKey string) (Suppression, error)
}

// Upload is how a client uploads one file: an HTML-form POST of Fields and then the file (as
// the form field "file") to URL. On AWS it is an S3 presigned POST; under `credence serve` a
// one-time URL of the same server.
type Upload struct {
	URL       string            `json:"url"`
	Fields    map[string]string `json:"fields,omitempty"`
	MaxBytes  int64             `json:"maxBytes"`
	ExpiresAt time.Time         `json:"expiresAt"`
}

// Blob is an open stored object: random access (XLSX files are ZIP archives read from the
// end) and its size.
type Blob interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Blobs is the port to the object store for roster files and error reports (S3 on AWS, a
// folder locally). Roster files live under "rosters/", reports under "reports/".
type Blobs interface {
	// PresignUpload authorizes one form upload of at most maxBytes to key until ttl runs out.
	PresignUpload(ctx context.Context, key string, maxBytes int64, ttl time.Duration) (Upload, error)
	// Open opens a stored object for reading; ErrNotFound when absent.
	Open(ctx context.Context, key string) (Blob, error)
	// Put stores an object.
	Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) error
	// DownloadURL is a URL anyone holding it can GET the object from until ttl runs out,
	// offered to the browser as a download named filename.
	DownloadURL(ctx context.Context, key, filename string, ttl time.Duration) (string, error)
}

// RosterRow is one valid row of a roster file, as the roster parser hands it over.
type RosterRow struct {
	Row               int // line of the file the row came from (the header is line 1)
	Email             string
	Name              string
	ValidFrom         *time.Time
	ValidUntil        *time.Time
	EvidenceURL       string
	EvidenceNarrative string
	Result            string
	AchievementID     string // overrides the job's achievement when set
}

// RosterParser streams a roster file: every valid row to emit, every bad row to reject, in file
// order. It returns an error only when the file as a whole cannot be read as a roster. It is
// a function, not an import, so the domain does not depend on the parser's package; the
// wiring (shared/app) plugs shared/roster in.
type RosterParser func(ctx context.Context, r io.ReaderAt, size int64, filename string,
	emit func(RosterRow) error, reject func(RowError) error) error

// ReportFormat writes the row-level error report (CSV safe to open in a spreadsheet, one
// row,column,reason line per error) and reads it back: the domain reads a job's report to add
// the rows that went bad while issuing and writes it again, so a cell the writer made safe
// should come out of a second writing as it went in (shared/roster/report's does, but for a
// cell cut at its length limit that also needed its leading quote: such a cell loses a
// character per rewriting). Read returns a file-level error with Row 0.
type ReportFormat interface {
	Write(w io.Writer, errs []RowError) error
	Read(r io.Reader) ([]RowError, error)
}

// MaxRowMessage bounds a stored row error's message, so that MaxJobErrors of them always fit in
// one DynamoDB item (400 KB): a row whose error could not be stored would never be counted.
// Both stores clip alike so the domain sees one behaviour.
const MaxRowMessage = 1024

// ClipRowMessage keeps the first MaxRowMessage bytes of m, in whole UTF-8 characters. Invalid
// UTF-8 (a quoted cell of a mis-encoded file) becomes U+FFFD: DynamoDB refuses it outright.
func ClipRowMessage(m string) string {
	m = strings.ToValidUTF8(m, "\uFFFD")
	if len(m) <= MaxRowMessage {
		return m
	}
	cut := MaxRowMessage
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	return m[:cut]
}
