// Package sesmailer is the Mailer port on Amazon SES (API v2 SendEmail, simple content: HTML
// and text bodies, tags, Reply-To, List-Unsubscribe), paced to the account's sending rate.
//
// Pacing: the mailer reads the account's MaxSendRate with GetAccount when it first sends and
// again every few minutes, and spends only a share of it (Config.RateShare: the stack runs two
// mail instances, each gets half) through a token bucket shared by every Send of the process.
//
// Errors: a message SES refuses for good (MessageRejected, an unverified MAIL FROM domain, a
// suspended account, a request SES calls bad such as an invalid address) wraps
// domain.ErrMailRejected, which the domain records as a failed mail without retrying;
// throttling wraps ErrThrottled and anything else is returned as is, both meaning "deliver the
// message again later".
package sesmailer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/credence-oss/credence/shared/domain"
)

// API is the part of the SES v2 client the mailer uses (*sesv2.Client implements it).
type API interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
	GetAccount(ctx context.Context, in *sesv2.GetAccountInput, optFns ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error)
}

// Config tunes a Mailer. The zero value works: no configuration set, half the account's rate,
// 1 message/s until the quota is known.
type Config struct {
	// ConfigurationSet is the SES configuration set every message is sent through (it
	// publishes the delivery, bounce and complaint events the mail function consumes).
	ConfigurationSet string
	// RateShare is the fraction of the account's MaxSendRate this process may use; default
	// 0.5 (the stack's mail function runs at most two instances).
	RateShare float64
	// FallbackRate is the rate in messages/s while the quota is unknown (before the first
	// GetAccount, or when it fails); default 1, the sandbox rate.
	FallbackRate float64
	// Refresh is how often the quota is read again; default 5 minutes.
	Refresh time.Duration
	// ThrottlePause is how long the process stops sending after SES said the rate was
	// exceeded; default 1 s.
	ThrottlePause time.Duration
	// Now and Sleep replace the clock (tests); default the real one.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	Log   *slog.Logger
}

// Mailer sends through SES.
type Mailer struct {
	api API
	cfg Config
	lim *Limiter

	quotaMu   sync.Mutex
	quotaNext time.Time // when to read the quota again; zero = never read
}

// ErrThrottled is wrapped by the error of a send SES refused because the account's sending
// rate was exceeded (or the API was throttled): the message should be retried later.
var ErrThrottled = errors.New("SES sending rate exceeded")

// New returns a mailer over api.
func New(api API, cfg Config) *Mailer {
	if !(cfg.RateShare > 0 && cfg.RateShare <= 1) {
		cfg.RateShare = 0.5
	}
	if !(cfg.FallbackRate > 0) {
		cfg.FallbackRate = 1
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 5 * time.Minute
	}
	if cfg.ThrottlePause <= 0 {
		cfg.ThrottlePause = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Mailer{api: api, cfg: cfg, lim: NewLimiter(cfg.FallbackRate, cfg.Now, cfg.Sleep)}
}

// Rate is the send rate (messages/s) the mailer paces itself to now.
func (m *Mailer) Rate() float64 { return m.lim.Rate() }

// quotaRetry is how soon a failed quota read is tried again.
const quotaRetry = time.Minute

// refreshQuota reads the account's sending rate when it is due. Sends wait for a read in
// progress rather than race past it at a stale rate; a failed read keeps the current rate.
func (m *Mailer) refreshQuota(ctx context.Context) {
	m.quotaMu.Lock()
	defer m.quotaMu.Unlock()
	now := m.cfg.Now()
	if !m.quotaNext.IsZero() && now.Before(m.quotaNext) {
		return
	}
	out, err := m.api.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		m.quotaNext = now.Add(min(quotaRetry, m.cfg.Refresh))
		m.cfg.Log.WarnContext(ctx, "SES GetAccount failed; keeping the current send rate", "rate", m.lim.Rate(), "err", err)
		return
	}
	m.quotaNext = now.Add(m.cfg.Refresh)
	if out.SendQuota == nil || !(out.SendQuota.MaxSendRate > 0) {
		m.cfg.Log.WarnContext(ctx, "SES account reports no send rate; keeping the current one", "rate", m.lim.Rate())
		return
	}
	rate := out.SendQuota.MaxSendRate * m.cfg.RateShare
	if old := m.lim.Rate(); old != rate {
		m.lim.SetRate(rate)
		m.cfg.Log.InfoContext(ctx, "SES send rate", "maxSendRate", out.SendQuota.MaxSendRate, "share", m.cfg.RateShare,
			"rate", rate, "sendingEnabled", out.SendingEnabled, "productionAccess", out.ProductionAccessEnabled)
	}
}

// Send hands one message to SES and returns SES's message id.
func (m *Mailer) Send(ctx context.Context, msg domain.Mail) (string, error) {
	in, err := m.input(msg)
	if err != nil {
		return "", err
	}
	m.refreshQuota(ctx)
	if err := m.lim.Wait(ctx); err != nil {
		return "", fmt.Errorf("sesmailer: wait for a send turn: %w", err)
	}
	out, err := m.api.SendEmail(ctx, in)
	if err != nil {
		err = classify(err)
		if errors.Is(err, ErrThrottled) {
			m.lim.Penalize(m.cfg.ThrottlePause)
		}
		return "", fmt.Errorf("sesmailer: send to %s: %w", redact(msg.To), err)
	}
	return aws.ToString(out.MessageId), nil
}

// input builds the SendEmail request; an error (wrapping domain.ErrMailRejected) means the
// message can never be sent as it is.
func (m *Mailer) input(msg domain.Mail) (*sesv2.SendEmailInput, error) {
	if strings.TrimSpace(msg.To) == "" || strings.TrimSpace(msg.From) == "" {
		return nil, fmt.Errorf("sesmailer: a message needs From and To: %w", domain.ErrMailRejected)
	}
	from, err := formatAddress(msg.From)
	if err != nil {
		return nil, fmt.Errorf("sesmailer: From %q: %w: %w", msg.From, err, domain.ErrMailRejected)
	}
	to, err := mail.ParseAddress(msg.To)
	if err != nil {
		return nil, fmt.Errorf("sesmailer: To %s: %w: %w", redact(msg.To), err, domain.ErrMailRejected)
	}
	if msg.Text == "" && msg.HTML == "" {
		return nil, fmt.Errorf("sesmailer: a message needs a text or HTML body: %w", domain.ErrMailRejected)
	}
	utf8 := aws.String("UTF-8")
	body := &types.Body{}
	if msg.Text != "" {
		body.Text = &types.Content{Data: aws.String(msg.Text), Charset: utf8}
	}
	if msg.HTML != "" {
		body.Html = &types.Content{Data: aws.String(msg.HTML), Charset: utf8}
	}
	simple := &types.Message{Subject: &types.Content{Data: aws.String(msg.Subject), Charset: utf8}, Body: body}
	if h, ok := listUnsubscribe(msg.Unsubscr); ok {
		simple.Headers = []types.MessageHeader{{Name: aws.String("List-Unsubscribe"), Value: aws.String(h)}}
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &types.Destination{ToAddresses: []string{to.Address}},
		Content:          &types.EmailContent{Simple: simple},
		EmailTags:        Tags(msg.Tags),
	}
	if m.cfg.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(m.cfg.ConfigurationSet)
	}
	if r := strings.TrimSpace(msg.ReplyTo); r != "" {
		if a, err := mail.ParseAddress(r); err == nil {
			in.ReplyToAddresses = []string{a.Address}
		} else {
			// A bad Reply-To is the issuer's profile, not the recipient's problem: send without.
			m.cfg.Log.Warn("ignoring an invalid Reply-To", "replyTo", r, "err", err)
		}
	}
	return in, nil
}

// formatAddress returns an address SES accepts as FromEmailAddress: a display name with
// non-ASCII characters must be RFC 2047 encoded, which mail.Address.String does.
func formatAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

// listUnsubscribe turns Mail.Unsubscr (a URL or an address) into a List-Unsubscribe header
// value; false when there is none or it cannot be a header value.
func listUnsubscribe(target string) (string, bool) {
	t := strings.TrimSpace(target)
	if t == "" {
		return "", false
	}
	if !strings.HasPrefix(t, "<") {
		if !strings.Contains(t, ":") && strings.Contains(t, "@") {
			t = "mailto:" + t
		}
		t = "<" + t + ">"
	}
	if len(t) > 900 {
		return "", false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 0x20 || t[i] > 0x7e {
			return "", false
		}
	}
	return t, true
}

// maxTagLen is SES's limit on a tag name and on a tag value.
const maxTagLen = 256

// Tags turns Mail.Tags into SES message tags, sorted by name. Names and values may only hold
// ASCII letters, digits, '_' and '-' (SES refuses the whole message otherwise), so any other
// character becomes '_'; a tag whose name or value is empty is left out.
func Tags(tags map[string]string) []types.MessageTag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]types.MessageTag, 0, len(tags))
	for k, v := range tags {
		name, value := SanitizeTag(k), SanitizeTag(v)
		if name == "" || value == "" {
			continue
		}
		out = append(out, types.MessageTag{Name: aws.String(name), Value: aws.String(value)})
	}
	sort.Slice(out, func(i, j int) bool { return *out[i].Name < *out[j].Name })
	return out
}

// SanitizeTag maps s to SES's tag charset ([A-Za-z0-9_-], at most 256 characters).
func SanitizeTag(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		if b.Len() >= maxTagLen {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// classify wraps err with ErrThrottled or domain.ErrMailRejected when SES's answer says
// which it is.
func classify(err error) error {
	var (
		tooMany     *types.TooManyRequestsException
		limit       *types.LimitExceededException
		rejected    *types.MessageRejected
		notVerified *types.MailFromDomainNotVerifiedException
		suspended   *types.AccountSuspendedException
		bad         *types.BadRequestException
	)
	switch {
	case errors.As(err, &tooMany), errors.As(err, &limit):
		return fmt.Errorf("%w: %w", ErrThrottled, err)
	case errors.As(err, &rejected), errors.As(err, &notVerified), errors.As(err, &suspended), errors.As(err, &bad):
		return fmt.Errorf("%w: %w", domain.ErrMailRejected, err)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code, msg := api.ErrorCode(), strings.ToLower(api.ErrorMessage())
		switch {
		case code == "Throttling" || code == "ThrottlingException" || strings.Contains(msg, "maximum sending rate exceeded"):
			return fmt.Errorf("%w: %w", ErrThrottled, err)
		case code == "MessageRejected" || code == "MailFromDomainNotVerified" || code == "AccountSuspended":
			return fmt.Errorf("%w: %w", domain.ErrMailRejected, err)
		}
	}
	return err
}

// redact keeps the domain of an address for logs and errors, not the person.
func redact(addr string) string {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		return "…" + addr[at:]
	}
	return "…"
}
