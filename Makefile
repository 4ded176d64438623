.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin/custodian
DATA_DIR  ?= ./data
PKGS      := ./...
# The durability suites start child processes and mount FUSE; the race
# detector slows SQLite about 20x, so they run without it.
DURABILITY := TestKillLoop|TestPowerLoss|TestWALStaysBounded

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n\n"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-14s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/custodian (no race detector)
	$(GO) build -o $(BIN) ./cmd/custodian

.PHONY: run
run: build ## Serve on the embedded store in ./data with demo data, print tokens
	$(BIN) serve --demo --data-dir $(DATA_DIR)

.PHONY: test
test: ## vet, gofmt, unit tests with -race, then the durability suites (kill -9, power loss, WAL bound) without it
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test -race -count=1 -timeout 20m -skip '$(DURABILITY)' $(PKGS)
	$(GO) test -count=1 -timeout 20m -run '$(DURABILITY)' -v ./eventstore/embedded/

.PHONY: test-kurrent
test-kurrent: ## Conformance suite against KurrentDB (needs Docker: brings the cluster up)
	docker compose up -d --wait kurrentdb-1 kurrentdb-2 kurrentdb-3
	KURRENTDB_URL='esdb://localhost:2113?tls=false' $(GO) test -count=1 ./eventstore/kurrent/...

.PHONY: killloop
killloop: ## The kill -9 durability loop with 10,000 cycles
	$(GO) test -count=1 -timeout 0 -run TestKillLoop ./eventstore/embedded/ -kill-cycles=10000

.PHONY: bench
bench: ## Store, domain, search and load benchmarks (figures go to docs/benchmarks.md)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./eventstore/embedded/
	$(GO) test -run '^$$' -bench BenchmarkCanView -benchtime 2s ./domain/
	$(GO) test -run '^$$' -bench BenchmarkSearch -benchtime 2000x ./projections/
	$(GO) test -run '^$$' -bench BenchmarkReadModelsHeap -benchtime 20x ./projections/
	$(GO) test -run '^$$' -bench BenchmarkMountCycle -benchtime 20x ./eventstore/internal/crashfs/
	$(GO) test -run '^$$' -bench BenchmarkLoad -benchtime 1x -timeout 60m ./tests/

.PHONY: lint
lint: ## gofmt, go vet
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)

.PHONY: up
up: ## docker compose up: a 3-node KurrentDB cluster and custodian
	docker compose up -d

.PHONY: down
down: ## docker compose down
	docker compose down
