// Command issue is the issue worker: SQS IssueQueue batches, one roster row per message,
// signed and stored one at a time (the stack's KMS arithmetic assumes it), with partial batch
// responses. The handler is shared/workers; this main only wires it to the AWS adapters.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/credence-oss/credence/shared/adapters/s3blobs"
	"github.com/credence-oss/credence/shared/app/cloud"
	"github.com/credence-oss/credence/shared/roster/report"
	"github.com/credence-oss/credence/shared/workers"
)

func main() {
	log := cloud.Logger()
	// The worker that counts a job's last row completes the job, and with it the job's error
	// report: hence the bucket and the report writer.
	b, _, err := cloud.BulkFromEnv(context.Background(), log, cloud.BulkParts{
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
	lambda.Start(workers.IssueHandler(b, opts))
}
