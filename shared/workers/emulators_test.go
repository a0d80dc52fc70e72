package workers

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/credence-oss/credence/shared/adapters/awstest"
	"github.com/credence-oss/credence/shared/adapters/sesmailer"
	"github.com/credence-oss/credence/shared/adapters/sqsqueue"
	"github.com/credence-oss/credence/shared/domain"
)

// receiveAll takes want messages off an SQS queue as the Lambda event source would hand them
// over (body, receipt handle, ApproximateReceiveCount), deleting them as a successful batch
// does.
func receiveAll(t *testing.T, c *sqs.Client, url, arn string, want int) events.SQSEvent {
	t.Helper()
	var ev events.SQSEvent
	deadline := time.Now().Add(20 * time.Second)
	for len(ev.Records) < want && time.Now().Before(deadline) {
		out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("receive from %s: %v", url, err)
		}
		for _, m := range out.Messages {
			ev.Records = append(ev.Records, events.SQSMessage{
				MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
				Attributes: m.Attributes, EventSource: "aws:sqs", EventSourceARN: arn, AWSRegion: awstest.Region,
			})
		}
	}
	if len(ev.Records) != want {
		t.Fatalf("received %d messages from %s, want %d", len(ev.Records), url, want)
	}
	return ev
}

func deleteAll(t *testing.T, c *sqs.Client, url string, ev events.SQSEvent, failed events.SQSEventResponse) {
	t.Helper()
	bad := map[string]bool{}
	for _, f := range failed.BatchItemFailures {
		bad[f.ItemIdentifier] = true
	}
	for _, r := range ev.Records {
		if bad[r.MessageId] {
			continue
		}
		if _, err := c.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String(r.ReceiptHandle)}); err != nil {
			t.Fatalf("delete %s: %v", r.MessageId, err)
		}
	}
}

// TestBulkRoundTripThroughSQSAndSES runs a roster through the three workers with the queues on
// fauxqs (sqsqueue publishes, the test receives as the event source would) and the mail on
// aws-ses-v2-local (sesmailer), and reads the sent mail back from the emulator.
func TestBulkRoundTripThroughSQSAndSES(t *testing.T) {
	sqsEndpoint, sesEndpoint := awstest.Endpoint(t, "SQS"), awstest.Endpoint(t, "SES")
	sqsc := sqs.NewFromConfig(awstest.Config(t, sqsEndpoint))
	urls := map[string]string{}
	for _, topic := range []string{domain.TopicIssue, domain.TopicMail} {
		out, err := sqsc.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(awstest.UniqueName("credence-" + topic))})
		if err != nil {
			t.Fatalf("create the %s queue: %v", topic, err)
		}
		urls[topic] = aws.ToString(out.QueueUrl)
	}
	e := newEnv(t)
	e.svc.Queue = sqsqueue.New(sqsc, urls)
	e.bulk.Mailing.Mailer = sesmailer.New(sesv2.NewFromConfig(awstest.Config(t, sesEndpoint)),
		sesmailer.Config{ConfigurationSet: "credence-test", FallbackRate: 50, Log: quiet()})

	ctx := t.Context()
	j, _, err := e.bulk.CreateJob(ctx, admin, e.iss.ID, domain.JobInput{AchievementID: e.ach.ID, Filename: "cohort.csv"})
	if err != nil {
		t.Fatal(err)
	}
	var to []string
	csv := "email,name\n"
	for i := 0; i < 3; i++ {
		addr := strings.ToLower(awstest.UniqueName(fmt.Sprintf("learner%d", i))) + "@example.org"
		to = append(to, addr)
		csv += fmt.Sprintf("%s,Learner %d\n", addr, i)
	}
	if err := e.blobs.Put(ctx, domain.RosterKey(j.ID), strings.NewReader(csv), int64(len(csv)), "text/csv"); err != nil {
		t.Fatal(err)
	}
	if err := RosterHandler(e.bulk, e.opts)(ctx, s3Event(t, domain.RosterKey(j.ID))); err != nil {
		t.Fatal(err)
	}

	issueEv := receiveAll(t, sqsc, urls[domain.TopicIssue], "arn:aws:sqs:us-east-1:000000000000:issue", 3)
	if n := issueEv.Records[0].Attributes["ApproximateReceiveCount"]; n != "1" {
		t.Fatalf("ApproximateReceiveCount = %q on a first receive", n)
	}
	resp := run(t, IssueHandler(e.bulk, e.opts), issueEv)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("issue failures: %v", failedIDs(resp))
	}
	deleteAll(t, sqsc, urls[domain.TopicIssue], issueEv, resp)

	mailEv := receiveAll(t, sqsc, urls[domain.TopicMail], "arn:aws:sqs:us-east-1:000000000000:mail", 3)
	resp = run(t, MailHandler(e.bulk, e.opts), mailEv)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("mail failures: %v", failedIDs(resp))
	}
	deleteAll(t, sqsc, urls[domain.TopicMail], mailEv, resp)

	got := e.getJob(t, j.ID)
	if got.State != domain.JobDone || got.Issued != 3 || got.Mailed != 3 {
		t.Fatalf("job %s issued %d mailed %d, want done, 3, 3", got.State, got.Issued, got.Mailed)
	}
	byTo := map[string]awstest.SESEmail{}
	for _, m := range awstest.SESEmails(t, sesEndpoint) {
		for _, addr := range m.Destination.To {
			if slices.Contains(to, addr) {
				if _, dup := byTo[addr]; dup {
					t.Errorf("%s was mailed twice", addr)
				}
				byTo[addr] = m
			}
		}
	}
	creds := map[string]domain.Credential{}
	for _, c := range e.credentials(t) {
		creds[c.RecipientEmail] = c
	}
	for _, addr := range to {
		m, ok := byTo[addr]
		if !ok {
			t.Errorf("no mail to %s reached SES", addr)
			continue
		}
		c := creds[addr]
		if c.Mail.State != domain.MailSent || c.Mail.MessageID != m.MessageID {
			t.Errorf("%s: credential mail %+v, SES message %s", addr, c.Mail, m.MessageID)
		}
		if !strings.Contains(m.Subject, e.ach.Name) || !strings.Contains(m.Body.Text, e.svc.CredentialURL(c.ID)) {
			t.Errorf("%s: subject %q / text without the credential's URL", addr, m.Subject)
		}
	}
}
