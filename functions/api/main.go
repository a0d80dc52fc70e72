// Command api is the admin REST API (/v1) behind API Gateway HTTP API. The handler is
// shared/api; this main only wires it to the AWS adapters and Lambda.
package main

import (
	"context"
	"os"

	"github.com/credence-oss/credence/shared/api"
	"github.com/credence-oss/credence/shared/app/cloud"
	"github.com/credence-oss/credence/shared/lambdahttp"
	"github.com/credence-oss/credence/shared/web"
)

func main() {
	log := cloud.Logger()
	svc, _, err := cloud.FromEnv(context.Background(), log)
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	lambdahttp.Start(web.Middleware(log, api.New(svc)))
}
