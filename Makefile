# Cascade: run `make help` for the targets.
GO        ?= go
BIN       := bin
DATA_DIR  ?= ./cascade-data
ORGS      ?= deploy/examples/orgs.csv
# PROCESSORS: a processor registry to load too (make run PROCESSORS=deploy/examples/processors.csv).
PROCESSORS ?=

.DEFAULT_GOAL := help

# The version and commit stamped into the binaries (cascaded --version,
# cascadectl version) for builds where Go records no VCS information (a
# source tree without .git: pass them, e.g. make build REVISION=abc123).
VERSION_PKG := github.com/cascadehq/cascade/internal/version
VERSION     ?= $(shell git describe --tags --always 2>/dev/null)
REVISION    ?= $(shell git rev-parse HEAD 2>/dev/null)
REVTIME     ?= $(shell git log -1 --format=%cI 2>/dev/null)
MODIFIED    ?= $(shell git status --porcelain 2>/dev/null | grep -q . && echo true || echo false)
LDFLAGS     := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION) \
               -X $(VERSION_PKG).Time=$(REVTIME) -X $(VERSION_PKG).Modified=$(MODIFIED)

.PHONY: help
help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build cascaded and cascadectl into ./bin
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

.PHONY: run
run: build ## start cascaded with the embedded NATS server and the example registry
	$(BIN)/cascaded --data-dir $(DATA_DIR) --orgs $(ORGS) $(if $(PROCESSORS),--processors $(PROCESSORS))

DEMO_DIR  ?= ./cascade-demo

.PHONY: demo
demo: build ## watch Cascade work in 3 minutes: a fresh ./cascade-demo, a short clock, the example breach published; Ctrl-C stops
	BIN=$(BIN) DEMO_DIR=$(DEMO_DIR) ./deploy/demo.sh

.PHONY: generate
generate: ## regenerate Go code from proto/ with buf
	$(GO) tool buf generate

.PHONY: lint
lint: breaking ## gofmt, go vet, buf lint and the breaking-change check
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool buf lint

# API_BASELINE is the last released API: `make breaking` fails on any
# change to proto/ that breaks it on the wire or in generated code (buf's
# FILE rules). No release is tagged yet, so it is the commit of main that
# first checked the API. At a release, tag it (git tag -a v1.2.0 -m v1.2.0
# && git push origin v1.2.0) and point the variable at the tag
# (API_BASELINE := v1.2.0): later changes are then checked against what
# was released. A clone without the baseline (a shallow one) skips the
# check with a message; fetch it (git fetch --unshallow, or --tags) to run it.
API_BASELINE ?= fa181ed8d2a2163db0de1d4a919b68c514e54222

.PHONY: breaking
breaking: ## fail if proto/ breaks the API released at API_BASELINE (buf breaking)
	@if git cat-file -e '$(API_BASELINE)^{commit}' 2>/dev/null; then \
	  $(GO) tool buf breaking --against '.git#ref=$(API_BASELINE)' && \
	  echo "API compatible with $(API_BASELINE)"; \
	else \
	  echo "breaking: SKIPPED: API baseline $(API_BASELINE) is not in this clone (shallow, or the tag not fetched): git fetch --unshallow --tags, then make breaking"; \
	fi

.PHONY: check-generated
check-generated: ## fail if the generated proto code is not current
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	  $(GO) tool buf generate -o $$tmp && \
	  for f in $$(cd $$tmp && find . -name '*.go'); do \
	    cmp -s $$tmp/$$f $$f || { echo "generated code is stale: $$f (run make generate)"; exit 1; }; \
	  done && echo "generated code is current"

.PHONY: test
test: lint check-generated ## lint, check generated code, run every test with -race, then each fuzz target briefly (50,000 executions: a count, since Go 1.26 can fail a duration-bounded fuzz run that found nothing, golang/go#75804)
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) rules-test
	$(MAKE) fuzz FUZZTIME=50000x
	$(MAKE) bench-smoke

# promtool: the one on PATH (Debian's prometheus package, which .ci/run
# installs: seconds), else the one pinned in its own module
# (tools/promtool/go.mod, so that Prometheus's dependencies stay out of
# Cascade's go.mod), built on first use (many minutes on two cores).
PROMTOOL_ON_PATH := $(shell command -v promtool 2>/dev/null)

.PHONY: rules-test
rules-test: ## check the Prometheus alert rules (deploy/prometheus/alerts.yml) and run their unit tests with promtool
ifneq ($(PROMTOOL_ON_PATH),)
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml
else
	@echo "promtool is not on PATH: building the pinned one (apt-get install prometheus gives one at once)"
	$(GO) -C tools/promtool tool promtool check rules ../../deploy/prometheus/alerts.yml
	$(GO) -C tools/promtool tool promtool test rules ../../deploy/prometheus/alerts_test.yml
endif

.PHONY: test-short
test-short: ## quick tests (skips the crash tests)
	$(GO) test -short -count=1 ./...

FUZZ_TARGETS := FuzzParseCSV:./internal/registry/ FuzzDecodeReport:./internal/protoconv/ FuzzVerify:./internal/signing/ FuzzVerifyEvidence:./internal/signing/ FuzzParse:./internal/verify/

.PHONY: fuzz
fuzz: ## run each fuzz target (registry CSV, intake decoder, signature verifier) for FUZZTIME (default 60s)
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t%%:*} for $${FUZZTIME:-60s}"; \
	  $(GO) test -run='^$$' -fuzz="^$${t%%:*}$$" -fuzztime=$${FUZZTIME:-60s} $${t#*:} || exit 1; \
	done

.PHONY: clean
clean: ## remove binaries, the default data dir and the demo's
	rm -rf $(BIN) $(DATA_DIR) $(DEMO_DIR)

.PHONY: bench
bench: ## measure with cascade-load: every scenario at the default sizes, 3 reps (long: the restart/timers store is 1,000,000 notices); writes bench.json (extra flags: BENCH_FLAGS=...)
	$(GO) run ./cmd/cascade-load --json bench.json $(BENCH_FLAGS)

.PHONY: bench-smoke
bench-smoke: ## check cascade-load end to end: every scenario with tiny sizes (N=200, 1,000 notices, 2s durations, reps 1), well under a minute
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	  $(GO) run ./cmd/cascade-load --smoke --json $$tmp/bench-smoke.json
