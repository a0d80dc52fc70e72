package domain

import (
	"context"
	"time"
)

// Queue topics. On AWS each is an SQS queue; locally an in-process queue with the same
// at-least-once semantics.
const (
	TopicIssue = "issue" // one message per roster row to issue
	TopicMail  = "mail"  // one message per credential to notify
)

// Queue is the port for asynchronous work. Delivery is at least once: consumers are idempotent.
type Queue interface {
	Publish(ctx context.Context, topic string, bodies ...[]byte) error
}

// Mail is one outgoing message.
type Mail struct {
	To       string
	From     string
	Subject  string
	Text     string
	HTML     string
	Tags     map[string]string // e.g. credential and issuer ids, echoed back in delivery events
	ReplyTo  string
	Unsubscr string // List-Unsubscribe target, optional
}

// Mailer is the port that hands a message to the mail service (SES, or .eml files locally).
type Mailer interface {
	Send(ctx context.Context, m Mail) (messageID string, err error)
}

// Invalidator drops cached copies of public paths (CloudFront on AWS, nothing locally) so a
// status change shows at once.
type Invalidator interface {
	Invalidate(ctx context.Context, paths ...string) error
}

// Clock tells the time; tests pin it.
type Clock func() time.Time

// NopInvalidator is the Invalidator of a deployment with no cache in front.
type NopInvalidator struct{}

// Invalidate does nothing.
func (NopInvalidator) Invalidate(context.Context, ...string) error { return nil }
