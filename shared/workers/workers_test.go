package workers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/credence-oss/credence/shared/adapters/boltstore"
	"github.com/credence-oss/credence/shared/adapters/localblobs"
	"github.com/credence-oss/credence/shared/adapters/localkeys"
	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/roster"
	"github.com/credence-oss/credence/shared/roster/report"
	"github.com/credence-oss/credence/shared/standards/keys"
)

// recQueue records what is published, per topic.
type recQueue struct {
	mu     sync.Mutex
	topics map[string][][]byte
}

func (q *recQueue) Publish(_ context.Context, topic string, bodies ...[]byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.topics == nil {
		q.topics = map[string][][]byte{}
	}
	for _, b := range bodies {
		q.topics[topic] = append(q.topics[topic], bytes.Clone(b))
	}
	return nil
}

// take returns and forgets what was published on topic.
func (q *recQueue) take(topic string) [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.topics[topic]
	delete(q.topics, topic)
	return out
}

// recMailer records the mail it is given; fail, when set, decides per message.
type recMailer struct {
	mu   sync.Mutex
	sent []domain.Mail
	fail func(domain.Mail) error
}

func (m *recMailer) Send(_ context.Context, msg domain.Mail) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		if err := m.fail(msg); err != nil {
			return "", err
		}
	}
	m.sent = append(m.sent, msg)
	return fmt.Sprintf("<msg-%d@test>", len(m.sent)), nil
}

func (m *recMailer) to() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, s := range m.sent {
		out = append(out, s.To)
	}
	return out
}

// flakySigner fails every Sign while broken is set.
type flakySigner struct {
	domain.Signer
	mu     sync.Mutex
	broken bool
}

func (s *flakySigner) Sign(ctx context.Context, k domain.KeyRef, alg keys.Alg, msg []byte) ([]byte, error) {
	s.mu.Lock()
	broken := s.broken
	s.mu.Unlock()
	if broken {
		return nil, errors.New("signing service down")
	}
	return s.Signer.Sign(ctx, k, alg, msg)
}

func (s *flakySigner) set(broken bool) { s.mu.Lock(); s.broken = broken; s.mu.Unlock() }

type env struct {
	store  *boltstore.Store
	blobs  *localblobs.Store
	svc    *domain.Service
	bulk   *domain.Bulk
	queue  *recQueue
	mailer *recMailer
	signer *flakySigner
	iss    domain.Issuer
	ach    domain.Achievement
	opts   Options
	skew   atomic.Int64 // added to the domain's clock, so tests can let leases run out
}

// visibilityTimeout is the mail queue's in the stack (6 x the 60 s function timeout): how long
// SQS waits before delivering a failed record again.
const visibilityTimeout = 6 * time.Minute

// later moves the domain's clock on by d.
func (e *env) later(d time.Duration) { e.skew.Add(int64(d)) }

var admin = domain.Principal{KeyID: "test-admin"}

const sesEventsARN = "arn:aws:sqs:us-east-1:123456789012:credence-dev-SesEventsQueue"

func quiet() *slog.Logger {
	if os.Getenv("WORKERS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newEnv is the domain on the local adapters (bbolt store and job store, local keys, a folder
// of blobs, the real roster parser) with a recording queue and mailer.
func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	store, err := boltstore.Open(filepath.Join(dir, "credence.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ks, err := localkeys.Open(filepath.Join(dir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := localblobs.Open(filepath.Join(dir, "blobs"), "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: store, blobs: blobs, queue: &recQueue{}, mailer: &recMailer{}, signer: &flakySigner{Signer: ks}}
	e.svc = &domain.Service{
		Store: store, Signer: e.signer, Queue: e.queue, Invalidator: domain.NopInvalidator{},
		Clock:   func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) },
		BaseURL: "https://credentials.example.edu", Log: quiet(),
	}
	e.bulk = &domain.Bulk{
		Svc: e.svc, Jobs: store, Blobs: blobs, Parse: roster.Parser(roster.Options{}), Report: report.CSV{},
		Mailing: domain.Mailing{Mailer: e.mailer, From: "Example University <badges@example.edu>"},
	}
	ctx := t.Context()
	e.iss, err = e.svc.CreateIssuer(ctx, admin, domain.IssuerInput{Name: "Example University", URL: "https://www.example.edu", Email: "registrar@example.edu"})
	if err != nil {
		t.Fatal(err)
	}
	e.ach, err = e.svc.CreateAchievement(ctx, admin, e.iss.ID, domain.AchievementInput{
		Name: "Data Stewardship", Description: "Completed the data stewardship course.",
		Criteria: domain.CriteriaInput{Narrative: "Passed the final assessment."},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.opts = Options{MaxReceives: 5, SESEventsQueueARN: sesEventsARN, Log: quiet()}
	return e
}

// job creates a job that has been validated with total rows.
func (e *env) job(t *testing.T, total int, notify bool) domain.Job {
	t.Helper()
	now := time.Now().UTC()
	j := domain.Job{ID: domain.NewID(), IssuerID: e.iss.ID, AchievementID: e.ach.ID, Filename: "cohort.csv", Notify: notify,
		State: domain.JobValidating, Errors: []domain.RowError{}, CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.FinishValidation(t.Context(), j.ID, domain.JobValidation{Total: total}, now); err != nil {
		t.Fatal(err)
	}
	return j
}

func (e *env) getJob(t *testing.T, id string) domain.Job {
	t.Helper()
	j, err := e.store.GetJob(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (e *env) credentials(t *testing.T) []domain.Credential {
	t.Helper()
	cs, _, err := e.store.ListCredentials(t.Context(), e.iss.ID, domain.CredentialFilter{}, domain.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// replacements fill the placeholders of the sample events for job j; the samples' rows ask
// for mail, which a job without Notify does not.
func (e *env) replacements(j domain.Job) map[string]string {
	r := map[string]string{"JOB_ID": j.ID, "ISSUER_ID": e.iss.ID, "ACHIEVEMENT_ID": e.ach.ID}
	if !j.Notify {
		r[`\"notify\":true`] = `\"notify\":false`
	}
	return r
}

// loadEvent reads a sample event from events/ with its placeholders replaced.
func loadEvent(t *testing.T, name string, repl map[string]string, into any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for k, v := range repl {
		s = strings.ReplaceAll(s, k, v)
	}
	if err := json.Unmarshal([]byte(s), into); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func sqsEvent(t *testing.T, name string, repl map[string]string) events.SQSEvent {
	t.Helper()
	var ev events.SQSEvent
	loadEvent(t, name, repl, &ev)
	if len(ev.Records) == 0 {
		t.Fatalf("%s has no records", name)
	}
	return ev
}

// s3Event is the sample roster notification in events/ for an object key as S3 writes it in
// events (URL-encoded), decoded the way the Lambda runtime decodes it.
func s3Event(t *testing.T, encodedKey string) events.S3Event {
	t.Helper()
	var sample map[string]any
	loadEvent(t, "roster-object-created.json", nil, &sample)
	recs, _ := sample["Records"].([]any)
	if len(recs) == 0 {
		t.Fatal("roster-object-created.json has no records")
	}
	obj := recs[0].(map[string]any)["s3"].(map[string]any)["object"].(map[string]any)
	obj["key"] = encodedKey
	raw, _ := json.Marshal(sample)
	var ev events.S3Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// asEvent turns published bodies into an SQS event shaped like the sample in events/.
func asEvent(t *testing.T, sample string, bodies [][]byte, receiveCount int) events.SQSEvent {
	t.Helper()
	tmpl := sqsEvent(t, sample, nil).Records[0]
	var ev events.SQSEvent
	for i, b := range bodies {
		r := tmpl
		r.MessageId = fmt.Sprintf("msg-%d", i)
		r.Body = string(b)
		r.Attributes = map[string]string{"ApproximateReceiveCount": fmt.Sprint(receiveCount)}
		ev.Records = append(ev.Records, r)
	}
	return ev
}

func withReceiveCount(ev events.SQSEvent, n int) events.SQSEvent {
	out := events.SQSEvent{}
	for _, r := range ev.Records {
		r.Attributes = map[string]string{"ApproximateReceiveCount": fmt.Sprint(n)}
		out.Records = append(out.Records, r)
	}
	return out
}

func failedIDs(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	slices.Sort(ids)
	return ids
}

func run(t *testing.T, h SQSHandler, ev events.SQSEvent) events.SQSEventResponse {
	t.Helper()
	resp, err := h(t.Context(), ev)
	if err != nil {
		t.Fatalf("the handler returned an error (Lambda would redeliver the whole batch): %v", err)
	}
	return resp
}

func TestIssueBatchReportsOnlyThePoisonRecord(t *testing.T) {
	e := newEnv(t)
	j := e.job(t, 3, true)
	ev := sqsEvent(t, "issue-sqs.json", e.replacements(j))
	poison := ev.Records[0]
	poison.MessageId, poison.Body = "poison", `{"jobId": "`+j.ID+`", "row": "two"`
	ev.Records = []events.SQSMessage{ev.Records[0], poison, ev.Records[1]}

	resp := run(t, IssueHandler(e.bulk, e.opts), ev)
	if got := failedIDs(resp); !slices.Equal(got, []string{"poison"}) {
		t.Fatalf("batch item failures = %v, want only the poison record", got)
	}
	if n := len(e.credentials(t)); n != 2 {
		t.Fatalf("%d credentials, want 2 (the good rows around the poison one)", n)
	}
	if n := len(e.queue.take(domain.TopicMail)); n != 2 {
		t.Fatalf("%d mail messages queued, want 2", n)
	}
	if got := e.getJob(t, j.ID); got.Issued != 2 || got.Failed != 0 {
		t.Fatalf("job issued %d failed %d, want 2 and 0", got.Issued, got.Failed)
	}
}

func TestIssueRedeliveryMakesOneCredential(t *testing.T) {
	e := newEnv(t)
	j := e.job(t, 1, false)
	ev := sqsEvent(t, "issue-sqs.json", e.replacements(j))
	ev.Records = ev.Records[:1]
	h := IssueHandler(e.bulk, e.opts)
	for i := 1; i <= 2; i++ {
		if resp := run(t, h, withReceiveCount(ev, i)); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d failed: %v", i, failedIDs(resp))
		}
	}
	cs := e.credentials(t)
	if len(cs) != 1 {
		t.Fatalf("two deliveries of one row made %d credentials, want 1", len(cs))
	}
	if cs[0].RecipientEmail != "ada@example.org" {
		t.Fatalf("credential for %q", cs[0].RecipientEmail)
	}
	got := e.getJob(t, j.ID)
	if got.Issued != 1 || got.State != domain.JobDone {
		t.Fatalf("job issued %d state %s, want 1 and done", got.Issued, got.State)
	}
}

func TestIssueLastReceiveRecordsTheRowAsFailed(t *testing.T) {
	e := newEnv(t)
	j := e.job(t, 2, false)
	ev := sqsEvent(t, "issue-sqs.json", e.replacements(j))
	row2 := events.SQSEvent{Records: ev.Records[:1]}
	row3 := events.SQSEvent{Records: ev.Records[1:]}
	h := IssueHandler(e.bulk, e.opts)

	e.signer.set(true)
	for n := 1; n < 5; n++ {
		resp := run(t, h, withReceiveCount(row2, n))
		if got := failedIDs(resp); !slices.Equal(got, []string{row2.Records[0].MessageId}) {
			t.Fatalf("receive %d: failures %v, want the row", n, got)
		}
		if got := e.getJob(t, j.ID); got.Failed != 0 {
			t.Fatalf("receive %d of 5 already counted the row as failed", n)
		}
	}
	resp := run(t, h, withReceiveCount(row2, 5))
	if got := failedIDs(resp); !slices.Equal(got, []string{row2.Records[0].MessageId}) {
		t.Fatalf("last receive: failures %v, want the row (so it goes to the DLQ)", got)
	}
	got := e.getJob(t, j.ID)
	if got.Failed != 1 || len(got.Errors) != 1 || got.Errors[0].Row != 2 {
		t.Fatalf("after the last receive: failed %d, errors %+v; want row 2 failed", got.Failed, got.Errors)
	}
	e.signer.set(false)
	if resp := run(t, h, row3); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("row 3 failed: %v", failedIDs(resp))
	}
	if got := e.getJob(t, j.ID); got.State != domain.JobDone || got.Issued != 1 || got.Failed != 1 {
		t.Fatalf("job %s issued %d failed %d, want done with 1 and 1", got.State, got.Issued, got.Failed)
	}
	// A redrive of the dead-letter queue issues the row after all.
	if resp := run(t, h, withReceiveCount(row2, 1)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redriven row failed: %v", failedIDs(resp))
	}
	if got := e.getJob(t, j.ID); got.Issued != 2 || got.Failed != 0 {
		t.Fatalf("after the redrive: issued %d failed %d, want 2 and 0", got.Issued, got.Failed)
	}
}

func TestNoTimeLeftReportsRecordsUnprocessed(t *testing.T) {
	e := newEnv(t)
	j := e.job(t, 2, false)
	ev := sqsEvent(t, "issue-sqs.json", e.replacements(j))
	ctx, cancel := context.WithTimeout(t.Context(), time.Second) // under the 3 s margin
	defer cancel()
	resp, err := IssueHandler(e.bulk, e.opts)(ctx, withReceiveCount(ev, 5))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 2 {
		t.Fatalf("failures %v, want both records handed back", failedIDs(resp))
	}
	if n := len(e.credentials(t)); n != 0 {
		t.Fatalf("%d credentials issued with no time left", n)
	}
	// Their last receive: they go to the DLQ, so the job counts them failed and can finish.
	if got := e.getJob(t, j.ID); got.Failed != 2 || got.State != domain.JobDone {
		t.Fatalf("job failed %d state %s, want 2 and done", got.Failed, got.State)
	}
}

// issueAll runs the issue handler over the sample rows and returns the mail messages queued.
func (e *env) issueAll(t *testing.T, j domain.Job, repl map[string]string) [][]byte {
	t.Helper()
	r := e.replacements(j)
	for k, v := range repl {
		r[k] = v
	}
	if resp := run(t, IssueHandler(e.bulk, e.opts), sqsEvent(t, "issue-sqs.json", r)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("issuing failed: %v", failedIDs(resp))
	}
	return e.queue.take(domain.TopicMail)
}

func TestMailBatchPartialFailureAndLastReceive(t *testing.T) {
	e := newEnv(t)
	j := e.job(t, 2, true)
	mails := e.issueAll(t, j, nil)
	if len(mails) != 2 {
		t.Fatalf("%d mail messages, want 2", len(mails))
	}
	e.mailer.fail = func(m domain.Mail) error {
		if m.To == "grace@example.org" {
			return errors.New("connection reset")
		}
		return nil
	}
	h := MailHandler(e.bulk, e.opts)
	ev := asEvent(t, "mail-sqs.json", mails, 1)
	var graceID string
	for _, r := range ev.Records {
		m, _ := domain.DecodeDelivery([]byte(r.Body))
		if m.Row == 3 {
			graceID = r.MessageId
		}
	}
	resp := run(t, h, ev)
	if got := failedIDs(resp); !slices.Equal(got, []string{graceID}) {
		t.Fatalf("failures %v, want only grace's (%s)", got, graceID)
	}
	if got := e.mailer.to(); !slices.Equal(got, []string{"ada@example.org"}) {
		t.Fatalf("mailed %v", got)
	}
	sent := e.mailer.sent[0]
	if sent.Tags["issuer"] != e.iss.ID || sent.Tags["credential"] == "" {
		t.Fatalf("mail tags %v: SES events need the credential and issuer", sent.Tags)
	}
	// A failed send keeps its row's mail lease (2 minutes); SQS redelivers the record after the
	// visibility timeout, when the lease has run out. Ada's message comes again too (say its
	// delete was lost): counted once, not sent twice.
	e.later(visibilityTimeout)
	resp = run(t, h, ev)
	if got := failedIDs(resp); !slices.Equal(got, []string{graceID}) {
		t.Fatalf("second delivery: failures %v", got)
	}
	if n := len(e.mailer.to()); n != 1 {
		t.Fatalf("ada mailed %d times", n)
	}
	last := events.SQSEvent{}
	for _, r := range withReceiveCount(ev, 5).Records {
		if r.MessageId == graceID {
			last.Records = append(last.Records, r)
		}
	}
	e.later(visibilityTimeout)
	resp = run(t, h, last)
	if len(resp.BatchItemFailures) != 1 {
		t.Fatalf("last receive: failures %v, want grace's (to the DLQ)", failedIDs(resp))
	}
	got := e.getJob(t, j.ID)
	if got.Mailed != 1 || got.MailFailed != 1 || got.State != domain.JobDone {
		t.Fatalf("job mailed %d mailFailed %d state %s, want 1, 1, done", got.Mailed, got.MailFailed, got.State)
	}
	for _, c := range e.credentials(t) {
		if c.RecipientEmail == "grace@example.org" && c.Mail.State != domain.MailFailed {
			t.Fatalf("grace's credential mail state %q, want failed", c.Mail.State)
		}
	}
}

// TestMailLastReceiveInsideTheLease: when the last delivery of a row's mail comes while the
// lease of an earlier, failed delivery still holds, the row is counted as failed (nothing else
// will count it) and the job finishes.
func TestMailLastReceiveInsideTheLease(t *testing.T) {
	e := newEnv(t)
	j := e.job(t, 2, true)
	mails := e.issueAll(t, j, nil)
	if len(mails) != 2 {
		t.Fatalf("%d mail messages, want 2", len(mails))
	}
	e.mailer.fail = func(domain.Mail) error { return errors.New("connection reset") }
	h := MailHandler(e.bulk, e.opts)
	ev := asEvent(t, "mail-sqs.json", mails, 1)
	if resp := run(t, h, ev); len(resp.BatchItemFailures) != 2 {
		t.Fatalf("first delivery: failures %v", failedIDs(resp))
	}
	// No time passes: the leases of the failed sends still hold.
	resp := run(t, h, withReceiveCount(ev, 5))
	if len(resp.BatchItemFailures) != 2 {
		t.Fatalf("last receive: failures %v, want both records (to the DLQ)", failedIDs(resp))
	}
	got := e.getJob(t, j.ID)
	if got.MailFailed != 2 || got.Mailed != 0 || got.State != domain.JobDone {
		t.Fatalf("job mailed %d mailFailed %d state %s, want 0, 2, done", got.Mailed, got.MailFailed, got.State)
	}
}

func TestMailRejectedIsSettledAtOnce(t *testing.T) {
	e := newEnv(t)
	j := e.job(t, 2, true)
	mails := e.issueAll(t, j, nil)
	e.mailer.fail = func(m domain.Mail) error {
		if m.To == "grace@example.org" {
			return fmt.Errorf("MessageRejected: %w", domain.ErrMailRejected)
		}
		return nil
	}
	resp := run(t, MailHandler(e.bulk, e.opts), asEvent(t, "mail-sqs.json", mails, 1))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("a refused mail is final, not retried: failures %v", failedIDs(resp))
	}
	if got := e.getJob(t, j.ID); got.Mailed != 1 || got.MailFailed != 1 || got.State != domain.JobDone {
		t.Fatalf("job mailed %d mailFailed %d state %s", got.Mailed, got.MailFailed, got.State)
	}
}

func TestMailerPanicFailsOnlyItsRecord(t *testing.T) {
	e := newEnv(t)
	j := e.job(t, 2, true)
	mails := e.issueAll(t, j, nil)
	e.mailer.fail = func(m domain.Mail) error {
		if m.To == "ada@example.org" {
			panic("mailer bug")
		}
		return nil
	}
	resp := run(t, MailHandler(e.bulk, e.opts), asEvent(t, "mail-sqs.json", mails, 1))
	if len(resp.BatchItemFailures) != 1 {
		t.Fatalf("failures %v, want the one record whose send panicked", failedIDs(resp))
	}
	if got := e.mailer.to(); !slices.Equal(got, []string{"grace@example.org"}) {
		t.Fatalf("mailed %v, want grace", got)
	}
}

func TestSESBounceSuppressesTheAddress(t *testing.T) {
	for _, wrap := range []string{"raw", "sns"} {
		t.Run(wrap, func(t *testing.T) {
			e := newEnv(t)
			j := e.job(t, 2, true)
			mails := e.issueAll(t, j, nil)
			if resp := run(t, MailHandler(e.bulk, e.opts), asEvent(t, "mail-sqs.json", mails, 1)); len(resp.BatchItemFailures) != 0 {
				t.Fatalf("mail failed: %v", failedIDs(resp))
			}
			var ada domain.Credential
			for _, c := range e.credentials(t) {
				if c.RecipientEmail == "ada@example.org" {
					ada = c
				}
			}
			ev := sqsEvent(t, "ses-event-sqs.json", map[string]string{
				"RECIPIENT_EMAIL": "Ada@Example.org", "OTHER_CREDENTIAL_ID": domain.NewID(), "CREDENTIAL_ID": ada.ID, "ISSUER_ID": e.iss.ID,
			})
			opts := e.opts
			if wrap == "sns" {
				// Without the queue ARN the body alone must give the event away.
				opts.SESEventsQueueARN = ""
				for i, r := range ev.Records {
					env, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:credence-dev-SesEvents", "Message": r.Body})
					ev.Records[i].Body = string(env)
					ev.Records[i].EventSourceARN = "arn:aws:sqs:us-east-1:123456789012:somewhere"
				}
			}
			if resp := run(t, MailHandler(e.bulk, opts), ev); len(resp.BatchItemFailures) != 0 {
				t.Fatalf("SES events failed: %v", failedIDs(resp))
			}
			s, err := e.store.GetSuppression(t.Context(), e.iss.ID, domain.EmailLookupKey(e.iss.ID, "ada@example.org"))
			if err != nil {
				t.Fatalf("no suppression after a permanent bounce: %v", err)
			}
			if s.Reason != "bounced" {
				t.Fatalf("suppression reason %q", s.Reason)
			}
			c, err := e.store.GetCredential(t.Context(), ada.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c.Mail.State != domain.MailBounced {
				t.Fatalf("credential mail state %q, want bounced", c.Mail.State)
			}

			// A later job for the same address: issued, not mailed.
			before := len(e.mailer.to())
			j2 := e.job(t, 2, true)
			mails = e.issueAll(t, j2, map[string]string{"ada@example.org": "ADA@example.org"})
			if resp := run(t, MailHandler(e.bulk, e.opts), asEvent(t, "mail-sqs.json", mails, 1)); len(resp.BatchItemFailures) != 0 {
				t.Fatalf("mail failed: %v", failedIDs(resp))
			}
			if got := e.mailer.to()[before:]; !slices.Equal(got, []string{"grace@example.org"}) {
				t.Fatalf("second job mailed %v, want only grace (ada is suppressed)", got)
			}
			if got := e.getJob(t, j2.ID); got.MailSuppressed != 1 || got.Mailed != 1 || got.State != domain.JobDone {
				t.Fatalf("second job mailed %d suppressed %d state %s, want 1, 1, done", got.Mailed, got.MailSuppressed, got.State)
			}
		})
	}
}

func TestIsSESEvent(t *testing.T) {
	cases := map[string]bool{
		`{"eventType":"Bounce","mail":{"messageId":"x"}}`:                                    true,
		`{"notificationType":"Complaint","mail":{"messageId":"x"}}`:                          true,
		`{"Type":"Notification","Message":"{\"eventType\":\"Delivery\",\"mail\":{}}"}`:       true,
		`{"Type":"Notification","Message":"{\"credentialId\":\"abc\"}"}`:                     false,
		`{"credentialId":"abc","jobId":"j","row":2}`:                                         false,
		`{"eventType":"Bounce"}`:                                                             false,
		`not json`:                                                                           false,
		`{"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{}\"}"}`: false,
	}
	for body, want := range cases {
		if got := IsSESEvent([]byte(body)); got != want {
			t.Errorf("IsSESEvent(%s) = %v, want %v", body, got, want)
		}
	}
}

func TestRosterEventToMailedCredentials(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	j, _, err := e.bulk.CreateJob(ctx, admin, e.iss.ID, domain.JobInput{AchievementID: e.ach.ID, Filename: "cohort.csv"})
	if err != nil {
		t.Fatal(err)
	}
	csv := "email,name\nada@example.org,Ada Lovelace\n,Nameless Row\ngrace@example.org,Grace Hopper\n"
	if err := e.blobs.Put(ctx, domain.RosterKey(j.ID), strings.NewReader(csv), int64(len(csv)), "text/csv"); err != nil {
		t.Fatal(err)
	}
	ev := s3Event(t, "rosters/"+j.ID)
	h := RosterHandler(e.bulk, e.opts)
	for i := 0; i < 2; i++ { // S3 may deliver an event twice; the second finds the file processed
		if err := h(ctx, ev); err != nil {
			t.Fatalf("roster event %d: %v", i, err)
		}
	}
	got := e.getJob(t, j.ID)
	if got.State != domain.JobIssuing || got.Total != 3 || got.Rejected != 1 {
		t.Fatalf("job %s total %d rejected %d, want issuing, 3, 1", got.State, got.Total, got.Rejected)
	}
	rows := e.queue.take(domain.TopicIssue)
	if len(rows) != 2 {
		t.Fatalf("%d issue messages, want 2 (a repeated event must not queue the rows again)", len(rows))
	}
	if resp := run(t, IssueHandler(e.bulk, e.opts), asEvent(t, "issue-sqs.json", rows, 1)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("issue failed: %v", failedIDs(resp))
	}
	if resp := run(t, MailHandler(e.bulk, e.opts), asEvent(t, "mail-sqs.json", e.queue.take(domain.TopicMail), 1)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("mail failed: %v", failedIDs(resp))
	}
	to := e.mailer.to()
	slices.Sort(to)
	if !slices.Equal(to, []string{"ada@example.org", "grace@example.org"}) {
		t.Fatalf("mailed %v", to)
	}
	if got := e.getJob(t, j.ID); got.State != domain.JobDone || got.Issued != 2 || got.Mailed != 2 {
		t.Fatalf("job %s issued %d mailed %d, want done, 2, 2", got.State, got.Issued, got.Mailed)
	}
}

func TestRosterEventErrorsAreReturnedForRetry(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	j, _, err := e.bulk.CreateJob(ctx, admin, e.iss.ID, domain.JobInput{AchievementID: e.ach.ID, Filename: "cohort.csv"})
	if err != nil {
		t.Fatal(err)
	}
	ev := s3Event(t, "rosters/"+j.ID)
	// The notification names a file the store cannot open (yet): Lambda must retry.
	if err := RosterHandler(e.bulk, e.opts)(ctx, ev); err == nil {
		t.Fatal("a roster that cannot be read returned no error, so Lambda would not retry it")
	}
	// Keys are URL-encoded in S3 events; objects outside rosters/ are ignored.
	ev = s3Event(t, "reports/a+b%2Bc.csv")
	if ev.Records[0].S3.Object.URLDecodedKey != "reports/a b+c.csv" {
		t.Fatalf("decoded key %q", ev.Records[0].S3.Object.URLDecodedKey)
	}
	if err := RosterHandler(e.bulk, e.opts)(ctx, ev); err != nil {
		t.Fatalf("an object outside rosters/: %v", err)
	}
}

func TestOptionsFromEnv(t *testing.T) {
	t.Setenv(EnvMaxReceives, "")
	t.Setenv(EnvSESEventsQueueARN, sesEventsARN)
	o, err := OptionsFromEnv(quiet())
	if err != nil || o.MaxReceives != DefaultMaxReceives || o.SESEventsQueueARN != sesEventsARN {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	t.Setenv(EnvMaxReceives, "3")
	if o, err := OptionsFromEnv(quiet()); err != nil || o.MaxReceives != 3 {
		t.Fatalf("CREDENCE_MAX_RECEIVES=3: %+v, %v", o, err)
	}
	for _, bad := range []string{"0", "-1", "five"} {
		t.Setenv(EnvMaxReceives, bad)
		if _, err := OptionsFromEnv(quiet()); err == nil {
			t.Errorf("CREDENCE_MAX_RECEIVES=%s accepted", bad)
		}
	}
}
