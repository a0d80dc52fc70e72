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

bench: ## the speed budgets (README "Performance")
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s -cpu 1 ./shared/...

lint: ## go vet + gofmt check
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fuzz: ## a short run of every fuzz target
	@for t in $$(grep -rl 'func Fuzz' --include='*_test.go' shared functions | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -ho 'func Fuzz[A-Za-z0-9_]*' $$t/*_test.go | cut -d' ' -f2); do \
	    echo "== $$t $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s ./$$t || exit 1; done; done

clean:
	rm -rf bin dist cdk.out .testenv
