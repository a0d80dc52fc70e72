package domain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bulk is bulk issuance: jobs, the roster worker, the issue worker and the mail worker, over
// the Service and the ports bulk issuance needs besides the Store.
//
// Exactly once per row: a row's credential id derives from (source job, row) and the store
// write is conditional, so any number of deliveries of a row make one credential; each row's
// outcome and mail are recorded through a conditional per-row marker in the same transaction
// as the counter they bump (JobStore), so the counters are exact too. Re-uploading a
// byte-identical file for the same achievement finds the first upload's job through the file's
// SHA-256 (JobStore.ClaimRoster) and names its rows' credentials after that job, so it finds
// the credentials already issued instead of issuing them again.
type Bulk struct {
	Svc     *Service
	Jobs    JobStore
	Blobs   Blobs
	Parse   RosterParser
	Report  ReportFormat
	Mailing Mailing

	MaxUploadBytes int64         // largest roster file accepted (default 50 MB)
	UploadTTL      time.Duration // how long an upload URL works (default 15 minutes)
	ReportTTL      time.Duration // how long an error report URL works (default 1 hour)
	PublishChunk   int           // issue messages per Publish call (default 100)
	// ThrottleRetries is how often an issue worker retries a row whose signing was throttled,
	// within one delivery, before handing the row back to the queue (default 5), starting at
	// ThrottleBackoff (default 100 ms) and doubling, with jitter.
	ThrottleRetries int
	ThrottleBackoff time.Duration
	MailLease       time.Duration // how long a mail sender holds a row's mail (default 2 minutes)

	cacheMu sync.Mutex
	cache   map[string]cached
}

// DefaultMaxUploadBytes is the largest roster file accepted unless configured otherwise.
const DefaultMaxUploadBytes = 50 << 20

func (b *Bulk) maxUpload() int64 {
	if b.MaxUploadBytes > 0 {
		return b.MaxUploadBytes
	}
	return DefaultMaxUploadBytes
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (b *Bulk) now() time.Time { return b.Svc.Clock().UTC() }

// --- jobs ----------------------------------------------------------------------------------

// JobInput creates a bulk job.
type JobInput struct {
	AchievementID string `json:"achievementId" validate:"required,max=64"`
	Filename      string `json:"filename" validate:"required,max=255"`
	// Notify mails every issued credential to its recipient; true unless set to false.
	Notify *bool `json:"notify,omitempty"`
}

// RosterFormats are the file name endings a roster may have.
var RosterFormats = []string{".csv", ".xlsx"}

// CreateJob creates a job for one roster file and returns where to upload the file.
func (b *Bulk) CreateJob(ctx context.Context, p Principal, issuerID string, in JobInput) (Job, Upload, error) {
	if _, err := b.Svc.GetIssuer(ctx, p, issuerID); err != nil {
		return Job{}, Upload{}, err
	}
	if err := check(in); err != nil {
		return Job{}, Upload{}, err
	}
	name := strings.TrimSpace(in.Filename)
	if name != path.Base(strings.ReplaceAll(name, "\\", "/")) || name == "." || strings.ContainsAny(name, "\x00\r\n") {
		return Job{}, Upload{}, Invalid("validation_failed", "the request has invalid fields",
			FieldError{Field: "filename", Message: "must be a file name without folders"})
	}
	ext := strings.ToLower(path.Ext(name))
	okExt := false
	for _, f := range RosterFormats {
		okExt = okExt || ext == f
	}
	if !okExt {
		return Job{}, Upload{}, Invalid("unsupported_format", "a roster is a CSV or XLSX file",
			FieldError{Field: "filename", Message: "must end in .csv or .xlsx"})
	}
	if _, err := b.Svc.Store.GetAchievement(ctx, issuerID, in.AchievementID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Job{}, Upload{}, Invalid("unknown_achievement", "the achievement does not exist for this issuer",
				FieldError{Field: "achievementId", Message: "no such achievement"})
		}
		return Job{}, Upload{}, fmt.Errorf("create job: load achievement: %w", err)
	}
	now := b.now()
	j := Job{
		ID: NewID(), IssuerID: issuerID, AchievementID: in.AchievementID, Filename: name,
		Notify: in.Notify == nil || *in.Notify, State: JobValidating, Errors: []RowError{},
		CreatedAt: now, UpdatedAt: now,
	}
	j.UploadKey = RosterKey(j.ID)
	if err := b.Jobs.CreateJob(ctx, j); err != nil {
		return Job{}, Upload{}, fmt.Errorf("create job: %w", err)
	}
	up, err := b.Blobs.PresignUpload(ctx, j.UploadKey, b.maxUpload(), orDuration(b.UploadTTL, 15*time.Minute))
	if err != nil {
		return Job{}, Upload{}, fmt.Errorf("create job %s: upload URL: %w", j.ID, err)
	}
	b.Svc.log(ctx).Info("job created", "jobId", j.ID, "issuerId", issuerID, "achievementId", in.AchievementID, "filename", name)
	return j, up, nil
}

// JobUpload returns a fresh upload URL for a job still waiting for its file: a client that
// retries job creation with the same Idempotency-Key, or whose first URL ran out, gets the same
// job and a URL that works. A job that has its file answers 409.
func (b *Bulk) JobUpload(ctx context.Context, p Principal, id string) (Job, Upload, error) {
	j, err := b.Jobs.GetJob(ctx, id)
	if err != nil {
		return Job{}, Upload{}, storeErr(err, "job")
	}
	if !p.CanAccess(j.IssuerID) {
		return Job{}, Upload{}, NotFound("job")
	}
	if j.State != JobValidating || j.FileSHA256 != "" {
		return Job{}, Upload{}, Conflict("job_started", "the job has its roster file already")
	}
	up, err := b.Blobs.PresignUpload(ctx, j.UploadKey, b.maxUpload(), orDuration(b.UploadTTL, 15*time.Minute))
	if err != nil {
		return Job{}, Upload{}, fmt.Errorf("job %s: upload URL: %w", id, err)
	}
	return j, up, nil
}

// RosterKey is the blob key a job's roster file is uploaded to.
func RosterKey(jobID string) string { return "rosters/" + jobID }

// ReportKey is the blob key of a job's error report.
func ReportKey(jobID string) string { return "reports/" + jobID + ".csv" }

// JobIDFromKey is the job a roster blob key belongs to ("" for keys that are not rosters).
func JobIDFromKey(key string) string {
	id, ok := strings.CutPrefix(key, "rosters/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return ""
	}
	return id
}

// GetJob returns a job the principal can see, with a download URL of its error report when
// it has one. A job whose rows are all accounted for but which is not yet marked done (its
// last worker stopped between counting and completing) is completed here.
func (b *Bulk) GetJob(ctx context.Context, p Principal, id string) (Job, string, error) {
	j, err := b.Jobs.GetJob(ctx, id)
	if err != nil {
		return Job{}, "", storeErr(err, "job")
	}
	if !p.CanAccess(j.IssuerID) {
		return Job{}, "", NotFound("job")
	}
	if j.State == JobIssuing && j.Accounted() {
		if done, _, err := b.complete(ctx, j); err == nil {
			j = done
		}
	}
	var url string
	if j.ErrorReportKey != "" {
		name := strings.TrimSuffix(j.Filename, path.Ext(j.Filename)) + "-errors.csv"
		url, err = b.Blobs.DownloadURL(ctx, j.ErrorReportKey, name, orDuration(b.ReportTTL, time.Hour))
		if err != nil {
			return Job{}, "", fmt.Errorf("job %s: error report URL: %w", id, err)
		}
	}
	return j, url, nil
}

// settle completes the job when its last row or mail has just been counted. It reads the job
// first and writes only when the counters add up: every row and every mail ends here, and a
// read costs far less than a conditional write in either store.
func (b *Bulk) settle(ctx context.Context, jobID string) error {
	cur, err := b.Jobs.GetJob(ctx, jobID)
	if err != nil {
		return fmt.Errorf("job %s: read: %w", jobID, err)
	}
	if cur.State != JobIssuing || !cur.Accounted() {
		return nil
	}
	j, moved, err := b.complete(ctx, cur)
	if err != nil {
		return fmt.Errorf("job %s: complete: %w", jobID, err)
	}
	if moved {
		b.Svc.log(ctx).Info("job done", "jobId", jobID, "total", j.Total, "issued", j.Issued, "rejected", j.Rejected,
			"failed", j.Failed, "mailed", j.Mailed, "mailSuppressed", j.MailSuppressed, "mailFailed", j.MailFailed)
	}
	return nil
}

// --- the roster worker ----------------------------------------------------------------------

// IssueRowMessage is the body of a TopicIssue message: one valid roster row with what the
// issue worker needs, so it never reads the file.
type IssueRowMessage struct {
	JobID             string     `json:"jobId"`
	SourceJobID       string     `json:"sourceJobId"`
	IssuerID          string     `json:"issuerId"`
	AchievementID     string     `json:"achievementId"`
	Notify            bool       `json:"notify,omitempty"`
	Row               int        `json:"row"`
	Name              string     `json:"name"`
	Email             string     `json:"email"`
	ValidFrom         *time.Time `json:"validFrom,omitempty"`
	ValidUntil        *time.Time `json:"validUntil,omitempty"`
	EvidenceURL       string     `json:"evidenceUrl,omitempty"`
	EvidenceNarrative string     `json:"evidenceNarrative,omitempty"`
	Result            string     `json:"result,omitempty"`
}

// DecodeIssueRow reads a TopicIssue message body.
func DecodeIssueRow(body []byte) (IssueRowMessage, error) {
	var m IssueRowMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("issue message: %w", err)
	}
	if m.JobID == "" || m.SourceJobID == "" || m.IssuerID == "" || m.AchievementID == "" || m.Row <= 0 {
		return m, fmt.Errorf("issue message: jobId, sourceJobId, issuerId, achievementId and row are required")
	}
	return m, nil
}

// input is the IssueInput of a row.
func (m IssueRowMessage) input() IssueInput {
	in := IssueInput{
		AchievementID: m.AchievementID, Recipient: RecipientInput{Name: m.Name, Email: m.Email},
		ValidFrom: m.ValidFrom, ValidUntil: m.ValidUntil,
	}
	if m.EvidenceURL != "" || m.EvidenceNarrative != "" {
		in.Evidence = []EvidenceInput{{ID: m.EvidenceURL, Narrative: m.EvidenceNarrative}}
	}
	if r := strings.TrimSpace(m.Result); r != "" {
		if st, ok := resultStatus(r); ok {
			in.Result = []ResultInput{{Status: st}}
		} else {
			in.Result = []ResultInput{{Value: r}}
		}
	}
	return in
}

var resultStatuses = []string{"Completed", "Enrolled", "Failed", "InProgress", "OnHold", "Provisional", "Withdrew"}

// resultStatus recognises a result cell that names an OB 3.0 ResultStatusType; anything else is
// a result value (a grade, a score).
func resultStatus(s string) (string, bool) {
	for _, st := range resultStatuses {
		if strings.EqualFold(s, st) {
			return st, true
		}
	}
	return "", false
}

// rowColumns maps the fields the domain validates to the roster's column names.
var rowColumns = map[string]string{
	"recipient.email": "email", "recipient.name": "name", "validFrom": "validFrom", "validUntil": "validUntil",
	"evidence[0].id": "evidenceUrl", "evidence[0].narrative": "evidenceNarrative",
	"result[0].value": "result", "result[0].status": "result", "achievementId": "achievementId",
}

// rowErrors turns a domain validation error into row errors in the roster's column names.
func rowErrors(row int, err error) []RowError {
	var de *Error
	if !errors.As(err, &de) {
		return []RowError{{Row: row, Message: err.Error()}}
	}
	if len(de.Fields) == 0 {
		return []RowError{{Row: row, Message: de.Message}}
	}
	out := make([]RowError, 0, len(de.Fields))
	for _, f := range de.Fields {
		col, ok := rowColumns[f.Field]
		if !ok {
			col = f.Field
		}
		out = append(out, RowError{Row: row, Field: col, Message: f.Message})
	}
	return out
}

// rowChecker applies the domain's rules to rows the file validation accepted, so a row the
// issue worker would refuse is reported with the file's other bad rows.
type rowChecker struct {
	b        *Bulk
	issuerID string
	now      time.Time
	achs     map[string]Achievement // known achievements of the issuer; absent = not checked yet
	missing  map[string]bool
}

func (rc *rowChecker) check(ctx context.Context, m IssueRowMessage) ([]RowError, error) {
	in := m.input()
	if err := check(in); err != nil {
		return rowErrors(m.Row, err), nil
	}
	if strings.Join(strings.Fields(m.Name), " ") == "" {
		return []RowError{{Row: m.Row, Field: "name", Message: "required"}}, nil
	}
	ach, ok := rc.achs[m.AchievementID]
	if !ok && !rc.missing[m.AchievementID] {
		a, err := rc.b.Svc.Store.GetAchievement(ctx, rc.issuerID, m.AchievementID)
		switch {
		case err == nil:
			rc.achs[m.AchievementID], ach, ok = a, a, true
		case errors.Is(err, ErrNotFound):
			rc.missing[m.AchievementID] = true
		default:
			return nil, fmt.Errorf("load achievement %s: %w", m.AchievementID, err)
		}
	}
	if !ok {
		return []RowError{{Row: m.Row, Field: "achievementId", Message: "no achievement " + m.AchievementID + " for this issuer"}}, nil
	}
	from := rc.now
	if m.ValidFrom != nil {
		from = *m.ValidFrom
	}
	until := time.Time{}
	switch {
	case m.ValidUntil != nil:
		until = *m.ValidUntil
	case ach.ValidForDays > 0:
		until = from.AddDate(0, 0, ach.ValidForDays)
	}
	if !until.IsZero() && !until.After(from) {
		msg := "must be after validFrom"
		if m.ValidFrom == nil {
			msg = "must be in the future (validFrom is the issue time)"
		}
		return []RowError{{Row: m.Row, Field: "validUntil", Message: msg}}, nil
	}
	return nil, nil
}

// ProcessRoster reads the roster file uploaded to key, validates every row, sends every valid
// row to the issue queue, stores the error report, and moves the job to issuing. It is the
// roster worker (S3 ObjectCreated on AWS). Safe to run again for the same file: a retried
// event re-sends rows the issue worker then recognises, and the move to issuing happens once.
//
// The file is read twice: once to validate it all, once to send the rows. A file that turns
// out to be unusable half-way (a broken archive, a sheet over the limits) thus fails the job
// before any of its rows is issued, and memory stays bounded by the set of valid line numbers,
// not by the rows.
func (b *Bulk) ProcessRoster(ctx context.Context, key string) error {
	jobID := JobIDFromKey(key)
	if jobID == "" {
		b.Svc.log(ctx).Warn("ignoring an object that is not a roster upload", "key", key)
		return nil
	}
	j, err := b.Jobs.GetJob(ctx, jobID)
	if errors.Is(err, ErrNotFound) {
		b.Svc.log(ctx).Warn("ignoring a roster upload for an unknown job", "key", key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("roster %s: %w", key, err)
	}
	if j.State != JobValidating {
		return nil // a retried or repeated event: the file was processed
	}
	log := b.Svc.log(ctx).With("jobId", j.ID)
	blob, err := b.Blobs.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("roster %s: open: %w", key, err)
	}
	defer blob.Close()
	if blob.Size() > b.maxUpload() {
		return b.failJob(ctx, j.ID, fmt.Sprintf("the file is %d bytes; the limit is %d", blob.Size(), b.maxUpload()))
	}
	if blob.Size() == 0 {
		return b.failJob(ctx, j.ID, "the file is empty")
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(blob, 0, blob.Size())); err != nil {
		return fmt.Errorf("roster %s: read: %w", key, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	source, err := b.Jobs.ClaimRoster(ctx, j.IssuerID, j.AchievementID, sum, j.ID)
	if err != nil {
		return fmt.Errorf("roster %s: claim: %w", key, err)
	}
	if err := b.Jobs.SetJobFile(ctx, j.ID, sum, source); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil
		}
		return fmt.Errorf("roster %s: %w", key, err)
	}
	if source != j.ID {
		log.Info("the same file was uploaded before: its rows keep the credentials of the first job", "sourceJobId", source)
	}

	row := func(r RosterRow) IssueRowMessage {
		ach := j.AchievementID
		if r.AchievementID != "" {
			ach = r.AchievementID
		}
		return IssueRowMessage{
			JobID: j.ID, SourceJobID: source, IssuerID: j.IssuerID, AchievementID: ach, Notify: j.Notify, Row: r.Row,
			Name: r.Name, Email: r.Email, ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil,
			EvidenceURL: r.EvidenceURL, EvidenceNarrative: r.EvidenceNarrative, Result: r.Result,
		}
	}

	// Pass 1: validate everything, remember which lines are good.
	rc := &rowChecker{b: b, issuerID: j.IssuerID, now: b.now(), achs: map[string]Achievement{}, missing: map[string]bool{}}
	var (
		good    lineSet
		rejects []RowError
		total   int
		valid   int
	)
	err = b.Parse(ctx, blob, blob.Size(), j.Filename, func(r RosterRow) error {
		total++
		errs, err := rc.check(ctx, row(r))
		if err != nil {
			return err
		}
		if len(errs) > 0 {
			rejects = append(rejects, errs...)
			return nil
		}
		good.add(r.Row)
		valid++
		return nil
	}, func(e RowError) error {
		if len(rejects) == 0 || rejects[len(rejects)-1].Row != e.Row {
			total++
		}
		rejects = append(rejects, e)
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return b.failJob(ctx, j.ID, err.Error())
	}
	rejected := total - valid

	// Pass 2: send the good rows.
	chunk := b.PublishChunk
	if chunk <= 0 {
		chunk = 100
	}
	batch := make([][]byte, 0, chunk)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := b.Svc.Queue.Publish(ctx, TopicIssue, batch...); err != nil {
			return fmt.Errorf("roster %s: queue rows: %w", key, err)
		}
		batch = batch[:0]
		return nil
	}
	sent := 0
	err = b.Parse(ctx, blob, blob.Size(), j.Filename, func(r RosterRow) error {
		if !good.has(r.Row) {
			return nil
		}
		body, err := json.Marshal(row(r))
		if err != nil {
			return fmt.Errorf("encode row %d: %w", r.Row, err)
		}
		batch = append(batch, body)
		sent++
		if len(batch) == chunk {
			return flush()
		}
		return nil
	}, func(RowError) error { return nil })
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("roster %s: send rows: %w", key, err)
	}
	if sent != valid {
		return fmt.Errorf("roster %s: the second reading found %d valid rows, the first %d; the file changed?", key, sent, valid)
	}

	v := JobValidation{Total: total, Rejected: rejected}
	if len(rejects) > 0 {
		v.Errors = rejects[:min(len(rejects), MaxJobErrors)]
		var buf bytes.Buffer
		if err := b.Report.Write(&buf, rejects); err != nil {
			return fmt.Errorf("roster %s: error report: %w", key, err)
		}
		v.ErrorReportKey = ReportKey(j.ID)
		if err := b.Blobs.Put(ctx, v.ErrorReportKey, bytes.NewReader(buf.Bytes()), int64(buf.Len()), "text/csv; charset=utf-8"); err != nil {
			return fmt.Errorf("roster %s: store error report: %w", key, err)
		}
	}
	if _, err := b.Jobs.FinishValidation(ctx, j.ID, v, b.now()); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil
		}
		return fmt.Errorf("roster %s: %w", key, err)
	}
	log.Info("roster validated", "total", total, "valid", valid, "rejected", rejected)
	return b.settle(ctx, j.ID)
}

// FailRoster gives up on a roster file whose every delivery failed (the roster worker calls it
// on the last one): the job fails with a message instead of waiting for its file forever.
func (b *Bulk) FailRoster(ctx context.Context, key string, cause error) error {
	id := JobIDFromKey(key)
	if id == "" {
		return nil
	}
	j, err := b.Jobs.GetJob(ctx, id)
	if errors.Is(err, ErrNotFound) {
		b.Svc.log(ctx).Warn("roster failed every delivery, for an unknown job", "key", key, "err", cause)
		return nil
	}
	if err != nil {
		return fmt.Errorf("roster %s failed: read job: %w", key, err)
	}
	if j.State != JobValidating {
		// The file was validated and its rows queued by an earlier delivery; a later one failed
		// after that (counting, say). The rows are being issued: failing the job now would
		// contradict them.
		b.Svc.log(ctx).Warn("roster failed every delivery after its validation finished; the job goes on",
			"jobId", id, "state", j.State, "err", cause)
		return nil
	}
	b.Svc.log(ctx).Error("roster failed every delivery", "jobId", id, "err", cause)
	return b.failJob(ctx, id, "the file could not be processed; upload it again in a new job")
}

func (b *Bulk) failJob(ctx context.Context, id, msg string) error {
	b.Svc.log(ctx).Warn("job failed", "jobId", id, "reason", msg)
	if err := b.Jobs.FailJob(ctx, id, msg, b.now()); err != nil && !errors.Is(err, ErrConflict) {
		return fmt.Errorf("job %s: fail: %w", id, err)
	}
	return nil
}

// lineSet is a bitset of line numbers.
type lineSet struct{ words []uint64 }

func (s *lineSet) add(n int) {
	for n/64 >= len(s.words) {
		s.words = append(s.words, 0)
	}
	s.words[n/64] |= 1 << (n % 64)
}

func (s *lineSet) has(n int) bool {
	return n >= 0 && n/64 < len(s.words) && s.words[n/64]&(1<<(n%64)) != 0
}

// --- the issue worker -----------------------------------------------------------------------

// IssueRow issues one row (the issue worker). Signing throttled by the key service is retried
// here with backoff; an error returned means "deliver the row again later". A row the domain
// refuses is recorded as rejected and is not an error.
func (b *Bulk) IssueRow(ctx context.Context, m IssueRowMessage) error {
	p := Principal{KeyID: "job:" + m.JobID, IssuerID: m.IssuerID}
	opt := IssueOptions{Actor: "job:" + m.JobID, JobID: m.SourceJobID, Row: m.Row, Slot: &StatusSlot{}}
	retries := b.ThrottleRetries
	if retries <= 0 {
		retries = 5
	}
	delay := orDuration(b.ThrottleBackoff, 100*time.Millisecond)
	var (
		c   Credential
		err error
	)
	for attempt := 0; ; attempt++ {
		c, _, err = b.Svc.Issue(ctx, p, m.IssuerID, m.input(), opt)
		if err == nil || KindOf(err) != KindUnavailable || attempt >= retries {
			break
		}
		wait := delay/2 + rand.N(delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("issue row %d of job %s: %w", m.Row, m.JobID, ctx.Err())
		case <-time.After(wait):
		}
		delay *= 2
	}
	switch KindOf(err) {
	case 0:
		if err != nil {
			return fmt.Errorf("issue row %d of job %s: %w", m.Row, m.JobID, err)
		}
	case KindInvalid, KindNotFound:
		errs := rowErrors(m.Row, err)
		if _, rerr := b.Jobs.RecordRow(ctx, m.JobID, m.Row, RowRejected, "", &errs[0], b.now()); rerr != nil {
			return fmt.Errorf("record rejected row %d of job %s: %w", m.Row, m.JobID, rerr)
		}
		return b.settle(ctx, m.JobID)
	default:
		return fmt.Errorf("issue row %d of job %s: %w", m.Row, m.JobID, err)
	}
	if _, err := b.Jobs.RecordRow(ctx, m.JobID, m.Row, RowIssued, c.ID, nil, b.now()); err != nil {
		return fmt.Errorf("record issued row %d of job %s: %w", m.Row, m.JobID, err)
	}
	if m.Notify {
		// Published on every delivery: the mail worker's per-row claim makes repeats harmless,
		// and a delivery that stopped after counting the row still gets its mail out.
		body, _ := json.Marshal(DeliveryMessage{CredentialID: c.ID, JobID: m.JobID, Row: m.Row})
		if err := b.Svc.Queue.Publish(ctx, TopicMail, body); err != nil {
			return fmt.Errorf("queue mail of row %d of job %s: %w", m.Row, m.JobID, err)
		}
		return nil
	}
	return b.settle(ctx, m.JobID)
}

// FailRow records a row that failed every delivery (the issue worker calls it on the last
// one, before the row goes to the dead-letter queue).
//
// A row whose credential exists was issued: its deliveries failed after the store write (the
// count or the mail message). It is counted as issued and, when it notifies, its mail is queued
// once more; if even that fails the mail is counted as failed, so the job can still complete.
func (b *Bulk) FailRow(ctx context.Context, m IssueRowMessage, cause error) error {
	credID := DerivedID("job", m.SourceJobID, strconv.Itoa(m.Row))
	if _, err := b.Svc.Store.GetCredential(ctx, credID); err == nil {
		if _, err := b.Jobs.RecordRow(ctx, m.JobID, m.Row, RowIssued, credID, nil, b.now()); err != nil {
			return fmt.Errorf("record issued row %d of job %s: %w", m.Row, m.JobID, err)
		}
		if m.Notify {
			body, _ := json.Marshal(DeliveryMessage{CredentialID: credID, JobID: m.JobID, Row: m.Row})
			if err := b.Svc.Queue.Publish(ctx, TopicMail, body); err != nil {
				b.Svc.log(ctx).Warn("mail of a dead-lettered row could not be queued; counted as failed",
					"jobId", m.JobID, "row", m.Row, "err", err)
				return b.settleMail(ctx, DeliveryMessage{CredentialID: credID, JobID: m.JobID, Row: m.Row}, RowMailFailed)
			}
			return nil
		}
		return b.settle(ctx, m.JobID)
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("failed row %d of job %s: look up %s: %w", m.Row, m.JobID, credID, err)
	}
	b.Svc.log(ctx).Warn("row failed every delivery", "jobId", m.JobID, "row", m.Row, "err", cause)
	msg := "could not be issued: " + cause.Error()
	if KindOf(cause) == KindUnavailable {
		msg = "could not be issued: the signing service stayed busy; redrive the dead-letter queue to retry"
	}
	if _, err := b.Jobs.RecordRow(ctx, m.JobID, m.Row, RowFailed, "", &RowError{Row: m.Row, Message: msg}, b.now()); err != nil {
		return fmt.Errorf("record failed row %d of job %s: %w", m.Row, m.JobID, err)
	}
	return b.settle(ctx, m.JobID)
}

// --- the mail worker ------------------------------------------------------------------------

// DeliveryMessage is the body of a TopicMail message. It extends MailMessage (same JSON) with
// the job row a bulk-issued credential's mail is counted for.
type DeliveryMessage struct {
	CredentialID string `json:"credentialId"`
	Resend       bool   `json:"resend,omitempty"`
	JobID        string `json:"jobId,omitempty"`
	Row          int    `json:"row,omitempty"`
}

// DecodeDelivery reads a TopicMail message body.
func DecodeDelivery(body []byte) (DeliveryMessage, error) {
	var m DeliveryMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("mail message: %w", err)
	}
	if m.CredentialID == "" || (m.JobID != "" && m.Row <= 0) {
		return m, fmt.Errorf("mail message: credentialId is required, and row with jobId")
	}
	return m, nil
}

// ErrMailRejected is what a Mailer wraps when the mail service refuses a message for good
// (an invalid address, a message it will never accept): retrying cannot help.
var ErrMailRejected = errors.New("mail rejected")

// ErrMailBusy is returned when another sender holds a row's mail: the message is retried later
// and is dropped, not failed, if the retries run out (the holder settles the row).
var ErrMailBusy = errors.New("mail of this row is being sent by another worker")

// DeliverMail sends the notification of one credential (the mail worker). Suppressed addresses
// are not mailed. A job row's mail is sent once: the worker claims the row, and a credential
// already mailed (a re-uploaded file's rows) is counted without mailing it again. An error
// means "deliver the message again later".
func (b *Bulk) DeliverMail(ctx context.Context, m DeliveryMessage) error {
	c, err := b.Svc.Store.GetCredential(ctx, m.CredentialID)
	if errors.Is(err, ErrNotFound) {
		b.Svc.log(ctx).Warn("dropping mail of an unknown credential", "credentialId", m.CredentialID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("mail %s: %w", m.CredentialID, err)
	}
	now := b.now()
	if m.JobID != "" {
		claimed, settled, err := b.Jobs.ClaimRowMail(ctx, m.JobID, m.Row, now, now.Add(orDuration(b.MailLease, 2*time.Minute)))
		if err != nil {
			return fmt.Errorf("mail %s: claim row %d of job %s: %w", c.ID, m.Row, m.JobID, err)
		}
		if settled {
			return b.settle(ctx, m.JobID)
		}
		if !claimed {
			// The holder may have sent the mail and stopped before counting it: the credential
			// then says so, and counting it here (once, by the row marker) finishes the row
			// without waiting for the lease to run out.
			if c.Mail.State == MailSent && !m.Resend {
				return b.settleMail(ctx, m, RowMailSent)
			}
			return ErrMailBusy
		}
	}
	if _, err := b.Jobs.GetSuppression(ctx, c.IssuerID, EmailLookupKey(c.IssuerID, c.RecipientEmail)); err == nil {
		if c.Mail.State != MailBounced && c.Mail.State != MailComplained {
			_ = b.Svc.Store.UpdateCredentialMail(ctx, c.ID, MailState{State: MailSuppressed, At: now, Detail: "the address bounced or complained before"})
		}
		return b.settleMail(ctx, m, RowMailSuppressed)
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("mail %s: suppression: %w", c.ID, err)
	}
	switch {
	case c.Mail.State == MailBounced || c.Mail.State == MailComplained || c.Mail.State == MailSuppressed:
		return b.settleMail(ctx, m, RowMailSuppressed)
	case c.Mail.State == MailSent && !m.Resend:
		return b.settleMail(ctx, m, RowMailSent) // mailed before (a re-upload, or a repeat)
	}
	iss, ach, err := b.issuerAndAchievement(ctx, c.IssuerID, c.AchievementID)
	if err != nil {
		return fmt.Errorf("mail %s: %w", c.ID, err)
	}
	mail, err := b.Svc.RenderMail(c, iss, ach, b.Mailing.From)
	if err != nil {
		return err
	}
	id, err := b.Mailing.Mailer.Send(ctx, mail)
	if errors.Is(err, ErrMailRejected) {
		_ = b.Svc.Store.UpdateCredentialMail(ctx, c.ID, MailState{State: MailFailed, At: now, Detail: err.Error()})
		return b.settleMail(ctx, m, RowMailFailed)
	}
	if err != nil {
		return fmt.Errorf("mail %s: send: %w", c.ID, err)
	}
	// The credential first: a redelivery after this point sees it sent and only counts it.
	if err := b.Svc.Store.UpdateCredentialMail(ctx, c.ID, MailState{State: MailSent, MessageID: id, At: b.now()}); err != nil {
		return fmt.Errorf("mail %s: record sent: %w", c.ID, err)
	}
	return b.settleMail(ctx, m, RowMailSent)
}

func (b *Bulk) settleMail(ctx context.Context, m DeliveryMessage, outcome MailOutcome) error {
	if m.JobID == "" {
		return nil
	}
	if _, err := b.Jobs.RecordRowMail(ctx, m.JobID, m.Row, outcome, b.now()); err != nil {
		return fmt.Errorf("mail of row %d of job %s: record: %w", m.Row, m.JobID, err)
	}
	return b.settle(ctx, m.JobID)
}

// FailMail records a mail that failed every delivery (the mail worker calls it on the last one).
func (b *Bulk) FailMail(ctx context.Context, m DeliveryMessage, cause error) error {
	if errors.Is(cause, ErrMailBusy) {
		// The last delivery found the row's mail leased: by a sender whose send failed and who
		// will not be back (its delivery was an earlier one of this message), or, rarely, by a
		// duplicate delivery still at work. No delivery of the row is left either way, so it is
		// counted now, or the job would never finish: as sent if the credential says so, else
		// as failed. A sender that finishes later finds the row settled and counts nothing.
		if c, err := b.Svc.Store.GetCredential(ctx, m.CredentialID); err == nil && c.Mail.State == MailSent {
			return b.settleMail(ctx, m, RowMailSent)
		}
		return b.settleMail(ctx, m, RowMailFailed)
	}
	if err := b.Svc.Store.UpdateCredentialMail(ctx, m.CredentialID, MailState{State: MailFailed, At: b.now(), Detail: cause.Error()}); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("mail %s: record failure: %w", m.CredentialID, err)
	}
	return b.settleMail(ctx, m, RowMailFailed)
}

type cached struct {
	iss Issuer
	ach Achievement
	at  time.Time
}

// issuerAndAchievement reads both for rendering mail, cached for a little while: a roster's
// thousands of mails share them.
func (b *Bulk) issuerAndAchievement(ctx context.Context, issuerID, achID string) (Issuer, Achievement, error) {
	k := issuerID + "\x00" + achID
	b.cacheMu.Lock()
	c, ok := b.cache[k]
	b.cacheMu.Unlock()
	if ok && time.Since(c.at) < 30*time.Second {
		return c.iss, c.ach, nil
	}
	iss, err := b.Svc.Store.GetIssuer(ctx, issuerID)
	if err != nil {
		return Issuer{}, Achievement{}, fmt.Errorf("issuer %s: %w", issuerID, err)
	}
	ach, err := b.Svc.Store.GetAchievement(ctx, issuerID, achID)
	if err != nil {
		return Issuer{}, Achievement{}, fmt.Errorf("achievement %s: %w", achID, err)
	}
	b.cacheMu.Lock()
	if b.cache == nil || len(b.cache) > 1000 {
		b.cache = map[string]cached{}
	}
	b.cache[k] = cached{iss: iss, ach: ach, at: time.Now()}
	b.cacheMu.Unlock()
	return iss, ach, nil
}

// Resend queues the notification mail of a credential again. Refused (409) when the
// recipient's address is suppressed.
func (b *Bulk) Resend(ctx context.Context, p Principal, credentialID, requestID string) (Credential, error) {
	c, err := b.Svc.GetCredential(ctx, p, credentialID)
	if err != nil {
		return Credential{}, err
	}
	if s, err := b.Jobs.GetSuppression(ctx, c.IssuerID, EmailLookupKey(c.IssuerID, c.RecipientEmail)); err == nil {
		return Credential{}, Conflict("address_suppressed", "the recipient's address is suppressed ("+s.Reason+"): no more mail is sent to it")
	} else if !errors.Is(err, ErrNotFound) {
		return Credential{}, fmt.Errorf("resend %s: %w", credentialID, err)
	}
	body, _ := json.Marshal(DeliveryMessage{CredentialID: c.ID, Resend: true})
	if err := b.Svc.Queue.Publish(ctx, TopicMail, body); err != nil {
		return Credential{}, fmt.Errorf("resend %s: %w", credentialID, err)
	}
	now := b.now()
	if err := b.Svc.Store.AppendAudit(ctx, AuditEvent{IssuerID: c.IssuerID, CredentialID: c.ID, Action: "resend", Actor: p.KeyID, At: now, RequestID: requestID}); err != nil {
		b.Svc.log(ctx).Warn("audit append failed", "credentialId", c.ID, "err", err)
	}
	return c, nil
}

// --- SES events -----------------------------------------------------------------------------

// sesEvent is the part of an SES event (configuration set event publishing, or the older
// identity notifications) that suppression needs.
type sesEvent struct {
	EventType        string `json:"eventType"`
	NotificationType string `json:"notificationType"`
	Bounce           *struct {
		BounceType        string `json:"bounceType"`
		BounceSubType     string `json:"bounceSubType"`
		BouncedRecipients []struct {
			EmailAddress   string `json:"emailAddress"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		ComplaintFeedbackType string `json:"complaintFeedbackType"`
		ComplainedRecipients  []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
	Mail struct {
		MessageID string              `json:"messageId"`
		Tags      map[string][]string `json:"tags"`
	} `json:"mail"`
}

// unwrapSESEvent takes the SES event out of the envelope it arrived in: an SNS notification
// (SES -> SNS -> SQS), an EventBridge event, or none (raw delivery).
func unwrapSESEvent(body []byte) (sesEvent, error) {
	var env struct {
		Type    string          `json:"Type"`
		Message *string         `json:"Message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return sesEvent{}, fmt.Errorf("SES event: %w", err)
	}
	raw := body
	switch {
	case env.Message != nil:
		raw = []byte(*env.Message)
	case len(env.Detail) > 0:
		raw = env.Detail
	}
	var ev sesEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return sesEvent{}, fmt.Errorf("SES event: %w", err)
	}
	return ev, nil
}

// HandleMailEvent records an SES bounce or complaint on the credential it concerns and
// suppresses the address for the issuer. Transient bounces and other events are ignored.
func (b *Bulk) HandleMailEvent(ctx context.Context, body []byte) error {
	ev, err := unwrapSESEvent(body)
	if err != nil {
		return err
	}
	kind := ev.EventType
	if kind == "" {
		kind = ev.NotificationType
	}
	var (
		state, reason, detail string
		addrs                 []string
	)
	switch {
	case kind == "Bounce" && ev.Bounce != nil:
		if ev.Bounce.BounceType != "Permanent" {
			b.Svc.log(ctx).Info("transient bounce; not suppressing", "messageId", ev.Mail.MessageID, "type", ev.Bounce.BounceType)
			return nil
		}
		state, reason = MailBounced, "bounced"
		for _, r := range ev.Bounce.BouncedRecipients {
			addrs = append(addrs, r.EmailAddress)
			if detail == "" {
				detail = strings.TrimSpace(ev.Bounce.BounceType + "/" + ev.Bounce.BounceSubType + " " + r.DiagnosticCode)
			}
		}
	case kind == "Complaint" && ev.Complaint != nil:
		state, reason = MailComplained, "complained"
		detail = ev.Complaint.ComplaintFeedbackType
		for _, r := range ev.Complaint.ComplainedRecipients {
			addrs = append(addrs, r.EmailAddress)
		}
	default:
		return nil
	}
	first := func(k string) string {
		if v := ev.Mail.Tags[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	credID, issuerID := first("credential"), first("issuer")
	now := b.now()
	if credID != "" {
		c, err := b.Svc.Store.GetCredential(ctx, credID)
		switch {
		case err == nil:
			issuerID = c.IssuerID
			if err := b.Svc.Store.UpdateCredentialMail(ctx, c.ID, MailState{State: state, MessageID: ev.Mail.MessageID, At: now, Detail: detail}); err != nil {
				return fmt.Errorf("SES %s of %s: %w", kind, credID, err)
			}
		case errors.Is(err, ErrNotFound):
			b.Svc.log(ctx).Warn("SES event for an unknown credential", "credentialId", credID)
		default:
			return fmt.Errorf("SES %s of %s: %w", kind, credID, err)
		}
	}
	if issuerID == "" {
		b.Svc.log(ctx).Warn("SES event without issuer or credential tags; nothing to suppress", "messageId", ev.Mail.MessageID)
		return nil
	}
	for _, a := range addrs {
		email := NormalizeEmail(a)
		if email == "" {
			continue
		}
		s := Suppression{IssuerID: issuerID, EmailKey: EmailLookupKey(issuerID, email), Email: email, Reason: reason, Detail: detail, At: now}
		if err := b.Jobs.Suppress(ctx, s); err != nil {
			return fmt.Errorf("suppress an address of issuer %s: %w", issuerID, err)
		}
		b.Svc.log(ctx).Info("address suppressed", "issuerId", issuerID, "reason", reason, "credentialId", credID)
	}
	return nil
}
