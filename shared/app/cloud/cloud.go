// Package cloud wires the domain to the AWS adapters for the Lambda functions, from the
// environment the CDK stack sets.
package cloud

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/credence-oss/credence/shared/adapters/cfinvalidate"
	"github.com/credence-oss/credence/shared/adapters/dynamostore"
	"github.com/credence-oss/credence/shared/adapters/kmskeys"
	"github.com/credence-oss/credence/shared/adapters/sqsqueue"
	"github.com/credence-oss/credence/shared/domain"
)

// Env is the configuration a Lambda function reads (names fixed with the CDK stack; see
// docs/deploy.md).
type Env struct {
	Stage          string // CREDENCE_STAGE
	Table          string // CREDENCE_TABLE
	BaseURL        string // CREDENCE_BASE_URL
	KMSKeyTag      string // CREDENCE_KMS_KEY_TAG: key=value put on every per-issuer key
	IssueQueueURL  string // CREDENCE_ISSUE_QUEUE_URL
	MailQueueURL   string // CREDENCE_MAIL_QUEUE_URL
	MailFrom       string // CREDENCE_MAIL_FROM
	AdminKeySHA256 string // CREDENCE_ADMIN_KEY_SHA256
}

// ReadEnv reads the environment.
func ReadEnv() Env {
	return Env{
		Stage: os.Getenv("CREDENCE_STAGE"), Table: os.Getenv("CREDENCE_TABLE"), BaseURL: os.Getenv("CREDENCE_BASE_URL"),
		KMSKeyTag: os.Getenv("CREDENCE_KMS_KEY_TAG"), IssueQueueURL: os.Getenv("CREDENCE_ISSUE_QUEUE_URL"),
		MailQueueURL: os.Getenv("CREDENCE_MAIL_QUEUE_URL"), MailFrom: os.Getenv("CREDENCE_MAIL_FROM"),
		AdminKeySHA256: os.Getenv("CREDENCE_ADMIN_KEY_SHA256"),
	}
}

// Logger is the JSON logger every function writes to CloudWatch.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: levelFromEnv()}))
}

func levelFromEnv() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// FromEnv builds the domain on the AWS adapters, as configured by the environment.
func FromEnv(ctx context.Context, log *slog.Logger) (*domain.Service, Env, error) {
	env := ReadEnv()
	if env.Table == "" {
		return nil, env, fmt.Errorf("CREDENCE_TABLE is not set")
	}
	cfg, err := AWSConfig(ctx)
	if err != nil {
		return nil, env, err
	}
	var opts []kmskeys.Option
	if k, v, ok := strings.Cut(env.KMSKeyTag, "="); ok {
		opts = append(opts, kmskeys.WithTags(map[string]string{k: v}))
	}
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), env.Table)
	svc := &domain.Service{
		Store:            store,
		Analytics:        dynamostore.NewAnalytics(store),
		Signer:           kmskeys.New(kms.NewFromConfig(cfg), opts...),
		Queue:            sqsqueue.New(sqs.NewFromConfig(cfg), map[string]string{domain.TopicIssue: env.IssueQueueURL, domain.TopicMail: env.MailQueueURL}),
		Invalidator:      cfinvalidate.FromConfig(cfg, os.Getenv), // NopInvalidator without CREDENCE_DISTRIBUTION_ID
		Clock:            time.Now,
		BaseURL:          strings.TrimRight(env.BaseURL, "/"),
		BootstrapKeyHash: env.AdminKeySHA256,
		Log:              log,
	}
	return svc, env, nil
}
