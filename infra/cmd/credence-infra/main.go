// Command credence-infra is the CDK app of Credence: cdk.json at the repository root runs it
// (`go run ./infra/cmd/credence-infra`). It reads the stage parameters from CDK context
// (-c stage=prod -c mailFrom=... ; see docs/deploy.md) and synthesizes one stack.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/credence-oss/credence/infra"
)

func main() {
	if err := run(); err != nil {
		jsii.Close()
		fmt.Fprintln(os.Stderr, "credence-infra:", err)
		os.Exit(1)
	}
	jsii.Close()
}

func run() error {
	app := awscdk.NewApp(nil)
	cfg, err := infra.ConfigFromContext(func(key string) (any, bool) {
		v := app.Node().TryGetContext(jsii.String(key))
		return v, v != nil
	})
	if err != nil {
		return err
	}
	if _, err := infra.NewStack(app, cfg); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}
