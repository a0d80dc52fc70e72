package workers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/web"
)

// destinationRecord is what Lambda sends to an on-failure destination after an asynchronous
// invocation failed every attempt: the original event (requestPayload) and how it failed. Only
// the fields read here are decoded (events/roster-failure-sqs.json has a whole record).
type destinationRecord struct {
	RequestContext struct {
		RequestID              string `json:"requestId"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponsePayload json.RawMessage `json:"responsePayload"`
}

// decodeRosterFailure reads a destination record of a roster event: a record without a
// condition is not one Lambda wrote, and one whose payload is not an S3 event is not the
// roster function's.
func decodeRosterFailure(body []byte) (destinationRecord, events.S3Event, error) {
	var d destinationRecord
	if err := json.Unmarshal(body, &d); err != nil {
		return d, events.S3Event{}, fmt.Errorf("not JSON: %w", err)
	}
	if d.RequestContext.Condition == "" || len(d.RequestPayload) == 0 {
		return d, events.S3Event{}, errors.New("not a Lambda destination record (no requestContext.condition or requestPayload)")
	}
	var ev events.S3Event
	// S3Object's decoding URL-decodes the key, and fails on a key that does not decode.
	if err := json.Unmarshal(d.RequestPayload, &ev); err != nil {
		return d, ev, fmt.Errorf("requestPayload is not an S3 event: %w", err)
	}
	if len(ev.Records) == 0 {
		return d, ev, errors.New("requestPayload is not an S3 event (no Records)")
	}
	for i, r := range ev.Records {
		if r.EventSource != "aws:s3" {
			return d, ev, fmt.Errorf("requestPayload record %d has eventSource %q, not aws:s3", i, r.EventSource)
		}
	}
	return d, ev, nil
}

// cause says why the roster event was given up on, for the logs: Lambda's condition, the
// attempts and the function's last error.
func (d destinationRecord) cause() error {
	var resp struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	msg := ""
	if json.Unmarshal(d.ResponsePayload, &resp) == nil && resp.ErrorMessage != "" {
		msg = resp.ErrorMessage
		if resp.ErrorType != "" {
			msg = resp.ErrorType + ": " + msg
		}
	} else if p := bytes.TrimSpace(d.ResponsePayload); len(p) > 0 && string(p) != "null" {
		// EventAgeExceeded has no response; anything else unexpected is kept as it came.
		msg = string(p)
	}
	if msg == "" {
		msg = "no error message"
	}
	return fmt.Errorf("roster event %s: %s after %d attempts: %s",
		d.RequestContext.RequestID, d.RequestContext.Condition, d.RequestContext.ApproximateInvokeCount, msg)
}

// RosterFailuresHandler consumes the RosterFailures queue, where Lambda puts a roster event
// that failed every asynchronous attempt (the roster function's on-failure destination). Each
// roster file the event named goes to Bulk.FailRoster, which fails a job still waiting for its
// file, so the user sees why instead of waiting forever, and leaves any other job alone, so a
// redelivered record changes nothing. A body that is not a destination record of an S3
// event, or a job that could not be marked, is reported in BatchItemFailures and ends in the
// queue's DLQ, where a person has to look at it.
func RosterFailuresHandler(b *domain.Bulk, o Options) SQSHandler {
	o = o.withDefaults()
	return batch(o, worker{
		kind: "roster-failures",
		process: func(ctx context.Context, log *slog.Logger, r events.SQSMessage) error {
			d, ev, err := decodeRosterFailure([]byte(r.Body))
			if err != nil {
				return fmt.Errorf("undecodable roster failure: %w", err)
			}
			cause := d.cause()
			log = log.With("rosterRequestId", d.RequestContext.RequestID, "condition", d.RequestContext.Condition)
			var errs []error
			for _, s := range ev.Records {
				key, err := objectKey(s.S3.Object)
				if err != nil { // not reached: decoding the event decoded the key already
					errs = append(errs, fmt.Errorf("object key %q: %w", s.S3.Object.Key, err))
					continue
				}
				id := domain.JobIDFromKey(key)
				rlog := log.With("bucket", s.S3.Bucket.Name, "key", key, "jobId", id)
				if id == "" || (!strings.HasPrefix(s.EventName, "ObjectCreated:") && s.EventName != "") {
					rlog.Info("not a roster upload; no job to fail", "event", s.EventName)
					continue
				}
				// FailRoster decides and logs what happens to the job: failed while it is still
				// validating, left alone when it is unknown, issuing, failed or done.
				if err := b.FailRoster(web.WithLogger(ctx, rlog), key, cause); err != nil {
					errs = append(errs, fmt.Errorf("roster %s: mark its job failed: %w", key, err))
					continue
				}
				rlog.Info("roster failure handled", "cause", cause)
			}
			return errors.Join(errs...)
		},
		// No giveUp: marking the job failed is what could not be done; the DLQ and its alarm
		// take it from here.
	})
}

// RosterFunctionHandler is the signature of the roster function's Lambda handler.
type RosterFunctionHandler func(context.Context, json.RawMessage) (any, error)

// RosterFunction is the roster function's one handler for its two event sources: S3
// ObjectCreated notifications (RosterHandler; an error makes Lambda retry the event) and the
// RosterFailures queue (RosterFailuresHandler; a partial batch response). One function serves
// both so a failed roster is failed with the same code, permissions and configuration that
// processed it.
func RosterFunction(b *domain.Bulk, o Options) RosterFunctionHandler {
	o = o.withDefaults()
	onS3, onSQS := RosterHandler(b, o), RosterFailuresHandler(b, o)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		log := o.Log.With("worker", "roster")
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			log = log.With("requestId", lc.AwsRequestID)
		}
		var probe struct {
			Event   string `json:"Event"`
			Records []struct {
				EventSource string `json:"eventSource"`
			} `json:"Records"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			log.Error("undecodable event", "err", err)
			return nil, fmt.Errorf("roster function: undecodable event: %w", err)
		}
		if probe.Event == "s3:TestEvent" {
			log.Info("ignoring the S3 test event")
			return nil, nil
		}
		source := ""
		for i, r := range probe.Records {
			if i > 0 && r.EventSource != source {
				source = "mixed"
				break
			}
			source = r.EventSource
		}
		switch source {
		case "aws:s3":
			var ev events.S3Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				log.Error("undecodable S3 event", "err", err)
				return nil, fmt.Errorf("roster function: S3 event: %w", err)
			}
			// Returned as is: Lambda records its type and message in the destination record.
			return nil, onS3(ctx, ev)
		case "aws:sqs":
			var ev events.SQSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				// An error fails the whole batch, which is what a batch that cannot be read needs.
				log.Error("undecodable SQS event", "err", err)
				return nil, fmt.Errorf("roster function: SQS event: %w", err)
			}
			return onSQS(ctx, ev)
		default:
			log.Error("unexpected event", "eventSource", source, "records", len(probe.Records))
			return nil, fmt.Errorf("roster function: unexpected event (eventSource %q, %d records): want S3 or SQS", source, len(probe.Records))
		}
	}
}
