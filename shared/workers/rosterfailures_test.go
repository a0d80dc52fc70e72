package workers

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/credence-oss/credence/shared/domain"
)

// logBuffer collects log lines, for tests that check what an operator would read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// validatingJob creates a job whose roster file never got processed: what a roster event that
// failed every attempt leaves behind.
func (e *env) validatingJob(t *testing.T) domain.Job {
	t.Helper()
	j, _, err := e.bulk.CreateJob(t.Context(), admin, e.iss.ID, domain.JobInput{AchievementID: e.ach.ID, Filename: "cohort.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if j.State != domain.JobValidating {
		t.Fatalf("a new job is %s, want validating", j.State)
	}
	return j
}

// rawEvent is a sample event from events/ as the Lambda runtime hands it to a handler.
func rawEvent(t *testing.T, name string, repl map[string]string) json.RawMessage {
	t.Helper()
	var raw json.RawMessage
	loadEvent(t, name, repl, &raw)
	return raw
}

// destinationBody is the body of the sample roster failure for job id.
func destinationBody(t *testing.T, id string) string {
	t.Helper()
	return sqsEvent(t, "roster-failure-sqs.json", map[string]string{"JOB_ID": id}).Records[0].Body
}

func TestRosterFailureMarksTheJobFailedOnce(t *testing.T) {
	e := newEnv(t)
	logs := &logBuffer{}
	e.opts.Log = slog.New(slog.NewJSONHandler(logs, nil))
	j := e.validatingJob(t)
	h := RosterFailuresHandler(e.bulk, e.opts)
	ev := sqsEvent(t, "roster-failure-sqs.json", map[string]string{"JOB_ID": j.ID})

	if resp := run(t, h, ev); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("the destination record was reported failed: %v\n%s", failedIDs(resp), logs)
	}
	failed := e.getJob(t, j.ID)
	if failed.State != domain.JobFailed || failed.Message == "" {
		t.Fatalf("job after its roster failure: state %s message %q, want failed with a message", failed.State, failed.Message)
	}
	// The operator reads why in the logs, against the job and the failed invocation.
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["jobId"] == j.ID && m["cause"] != nil {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no log line with the job and the cause:\n%s", logs)
	}
	cause, _ := line["cause"].(string)
	for _, want := range []string{"RetriesExhausted", "3 attempts", "api error SlowDown", "joinError"} {
		if !strings.Contains(cause, want) {
			t.Errorf("cause %q lacks %q", cause, want)
		}
	}
	if line["rosterRequestId"] != "5d0c8f3e-2b7a-4c19-9e61-7a3f0b2d4e85" {
		t.Errorf("log line without the failed invocation's request id: %v", line)
	}

	// SQS delivers at least once: the same record again, even as its last delivery, changes
	// nothing and is not reported (it would otherwise land in the DLQ and raise the alarm).
	for _, n := range []int{2, e.opts.MaxReceives} {
		if resp := run(t, h, withReceiveCount(ev, n)); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d of the same record was reported failed: %v", n, failedIDs(resp))
		}
		again := e.getJob(t, j.ID)
		if again.State != domain.JobFailed || again.Message != failed.Message || !again.UpdatedAt.Equal(failed.UpdatedAt) {
			t.Fatalf("delivery %d changed the job: %s %q %v, was %s %q %v", n,
				again.State, again.Message, again.UpdatedAt, failed.State, failed.Message, failed.UpdatedAt)
		}
	}

	// A job whose file was validated and whose rows are being issued goes on: only a later step
	// of the roster event failed, and failing the job would contradict its rows.
	issuing := e.job(t, 3, false)
	if resp := run(t, h, sqsEvent(t, "roster-failure-sqs.json", map[string]string{"JOB_ID": issuing.ID})); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("a record for an issuing job was reported failed: %v", failedIDs(resp))
	}
	if got := e.getJob(t, issuing.ID); got.State != domain.JobIssuing {
		t.Fatalf("an issuing job became %s after a late roster failure", got.State)
	}

	// A job that finished before the record arrived stays finished.
	done := e.job(t, 0, false)
	if _, _, err := e.store.CompleteJob(t.Context(), done.ID, done.CreatedAt); err != nil {
		t.Fatal(err)
	}
	if before := e.getJob(t, done.ID); before.State != domain.JobDone {
		t.Fatalf("setup: job is %s, want done", before.State)
	}
	if resp := run(t, h, sqsEvent(t, "roster-failure-sqs.json", map[string]string{"JOB_ID": done.ID})); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("a record for a done job was reported failed: %v", failedIDs(resp))
	}
	if got := e.getJob(t, done.ID); got.State != domain.JobDone {
		t.Fatalf("a done job became %s", got.State)
	}
}

func TestRosterFailureBadBodiesAreReported(t *testing.T) {
	e := newEnv(t)
	j := e.validatingJob(t)
	good := destinationBody(t, j.ID)
	var dest map[string]any
	if err := json.Unmarshal([]byte(good), &dest); err != nil {
		t.Fatal(err)
	}
	with := func(field string, v any) string {
		d := map[string]any{}
		for k, x := range dest {
			d[k] = x
		}
		if v == nil {
			delete(d, field)
		} else {
			d[field] = v
		}
		b, _ := json.Marshal(d)
		return string(b)
	}
	s3Sample := string(rawEvent(t, "roster-object-created.json", nil))
	bodies := map[string]string{
		"good":            good,
		"not-json":        "rosters/" + j.ID,
		"bare-s3-event":   s3Sample, // the event itself, not Lambda's record of its failure
		"no-condition":    with("requestContext", map[string]any{"requestId": "r-1"}),
		"no-payload":      with("requestPayload", nil),
		"sqs-payload":     with("requestPayload", map[string]any{"Records": []any{map[string]any{"eventSource": "aws:sqs", "body": "x"}}}),
		"empty-payload":   with("requestPayload", map[string]any{"Records": []any{}}),
		"undecodable-key": strings.Replace(good, `"key":"rosters/`+j.ID+`"`, `"key":"rosters/%zz"`, 1),
		"issue-message":   sampleBody(t, "issue-sqs.json", e.replacements(j)),
	}
	if bodies["undecodable-key"] == good {
		t.Fatal("setup: the key was not replaced")
	}
	tmpl := sqsEvent(t, "roster-failure-sqs.json", nil).Records[0]
	var ev events.SQSEvent
	for id, body := range bodies {
		r := tmpl
		r.MessageId, r.Body = id, body
		ev.Records = append(ev.Records, r)
	}
	// On the last delivery too: the bad records must still be reported, so they reach the DLQ.
	for _, n := range []int{1, e.opts.MaxReceives} {
		resp := run(t, RosterFailuresHandler(e.bulk, e.opts), withReceiveCount(ev, n))
		var want []string
		for id := range bodies {
			if id != "good" {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		if got := failedIDs(resp); !slices.Equal(got, want) {
			t.Fatalf("receive %d: reported %v, want %v", n, got, want)
		}
	}
	if got := e.getJob(t, j.ID); got.State != domain.JobFailed {
		t.Fatalf("the good record next to bad ones did not fail its job: %s", got.State)
	}

	// A roster whose job does not exist has nothing to mark, and retrying will not change
	// that; a key outside rosters/ names no job at all.
	for _, key := range []string{"rosters/" + domain.NewID(), "reports/" + j.ID + ".csv"} {
		body := strings.ReplaceAll(good, "rosters/"+j.ID, key)
		resp := run(t, RosterFailuresHandler(e.bulk, e.opts), asEvent(t, "roster-failure-sqs.json", [][]byte{[]byte(body)}, 1))
		if len(resp.BatchItemFailures) != 0 {
			t.Errorf("%s: reported %v", key, failedIDs(resp))
		}
	}
}

// sampleBody is the first body of a sample SQS event (of another queue: not a destination
// record).
func sampleBody(t *testing.T, name string, repl map[string]string) string {
	t.Helper()
	return sqsEvent(t, name, repl).Records[0].Body
}

func TestRosterFunctionDispatchesS3AndSQSEvents(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	fn := RosterFunction(e.bulk, e.opts)

	// S3: the roster is processed (RosterHandler), and a failure is returned for Lambda to retry.
	uploaded := e.validatingJob(t)
	s3Raw := func(id string) json.RawMessage {
		return rawEvent(t, "roster-object-created.json", map[string]string{"rosters/abcdefghijklmnopqrstuvwxyz": "rosters/" + id})
	}
	if _, err := fn(ctx, s3Raw(uploaded.ID)); err == nil {
		t.Fatal("an S3 event for a file that is not there returned no error, so Lambda would not retry it")
	}
	csv := "email,name\nada@example.org,Ada Lovelace\n"
	if err := e.blobs.Put(ctx, domain.RosterKey(uploaded.ID), strings.NewReader(csv), int64(len(csv)), "text/csv"); err != nil {
		t.Fatal(err)
	}
	out, err := fn(ctx, s3Raw(uploaded.ID))
	if err != nil {
		t.Fatalf("S3 event: %v", err)
	}
	if out != nil {
		t.Errorf("S3 event answered %#v, want nothing", out)
	}
	if got := e.getJob(t, uploaded.ID); got.State != domain.JobIssuing || got.Total != 1 {
		t.Fatalf("after the S3 event the job is %s with %d rows, want issuing with 1", got.State, got.Total)
	}
	if n := len(e.queue.take(domain.TopicIssue)); n != 1 {
		t.Fatalf("%d issue messages, want 1", n)
	}

	// SQS: the RosterFailures record fails its job; a bad record comes back in the partial
	// batch response, as Lambda reads it.
	stuck := e.validatingJob(t)
	var ev map[string]any
	loadEvent(t, "roster-failure-sqs.json", map[string]string{"JOB_ID": stuck.ID}, &ev)
	recs := ev["Records"].([]any)
	bad := map[string]any{}
	for k, v := range recs[0].(map[string]any) {
		bad[k] = v
	}
	bad["messageId"], bad["body"] = "bad-1", "{}"
	ev["Records"] = append(recs, bad)
	raw, _ := json.Marshal(ev)
	out, err = fn(ctx, raw)
	if err != nil {
		t.Fatalf("SQS event: %v (Lambda would redeliver the whole batch)", err)
	}
	resp, ok := out.(events.SQSEventResponse)
	if !ok {
		t.Fatalf("SQS event answered %T, want a partial batch response", out)
	}
	if got := failedIDs(resp); !slices.Equal(got, []string{"bad-1"}) {
		t.Fatalf("batch item failures %v, want [bad-1]", got)
	}
	wire, _ := json.Marshal(out)
	if !strings.Contains(string(wire), `"batchItemFailures":[{"itemIdentifier":"bad-1"}]`) {
		t.Errorf("partial batch response on the wire: %s", wire)
	}
	if got := e.getJob(t, stuck.ID); got.State != domain.JobFailed || got.Message == "" {
		t.Fatalf("after the SQS event the job is %s %q, want failed with a message", got.State, got.Message)
	}

	// Anything else is an error, never a silent success; S3's test event is ignored.
	for _, body := range []string{`{}`, `not json`, `{"Records":[]}`, `{"Records":[{"eventSource":"aws:sns"}]}`,
		`{"Records":[{"eventSource":"aws:s3"},{"eventSource":"aws:sqs"}]}`} {
		if _, err := fn(ctx, json.RawMessage(body)); err == nil {
			t.Errorf("%s: no error", body)
		}
	}
	if out, err := fn(ctx, json.RawMessage(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-23T09:00:00.000Z","Bucket":"credence-rosters-123456789012"}`)); err != nil || out != nil {
		t.Errorf("S3 test event: %v, %v", out, err)
	}
}
