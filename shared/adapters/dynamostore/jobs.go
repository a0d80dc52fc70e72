package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credence-oss/credence/shared/domain"
)

// The JobStore shares the Store's table:
//
//	item             pk            sk                        attributes
//	job              JOB#job       META                      the job; counters are numbers, errors a list of maps
//	job row marker   JOB#job       ROW#<row, 10 digits>      outcome, credentialId, mail, leaseUntil, rowError
//	roster claim     ISSUER#iss    ROSTER#ach#sha256         jobId
//	suppression      ISSUER#iss    SUPPRESS#emailKey         email, reason, detail, at
//
// Every path is a GetItem or a (conditional) write of one key, except ListRowErrors, a Query
// of one job's partition; nothing queries an index. rowError (a map: row, field, message) is
// on the markers of rows rejected or failed while issuing only, so a good row's write carries
// nothing more.
// A row's outcome and its counter change in one TransactWriteItems: the marker's put or update
// is conditioned on the row's previous outcome and the counter is an ADD on the job, so a
// redelivered row fails the marker's condition and the whole transaction counts nothing. All
// rows of a job contend on its META item; DynamoDB cancels concurrent transactions on one item
// (TransactionConflict) and those are retried with backoff (retry in dynamostore.go).

const (
	prefixJob      = "JOB#"
	prefixRow      = "ROW#"
	prefixRoster   = "ROSTER#"
	prefixSuppress = "SUPPRESS#"
)

var _ domain.JobStore = (*Store)(nil)

func jobPK(id string) string { return prefixJob + esc(id) }
func rowSK(row int) string   { return fmt.Sprintf("%s%010d", prefixRow, row) }
func rosterSK(achievementID, sha string) string {
	return prefixRoster + esc(achievementID) + "#" + esc(sha)
}
func suppressSK(emailKey string) string { return prefixSuppress + esc(emailKey) }

// Attribute names of the job item. Several are DynamoDB reserved words, so every expression
// names them through jobNames.
const (
	aState          = "state"
	aTotal          = "total"
	aIssued         = "issued"
	aRejected       = "rejected"
	aFailed         = "failed"
	aMailed         = "mailed"
	aMailSuppressed = "mailSuppressed"
	aMailFailed     = "mailFailed"
	aErrors         = "errors"
	aUpdatedAt      = "updatedAt"
	aOutcome        = "outcome"
	aRowError       = "rowError"
	aReportKey      = "errorReportKey"
	aMail           = "mail"
	aLease          = "leaseUntil"
)

// names maps "#x" placeholders to the given attribute names.
func names(attrs ...string) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m["#"+a] = a
	}
	return m
}

func checkRow(row int) error {
	if row < 1 {
		return fmt.Errorf("row %d: rows are numbered from 1", row)
	}
	return nil
}

func rowErrorAV(e domain.RowError) types.AttributeValue {
	m := item{"row": nAV(int64(e.Row)), "message": sAV(domain.ClipRowMessage(e.Message))}
	if e.Field != "" {
		m["field"] = sAV(e.Field)
	}
	return &types.AttributeValueMemberM{Value: m}
}

func rowErrorFrom(av types.AttributeValue) (domain.RowError, error) {
	mv, ok := av.(*types.AttributeValueMemberM)
	if !ok {
		return domain.RowError{}, fmt.Errorf("stored as %T, want M", av)
	}
	d := &dec{m: mv.Value}
	e := domain.RowError{Row: int(d.n("row")), Field: d.s("field"), Message: d.s("message")}
	return e, d.err
}

func rowErrorsAV(errs []domain.RowError) types.AttributeValue {
	l := make([]types.AttributeValue, len(errs))
	for i, e := range errs {
		l[i] = rowErrorAV(e)
	}
	return &types.AttributeValueMemberL{Value: l}
}

func jobItem(j domain.Job) (item, error) {
	e := newItem(attrPK, jobPK(j.ID), attrSK, skMeta, "type", "job").
		s("id", j.ID).s("issuerId", j.IssuerID).s("achievementId", j.AchievementID).s("filename", j.Filename).
		s(aState, string(j.State)).n(aTotal, int64(j.Total)).n(aIssued, int64(j.Issued)).n(aRejected, int64(j.Rejected)).
		n(aFailed, int64(j.Failed)).n(aMailed, int64(j.Mailed)).n(aMailSuppressed, int64(j.MailSuppressed)).
		n(aMailFailed, int64(j.MailFailed)).s("errorReportKey", j.ErrorReportKey).s("uploadKey", j.UploadKey).
		s("fileSha256", j.FileSHA256).s("sourceJobId", j.SourceJobID).s("message", j.Message).
		t("createdAt", j.CreatedAt).t(aUpdatedAt, j.UpdatedAt)
	if j.Notify {
		e.m["notify"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	errs := j.Errors
	if len(errs) > domain.MaxJobErrors {
		errs = errs[:domain.MaxJobErrors]
	}
	// Always a list, even an empty one: list_append and size() in later updates need it.
	e.m[aErrors] = rowErrorsAV(errs)
	return e.done()
}

func jobFrom(m item) (domain.Job, error) {
	d := &dec{m: m}
	j := domain.Job{
		ID: d.s("id"), IssuerID: d.s("issuerId"), AchievementID: d.s("achievementId"), Filename: d.s("filename"),
		State: domain.JobState(d.s(aState)), Total: int(d.n(aTotal)), Issued: int(d.n(aIssued)),
		Rejected: int(d.n(aRejected)), Failed: int(d.n(aFailed)), Mailed: int(d.n(aMailed)),
		MailSuppressed: int(d.n(aMailSuppressed)), MailFailed: int(d.n(aMailFailed)),
		ErrorReportKey: d.s(aReportKey), UploadKey: d.s("uploadKey"), FileSHA256: d.s("fileSha256"),
		SourceJobID: d.s("sourceJobId"), Message: d.s("message"), CreatedAt: d.t("createdAt"), UpdatedAt: d.t(aUpdatedAt),
		Errors: []domain.RowError{},
	}
	if v, ok := m["notify"].(*types.AttributeValueMemberBOOL); ok {
		j.Notify = v.Value
	}
	for i, av := range d.list(aErrors) {
		e, err := rowErrorFrom(av)
		if err != nil {
			return domain.Job{}, fmt.Errorf("job %s: error #%d: %w", j.ID, i, err)
		}
		j.Errors = append(j.Errors, e)
	}
	if d.err != nil {
		return domain.Job{}, fmt.Errorf("job %s: %w", j.ID, d.err)
	}
	return j, nil
}

func (s *Store) getJob(ctx context.Context, id, what string) (domain.Job, error) {
	m, err := s.getItem(ctx, jobPK(id), skMeta)
	if err != nil {
		return domain.Job{}, fmt.Errorf("%s %s: %w", what, id, err)
	}
	return jobFrom(m)
}

// CreateJob implements domain.JobStore.
func (s *Store) CreateJob(ctx context.Context, j domain.Job) error {
	if err := domain.CheckKeys("job id", j.ID, "issuer id", j.IssuerID); err != nil {
		return fmt.Errorf("create job: %w", err)
	}
	what := "create job " + j.ID
	it, err := jobItem(j)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.putIf(ctx, what, it, "attribute_not_exists(pk)", nil, nil, domain.ErrConflict)
}

// GetJob implements domain.JobStore.
func (s *Store) GetJob(ctx context.Context, id string) (domain.Job, error) {
	return s.getJob(ctx, id, "job")
}

// updateJob runs an UpdateItem on a job's META item, retrying contention, and returns the new
// item. A failed condition is errCondition, for the caller to tell why by reading the job.
func (s *Store) updateJob(ctx context.Context, what, id, update, cond string, nm map[string]string, values item) (item, error) {
	in := &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       item{attrPK: sAV(jobPK(id)), attrSK: sAV(skMeta)},
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_exists(pk) AND (" + cond + ")"),
		ExpressionAttributeNames:  nm,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	}
	var out *dynamodb.UpdateItemOutput
	err := retry(ctx, what, func() error {
		var err error
		out, err = s.db.UpdateItem(ctx, in)
		return err
	})
	switch {
	case err == nil:
		return out.Attributes, nil
	case isConditionFailed(err):
		return nil, errCondition
	default:
		return nil, fmt.Errorf("%s: %w", what, err)
	}
}

var errCondition = errors.New("condition failed")

// whyRefused turns a failed condition on a job into ErrNotFound (no job) or ErrConflict (the
// job is in a state the change does not apply to).
func (s *Store) whyRefused(ctx context.Context, what, id string) error {
	j, err := s.getJob(ctx, id, what)
	if err != nil {
		return err
	}
	return fmt.Errorf("%s %s: it is %s: %w", what, id, j.State, domain.ErrConflict)
}

// SetJobFile implements domain.JobStore.
func (s *Store) SetJobFile(ctx context.Context, id, sha256, sourceJobID string) error {
	const what = "set file of job"
	if err := domain.CheckKeys("job id", id); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := domain.CheckKeys("file hash", sha256, "source job id", sourceJobID); err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	vals, err := newItem().s(":sha", sha256).s(":src", sourceJobID).s(":validating", string(domain.JobValidating)).done()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	_, err = s.updateJob(ctx, what+" "+id, id, "SET #fileSha256 = :sha, #sourceJobId = :src", "#state = :validating",
		names(aState, "fileSha256", "sourceJobId"), vals)
	if errors.Is(err, errCondition) {
		return s.whyRefused(ctx, what, id)
	}
	return err
}

// FinishValidation implements domain.JobStore. The errors are appended to what rows recorded
// meanwhile, up to MaxJobErrors: the append is conditioned on the list's size when the job was
// read, and read again when a row got in between.
func (s *Store) FinishValidation(ctx context.Context, id string, v domain.JobValidation, at time.Time) (domain.Job, error) {
	const what = "finish validation of job"
	if err := domain.CheckKeys("job id", id); err != nil {
		return domain.Job{}, fmt.Errorf("%s: %w", what, err)
	}
	ts, err := fmtTime(at)
	if err != nil {
		return domain.Job{}, fmt.Errorf("%s %s: %w", what, id, err)
	}
	// Each lost race means another error was appended, so the list fills up and the
	// loop ends; the bound only guards against a store that misbehaves.
	for range domain.MaxJobErrors + maxAttempts {
		j, err := s.getJob(ctx, id, what)
		if err != nil {
			return domain.Job{}, err
		}
		if j.State != domain.JobValidating {
			return domain.Job{}, fmt.Errorf("%s %s: it is %s: %w", what, id, j.State, domain.ErrConflict)
		}
		nm := names(aState, aTotal, aRejected, aUpdatedAt)
		vals := item{
			":validating": sAV(string(domain.JobValidating)), ":issuing": sAV(string(domain.JobIssuing)),
			":total": nAV(int64(v.Total)), ":rejected": nAV(int64(v.Rejected)), ":at": sAV(ts),
		}
		update := "SET #state = :issuing, #total = :total, #updatedAt = :at"
		cond := "#state = :validating"
		if v.ErrorReportKey != "" {
			nm["#rk"] = "errorReportKey"
			vals[":rk"] = sAV(v.ErrorReportKey)
			update += ", #rk = :rk"
		}
		if room := domain.MaxJobErrors - len(j.Errors); room > 0 && len(v.Errors) > 0 {
			add := v.Errors[:min(room, len(v.Errors))]
			nm["#"+aErrors] = aErrors
			vals[":errs"], vals[":n"] = rowErrorsAV(add), nAV(int64(len(j.Errors)))
			update += ", #errors = list_append(#errors, :errs)"
			cond += " AND size(#errors) = :n"
		}
		update += " ADD #rejected :rejected"
		m, err := s.updateJob(ctx, what+" "+id, id, update, cond, nm, vals)
		if errors.Is(err, errCondition) {
			continue // a row error got in, or the job moved: read it again
		}
		if err != nil {
			return domain.Job{}, err
		}
		return jobFrom(m)
	}
	return domain.Job{}, fmt.Errorf("%s %s: the job kept changing: %w", what, id, domain.ErrConflict)
}

// FailJob implements domain.JobStore.
func (s *Store) FailJob(ctx context.Context, id, message string, at time.Time) error {
	const what = "fail job"
	if err := domain.CheckKeys("job id", id); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ts, err := fmtTime(at)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	vals, err := newItem().s(":msg", message).done()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	vals[":failed"], vals[":at"] = sAV(string(domain.JobFailed)), sAV(ts)
	vals[":validating"], vals[":issuing"] = sAV(string(domain.JobValidating)), sAV(string(domain.JobIssuing))
	update := "SET #state = :failed, #updatedAt = :at"
	if message != "" {
		update += ", #message = :msg"
	} else {
		delete(vals, ":msg")
	}
	_, err = s.updateJob(ctx, what+" "+id, id, update, "#state IN (:validating, :issuing)",
		names(aState, aUpdatedAt, "message"), vals)
	if errors.Is(err, errCondition) {
		return s.whyRefused(ctx, what, id)
	}
	return err
}

// CompleteJob implements domain.JobStore. Accounted is decided on a consistent read; the move
// is conditioned on the counters it was decided on, so a row that changed them in between (a
// failed row now issued, whose mail is not settled yet) sends it round again.
func (s *Store) CompleteJob(ctx context.Context, id string, at time.Time) (domain.Job, bool, error) {
	const what = "complete job"
	if err := domain.CheckKeys("job id", id); err != nil {
		return domain.Job{}, false, fmt.Errorf("%s: %w", what, err)
	}
	ts, err := fmtTime(at)
	if err != nil {
		return domain.Job{}, false, fmt.Errorf("%s %s: %w", what, id, err)
	}
	for range maxAttempts {
		j, err := s.getJob(ctx, id, what)
		if err != nil {
			return domain.Job{}, false, err
		}
		if j.State != domain.JobIssuing || !j.Accounted() {
			return j, false, nil
		}
		counters := []struct {
			name string
			n    int
		}{{aTotal, j.Total}, {aIssued, j.Issued}, {aRejected, j.Rejected}, {aFailed, j.Failed},
			{aMailed, j.Mailed}, {aMailSuppressed, j.MailSuppressed}, {aMailFailed, j.MailFailed}}
		nm := names(aState, aUpdatedAt)
		vals := item{":issuing": sAV(string(domain.JobIssuing)), ":done": sAV(string(domain.JobDone)), ":at": sAV(ts)}
		cond := "#state = :issuing"
		for _, c := range counters {
			nm["#"+c.name] = c.name
			vals[":"+c.name] = nAV(int64(c.n))
			cond += fmt.Sprintf(" AND #%s = :%s", c.name, c.name)
		}
		m, err := s.updateJob(ctx, what+" "+id, id, "SET #state = :done, #updatedAt = :at", cond, nm, vals)
		if errors.Is(err, errCondition) {
			continue
		}
		if err != nil {
			return domain.Job{}, false, err
		}
		done, err := jobFrom(m)
		return done, err == nil, err
	}
	return domain.Job{}, false, fmt.Errorf("%s %s: the job kept changing: %w", what, id, domain.ErrConflict)
}

func outcomeCounter(o domain.RowOutcome) string {
	switch o {
	case domain.RowIssued:
		return aIssued
	case domain.RowRejected:
		return aRejected
	case domain.RowFailed:
		return aFailed
	}
	return ""
}

// RecordRow implements domain.JobStore. The first recording of a row puts its outcome on the
// marker (conditioned on there being none) and ADDs one to the counter; a failed row now
// issued updates the marker (conditioned on it still being failed) and moves one from failed
// to issued. The row's error goes into the same update of the job, conditioned on the list
// holding fewer than MaxJobErrors; when that condition is what failed, the row is recorded
// again without its error in the list, so a full list never stops the counting. The marker
// keeps the error either way (rowError, for ListRowErrors); the move to issued removes it.
func (s *Store) RecordRow(ctx context.Context, jobID string, row int, outcome domain.RowOutcome, credentialID string, rowErr *domain.RowError, at time.Time) (bool, error) {
	counter := outcomeCounter(outcome)
	if counter == "" {
		return false, fmt.Errorf("record row %d of job %s: unknown outcome %q", row, jobID, outcome)
	}
	if err := domain.CheckKeys("job id", jobID); err != nil {
		return false, fmt.Errorf("record row: %w", err)
	}
	if err := checkRow(row); err != nil {
		return false, fmt.Errorf("record row of job %s: %w", jobID, err)
	}
	what := fmt.Sprintf("record row %d of job %s", row, jobID)
	cred, err := newItem().s(":cred", credentialID).done()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	withErr := rowErr != nil && outcome != domain.RowIssued
	var markerErr types.AttributeValue
	if withErr {
		markerErr = rowErrorAV(domain.RowError{Row: row, Field: rowErr.Field, Message: rowErr.Message})
	}
	moveFromFailed := false
	for range maxAttempts {
		// The marker: the first outcome of the row, or failed -> issued.
		marker := &types.Update{
			TableName:                 &s.table,
			Key:                       item{attrPK: sAV(jobPK(jobID)), attrSK: sAV(rowSK(row))},
			ExpressionAttributeNames:  names(aOutcome, "type"),
			ExpressionAttributeValues: item{":o": sAV(string(outcome)), ":type": sAV("jobRow")},
		}
		update := "SET #outcome = :o, #type = :type"
		if v, ok := cred[":cred"]; ok {
			update += ", #cred = :cred"
			marker.ExpressionAttributeNames["#cred"] = "credentialId"
			marker.ExpressionAttributeValues[":cred"] = v
		}
		switch {
		case moveFromFailed:
			update += " REMOVE #rowError"
			marker.ExpressionAttributeNames["#rowError"] = aRowError
		case markerErr != nil:
			update += ", #rowError = :rowErr"
			marker.ExpressionAttributeNames["#rowError"] = aRowError
			marker.ExpressionAttributeValues[":rowErr"] = markerErr
		}
		marker.UpdateExpression = aws.String(update)
		job := &types.Update{
			TableName:                 &s.table,
			Key:                       item{attrPK: sAV(jobPK(jobID)), attrSK: sAV(skMeta)},
			UpdateExpression:          aws.String("ADD #" + counter + " :one"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeNames:  names(counter),
			ExpressionAttributeValues: item{":one": nAV(1)},
		}
		if moveFromFailed {
			marker.ConditionExpression = aws.String("#outcome = :failed")
			marker.ExpressionAttributeValues[":failed"] = sAV(string(domain.RowFailed))
			*job.UpdateExpression += ", #failed :minus"
			job.ExpressionAttributeNames["#failed"] = aFailed
			job.ExpressionAttributeValues[":minus"] = nAV(-1)
		} else {
			marker.ConditionExpression = aws.String("attribute_not_exists(#outcome)")
		}
		if withErr && !moveFromFailed {
			*job.UpdateExpression += " SET #errors = list_append(#errors, :err)"
			*job.ConditionExpression += " AND size(#errors) < :max"
			job.ExpressionAttributeNames["#errors"] = aErrors
			job.ExpressionAttributeValues[":err"] = rowErrorsAV([]domain.RowError{*rowErr})
			job.ExpressionAttributeValues[":max"] = nAV(domain.MaxJobErrors)
		}
		err := s.transact(ctx, what, func() []types.TransactWriteItem {
			return []types.TransactWriteItem{{Update: marker}, {Update: job}}
		})
		if err == nil {
			return true, nil
		}
		failed, ok := txConditionFailed(err)
		if !ok {
			return false, fmt.Errorf("%s: %w", what, err)
		}
		if len(failed) == 2 && failed[1] {
			// No job, or its error list is full: which one decides what comes next.
			j, err := s.getJob(ctx, jobID, "record row of job")
			if err != nil {
				return false, err
			}
			if len(j.Errors) < domain.MaxJobErrors {
				continue // a concurrent change: try again
			}
			withErr = false
			continue
		}
		// The marker's condition: the row was recorded before.
		m, err := s.getItem(ctx, jobPK(jobID), rowSK(row))
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return false, fmt.Errorf("%s: read the row: %w", what, err)
		}
		d := &dec{m: m}
		prev := d.s(aOutcome)
		if d.err != nil {
			return false, fmt.Errorf("%s: %w", what, d.err)
		}
		switch {
		case prev == "":
			moveFromFailed = false // the marker is gone or bare: the first recording again
		case prev == string(domain.RowFailed) && outcome == domain.RowIssued:
			moveFromFailed = true
		default:
			return false, nil // a redelivery, or a final row
		}
	}
	return false, fmt.Errorf("%s: the row kept changing: %w", what, domain.ErrConflict)
}

// rowErrorsCursor is the cursor shape of a job's row error listing: a marker of that job.
func rowErrorsCursor(jobID string) cursorShape {
	return cursorShape{
		attrs: []string{attrPK, attrSK},
		check: func(m map[string]string) error {
			if m[attrPK] != jobPK(jobID) {
				return errOtherPartition
			}
			digits, ok := strings.CutPrefix(m[attrSK], prefixRow)
			if !ok || len(digits) != 10 || strings.Trim(digits, "0123456789") != "" {
				return errMalformedKey
			}
			return nil
		},
	}
}

// ListRowErrors implements domain.JobStore: a consistent Query of the job's markers (their
// sort keys are zero-padded, so key order is row order), filtered to those with a rowError.
// The filter applies after the read, so a page reads the markers up to its last error, 1 MB
// (thousands of markers) a request (queryUpTo), which keeps the round trips few when errors
// are sparse.
func (s *Store) ListRowErrors(ctx context.Context, jobID string, p domain.Page) ([]domain.RowError, string, error) {
	const what = "list row errors of job"
	if err := domain.CheckKeys("job id", jobID); err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :s)"),
		FilterExpression:          aws.String("attribute_exists(#rowError)"),
		ProjectionExpression:      aws.String("pk, sk, #rowError"),
		ExpressionAttributeNames:  names(aRowError),
		ExpressionAttributeValues: item{":p": sAV(jobPK(jobID)), ":s": sAV(prefixRow)},
		ConsistentRead:            aws.Bool(true),
	}
	if p.Cursor != "" {
		start, err := decodeCursor(p.Cursor, rowErrorsCursor(jobID))
		if err != nil {
			return nil, "", fmt.Errorf("%s %s: %w", what, jobID, err)
		}
		in.ExclusiveStartKey = start
	}
	items, next, err := s.queryUpTo(ctx, in, p.Size(), []string{attrPK, attrSK})
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", what, jobID, err)
	}
	if len(items) == 0 {
		// Nothing listed: a job without row errors, or no job, which the contract tells apart.
		if _, err := s.getItem(ctx, jobPK(jobID), skMeta); err != nil {
			return nil, "", fmt.Errorf("%s %s: %w", what, jobID, err)
		}
	}
	out := make([]domain.RowError, 0, len(items))
	for _, m := range items {
		e, err := rowErrorFrom(m[aRowError])
		if err != nil {
			return nil, "", fmt.Errorf("%s %s: %w", what, jobID, err)
		}
		// The key is the row; the map's own row is what RecordRow wrote there, the same.
		sk, _ := m[attrSK].(*types.AttributeValueMemberS)
		if sk == nil {
			return nil, "", fmt.Errorf("%s %s: a marker without a sort key", what, jobID)
		}
		row, err := strconv.Atoi(strings.TrimPrefix(sk.Value, prefixRow))
		if err != nil {
			return nil, "", fmt.Errorf("%s %s: marker %q: %w", what, jobID, sk.Value, err)
		}
		e.Row = row
		out = append(out, e)
	}
	return out, next, nil
}

// SetErrorReport implements domain.JobStore: one update conditioned on the job having no report.
func (s *Store) SetErrorReport(ctx context.Context, id, key string) error {
	const what = "set error report of job"
	if err := domain.CheckKeys("job id", id); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := domain.CheckKeys("report key", key); err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	_, err := s.updateJob(ctx, what+" "+id, id, "SET #rk = :rk", "attribute_not_exists(#rk)",
		map[string]string{"#rk": aReportKey}, item{":rk": sAV(key)})
	if errors.Is(err, errCondition) {
		// No job, or one with a report already: that one stays.
		_, err = s.getJob(ctx, id, what)
	}
	return err
}

// ClaimRowMail implements domain.JobStore: one conditional update of the row's lease. Times
// are fixed-width UTC strings, so the condition compares them as instants.
func (s *Store) ClaimRowMail(ctx context.Context, jobID string, row int, now, until time.Time) (claimed, settled bool, err error) {
	if err := domain.CheckKeys("job id", jobID); err != nil {
		return false, false, fmt.Errorf("claim mail: %w", err)
	}
	if err := checkRow(row); err != nil {
		return false, false, fmt.Errorf("claim mail of job %s: %w", jobID, err)
	}
	what := fmt.Sprintf("claim mail of row %d of job %s", row, jobID)
	nowS, err := fmtTime(now)
	if err != nil {
		return false, false, fmt.Errorf("%s: %w", what, err)
	}
	untilS, err := fmtTime(until)
	if err != nil {
		return false, false, fmt.Errorf("%s: %w", what, err)
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       item{attrPK: sAV(jobPK(jobID)), attrSK: sAV(rowSK(row))},
		UpdateExpression:          aws.String("SET #leaseUntil = :until, #type = :type"),
		ConditionExpression:       aws.String("attribute_not_exists(#mail) AND (attribute_not_exists(#leaseUntil) OR #leaseUntil <= :now)"),
		ExpressionAttributeNames:  names(aLease, aMail, "type"),
		ExpressionAttributeValues: item{":until": sAV(untilS), ":now": sAV(nowS), ":type": sAV("jobRow")},
	}
	err = retry(ctx, what, func() error {
		_, err := s.db.UpdateItem(ctx, in)
		return err
	})
	switch {
	case err == nil:
		return true, false, nil
	case !isConditionFailed(err):
		return false, false, fmt.Errorf("%s: %w", what, err)
	}
	// Leased, or settled: settled is final, so a read after the failed condition tells.
	m, err := s.getItem(ctx, jobPK(jobID), rowSK(row))
	if err != nil {
		return false, false, fmt.Errorf("%s: read the row: %w", what, err)
	}
	_, settled = m[aMail]
	return false, settled, nil
}

func mailCounter(o domain.MailOutcome) string {
	switch o {
	case domain.RowMailSent:
		return aMailed
	case domain.RowMailSuppressed:
		return aMailSuppressed
	case domain.RowMailFailed:
		return aMailFailed
	}
	return ""
}

// RecordRowMail implements domain.JobStore: the marker's mail outcome (conditioned on there
// being none) and the job's counter in one transaction.
func (s *Store) RecordRowMail(ctx context.Context, jobID string, row int, outcome domain.MailOutcome, at time.Time) (bool, error) {
	counter := mailCounter(outcome)
	if counter == "" {
		return false, fmt.Errorf("record mail of row %d of job %s: unknown outcome %q", row, jobID, outcome)
	}
	if err := domain.CheckKeys("job id", jobID); err != nil {
		return false, fmt.Errorf("record mail: %w", err)
	}
	if err := checkRow(row); err != nil {
		return false, fmt.Errorf("record mail of job %s: %w", jobID, err)
	}
	what := fmt.Sprintf("record mail of row %d of job %s", row, jobID)
	err := s.transact(ctx, what, func() []types.TransactWriteItem {
		return []types.TransactWriteItem{
			{Update: &types.Update{
				TableName:                 &s.table,
				Key:                       item{attrPK: sAV(jobPK(jobID)), attrSK: sAV(rowSK(row))},
				UpdateExpression:          aws.String("SET #mail = :o, #type = :type REMOVE #leaseUntil"),
				ConditionExpression:       aws.String("attribute_not_exists(#mail)"),
				ExpressionAttributeNames:  names(aMail, aLease, "type"),
				ExpressionAttributeValues: item{":o": sAV(string(outcome)), ":type": sAV("jobRow")},
			}},
			{Update: &types.Update{
				TableName:                 &s.table,
				Key:                       item{attrPK: sAV(jobPK(jobID)), attrSK: sAV(skMeta)},
				UpdateExpression:          aws.String("ADD #" + counter + " :one"),
				ConditionExpression:       aws.String("attribute_exists(pk)"),
				ExpressionAttributeNames:  names(counter),
				ExpressionAttributeValues: item{":one": nAV(1)},
			}},
		}
	})
	if err == nil {
		return true, nil
	}
	failed, ok := txConditionFailed(err)
	if !ok {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	if len(failed) == 2 && failed[1] {
		return false, fmt.Errorf("%s: job: %w", what, domain.ErrNotFound)
	}
	return false, nil // settled before
}

// ClaimRoster implements domain.JobStore: a put conditioned on the claim not existing, and a
// consistent read of the claim that won when it does.
func (s *Store) ClaimRoster(ctx context.Context, issuerID, achievementID, sha256, jobID string) (string, error) {
	if err := domain.CheckKeys("issuer id", issuerID, "achievement id", achievementID, "file hash", sha256, "job id", jobID); err != nil {
		return "", fmt.Errorf("claim roster: %w", err)
	}
	what := fmt.Sprintf("claim roster %s of issuer %s for job %s", sha256, issuerID, jobID)
	pk, sk := issuerPK(issuerID), rosterSK(achievementID, sha256)
	it := item{attrPK: sAV(pk), attrSK: sAV(sk), "type": sAV("roster"), "jobId": sAV(jobID)}
	err := s.putIf(ctx, what, it, "attribute_not_exists(pk)", nil, nil, domain.ErrConflict)
	if err == nil {
		return jobID, nil
	}
	if !errors.Is(err, domain.ErrConflict) {
		return "", err
	}
	m, err := s.getItem(ctx, pk, sk)
	if err != nil {
		return "", fmt.Errorf("%s: read the claim: %w", what, err)
	}
	d := &dec{m: m}
	first := d.s("jobId")
	if d.err != nil || first == "" {
		return "", fmt.Errorf("%s: the stored claim has no job (%v)", what, d.err)
	}
	return first, nil
}

// Suppress implements domain.JobStore.
func (s *Store) Suppress(ctx context.Context, sup domain.Suppression) error {
	if err := domain.CheckKeys("issuer id", sup.IssuerID, "e-mail key", sup.EmailKey); err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	what := "suppress an address of issuer " + sup.IssuerID
	it, err := newItem(attrPK, issuerPK(sup.IssuerID), attrSK, suppressSK(sup.EmailKey), "type", "suppression").
		s("issuerId", sup.IssuerID).s("emailKey", sup.EmailKey).s("email", sup.Email).s("reason", sup.Reason).
		s("detail", sup.Detail).t("at", sup.At).done()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	err = retry(ctx, what, func() error {
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: it})
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// GetSuppression implements domain.JobStore.
func (s *Store) GetSuppression(ctx context.Context, issuerID, emailKey string) (domain.Suppression, error) {
	what := "suppression of issuer " + issuerID
	m, err := s.getItem(ctx, issuerPK(issuerID), suppressSK(emailKey))
	if err != nil {
		return domain.Suppression{}, fmt.Errorf("%s: %w", what, err)
	}
	d := &dec{m: m}
	sup := domain.Suppression{
		IssuerID: d.s("issuerId"), EmailKey: d.s("emailKey"), Email: d.s("email"), Reason: d.s("reason"),
		Detail: d.s("detail"), At: d.t("at"),
	}
	if d.err != nil {
		return domain.Suppression{}, fmt.Errorf("%s: %w", what, d.err)
	}
	return sup, nil
}
