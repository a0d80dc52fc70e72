// Package sqsqueue is the Queue port on Amazon SQS: each topic is one standard queue (with its
// DLQ configured in the stack), published in SendMessageBatch chunks of ten.
package sqsqueue

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Queue publishes to SQS queues by topic.
type Queue struct {
	client *sqs.Client
	urls   map[string]string
}

// New returns a queue publishing topic -> queue URL.
func New(client *sqs.Client, urls map[string]string) *Queue {
	return &Queue{client: client, urls: urls}
}

// maxBatch is SQS's SendMessageBatch limit.
const maxBatch = 10

// Publish sends bodies to the topic's queue. Entries SQS refuses for its own reasons are
// retried twice; after that the error says how many failed, so the caller retries the publish
// (consumers are idempotent, so duplicates are harmless; losses are not).
func (q *Queue) Publish(ctx context.Context, topic string, bodies ...[]byte) error {
	url, ok := q.urls[topic]
	if !ok || url == "" {
		return fmt.Errorf("sqsqueue: no queue configured for topic %q", topic)
	}
	for start := 0; start < len(bodies); start += maxBatch {
		end := min(start+maxBatch, len(bodies))
		pending := make([]types.SendMessageBatchRequestEntry, 0, end-start)
		for i := start; i < end; i++ {
			pending = append(pending, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(bodies[i]))})
		}
		for attempt := 0; len(pending) > 0; attempt++ {
			out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: pending})
			if err != nil {
				return fmt.Errorf("sqsqueue: send to %s: %w", topic, err)
			}
			if len(out.Failed) == 0 {
				break
			}
			if attempt >= 2 {
				f := out.Failed[0]
				return fmt.Errorf("sqsqueue: %d messages to %s refused: %s %s", len(out.Failed), topic, aws.ToString(f.Code), aws.ToString(f.Message))
			}
			failed := map[string]bool{}
			for _, f := range out.Failed {
				if f.SenderFault {
					return fmt.Errorf("sqsqueue: message refused by %s: %s", topic, aws.ToString(f.Message))
				}
				failed[aws.ToString(f.Id)] = true
			}
			retry := pending[:0]
			for _, e := range pending {
				if failed[aws.ToString(e.Id)] {
					retry = append(retry, e)
				}
			}
			pending = retry
		}
	}
	return nil
}
