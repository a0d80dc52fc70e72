# Credence — every entry point a developer or CI needs.
SHELL := /bin/bash
GO    ?= go
PKGS  := ./...

.PHONY: help dev test test-unit bench lint build fuzz synth deploy destroy clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

dev: ## build the CLI and run everything locally with a demo issuer (no AWS account needed)
	$(GO) build -o bin/credence ./functions/credence
	./bin/credence serve --addr $(or $(ADDR),127.0.0.1:8080) --data $(or $(DATA),.credence)

test: ## install and start the emulators, run every test, stop the emulators
	@bash .ci/testenv.sh run -- $(GO) test -count=1 $(PKGS)

test-unit: ## unit tests only (no emulators; integration tests skip themselves)
	$(GO) test -count=1 $(PKGS)

bench: ## the speed budgets (README "Performance"): one core per benchmark, the roster on both
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s -cpu 1 $$($(GO) list ./shared/... | grep -v '/shared/app$$')
	$(GO) test -run '^$$' -bench Roster10k -benchtime 1x ./shared/app

lint: ## go vet + gofmt check
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fuzz: ## a short run of every fuzz target
	@for t in $$(grep -rl 'func Fuzz' --include='*_test.go' shared functions | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -ho 'func Fuzz[A-Za-z0-9_]*' $$t/*_test.go | cut -d' ' -f2); do \
	    echo "== $$t $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s ./$$t || exit 1; done; done

clean:
	rm -rf bin dist cdk.out .testenv

# --- AWS deployment (docs/deploy.md) ---------------------------------------------------------
STAGE   ?= dev
# The CDK CLI, pinned, fetched from npm on first use. No telemetry, no version check, no
# notices: nothing leaves the machine but what a deploy sends to AWS.
CDK     ?= npx --yes aws-cdk@2.1148.1
CDK_ENV := CDK_DISABLE_CLI_TELEMETRY=true CDK_DISABLE_VERSION_CHECK=1
CDK_CTX  = -c stage=$(STAGE) $(if $(DOMAIN),-c domainName=$(DOMAIN)) \
           $(if $(CERT_ARN),-c certificateArn=$(CERT_ARN)) $(if $(MAIL_FROM),-c mailFrom=$(MAIL_FROM)) \
           $(if $(ALARM_EMAIL),-c alarmEmail=$(ALARM_EMAIL))
# Lambda binaries stay under 20 MB (a budget: cold starts grow with the binary).
MAX_BOOTSTRAP_BYTES = 20000000
LAMBDAS  = $(filter-out credence,$(notdir $(patsubst %/,%,$(wildcard functions/*/))))

build: ## build each Lambda function (linux/arm64) into dist/<name>.zip
	@set -euo pipefail; mkdir -p dist; \
	for n in $(LAMBDAS); do \
	  if [ "$$($(GO) list -f '{{.Name}}' ./functions/$$n 2>/dev/null)" != main ]; then \
	    echo "build: functions/$$n has no main package: every functions/* directory except credence is a Lambda entrypoint (package main)" >&2; exit 1; fi; \
	  echo "build: $$n"; \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w" \
	    -o dist/$$n/bootstrap ./functions/$$n; \
	  size=$$(wc -c < dist/$$n/bootstrap); echo "build: $$n bootstrap $$((size / 1024)) KiB"; \
	  if [ "$$size" -gt $(MAX_BOOTSTRAP_BYTES) ]; then \
	    echo "build: functions/$$n is $$size bytes, over the $(MAX_BOOTSTRAP_BYTES)-byte budget (README, Performance)" >&2; exit 1; fi; \
	done; \
	$(GO) run ./infra/cmd/lambdazip dist $(LAMBDAS)

synth: build ## write the CloudFormation template to cdk.out (needs node; no AWS credentials)
	$(CDK_ENV) AWS_EC2_METADATA_DISABLED=true $(CDK) synth --quiet $(CDK_CTX)
	@echo "synth: cdk.out/credence-$(STAGE).template.json"

deploy: build ## deploy to your AWS account: make deploy STAGE=prod MAIL_FROM=… [DOMAIN= CERT_ARN= ALARM_EMAIL= ADMIN_KEY=]
	@set -euo pipefail; \
	if [ -z "$(MAIL_FROM)" ]; then echo "deploy: set MAIL_FROM=sender@your-domain (an SES-verified address or domain, see docs/deploy.md)" >&2; exit 2; fi; \
	memo=.credence/deploy/$(STAGE).admin-key.sha256; \
	if [ -n "$${ADMIN_KEY:-}" ]; then hash=$$(printf %s "$$ADMIN_KEY" | sha256sum | cut -d' ' -f1); \
	elif [ -s "$$memo" ]; then hash=$$(cat "$$memo"); echo "deploy: keeping the admin key whose SHA-256 is in $$memo (ADMIN_KEY=… replaces it)"; \
	else key=$$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n'); hash=$$(printf %s "$$key" | sha256sum | cut -d' ' -f1); \
	  echo "================================================================================"; \
	  echo " Admin API key for $(STAGE) (shown once; store it in a password manager now):"; \
	  echo "   $$key"; \
	  echo "================================================================================"; fi; \
	mkdir -p "$$(dirname "$$memo")"; printf '%s\n' "$$hash" > "$$memo"; \
	$(CDK_ENV) $(CDK) bootstrap $(CDK_CTX) -c adminKeyHash=$$hash; \
	$(CDK_ENV) $(CDK) deploy credence-$(STAGE) --require-approval never --outputs-file cdk.out/outputs-$(STAGE).json \
	  $(CDK_CTX) -c adminKeyHash=$$hash

destroy: build ## delete the stack (prod keeps its table, keys, bucket and logs): make destroy STAGE=dev
	$(CDK_ENV) $(CDK) destroy credence-$(STAGE) $(if $(FORCE),--force) $(CDK_CTX)
