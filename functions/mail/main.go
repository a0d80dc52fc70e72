// Command mail is the mail worker: SQS MailQueue batches (one credential notification per
// message, sent through SES at the account's pace) and SesEventsQueue batches (bounces and
// complaints, which suppress the address), told apart by CREDENCE_SES_EVENTS_QUEUE_ARN. The
// handler is shared/workers; this main only wires it to the AWS adapters.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/credence-oss/credence/shared/adapters/s3blobs"
	"github.com/credence-oss/credence/shared/adapters/sesmailer"
	"github.com/credence-oss/credence/shared/app/cloud"
	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/roster/report"
	"github.com/credence-oss/credence/shared/workers"
)

func main() {
	log := cloud.Logger()
	b, _, err := cloud.BulkFromEnv(context.Background(), log, cloud.BulkParts{
		// One mailer per process: its token bucket paces every send of this instance.
		Mailer: func(cfg aws.Config, env cloud.BulkEnv, log *slog.Logger) domain.Mailer {
			return sesmailer.New(sesv2.NewFromConfig(cfg), sesmailer.Config{ConfigurationSet: env.SESConfigurationSet, Log: log})
		},
		// The worker that counts a job's last mail completes the job, and with it the job's
		// error report: hence the bucket and the report writer.
		Blobs:  s3blobs.Blobs,
		Report: report.CSV{},
	})
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	opts, err := workers.OptionsFromEnv(log)
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	if opts.SESEventsQueueARN == "" {
		log.Warn(workers.EnvSESEventsQueueARN + " is not set: SES events are recognised by their body only")
	}
	lambda.Start(workers.MailHandler(b, opts))
}
