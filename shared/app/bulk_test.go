package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/standards/keys"
)

// rosterSpec is a generated roster: which rows (spreadsheet line numbers, header = 1) are
// good and which are bad, and the addresses of the good ones.
type rosterSpec struct {
	rows [][]string // data rows: email, name
	good map[int]string
	bad  map[int]bool
}

// makeRoster builds n data rows; every 97th line has an invalid address, every 211th no name,
// so the bad rows are spread over the whole file.
func makeRoster(n int, prefix string) rosterSpec {
	s := rosterSpec{good: map[int]string{}, bad: map[int]bool{}}
	for i := 0; i < n; i++ {
		line := i + 2
		email := fmt.Sprintf("%s%05d@example.org", prefix, i)
		name := fmt.Sprintf("Learner %d", i)
		switch {
		case line%97 == 0:
			email = "not-an-address-" + fmt.Sprint(i)
			s.bad[line] = true
		case line%211 == 0:
			name = ""
			s.bad[line] = true
		default:
			s.good[line] = email
		}
		s.rows = append(s.rows, []string{email, name})
	}
	return s
}

func (s rosterSpec) csv() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"email", "name"})
	_ = w.WriteAll(s.rows)
	return b.Bytes()
}

func (s rosterSpec) xlsx(t testing.TB) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.SetRow("A1", []any{"Email", "Name"}); err != nil {
		t.Fatal(err)
	}
	for i, r := range s.rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, []any{r[0], r[1]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// uploadForm posts a file to an upload URL as the CLI and a browser do.
func uploadForm(t testing.TB, url string, fields map[string]any, name string, data []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, fmt.Sprint(v))
	}
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(data)
	_ = mw.Close()
	res, err := http.Post(url, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(res.Body)
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
}

// runJob creates a job, uploads data and waits until the job is done or failed.
func (e *env) runJob(f fixture, name string, data []byte) map[string]any {
	e.t.Helper()
	created := e.must(201, "POST", "/v1/issuers/"+f.issuer+"/jobs", e.admin, map[string]any{"achievementId": f.achievement, "filename": name})
	up := created["upload"].(map[string]any)
	fields, _ := up["fields"].(map[string]any)
	uploadForm(e.t, up["url"].(string), fields, name, data)
	return e.waitJob(created["jobId"].(string))
}

func (e *env) waitJob(id string) map[string]any {
	e.t.Helper()
	// A generous ceiling so a wedged job fails the test instead of hanging it; not a speed check.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j := e.must(200, "GET", "/v1/jobs/"+id, e.admin, nil)
		if j["done"] == true {
			// Let the queues settle so later counts see every side effect, duplicates included.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := e.local.Queue.Wait(ctx); err != nil {
				e.t.Fatalf("queues did not drain: %v", err)
			}
			return e.must(200, "GET", "/v1/jobs/"+id, e.admin, nil)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s not done: %v", id, j)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mailsTo counts the .eml files per recipient.
func (e *env) mailsTo() map[string]int {
	e.t.Helper()
	out := map[string]int{}
	paths, _ := filepath.Glob(filepath.Join(e.local.Dir, "mail", "*.eml"))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			e.t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if to, ok := strings.CutPrefix(sc.Text(), "To: "); ok {
				out[to]++
				break
			}
		}
		f.Close()
	}
	return out
}

// credentialCount pages through an issuer's credentials.
func (e *env) credentialCount(issuer string) int {
	e.t.Helper()
	n, cursor := 0, ""
	for {
		page := e.must(200, "GET", "/v1/issuers/"+issuer+"/credentials?limit=100&cursor="+cursor, e.admin, nil)
		n += len(page["items"].([]any))
		next, _ := page["nextCursor"].(string)
		if next == "" {
			return n
		}
		cursor = next
	}
}

func num(j map[string]any, k string) int {
	v, _ := j[k].(float64)
	return int(v)
}

// checkJob asserts the counters and the outcome of a generated roster, the mail (one per good
// row) and the error report (every bad row, nothing else).
func (e *env) checkJob(j map[string]any, s rosterSpec, mailsBefore map[string]int) {
	e.t.Helper()
	t := e.t
	if j["state"] != "done" {
		t.Fatalf("job state %v: %v", j["state"], j["message"])
	}
	total, issued, rejected, failed, mailed := num(j, "total"), num(j, "issued"), num(j, "rejected"), num(j, "failed"), num(j, "mailed")
	if total != len(s.rows) || issued != len(s.good) || rejected != len(s.bad) || failed != 0 || mailed != len(s.good) {
		t.Fatalf("counters total=%d issued=%d rejected=%d failed=%d mailed=%d; want %d %d %d 0 %d",
			total, issued, rejected, failed, mailed, len(s.rows), len(s.good), len(s.bad), len(s.good))
	}
	if issued+rejected+failed != total {
		t.Fatalf("counters do not add up: %v", j)
	}
	mails := e.mailsTo()
	for line, addr := range s.good {
		if got := mails[addr] - mailsBefore[addr]; got != 1 {
			t.Fatalf("row %d (%s) mailed %d times, want 1", line, addr, got)
		}
	}
	// The report lists every bad row, and only those.
	url, _ := j["errorReportUrl"].(string)
	if url == "" {
		t.Fatalf("no error report URL: %v", j)
	}
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	recs, err := csv.NewReader(res.Body).ReadAll()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("report: %d %v", res.StatusCode, err)
	}
	reported := map[int]bool{}
	for _, r := range recs[1:] {
		var line int
		fmt.Sscan(r[0], &line)
		if !s.bad[line] {
			t.Errorf("report lists row %d, which is good: %v", line, r)
		}
		reported[line] = true
	}
	if len(reported) != len(s.bad) {
		t.Fatalf("report lists %d rows, want the %d bad ones", len(reported), len(s.bad))
	}
	errs := j["errors"].([]any)
	if len(errs) == 0 || num(errs[0].(map[string]any), "row") != 97 {
		t.Fatalf("the job's errors should start with row 97: %v", errs[:min(3, len(errs))])
	}
}

func TestBulkCSV2000RowsIssuesAndMailsEveryGoodRowOnce(t *testing.T) {
	e := newEnv(t)
	a := e.issuer("Alpha")
	s := makeRoster(2000, "csv")
	before := e.credentialCount(a.issuer)
	j := e.runJob(a, "cohort.csv", s.csv())
	e.checkJob(j, s, nil)
	if got := e.credentialCount(a.issuer) - before; got != len(s.good) {
		t.Fatalf("%d credentials made, want %d", got, len(s.good))
	}

	// The same file again: no new credential and no new mail; the second job counts the rows as
	// issued (they are the first job's credentials) and says where they came from.
	mails := e.mailsTo()
	j2 := e.runJob(a, "cohort-again.csv", s.csv())
	if j2["sourceJobId"] != j["jobId"] {
		t.Fatalf("re-upload: sourceJobId %v, want %v", j2["sourceJobId"], j["jobId"])
	}
	if num(j2, "issued") != len(s.good) || num(j2, "rejected") != len(s.bad) || num(j2, "mailed") != len(s.good) {
		t.Fatalf("re-upload counters: %v", j2)
	}
	if got := e.credentialCount(a.issuer) - before; got != len(s.good) {
		t.Fatalf("re-upload made new credentials: %d, want %d", got, len(s.good))
	}
	for addr, n := range e.mailsTo() {
		if n != mails[addr] {
			t.Fatalf("re-upload mailed %s again", addr)
		}
	}
}

func TestBulkXLSX(t *testing.T) {
	e := newEnv(t)
	a := e.issuer("Alpha")
	s := makeRoster(700, "xl")
	j := e.runJob(a, "cohort.xlsx", s.xlsx(t))
	e.checkJob(j, s, nil)
}

// crashingJobs stops "the worker" around the count of some rows: before the count (after the
// credential was stored), and after the count (before the mail message was queued).
type crashingJobs struct {
	domain.JobStore
	mu      sync.Mutex
	crashed map[int]int
}

var errCrash = errors.New("worker killed")

func (c *crashingJobs) RecordRow(ctx context.Context, jobID string, row int, o domain.RowOutcome, credID string, re *domain.RowError, at time.Time) (bool, error) {
	c.mu.Lock()
	first := c.crashed[row] == 0
	c.crashed[row]++
	c.mu.Unlock()
	switch {
	case first && row%10 == 3:
		return false, errCrash
	case first && row%10 == 7:
		if _, err := c.JobStore.RecordRow(ctx, jobID, row, o, credID, re, at); err != nil {
			return false, err
		}
		return false, errCrash
	}
	return c.JobStore.RecordRow(ctx, jobID, row, o, credID, re, at)
}

// crashingMail stops after the mail was sent and recorded on the credential but before its
// row was counted, for every fifth row.
type crashingMail struct {
	domain.JobStore
	mu      sync.Mutex
	crashed map[int]bool
}

func (c *crashingMail) RecordRowMail(ctx context.Context, jobID string, row int, o domain.MailOutcome, at time.Time) (bool, error) {
	c.mu.Lock()
	first := !c.crashed[row]
	c.crashed[row] = true
	c.mu.Unlock()
	if first && row%5 == 0 {
		return false, errCrash
	}
	return c.JobStore.RecordRowMail(ctx, jobID, row, o, at)
}

func TestBulkWorkerKilledMidBatchIsRedeliveredExactly(t *testing.T) {
	e := newEnv(t)
	e.local.Queue.Backoff = 5 * time.Millisecond
	a := e.issuer("Alpha")
	jobs := &crashingJobs{JobStore: e.local.Bulk.Jobs, crashed: map[int]int{}}
	e.local.Bulk.Jobs = &crashingMail{JobStore: jobs, crashed: map[int]bool{}}
	s := makeRoster(400, "crash")
	before := e.credentialCount(a.issuer)
	j := e.runJob(a, "cohort.csv", s.csv())
	e.checkJob(j, s, nil)
	if got := e.credentialCount(a.issuer) - before; got != len(s.good) {
		t.Fatalf("%d credentials after crashes, want %d", got, len(s.good))
	}
	redelivered := 0
	for _, n := range jobs.crashed {
		if n > 1 {
			redelivered++
		}
	}
	if redelivered < 70 {
		t.Fatalf("only %d rows were redelivered; the fault did not fire", redelivered)
	}
}

// throttlingSigner refuses the first n signatures as KMS does when over its request rate.
type throttlingSigner struct {
	domain.Signer
	left atomic.Int64
	hits atomic.Int64
}

func (s *throttlingSigner) Sign(ctx context.Context, key domain.KeyRef, alg keys.Alg, msg []byte) ([]byte, error) {
	if s.left.Add(-1) >= 0 {
		s.hits.Add(1)
		return nil, fmt.Errorf("kms: ThrottlingException: rate exceeded: %w", domain.ErrThrottled)
	}
	return s.Signer.Sign(ctx, key, alg, msg)
}

func TestBulkKMSThrottlingIsRetriedAndEveryRowIssued(t *testing.T) {
	e := newEnv(t)
	a := e.issuer("Alpha")
	e.local.Bulk.ThrottleBackoff = time.Millisecond
	sig := &throttlingSigner{Signer: e.local.Service.Signer}
	sig.left.Store(60)
	e.local.Service.Signer = sig
	s := makeRoster(300, "kms")
	j := e.runJob(a, "cohort.csv", s.csv())
	e.checkJob(j, s, nil)
	if sig.hits.Load() != 60 {
		t.Fatalf("throttled %d times, want 60", sig.hits.Load())
	}
	// A throttled attempt's retries sign with the index it claimed: one index per credential
	// (the rows' and the fixture's own).
	used, err := e.local.Store.CountStatusIndexes(context.Background(), a.issuer, "1")
	if err != nil || used != len(s.good)+1 {
		t.Fatalf("%d status indexes claimed for %d credentials (%v)", used, len(s.good)+1, err)
	}
}

// poisonStore refuses to store one recipient's credential, whatever the delivery.
type poisonStore struct {
	domain.Store
	attempts atomic.Int64
}

func (p *poisonStore) CreateCredential(ctx context.Context, c domain.Credential) error {
	if c.RecipientEmail == "poison@example.org" {
		p.attempts.Add(1)
		return errors.New("disk says no")
	}
	return p.Store.CreateCredential(ctx, c)
}

func TestBulkPoisonRowIsDeadLetteredAndTheJobCompletes(t *testing.T) {
	e := newEnv(t)
	e.local.Queue.Backoff = 5 * time.Millisecond
	a := e.issuer("Alpha")
	ps := &poisonStore{Store: e.local.Service.Store}
	e.local.Service.Store = ps
	data := "email,name\nok1@example.org,One\npoison@example.org,Poison\nok2@example.org,Two\n"
	j := e.runJob(a, "cohort.csv", []byte(data))
	if j["state"] != "done" || num(j, "issued") != 2 || num(j, "failed") != 1 || num(j, "mailed") != 2 || num(j, "total") != 3 {
		t.Fatalf("job: %v", j)
	}
	if ps.attempts.Load() != int64(e.local.Queue.MaxAttempts) {
		t.Fatalf("the poison row was tried %d times, want %d", ps.attempts.Load(), e.local.Queue.MaxAttempts)
	}
	errs := j["errors"].([]any)
	if len(errs) != 1 || num(errs[0].(map[string]any), "row") != 3 || !strings.Contains(errs[0].(map[string]any)["message"].(string), "could not be issued") {
		t.Fatalf("errors: %v", errs)
	}
}

func TestJobAPIBadInputAndScoping(t *testing.T) {
	e := newEnv(t)
	a, b := e.issuer("Alpha"), e.issuer("Beta")
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"unknown achievement", map[string]any{"achievementId": "nope", "filename": "a.csv"}, 422, "unknown_achievement"},
		{"other issuer's achievement", map[string]any{"achievementId": b.achievement, "filename": "a.csv"}, 422, "unknown_achievement"},
		{"not a roster", map[string]any{"achievementId": a.achievement, "filename": "cohort.xls"}, 400, "unsupported_format"},
		{"no extension", map[string]any{"achievementId": a.achievement, "filename": "cohort"}, 400, "unsupported_format"},
		{"a path", map[string]any{"achievementId": a.achievement, "filename": "../x/cohort.csv"}, 422, "validation_failed"},
		{"no filename", map[string]any{"achievementId": a.achievement}, 422, "validation_failed"},
	}
	for _, c := range cases {
		st, out := e.do("POST", "/v1/issuers/"+a.issuer+"/jobs", e.admin, c.body)
		errObj, _ := out["error"].(map[string]any)
		if st != c.status || errObj == nil || errObj["code"] != c.code {
			t.Errorf("%s: %d %v; want %d %s", c.name, st, out, c.status, c.code)
		}
	}
	// Idempotency-Key: the same job, with an upload URL that works.
	body := map[string]any{"achievementId": a.achievement, "filename": "a.csv"}
	first := e.must(201, "POST", "/v1/issuers/"+a.issuer+"/jobs", a.key, body, "Idempotency-Key", "k1")
	again := e.must(201, "POST", "/v1/issuers/"+a.issuer+"/jobs", a.key, body, "Idempotency-Key", "k1")
	if first["jobId"] != again["jobId"] || again["upload"].(map[string]any)["url"] == "" {
		t.Fatalf("idempotent create: %v vs %v", first["jobId"], again["jobId"])
	}
	// A scoped key sees its issuer's jobs only.
	id := first["jobId"].(string)
	if st, _ := e.do("GET", "/v1/jobs/"+id, b.key, nil); st != 404 {
		t.Fatalf("B's key read A's job: %d", st)
	}
	if st, _ := e.do("POST", "/v1/issuers/"+a.issuer+"/jobs", b.key, body); st != 404 {
		t.Fatalf("B's key created a job for A: %d", st)
	}
	if j := e.must(200, "GET", "/v1/jobs/"+id, a.key, nil); j["state"] != "validating" {
		t.Fatalf("a job without its file: %v", j)
	}
	// Resend: A's credential, by A's key; B's key gets 404.
	if st, _ := e.do("POST", "/v1/credentials/"+a.credential+"/resend", b.key, nil); st != 404 {
		t.Fatalf("B resent A's credential: %d", st)
	}
	before := e.mailsTo()["ada@example.org"]
	e.must(202, "POST", "/v1/credentials/"+a.credential+"/resend", a.key, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.local.Queue.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.mailsTo()["ada@example.org"]; got != before+1 {
		t.Fatalf("resend: %d mails, want %d", got, before+1)
	}
}

// TestBulkUnusableFileFailsTheJob: a file that is not a roster fails the job with a message
// and issues nothing.
func TestBulkUnusableFileFailsTheJob(t *testing.T) {
	e := newEnv(t)
	a := e.issuer("Alpha")
	j := e.runJob(a, "cohort.csv", []byte("\x00\x01\x02binary junk\x00"))
	if j["state"] != "failed" || j["message"] == "" {
		t.Fatalf("job: %v", j)
	}
	if num(j, "issued") != 0 {
		t.Fatalf("a failed file issued rows: %v", j)
	}
}

// vanishingStore answers "not found" for one achievement once gone is set: the achievement
// deleted after the roster was validated and before its rows were issued.
type vanishingStore struct {
	domain.Store
	achievement string
	gone        atomic.Bool
}

func (v *vanishingStore) GetAchievement(ctx context.Context, issuerID, id string) (domain.Achievement, error) {
	if id == v.achievement && v.gone.Load() {
		return domain.Achievement{}, fmt.Errorf("achievement %s: %w", id, domain.ErrNotFound)
	}
	return v.Store.GetAchievement(ctx, issuerID, id)
}

// flakyCompletion fails the completions of an accounted job until ready, as workers that stop
// after the error report was written and before the job moved to done: the delivery is
// retried (or a GetJob completes the job), and the report is written again.
type flakyCompletion struct {
	domain.JobStore
	ready  func() bool
	failed atomic.Int64
}

func (f *flakyCompletion) CompleteJob(ctx context.Context, id string, at time.Time) (domain.Job, bool, error) {
	if j, err := f.JobStore.GetJob(ctx, id); err == nil && j.State == domain.JobIssuing && j.Accounted() && !f.ready() {
		f.failed.Add(1)
		return domain.Job{}, false, errCrash
	}
	return f.JobStore.CompleteJob(ctx, id, at)
}

// reportBlobs counts the writes of error reports, and the readings of one after the roster
// worker's and a completion's were written; with failAfter > 0 it refuses every write after
// the first failAfter.
type reportBlobs struct {
	domain.Blobs
	failAfter int64
	puts      atomic.Int64
	rereads   atomic.Int64
}

func (r *reportBlobs) Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) error {
	if strings.HasPrefix(key, "reports/") {
		if n := r.puts.Add(1); r.failAfter > 0 && n > r.failAfter {
			return errors.New("bucket says no")
		}
	}
	return r.Blobs.Put(ctx, key, body, size, contentType)
}

func (r *reportBlobs) Open(ctx context.Context, key string) (domain.Blob, error) {
	if strings.HasPrefix(key, "reports/") && r.puts.Load() >= 2 {
		r.rereads.Add(1)
	}
	return r.Blobs.Open(ctx, key)
}

// issueTimeRoster is a roster whose bad rows are of three kinds: refused by the file validation
// (an invalid address), rejected while issuing (an achievementId that is gone by then) and
// failed while issuing (the poison address, which the store refuses). More rows go bad while
// issuing than the job's error list holds.
func issueTimeRoster(n int, ach2 string) (data []byte, validation, rejected map[int]bool, poison int) {
	validation, rejected, poison = map[int]bool{}, map[int]bool{}, 7
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"email", "name", "achievementId"})
	for line := 2; line < n+2; line++ {
		email, ach := fmt.Sprintf("learner%04d@example.org", line), ""
		switch {
		case line == poison:
			email = "poison@example.org"
		case line%97 == 0:
			email = fmt.Sprintf("not-an-address-%d", line)
			validation[line] = true
		case line%2 == 0:
			ach = ach2
			rejected[line] = true
		}
		_ = w.Write([]string{email, fmt.Sprintf("Learner %d", line), ach})
	}
	w.Flush()
	return b.Bytes(), validation, rejected, poison
}

// report downloads a job's error report: its lines by row.
func (e *env) report(j map[string]any) map[int][][]string {
	e.t.Helper()
	url, _ := j["errorReportUrl"].(string)
	if url == "" {
		e.t.Fatalf("no error report URL: %v", j)
	}
	res, err := http.Get(url)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	recs, err := csv.NewReader(res.Body).ReadAll()
	if err != nil || res.StatusCode != 200 || len(recs) == 0 {
		e.t.Fatalf("report: %d %v", res.StatusCode, err)
	}
	if got := strings.TrimPrefix(strings.Join(recs[0], ","), "\ufeff"); got != "row,column,reason" {
		e.t.Fatalf("report header %q", got)
	}
	lines := map[int][][]string{}
	prev := 0
	for _, r := range recs[1:] {
		var row int
		if _, err := fmt.Sscan(r[0], &row); err != nil {
			e.t.Fatalf("report line %v: %v", r, err)
		}
		if row < prev {
			e.t.Fatalf("report line of row %d after row %d: not in row order", row, prev)
		}
		prev = row
		lines[row] = append(lines[row], r)
	}
	return lines
}

// TestBulkReportExplainsRowsThatFailWhileIssuing: rows that pass the file validation and go bad
// in the issue worker (an achievement deleted in between, a row the store keeps refusing) are
// in the error report with the validation's, each once with its reason, more of them than the
// job's error list holds, and a completion retried after the report was written (at least once
// delivery) leaves the same report.
func TestBulkReportExplainsRowsThatFailWhileIssuing(t *testing.T) {
	e := newEnv(t)
	e.local.Queue.Backoff = 5 * time.Millisecond
	a := e.issuer("Alpha")
	ach2 := e.must(201, "POST", "/v1/issuers/"+a.issuer+"/achievements", e.admin,
		map[string]any{"name": "Leadership", "description": "Leads.", "criteria": map[string]any{"narrative": "Led a team."}})["id"].(string)

	vs := &vanishingStore{Store: &poisonStore{Store: e.local.Service.Store}, achievement: ach2}
	e.local.Service.Store = vs
	// The roster worker reads the file twice, validating the first time: the achievement goes
	// between the two readings, after its rows were found valid and before they are queued.
	parse, readings := e.local.Bulk.Parse, atomic.Int32{}
	e.local.Bulk.Parse = func(ctx context.Context, r io.ReaderAt, size int64, name string, emit func(domain.RosterRow) error, reject func(domain.RowError) error) error {
		if readings.Add(1) == 2 {
			vs.gone.Store(true)
		}
		return parse(ctx, r, size, name, emit, reject)
	}
	blobs := &reportBlobs{Blobs: e.local.Bulk.Blobs}
	e.local.Bulk.Blobs = blobs
	// The job completes only once a completion has read back a report an earlier one wrote.
	jobs := &flakyCompletion{JobStore: e.local.Bulk.Jobs, ready: func() bool { return blobs.rereads.Load() > 0 }}
	e.local.Bulk.Jobs = jobs

	const n = 300
	data, validation, rejected, poison := issueTimeRoster(n, ach2)
	j := e.runJob(a, "cohort.csv", data)
	if j["state"] != "done" {
		t.Fatalf("job: %v", j)
	}
	bad := len(validation) + len(rejected) + 1
	if num(j, "total") != n || num(j, "rejected") != len(validation)+len(rejected) || num(j, "failed") != 1 || num(j, "issued") != n-bad {
		t.Fatalf("counters: %v; want %d rows, %d rejected, 1 failed", j, n, len(validation)+len(rejected))
	}
	if len(rejected) <= domain.MaxJobErrors || len(j["errors"].([]any)) != domain.MaxJobErrors {
		t.Fatalf("the job's error list holds %d of %d issue-time errors; the test wants more than it holds", len(j["errors"].([]any)), len(rejected)+1)
	}
	// The fault fired: flakyCompletion refuses every completion until one has read back a
	// report an earlier completion wrote, so a done job means that happened; checked so that a
	// change to the fault shows here rather than as a test that proves nothing.
	if blobs.rereads.Load() == 0 {
		t.Fatalf("no completion read a completed report (%d completions refused): the fault did not fire", jobs.failed.Load())
	}

	lines := e.report(j)
	for row, ls := range lines {
		if len(ls) != 1 {
			t.Errorf("row %d is in the report %d times: %v", row, len(ls), ls)
		}
		switch l := ls[0]; {
		case validation[row]:
			if l[1] != "email" || l[2] == "" {
				t.Errorf("validation row %d reported as %v", row, l)
			}
		case rejected[row]:
			if l[1] != "achievementId" || !strings.Contains(l[2], "no such achievement") {
				t.Errorf("row %d, whose achievement went, reported as %v", row, l)
			}
		case row == poison:
			if !strings.Contains(l[2], "could not be issued") || !strings.Contains(l[2], "disk says no") {
				t.Errorf("the poison row reported as %v", l)
			}
		default:
			t.Errorf("row %d is good but reported: %v", row, l)
		}
	}
	if len(lines) != bad {
		t.Fatalf("the report explains %d rows, want the %d bad ones", len(lines), bad)
	}
}

// TestBulkReportWriteFailureStillCompletesTheJob: a report that cannot be written when the job
// completes leaves the roster worker's report, and the job completes all the same.
func TestBulkReportWriteFailureStillCompletesTheJob(t *testing.T) {
	e := newEnv(t)
	e.local.Queue.Backoff = 5 * time.Millisecond
	a := e.issuer("Alpha")
	e.local.Service.Store = &poisonStore{Store: e.local.Service.Store}
	blobs := &reportBlobs{Blobs: e.local.Bulk.Blobs, failAfter: 1} // the roster worker's write only
	e.local.Bulk.Blobs = blobs
	data := "email,name\nok1@example.org,One\npoison@example.org,Poison\nnot-an-address,Bad\nok2@example.org,Two\n"
	j := e.runJob(a, "cohort.csv", []byte(data))
	if j["state"] != "done" || num(j, "issued") != 2 || num(j, "failed") != 1 || num(j, "rejected") != 1 {
		t.Fatalf("job: %v", j)
	}
	if blobs.puts.Load() < 2 {
		t.Fatalf("%d report writes: the completion did not try to write the report", blobs.puts.Load())
	}
	lines := e.report(j)
	if len(lines) != 1 || len(lines[4]) != 1 {
		t.Fatalf("report %v, want the validation's line of row 4 alone", lines)
	}
}
