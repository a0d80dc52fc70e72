package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
)

// rosterJob is the part of GET /v1/jobs/{jobId} the CLI shows.
type rosterJob struct {
	JobID          string `json:"jobId"`
	State          string `json:"state"`
	Done           bool   `json:"done"`
	Notify         bool   `json:"notify"`
	Total          int    `json:"total"`
	Issued         int    `json:"issued"`
	Rejected       int    `json:"rejected"`
	Failed         int    `json:"failed"`
	Mailed         int    `json:"mailed"`
	MailSuppressed int    `json:"mailSuppressed"`
	MailFailed     int    `json:"mailFailed"`
	Errors         []struct {
		Row     int    `json:"row"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	ErrorReportURL string `json:"errorReportUrl"`
	SourceJobID    string `json:"sourceJobId"`
	Message        string `json:"message"`
}

func (j rosterJob) finished() bool { return j.Done || j.State == "done" || j.State == "failed" }

type rosterClient struct {
	server, key string
	http        *http.Client
}

// apiError is the API's documented error shape.
type apiError struct {
	Status int
	Error  struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
}

func (e *apiError) String() string {
	if e.Error.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	s := fmt.Sprintf("%s (HTTP %d): %s", e.Error.Code, e.Status, e.Error.Message)
	for _, d := range e.Error.Details {
		s += fmt.Sprintf("; %s: %s", d.Field, d.Message)
	}
	return s
}

func (c *rosterClient) call(ctx context.Context, method, path string, body any, headers map[string]string, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		ae := &apiError{Status: res.StatusCode}
		_ = json.Unmarshal(raw, ae)
		return fmt.Errorf("%s %s: %s", method, path, ae)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}

// upload posts the file as an HTML form, fields first and the file last, which is what an S3
// presigned POST requires and what the local upload URL accepts.
func upload(ctx context.Context, hc *http.Client, url string, fields map[string]string, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for k, v := range fields {
				if err := mw.WriteField(k, v); err != nil {
					return err
				}
			}
			fw, err := mw.CreateFormFile("file", filepath.Base(path))
			if err != nil {
				return err
			}
			if _, err := io.Copy(fw, f); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, pr)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		ae := &apiError{Status: res.StatusCode}
		if json.Unmarshal(raw, ae) != nil || ae.Error.Code == "" {
			return fmt.Errorf("HTTP %d: %s", res.StatusCode, strings.TrimSpace(string(raw)))
		}
		return errors.New(ae.String())
	}
	return nil
}

// isTerminal reports whether w is a terminal, where the progress bar redraws one line; a log
// file or a CI console gets a plain line now and then instead.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress draws the job's progress on stderr.
type progress struct {
	w        io.Writer
	tty      bool
	last     string
	lastAt   time.Time
	interval time.Duration
}

func (p *progress) line(j rosterJob) string {
	if j.State == "validating" || j.Total == 0 {
		return "validating the file..."
	}
	rows := j.Issued + j.Rejected + j.Failed
	s := fmt.Sprintf("%d/%d rows (issued %d, rejected %d, failed %d)", rows, j.Total, j.Issued, j.Rejected, j.Failed)
	if j.Notify {
		s += fmt.Sprintf(", mailed %d/%d", j.Mailed+j.MailSuppressed+j.MailFailed, j.Issued)
	}
	return s
}

func (p *progress) show(j rosterJob) {
	text := p.line(j)
	if p.tty {
		// One bar for the rows and the mails together: a job is done when both are.
		want, got := j.Total, j.Issued+j.Rejected+j.Failed
		if j.Notify {
			want += j.Issued
			got += j.Mailed + j.MailSuppressed + j.MailFailed
		}
		const width = 30
		filled := 0
		if want > 0 {
			filled = min(width, got*width/want)
		}
		fmt.Fprintf(p.w, "\r\033[K[%s%s] %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), text)
		return
	}
	// Not a terminal: a line when something changed, at most every interval (and always the last).
	if text == p.last || (time.Since(p.lastAt) < p.interval && !j.finished()) {
		return
	}
	p.last, p.lastAt = text, time.Now()
	fmt.Fprintln(p.w, text)
}

func (p *progress) end() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

// roster implements `credence roster --server URL --key KEY --issuer ID --achievement ID FILE`.
func roster(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("roster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", os.Getenv("CREDENCE_SERVER"), "Credence API base URL, e.g. http://127.0.0.1:8080 (or $CREDENCE_SERVER)")
	key := fs.String("key", os.Getenv("CREDENCE_KEY"), "API key (or $CREDENCE_KEY)")
	issuer := fs.String("issuer", "", "issuer id")
	achievement := fs.String("achievement", "", "achievement id (rows may override it with an achievementId column)")
	noNotify := fs.Bool("no-notify", false, "issue without mailing the recipients")
	interval := fs.Duration("interval", 500*time.Millisecond, "how often to ask for the job's progress")
	timeout := fs.Duration("timeout", time.Hour, "give up following the job after this long (the job goes on)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: credence roster --server URL --key KEY --issuer ID --achievement ID [--no-notify] FILE.csv|FILE.xlsx")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	var missing []string
	for name, v := range map[string]string{"--server": *server, "--key": *key, "--issuer": *issuer, "--achievement": *achievement} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 || fs.NArg() != 1 || *interval <= 0 {
		if len(missing) > 0 {
			fmt.Fprintf(stderr, "credence roster: missing %s\n", strings.Join(missing, ", "))
		}
		fs.Usage()
		return exitUsage
	}
	file := fs.Arg(0)
	if fi, err := os.Stat(file); err != nil {
		fmt.Fprintf(stderr, "credence roster: %v\n", err)
		return exitUsage
	} else if !fi.Mode().IsRegular() {
		fmt.Fprintf(stderr, "credence roster: %s is not a file\n", file)
		return exitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := &rosterClient{server: strings.TrimRight(*server, "/"), key: *key, http: &http.Client{Timeout: 5 * time.Minute}}

	// One Idempotency-Key per run: should the answer get lost and the request be retried by a
	// proxy, the server hands back this job rather than making a second one.
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	var created struct {
		JobID  string `json:"jobId"`
		Upload struct {
			URL    string            `json:"url"`
			Fields map[string]string `json:"fields"`
		} `json:"upload"`
	}
	notify := !*noNotify
	err := c.call(ctx, http.MethodPost, "/v1/issuers/"+*issuer+"/jobs",
		map[string]any{"achievementId": *achievement, "filename": filepath.Base(file), "notify": notify},
		map[string]string{"Idempotency-Key": "roster-" + hex.EncodeToString(rnd[:])}, &created)
	if err != nil {
		fmt.Fprintf(stderr, "credence roster: creating the job: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "job %s: uploading %s\n", created.JobID, file)
	if err := upload(ctx, c.http, created.Upload.URL, created.Upload.Fields, file); err != nil {
		fmt.Fprintf(stderr, "credence roster: uploading %s: %v\n", file, err)
		return exitUsage
	}

	p := &progress{w: stderr, tty: isTerminal(stderr), interval: 5 * time.Second}
	var j rosterJob
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for {
		err := c.call(ctx, http.MethodGet, "/v1/jobs/"+created.JobID, nil, nil, &j)
		if err != nil && ctx.Err() == nil {
			// A poll that failed (a restart, a blip) is not the job failing: say so and go on.
			fmt.Fprintf(stderr, "credence roster: %v (retrying)\n", err)
		} else if err == nil {
			p.show(j)
			if j.finished() {
				break
			}
		}
		select {
		case <-ctx.Done():
			p.end()
			fmt.Fprintf(stderr, "credence roster: stopped following job %s (%v); it goes on: GET %s/v1/jobs/%s\n",
				created.JobID, context.Cause(ctx), c.server, created.JobID)
			return exitUsage
		case <-tick.C:
		}
	}
	p.end()
	return report(stdout, j)
}

// report prints the outcome and returns the exit code: 0 every row issued, 1 some rows
// rejected or failed, 2 the job failed as a whole.
func report(w io.Writer, j rosterJob) int {
	if j.State == "failed" {
		fmt.Fprintf(w, "job %s failed: %s\n", j.JobID, j.Message)
		return exitUsage
	}
	fmt.Fprintf(w, "job %s: %s\n", j.JobID, j.State)
	fmt.Fprintf(w, "rows: %d, issued: %d, rejected: %d, failed: %d\n", j.Total, j.Issued, j.Rejected, j.Failed)
	if j.Notify {
		fmt.Fprintf(w, "mail: sent %d, suppressed %d, failed %d\n", j.Mailed, j.MailSuppressed, j.MailFailed)
	}
	if j.SourceJobID != "" {
		fmt.Fprintf(w, "the same file was uploaded before (job %s): its rows are the credentials issued then, not new ones\n", j.SourceJobID)
	}
	if len(j.Errors) > 0 {
		fmt.Fprintln(w, "rows not issued:")
		for _, e := range j.Errors {
			if e.Field != "" {
				fmt.Fprintf(w, "  row %d, %s: %s\n", e.Row, e.Field, e.Message)
			} else {
				fmt.Fprintf(w, "  row %d: %s\n", e.Row, e.Message)
			}
		}
		if shown := len(j.Errors); shown < j.Rejected+j.Failed {
			fmt.Fprintf(w, "  ... %d listed; the report has them all\n", shown)
		}
	}
	if j.ErrorReportURL != "" {
		fmt.Fprintf(w, "error report: %s\n", j.ErrorReportURL)
	}
	if j.Rejected+j.Failed > 0 {
		return exitInvalid
	}
	return exitOK
}
