package sesmailer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/credence-oss/credence/shared/adapters/awstest"
	"github.com/credence-oss/credence/shared/domain"
)

// fakeSES answers the two SES v2 operations the mailer uses, records what it was sent, and
// fails SendEmail the way it is told to.
type fakeSES struct {
	mu          sync.Mutex
	sent        []map[string]any
	accountHits int
	maxSendRate float64 // 0: GetAccount fails
	failWith    struct {
		status int
		code   string
		msg    string
	}
}

func (f *fakeSES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fail := func(status int, code, msg string) {
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v2/email/account":
		f.accountHits++
		if f.maxSendRate == 0 {
			fail(http.StatusBadRequest, "BadRequestException", "no account here")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"SendingEnabled": true, "ProductionAccessEnabled": true,
			"SendQuota": map[string]float64{"Max24HourSend": 50000, "MaxSendRate": f.maxSendRate, "SentLast24Hours": 0},
		})
	case r.Method == http.MethodPost && r.URL.Path == "/v2/email/outbound-emails":
		if f.failWith.status != 0 {
			fail(f.failWith.status, f.failWith.code, f.failWith.msg)
			return
		}
		var body map[string]any
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			fail(http.StatusBadRequest, "BadRequestException", err.Error())
			return
		}
		f.sent = append(f.sent, body)
		_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": "msg-" + string(rune('a'+len(f.sent)-1))})
	default:
		fail(http.StatusNotFound, "NotFoundException", r.Method+" "+r.URL.Path)
	}
}

func (f *fakeSES) last() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		return nil
	}
	return f.sent[len(f.sent)-1]
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// client is an SES v2 client for endpoint that does not retry, so each answer of the fake is
// seen as is.
func client(t *testing.T, endpoint string) *sesv2.Client {
	return sesv2.NewFromConfig(awstest.Config(t, endpoint), func(o *sesv2.Options) { o.RetryMaxAttempts = 1 })
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func sample(to string) domain.Mail {
	return domain.Mail{
		To: to, From: "Université Exemple <badges@example.edu>", Subject: "Université Exemple awarded you Data Stewardship",
		Text: "Hello Ada,\nyour credential: https://c.example/c/abc", HTML: "<p>Hello Ada</p>",
		ReplyTo: "registrar@example.edu", Unsubscr: "https://c.example/unsubscribe?t=1",
		Tags: map[string]string{"credential": "cred.123/x", "issuer": "iss-9", "empty": "", "bad name!": "v"},
	}
}

func TestSendBuildsTheSESRequest(t *testing.T) {
	fake := &fakeSES{maxSendRate: 14}
	m := New(client(t, serve(t, fake)), Config{ConfigurationSet: "credence-dev-mail", Log: quietLog()})
	id, err := m.Send(t.Context(), sample("ada@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	if id != "msg-a" {
		t.Fatalf("message id = %q, want SES's msg-a", id)
	}
	if got := m.Rate(); got != 7 {
		t.Fatalf("rate = %v, want half of MaxSendRate 14", got)
	}
	req := fake.last()
	raw, _ := json.Marshal(req)
	var in struct {
		FromEmailAddress     string
		ConfigurationSetName string
		ReplyToAddresses     []string
		Destination          struct{ ToAddresses []string }
		EmailTags            []struct{ Name, Value string }
		Content              struct {
			Simple struct {
				Subject struct{ Data, Charset string }
				Body    struct {
					Text struct{ Data, Charset string }
					Html struct{ Data, Charset string }
				}
				Headers []struct{ Name, Value string }
			}
		}
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	if in.ConfigurationSetName != "credence-dev-mail" {
		t.Errorf("ConfigurationSetName = %q", in.ConfigurationSetName)
	}
	if !strings.HasPrefix(in.FromEmailAddress, "=?utf-8?") || !strings.HasSuffix(in.FromEmailAddress, " <badges@example.edu>") {
		t.Errorf("From = %q, want an RFC 2047 encoded display name and the address", in.FromEmailAddress)
	}
	if len(in.Destination.ToAddresses) != 1 || in.Destination.ToAddresses[0] != "ada@example.org" {
		t.Errorf("To = %v", in.Destination.ToAddresses)
	}
	if len(in.ReplyToAddresses) != 1 || in.ReplyToAddresses[0] != "registrar@example.edu" {
		t.Errorf("ReplyTo = %v", in.ReplyToAddresses)
	}
	s := in.Content.Simple
	if s.Subject.Data != sample("").Subject || s.Subject.Charset != "UTF-8" {
		t.Errorf("subject = %+v", s.Subject)
	}
	if s.Body.Text.Data != sample("").Text || s.Body.Html.Data != sample("").HTML || s.Body.Text.Charset != "UTF-8" {
		t.Errorf("body = %+v", s.Body)
	}
	if len(s.Headers) != 1 || s.Headers[0].Name != "List-Unsubscribe" || s.Headers[0].Value != "<https://c.example/unsubscribe?t=1>" {
		t.Errorf("headers = %+v", s.Headers)
	}
	tags := map[string]string{}
	for _, tg := range in.EmailTags {
		tags[tg.Name] = tg.Value
	}
	want := map[string]string{"credential": "cred_123_x", "issuer": "iss-9", "bad_name_": "v"}
	if len(tags) != len(want) {
		t.Errorf("tags = %v, want %v", tags, want)
	}
	for k, v := range want {
		if tags[k] != v {
			t.Errorf("tag %s = %q, want %q (all: %v)", k, tags[k], v, tags)
		}
	}
}

func TestSendClassifiesSESErrors(t *testing.T) {
	cases := []struct {
		status              int
		code, msg           string
		rejected, throttled bool
	}{
		{400, "MessageRejected", "Email address is not verified.", true, false},
		{400, "MailFromDomainNotVerifiedException", "MAIL FROM domain not verified", true, false},
		{400, "AccountSuspendedException", "account suspended", true, false},
		{400, "BadRequestException", "Illegal address", true, false},
		{429, "TooManyRequestsException", "Maximum sending rate exceeded.", false, true},
		{429, "LimitExceededException", "Daily message quota exceeded.", false, true},
		{400, "Throttling", "Maximum sending rate exceeded.", false, true},
		{400, "SendingPausedException", "sending paused for the configuration set", false, false},
		{404, "NotFoundException", "configuration set does not exist", false, false},
		{500, "InternalFailure", "oops", false, false},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			fake := &fakeSES{maxSendRate: 100}
			fake.failWith.status, fake.failWith.code, fake.failWith.msg = c.status, c.code, c.msg
			m := New(client(t, serve(t, fake)), Config{Log: quietLog()})
			_, err := m.Send(t.Context(), sample("ada@example.org"))
			if err == nil {
				t.Fatal("send succeeded against a failing SES")
			}
			if got := errors.Is(err, domain.ErrMailRejected); got != c.rejected {
				t.Errorf("errors.Is(ErrMailRejected) = %v, want %v (%v)", got, c.rejected, err)
			}
			if got := errors.Is(err, ErrThrottled); got != c.throttled {
				t.Errorf("errors.Is(ErrThrottled) = %v, want %v (%v)", got, c.throttled, err)
			}
			if strings.Contains(err.Error(), "ada@") {
				t.Errorf("the error names the recipient: %v", err)
			}
		})
	}
}

func TestThrottleBacksOffTheProcess(t *testing.T) {
	fake := &fakeSES{maxSendRate: 200} // 100/s for this process: no pacing to speak of
	clk := newFakeClock()
	m := New(client(t, serve(t, fake)), Config{Now: clk.now, Sleep: clk.sleep, ThrottlePause: 3 * time.Second, Log: quietLog()})
	fake.mu.Lock()
	fake.failWith.status, fake.failWith.code, fake.failWith.msg = 429, "TooManyRequestsException", "Maximum sending rate exceeded."
	fake.mu.Unlock()
	if _, err := m.Send(t.Context(), sample("a@example.org")); !errors.Is(err, ErrThrottled) {
		t.Fatalf("send = %v, want ErrThrottled", err)
	}
	fake.mu.Lock()
	fake.failWith.status = 0
	fake.mu.Unlock()
	if _, err := m.Send(t.Context(), sample("a@example.org")); err != nil {
		t.Fatal(err)
	}
	s := clk.sleeps()
	if len(s) != 1 || s[0] < 3*time.Second || s[0] > 3100*time.Millisecond {
		t.Fatalf("after a throttle the next send slept %v, want about the 3s pause", s)
	}
}

func TestQuotaIsReadAgainAfterRefresh(t *testing.T) {
	fake := &fakeSES{} // GetAccount fails at first
	clk := newFakeClock()
	m := New(client(t, serve(t, fake)), Config{Now: clk.now, Sleep: clk.sleep, FallbackRate: 3, Refresh: 5 * time.Minute, Log: quietLog()})
	send := func() {
		t.Helper()
		if _, err := m.Send(t.Context(), sample("a@example.org")); err != nil {
			t.Fatal(err)
		}
	}
	hits := func() int { fake.mu.Lock(); defer fake.mu.Unlock(); return fake.accountHits }
	send()
	if got := m.Rate(); got != 3 || hits() != 1 {
		t.Fatalf("with GetAccount failing: rate %v (want the fallback 3), %d reads (want 1)", got, hits())
	}
	send()
	if hits() != 1 {
		t.Fatalf("a failed read is retried after a minute, not on every send (%d reads)", hits())
	}
	fake.mu.Lock()
	fake.maxSendRate = 14
	fake.mu.Unlock()
	clk.advance(61 * time.Second)
	send()
	if got := m.Rate(); got != 7 || hits() != 2 {
		t.Fatalf("after the retry: rate %v (want 7), %d reads (want 2)", got, hits())
	}
	fake.mu.Lock()
	fake.maxSendRate = 50
	fake.mu.Unlock()
	clk.advance(4 * time.Minute)
	send()
	if got := m.Rate(); got != 7 || hits() != 2 {
		t.Fatalf("before Refresh: rate %v (want 7), %d reads (want 2)", got, hits())
	}
	clk.advance(2 * time.Minute)
	send()
	if got := m.Rate(); got != 25 || hits() != 3 {
		t.Fatalf("after Refresh: rate %v (want 25), %d reads (want 3)", got, hits())
	}
}

func TestUnsendableMessagesAreRejectedWithoutCallingSES(t *testing.T) {
	fake := &fakeSES{maxSendRate: 10}
	m := New(client(t, serve(t, fake)), Config{Log: quietLog()})
	bad := []domain.Mail{
		{From: "a@example.edu", Subject: "s", Text: "t"},
		{To: "not an address", From: "a@example.edu", Subject: "s", Text: "t"},
		{To: "b@example.org", From: "a@example.edu", Subject: "s"},
		{To: "b@example.org", From: "<<>>", Subject: "s", Text: "t"},
	}
	for i, msg := range bad {
		if _, err := m.Send(t.Context(), msg); !errors.Is(err, domain.ErrMailRejected) {
			t.Errorf("message %d: %v, want ErrMailRejected", i, err)
		}
	}
	if fake.last() != nil {
		t.Fatal("SES was called for a message that cannot be sent")
	}
}

func TestSanitizeTag(t *testing.T) {
	cases := map[string]string{
		"abc-DEF_019":            "abc-DEF_019",
		" credential ":           "credential",
		"a.b/c@d":                "a_b_c_d",
		"é":                      "_",
		strings.Repeat("x", 300): strings.Repeat("x", 256),
	}
	for in, want := range cases {
		if got := SanitizeTag(in); got != want {
			t.Errorf("SanitizeTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestListUnsubscribe(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"", "", false},
		{"https://x.example/u?a=1", "<https://x.example/u?a=1>", true},
		{"unsubscribe@example.edu", "<mailto:unsubscribe@example.edu>", true},
		{"<mailto:u@example.edu>, <https://x.example/u>", "<mailto:u@example.edu>, <https://x.example/u>", true},
		{"https://x.example/u\r\nBcc: x@example.org", "", false},
		{"https://x.example/ü", "", false},
	}
	for _, c := range cases {
		got, ok := listUnsubscribe(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("listUnsubscribe(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestSendThroughEmulator sends through aws-ses-v2-local and reads the message back from its
// store. The emulator keeps neither tags nor the configuration set (TestSendBuildsTheSESRequest
// checks those on the wire); its GetAccount fails unless configured, which exercises the
// fallback rate.
func TestSendThroughEmulator(t *testing.T) {
	endpoint := awstest.Endpoint(t, "SES")
	m := New(sesv2.NewFromConfig(awstest.Config(t, endpoint)), Config{ConfigurationSet: "credence-test", FallbackRate: 50, Log: quietLog()})
	to := strings.ToLower(awstest.UniqueName("learner")) + "@example.org"
	msg := sample(to)
	id, err := m.Send(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if id == "" {
		t.Fatal("no message id")
	}
	if r := m.Rate(); r != 50 {
		t.Errorf("rate = %v: the emulator has no account, so the fallback 50 should apply", r)
	}
	got := storedEmail(t, endpoint, id)
	if len(got.Destination.To) != 1 || got.Destination.To[0] != to {
		t.Errorf("to = %v, want [%s]", got.Destination.To, to)
	}
	if got.Subject != msg.Subject {
		t.Errorf("subject = %q, want %q", got.Subject, msg.Subject)
	}
	if got.Body.Text != msg.Text || got.Body.HTML != msg.HTML {
		t.Errorf("body = %+v", got.Body)
	}
	if len(got.ReplyTo) != 1 || got.ReplyTo[0] != "registrar@example.edu" {
		t.Errorf("replyTo = %v", got.ReplyTo)
	}
	var unsub string
	for _, h := range got.Headers {
		if strings.EqualFold(h.Name, "List-Unsubscribe") {
			unsub = h.Value
		}
	}
	if unsub != "<https://c.example/unsubscribe?t=1>" {
		t.Errorf("List-Unsubscribe = %q (headers %+v)", unsub, got.Headers)
	}
	if !strings.Contains(got.From, "badges@example.edu") {
		t.Errorf("from = %q", got.From)
	}
}

type storeEmail struct {
	MessageID   string   `json:"messageId"`
	From        string   `json:"from"`
	ReplyTo     []string `json:"replyTo"`
	Subject     string   `json:"subject"`
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Body struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	} `json:"body"`
	Headers []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"headers"`
}

// storedEmail reads one message from the emulator's store by id (awstest.SESEmails does not
// decode Reply-To and headers).
func storedEmail(t *testing.T, endpoint, id string) storeEmail {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, strings.TrimRight(endpoint, "/")+"/store", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("SES store: %v", err)
	}
	defer res.Body.Close()
	var store struct {
		Emails []storeEmail `json:"emails"`
	}
	if err := json.NewDecoder(res.Body).Decode(&store); err != nil {
		t.Fatalf("SES store: %v", err)
	}
	for _, e := range store.Emails {
		if e.MessageID == id {
			return e
		}
	}
	t.Fatalf("message %s is not in the emulator's store (%d messages)", id, len(store.Emails))
	return storeEmail{}
}
