package cloud

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/credence-oss/credence/shared/adapters/dynamostore"
	"github.com/credence-oss/credence/shared/domain"
)

type fakeMailer struct{ env BulkEnv }

func (fakeMailer) Send(context.Context, domain.Mail) (string, error) { return "id", nil }

type fakeBlobs struct {
	domain.Blobs
	bucket string
}

func TestNewBulk(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := aws.Config{Region: "us-east-1"}
	svc := &domain.Service{Store: dynamostore.New(dynamodb.NewFromConfig(cfg), "credence-test")}
	ctx := t.Context()

	// A function that passes no parts (issue) gets ports that refuse, not nil ones that panic.
	b, err := NewBulk(svc, cfg, BulkEnv{}, BulkParts{}, log)
	if err != nil {
		t.Fatal(err)
	}
	if b.Jobs == nil {
		t.Fatal("no JobStore: the DynamoDB store should be it")
	}
	if _, err := b.Blobs.Open(ctx, "rosters/x"); !errors.Is(err, errNotConfigured) {
		t.Errorf("Blobs.Open without a bucket: %v", err)
	}
	if _, err := b.Mailing.Mailer.Send(ctx, domain.Mail{}); !errors.Is(err, errNotConfigured) {
		t.Errorf("Send without a mailer: %v", err)
	}
	if err := b.Parse(ctx, strings.NewReader(""), 0, "a.csv", nil, nil); !errors.Is(err, errNotConfigured) {
		t.Errorf("Parse without a parser: %v", err)
	}
	if err := b.Report.Write(io.Discard, nil); !errors.Is(err, errNotConfigured) {
		t.Errorf("Report.Write without a format: %v", err)
	}
	if _, err := b.Report.Read(strings.NewReader("")); !errors.Is(err, errNotConfigured) {
		t.Errorf("Report.Read without a format: %v", err)
	}

	// Parts whose settings are missing are refused at start, not at the first job.
	blobs := func(_ aws.Config, bucket string) domain.Blobs { return fakeBlobs{bucket: bucket} }
	mailer := func(_ aws.Config, env BulkEnv, _ *slog.Logger) domain.Mailer { return fakeMailer{env: env} }
	if _, err := NewBulk(svc, cfg, BulkEnv{}, BulkParts{Blobs: blobs}, log); err == nil || !strings.Contains(err.Error(), "CREDENCE_ROSTER_BUCKET") {
		t.Errorf("blobs without a bucket: %v", err)
	}
	if _, err := NewBulk(svc, cfg, BulkEnv{}, BulkParts{Mailer: mailer}, log); err == nil || !strings.Contains(err.Error(), "CREDENCE_MAIL_FROM") {
		t.Errorf("a mailer without a sender: %v", err)
	}

	env := BulkEnv{RosterBucket: "rosters-bucket", MailFrom: "badges@example.edu", SESConfigurationSet: "credence-test-mail"}
	b, err = NewBulk(svc, cfg, env, BulkParts{Blobs: blobs, Mailer: mailer}, log)
	if err != nil {
		t.Fatal(err)
	}
	if fb, ok := b.Blobs.(fakeBlobs); !ok || fb.bucket != "rosters-bucket" {
		t.Errorf("blobs %#v, want the part on the configured bucket", b.Blobs)
	}
	if fm, ok := b.Mailing.Mailer.(fakeMailer); !ok || fm.env.SESConfigurationSet != "credence-test-mail" {
		t.Errorf("mailer %#v, want the part with the configuration set", b.Mailing.Mailer)
	}
	if b.Mailing.From != "badges@example.edu" {
		t.Errorf("From %q", b.Mailing.From)
	}

	type notJobs struct{ domain.Store }
	if _, err := NewBulk(&domain.Service{Store: notJobs{}}, cfg, env, BulkParts{}, log); err == nil {
		t.Error("a store without jobs was accepted")
	}
}

func TestReadBulkEnv(t *testing.T) {
	t.Setenv("CREDENCE_ROSTER_BUCKET", " bucket ")
	t.Setenv("CREDENCE_MAIL_FROM", "badges@example.edu")
	t.Setenv("CREDENCE_SES_CONFIGURATION_SET", "set")
	if got := ReadBulkEnv(); got != (BulkEnv{RosterBucket: "bucket", MailFrom: "badges@example.edu", SESConfigurationSet: "set"}) {
		t.Fatalf("ReadBulkEnv = %+v", got)
	}
}
