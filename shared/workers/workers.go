// Package workers turns the Lambda events of the bulk-issuance functions into domain.Bulk
// calls: the issue and mail queues (SQS, partial batch responses), the SES events queue, the
// roster bucket (S3 ObjectCreated) and the RosterFailures queue, where Lambda puts a roster
// event that failed every attempt (Bulk.FailRoster). The functions' mains only wire these
// handlers; tests call them with the JSON events in events/.
//
// Failure handling follows the stack (docs/deploy.md): a record that fails is reported in
// BatchItemFailures, so SQS redelivers only it and not the rest of its batch; after
// MaxReceives receives SQS moves it to the dead-letter queue. On that last receive the row is
// recorded as failed (Bulk.FailRow, Bulk.FailMail) so its job still finishes and says why, and
// the record is still reported, so the message lands in the DLQ and can be redriven.
package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/web"
)

// DefaultMaxReceives is the queues' maxReceiveCount in the stack (infra MaxReceiveCount).
const DefaultMaxReceives = 5

// EnvMaxReceives overrides DefaultMaxReceives; it must equal the redrive policy's
// maxReceiveCount, or rows are failed too early or go to the DLQ uncounted.
const EnvMaxReceives = "CREDENCE_MAX_RECEIVES"

// EnvSESEventsQueueARN is the ARN of the queue SES events arrive on (set by the stack on the
// mail function).
const EnvSESEventsQueueARN = "CREDENCE_SES_EVENTS_QUEUE_ARN"

// Options configure the handlers.
type Options struct {
	// MaxReceives is the receive count at which a failing record is on its last delivery.
	MaxReceives int
	// SESEventsQueueARN tells SES event records from mail jobs on the mail function.
	SESEventsQueueARN string
	// DeadlineMargin: a record is not started when less than this remains before the
	// invocation's deadline; it is reported failed and comes back, instead of being cut off
	// half-way by the timeout (which would fail the whole batch). Default 3 s.
	DeadlineMargin time.Duration
	Log            *slog.Logger
}

// OptionsFromEnv reads CREDENCE_MAX_RECEIVES and CREDENCE_SES_EVENTS_QUEUE_ARN.
func OptionsFromEnv(log *slog.Logger) (Options, error) {
	o := Options{MaxReceives: DefaultMaxReceives, SESEventsQueueARN: strings.TrimSpace(os.Getenv(EnvSESEventsQueueARN)), Log: log}
	if v := strings.TrimSpace(os.Getenv(EnvMaxReceives)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return o, fmt.Errorf("%s=%q: want a whole number of at least 1", EnvMaxReceives, v)
		}
		o.MaxReceives = n
	}
	return o, nil
}

func (o Options) withDefaults() Options {
	if o.MaxReceives < 1 {
		o.MaxReceives = DefaultMaxReceives
	}
	if o.DeadlineMargin <= 0 {
		o.DeadlineMargin = 3 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// SQSHandler is the signature of a Lambda SQS handler with partial batch responses.
type SQSHandler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// receiveCount is how often SQS has delivered the record, this delivery included; 0 when
// unknown (an event without attributes is then never taken for a last delivery).
func receiveCount(r events.SQSMessage) int {
	n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	return n
}

// errOutOfTime reports records left unprocessed because the invocation was about to time out.
var errOutOfTime = errors.New("not started: the invocation was about to time out")

// worker is how one queue's records are processed.
type worker struct {
	kind string
	// process handles one record; an error means "deliver it again".
	process func(ctx context.Context, log *slog.Logger, r events.SQSMessage) error
	// giveUp records that a record failed its last delivery (it is about to go to the DLQ);
	// nil when there is nothing to record.
	giveUp func(ctx context.Context, log *slog.Logger, r events.SQSMessage, cause error)
}

// giveUpTimeout bounds the recording of a last failure, which runs even when the invocation's
// context is done (a row that timed out on its last delivery must still be counted).
const giveUpTimeout = 5 * time.Second

// batch runs the worker over the records one at a time (the stack's concurrency arithmetic
// assumes an issue instance signs one credential at a time, and mail is paced anyway) and
// reports the failures. It never returns an error: that would make Lambda redeliver the whole
// batch, the records that succeeded included.
func batch(o Options, w worker) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		log := o.Log.With("worker", w.kind)
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			log = log.With("requestId", lc.AwsRequestID)
		}
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, r := range ev.Records {
			rlog := log.With("messageId", r.MessageId)
			var err error
			if dl, ok := ctx.Deadline(); (ok && time.Until(dl) < o.DeadlineMargin) || ctx.Err() != nil {
				err = errOutOfTime
			} else {
				err = safely(func() error { return w.process(web.WithLogger(ctx, rlog), rlog, r) })
			}
			if err == nil {
				continue
			}
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			n := receiveCount(r)
			if n < o.MaxReceives {
				rlog.Warn("record failed; it will be delivered again", "receiveCount", n, "err", err)
				continue
			}
			rlog.Error("record failed on its last delivery; it goes to the dead-letter queue", "receiveCount", n, "err", err)
			if w.giveUp != nil {
				gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), giveUpTimeout)
				if perr := safely(func() error { w.giveUp(web.WithLogger(gctx, rlog), rlog, r, err); return nil }); perr != nil {
					rlog.Error("recording the failure panicked", "err", perr)
				}
				cancel()
			}
		}
		log.Info("batch done", "records", len(ev.Records), "failed", len(resp.BatchItemFailures))
		return resp, nil
	}
}

// safely runs fn, turning a panic into an error so one bad record cannot take its batch down.
func safely(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return fn()
}

// IssueHandler consumes the issue queue: each record is one roster row (Bulk.IssueRow); a row
// failing its last delivery is recorded with Bulk.FailRow.
func IssueHandler(b *domain.Bulk, o Options) SQSHandler {
	o = o.withDefaults()
	return batch(o, worker{
		kind: "issue",
		process: func(ctx context.Context, log *slog.Logger, r events.SQSMessage) error {
			m, err := domain.DecodeIssueRow([]byte(r.Body))
			if err != nil {
				// Nothing to count it against: it goes to the DLQ for a person to look at.
				return fmt.Errorf("undecodable issue message: %w", err)
			}
			if err := b.IssueRow(ctx, m); err != nil {
				return err
			}
			log.Debug("row issued", "jobId", m.JobID, "row", m.Row)
			return nil
		},
		giveUp: func(ctx context.Context, log *slog.Logger, r events.SQSMessage, cause error) {
			m, err := domain.DecodeIssueRow([]byte(r.Body))
			if err != nil {
				return
			}
			log = log.With("jobId", m.JobID, "row", m.Row)
			if err := b.FailRow(ctx, m, cause); err != nil {
				log.Error("could not record the row as failed", "err", err)
				return
			}
			log.Warn("row recorded as failed")
		},
	})
}

// MailHandler consumes the mail queue (Bulk.DeliverMail; Bulk.FailMail on a last delivery) and
// the SES events queue (Bulk.HandleMailEvent), told apart by the record's eventSourceARN; a
// body that is an SES event (or an SNS notification carrying one) is handled as one whatever
// queue it came from.
func MailHandler(b *domain.Bulk, o Options) SQSHandler {
	o = o.withDefaults()
	isEvent := func(r events.SQSMessage) bool {
		return (o.SESEventsQueueARN != "" && r.EventSourceARN == o.SESEventsQueueARN) || IsSESEvent([]byte(r.Body))
	}
	return batch(o, worker{
		kind: "mail",
		process: func(ctx context.Context, log *slog.Logger, r events.SQSMessage) error {
			if isEvent(r) {
				if err := b.HandleMailEvent(ctx, []byte(r.Body)); err != nil {
					return fmt.Errorf("SES event: %w", err)
				}
				return nil
			}
			m, err := domain.DecodeDelivery([]byte(r.Body))
			if err != nil {
				return fmt.Errorf("undecodable mail message: %w", err)
			}
			if err := b.DeliverMail(ctx, m); err != nil {
				return err
			}
			log.Debug("mail delivered", "credentialId", m.CredentialID, "jobId", m.JobID, "row", m.Row)
			return nil
		},
		giveUp: func(ctx context.Context, log *slog.Logger, r events.SQSMessage, cause error) {
			if isEvent(r) {
				return // an SES event in the DLQ changes no counter; redriving it replays it
			}
			m, err := domain.DecodeDelivery([]byte(r.Body))
			if err != nil {
				return
			}
			log = log.With("credentialId", m.CredentialID, "jobId", m.JobID, "row", m.Row)
			if err := b.FailMail(ctx, m, cause); err != nil {
				log.Error("could not record the mail as failed", "err", err)
				return
			}
			log.Warn("mail recorded as failed")
		},
	})
}

// IsSESEvent reports whether body is an SES event-publishing document, an SES notification,
// or an SNS notification (an envelope with Type "Notification") around one.
func IsSESEvent(body []byte) bool {
	var probe struct {
		Type             string `json:"Type"`
		Message          string `json:"Message"`
		EventType        string `json:"eventType"`
		NotificationType string `json:"notificationType"`
		Mail             *struct {
			MessageID string `json:"messageId"`
		} `json:"mail"`
	}
	if json.Unmarshal(body, &probe) != nil {
		return false
	}
	if probe.Type == "Notification" && probe.Message != "" {
		return IsSESEvent([]byte(probe.Message))
	}
	return (probe.EventType != "" || probe.NotificationType != "") && probe.Mail != nil
}

// S3Handler is the signature of a Lambda S3 event handler.
type S3Handler func(context.Context, events.S3Event) error

// RosterHandler consumes S3 ObjectCreated events of the roster bucket (Bulk.ProcessRoster per
// object). Every record is tried; any failure is returned so Lambda retries the event, which
// ProcessRoster tolerates (a processed file is recognised and skipped).
func RosterHandler(b *domain.Bulk, o Options) S3Handler {
	o = o.withDefaults()
	return func(ctx context.Context, ev events.S3Event) error {
		log := o.Log.With("worker", "roster")
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			log = log.With("requestId", lc.AwsRequestID)
		}
		var errs []error
		for _, r := range ev.Records {
			key, err := objectKey(r.S3.Object)
			if err != nil {
				log.Error("undecodable object key", "key", r.S3.Object.Key, "err", err)
				continue // retrying cannot decode it either
			}
			rlog := log.With("bucket", r.S3.Bucket.Name, "key", key, "jobId", domain.JobIDFromKey(key))
			if !strings.HasPrefix(r.EventName, "ObjectCreated:") && r.EventName != "" {
				rlog.Info("ignoring an event that is not ObjectCreated", "event", r.EventName)
				continue
			}
			err = safely(func() error { return b.ProcessRoster(web.WithLogger(ctx, rlog), key) })
			if err != nil {
				rlog.Error("roster processing failed; the event will be retried", "err", err)
				errs = append(errs, fmt.Errorf("roster %s: %w", key, err))
				continue
			}
			rlog.Info("roster processed")
		}
		return errors.Join(errs...)
	}
}

// objectKey is the object's key as stored: S3 events carry it URL-encoded ("+" for spaces).
func objectKey(o events.S3Object) (string, error) {
	if o.URLDecodedKey != "" {
		return o.URLDecodedKey, nil
	}
	return url.QueryUnescape(o.Key)
}
