// Command verify is the public site behind CloudFront: credential pages and documents, issuer
// DID documents and profiles, status lists, the verify tool and the engagement beacon. The
// handler is shared/site; this main only wires it to the AWS adapters and Lambda.
package main

import (
	"context"
	"os"

	"github.com/credence-oss/credence/shared/app/cloud"
	"github.com/credence-oss/credence/shared/lambdahttp"
	"github.com/credence-oss/credence/shared/site"
	"github.com/credence-oss/credence/shared/web"
)

func main() {
	log := cloud.Logger()
	svc, _, err := cloud.FromEnv(context.Background(), log)
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	lambdahttp.Start(web.Middleware(log, site.New(svc)))
}
