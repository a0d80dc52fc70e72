// Command roster is the roster worker. Its S3 ObjectCreated events (the roster bucket's
// rosters/ prefix) have each file validated and its valid rows queued for the issue worker; an
// error makes Lambda retry the event, twice, then put it on the RosterFailures queue. That
// queue is this function's other event source: each record fails the roster's job with a
// message, so nobody waits for it forever. The handler, which tells the two events apart, is
// shared/workers; this main only wires it to the AWS adapters.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/credence-oss/credence/shared/adapters/s3blobs"
	"github.com/credence-oss/credence/shared/app/cloud"
	"github.com/credence-oss/credence/shared/roster"
	"github.com/credence-oss/credence/shared/roster/report"
	"github.com/credence-oss/credence/shared/workers"
)

func main() {
	log := cloud.Logger()
	b, _, err := cloud.BulkFromEnv(context.Background(), log, cloud.BulkParts{
		Blobs:  s3blobs.Blobs,
		Parse:  roster.Parser(roster.Options{}),
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
	lambda.Start(workers.RosterFunction(b, opts))
}
