package cloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/credence-oss/credence/shared/domain"
)

// BulkEnv is the part of the environment only bulk issuance reads. Each function gets only
// what it needs (docs/deploy.md): the roster bucket on api and roster, the mail settings on
// mail.
type BulkEnv struct {
	RosterBucket        string // CREDENCE_ROSTER_BUCKET
	MailFrom            string // CREDENCE_MAIL_FROM
	SESConfigurationSet string // CREDENCE_SES_CONFIGURATION_SET
}

// ReadBulkEnv reads the bulk issuance environment.
func ReadBulkEnv() BulkEnv {
	return BulkEnv{
		RosterBucket:        strings.TrimSpace(os.Getenv("CREDENCE_ROSTER_BUCKET")),
		MailFrom:            strings.TrimSpace(os.Getenv("CREDENCE_MAIL_FROM")),
		SESConfigurationSet: strings.TrimSpace(os.Getenv("CREDENCE_SES_CONFIGURATION_SET")),
	}
}

// BulkParts are the adapters of bulk issuance that only some functions use. Each main passes
// the ones it needs, so a function links only those: the roster parser (excelize), S3 and SES
// together add about 8 MB to a binary that must stay under 20 MB. A part left nil answers
// every call with an error saying it is not configured for this function.
type BulkParts struct {
	// Blobs opens the roster bucket (api: upload URLs and reports; roster: files and reports;
	// issue and mail: reports, which completing a job rewrites).
	Blobs func(cfg aws.Config, bucket string) domain.Blobs
	// Parse reads roster files (roster); Report writes error reports and reads them back
	// (every function that can complete a job: api, roster, issue, mail).
	Parse  domain.RosterParser
	Report domain.ReportFormat
	// Mailer sends notification mail (mail).
	Mailer func(cfg aws.Config, env BulkEnv, log *slog.Logger) domain.Mailer
}

// BulkFromEnv builds bulk issuance (jobs; the roster, issue and mail workers) on the AWS
// adapters: the Service of FromEnv (its DynamoDB store is also the JobStore; its SQS queue
// carries the issue and mail topics) and the parts the calling function passes.
func BulkFromEnv(ctx context.Context, log *slog.Logger, parts BulkParts) (*domain.Bulk, Env, error) {
	svc, env, err := FromEnv(ctx, log)
	if err != nil {
		return nil, env, err
	}
	cfg, err := AWSConfig(ctx)
	if err != nil {
		return nil, env, err
	}
	b, err := NewBulk(svc, cfg, ReadBulkEnv(), parts, log)
	return b, env, err
}

// NewBulk builds bulk issuance over svc, whose Store must also be a domain.JobStore (as
// dynamostore is). A part whose setting is missing (no bucket, no sender) is refused here
// rather than at the first job.
func NewBulk(svc *domain.Service, cfg aws.Config, be BulkEnv, parts BulkParts, log *slog.Logger) (*domain.Bulk, error) {
	jobs, ok := svc.Store.(domain.JobStore)
	if !ok {
		return nil, fmt.Errorf("bulk: the store %T does not keep jobs (domain.JobStore)", svc.Store)
	}
	b := &domain.Bulk{
		Svc: svc, Jobs: jobs,
		Blobs: unconfiguredBlobs{}, Parse: unconfiguredParse, Report: unconfiguredReport{},
		Mailing: domain.Mailing{Mailer: unconfiguredMailer{}},
	}
	if parts.Blobs != nil {
		if be.RosterBucket == "" {
			return nil, fmt.Errorf("bulk: CREDENCE_ROSTER_BUCKET is not set")
		}
		b.Blobs = parts.Blobs(cfg, be.RosterBucket)
	}
	if parts.Parse != nil {
		b.Parse = parts.Parse
	}
	if parts.Report != nil {
		b.Report = parts.Report
	}
	if parts.Mailer != nil {
		if be.MailFrom == "" {
			return nil, fmt.Errorf("bulk: CREDENCE_MAIL_FROM is not set")
		}
		b.Mailing = domain.Mailing{Mailer: parts.Mailer(cfg, be, log), From: be.MailFrom}
	}
	return b, nil
}

// errNotConfigured is wrapped by the ports of a function that lacks their settings.
var errNotConfigured = errors.New("not configured for this function")

type unconfiguredBlobs struct{}

func (unconfiguredBlobs) err() error { return fmt.Errorf("roster bucket: %w", errNotConfigured) }

func (u unconfiguredBlobs) PresignUpload(context.Context, string, int64, time.Duration) (domain.Upload, error) {
	return domain.Upload{}, u.err()
}
func (u unconfiguredBlobs) Open(context.Context, string) (domain.Blob, error) { return nil, u.err() }
func (u unconfiguredBlobs) Put(context.Context, string, io.Reader, int64, string) error {
	return u.err()
}
func (u unconfiguredBlobs) DownloadURL(context.Context, string, string, time.Duration) (string, error) {
	return "", u.err()
}

type unconfiguredMailer struct{}

func (unconfiguredMailer) Send(context.Context, domain.Mail) (string, error) {
	return "", fmt.Errorf("mail: %w", errNotConfigured)
}

func unconfiguredParse(context.Context, io.ReaderAt, int64, string, func(domain.RosterRow) error, func(domain.RowError) error) error {
	return fmt.Errorf("roster parser: %w", errNotConfigured)
}

type unconfiguredReport struct{}

func (unconfiguredReport) Write(io.Writer, []domain.RowError) error {
	return fmt.Errorf("error report: %w", errNotConfigured)
}

func (unconfiguredReport) Read(io.Reader) ([]domain.RowError, error) {
	return nil, fmt.Errorf("error report: %w", errNotConfigured)
}
