package awstest

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Smoke tests of the emulators .ci/testenv.sh starts, through the SDK clients pinned in go.mod:
// each proves the harness end to end (endpoint exported, emulator up, protocol understood) and
// checks one behaviour the adapters rely on. The adapters' own tests go further.

func TestEndpointSkipsOrFails(t *testing.T) {
	const svc = "NoSuchServiceForTest"
	t.Setenv(EndpointEnv(svc), "")
	t.Setenv(RequireEnv, "")
	ft := &fakeT{TB: t}
	runFake(ft, func() { Endpoint(ft, svc) })
	if !ft.skipped || ft.failed {
		t.Fatalf("without %s: skipped=%v failed=%v, want a skip", RequireEnv, ft.skipped, ft.failed)
	}

	t.Setenv(RequireEnv, "1")
	ft = &fakeT{TB: t}
	runFake(ft, func() { Endpoint(ft, svc) })
	if !ft.failed {
		t.Fatalf("with %s=1: skipped=%v failed=%v, want a failure", RequireEnv, ft.skipped, ft.failed)
	}

	t.Setenv(EndpointEnv(svc), "http://127.0.0.1:4566")
	ft = &fakeT{TB: t}
	var got string
	runFake(ft, func() { got = Endpoint(ft, svc) })
	if ft.failed || ft.skipped || got != "http://127.0.0.1:4566" {
		t.Fatalf("with the endpoint set: got %q failed=%v skipped=%v", got, ft.failed, ft.skipped)
	}
	if EndpointEnv("DynamoDB") != "CREDENCE_TEST_DYNAMODB_ENDPOINT" {
		t.Fatalf("EndpointEnv(DynamoDB) = %s", EndpointEnv("DynamoDB"))
	}
}

// fakeT records Skipf and Fatalf instead of ending the real test; like testing.T they stop the
// caller (by panicking, which runFake absorbs).
type fakeT struct {
	testing.TB
	skipped, failed bool
}

type stop struct{}

func (f *fakeT) Helper()               {}
func (f *fakeT) Skipf(string, ...any)  { f.skipped = true; panic(stop{}) }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true; panic(stop{}) }

func runFake(_ *fakeT, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stop); !ok {
				panic(r)
			}
		}
	}()
	fn()
}

func TestDynamoDBEmulator(t *testing.T) {
	client := dynamodb.NewFromConfig(Config(t, Endpoint(t, "DynamoDB")))
	ctx := t.Context()
	table := UniqueName("smoke")
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(t.Context(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})

	// Idempotent issuance rests on conditional writes: the second put of the same key must fail.
	put := func() error {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(table),
			Item: map[string]ddbtypes.AttributeValue{
				"pk":    &ddbtypes.AttributeValueMemberS{Value: "credential#1"},
				"state": &ddbtypes.AttributeValueMemberS{Value: "issued"},
			},
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		})
		return err
	}
	if err := put(); err != nil {
		t.Fatalf("first conditional PutItem: %v", err)
	}
	var ccf *ddbtypes.ConditionalCheckFailedException
	if err := put(); !errors.As(err, &ccf) {
		t.Fatalf("second conditional PutItem: %v, want ConditionalCheckFailedException", err)
	}
	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "credential#1"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if s, ok := got.Item["state"].(*ddbtypes.AttributeValueMemberS); !ok || s.Value != "issued" {
		t.Fatalf("GetItem returned %v", got.Item)
	}
}

func TestSQSEmulator(t *testing.T) {
	client := sqs.NewFromConfig(Config(t, Endpoint(t, "SQS")))
	ctx := t.Context()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(UniqueName("smoke"))})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	t.Cleanup(func() { _, _ = client.DeleteQueue(t.Context(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })

	// The issue pipeline sends in batches; the SDK must be able to read the batch result.
	batch, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{
		QueueUrl: q.QueueUrl,
		Entries: []sqstypes.SendMessageBatchRequestEntry{
			{Id: aws.String("a"), MessageBody: aws.String(`{"row":1}`)},
			{Id: aws.String("b"), MessageBody: aws.String(`{"row":2}`)},
		},
	})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	if len(batch.Successful) != 2 || len(batch.Failed) != 0 {
		t.Fatalf("SendMessageBatch: %d successful, %d failed", len(batch.Successful), len(batch.Failed))
	}
	bodies := map[string]bool{}
	for len(bodies) < 2 {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2,
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(out.Messages) == 0 {
			t.Fatalf("ReceiveMessage returned nothing; got %v so far", bodies)
		}
		for _, m := range out.Messages {
			bodies[aws.ToString(m.Body)] = true
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
	}
	if !bodies[`{"row":1}`] || !bodies[`{"row":2}`] {
		t.Fatalf("received %v", bodies)
	}
}

func TestSESEmulator(t *testing.T) {
	endpoint := Endpoint(t, "SES")
	client := sesv2.NewFromConfig(Config(t, endpoint))
	to := UniqueName("learner") + "@example.org"
	out, err := client.SendEmail(t.Context(), &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("badges@example.edu"),
		Destination:      &sestypes.Destination{ToAddresses: []string{to}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("Your badge is ready")},
			Body: &sestypes.Body{
				Text: &sestypes.Content{Data: aws.String("Open https://example.edu/c/1")},
				Html: &sestypes.Content{Data: aws.String(`<a href="https://example.edu/c/1">Open</a>`)},
			},
		}},
	})
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	if aws.ToString(out.MessageId) == "" {
		t.Fatal("SendEmail returned no MessageId")
	}
	var found *SESEmail
	for _, e := range SESEmails(t, endpoint) {
		if e.MessageID == aws.ToString(out.MessageId) {
			found = &e
		}
	}
	if found == nil {
		t.Fatalf("message %s is not in the emulator's store", aws.ToString(out.MessageId))
	}
	if found.From != "badges@example.edu" || len(found.Destination.To) != 1 || found.Destination.To[0] != to ||
		found.Subject != "Your badge is ready" || found.Body.Text != "Open https://example.edu/c/1" {
		t.Fatalf("stored message differs from what was sent: %+v", *found)
	}
}
