// Command api is the admin REST API (/v1) behind API Gateway HTTP API. The handler is
// shared/api; this main only wires it to the AWS adapters and Lambda.
package main

import (
	"context"
	"os"

	"github.com/credence-oss/credence/shared/adapters/s3blobs"
	"github.com/credence-oss/credence/shared/api"
	"github.com/credence-oss/credence/shared/app/cloud"
	"github.com/credence-oss/credence/shared/lambdahttp"
	"github.com/credence-oss/credence/shared/roster/report"
	"github.com/credence-oss/credence/shared/web"
)

func main() {
	log := cloud.Logger()
	// Bulk jobs need the roster bucket here: upload forms for rosters, download URLs of error
	// reports, and the report rewrite of a job that a read completes (hence the report writer).
	// Parsing is the roster function's and mail the mail function's (resend goes through the
	// mail queue), so their parts stay out of this binary. The stack always
	// sets CREDENCE_ROSTER_BUCKET for api, so its absence is a broken deployment and stops the
	// start like any other missing setting, rather than leaving /v1/jobs answering 503.
	b, _, err := cloud.BulkFromEnv(context.Background(), log, cloud.BulkParts{
		Blobs:  s3blobs.Blobs,
		Report: report.CSV{},
	})
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	lambdahttp.Start(web.Middleware(log, api.New(b.Svc, api.WithBulk(b))))
}
