# Fenzhen: `make run` serves on http://127.0.0.1:8080, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := bin/fenzhen
# fenzhen version prints these (git describe, the full commit); "devel" outside a git checkout.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
SKIPS := bin/test-skips.txt
ORT_LIB := third_party/onnxruntime/lib/libonnxruntime.so.1
export FENZHEN_DATA ?= $(abspath ../shared/data)
# Inputs per fuzz target in `make test`.
FUZZCOUNT ?= 40000x
export FUZZCOUNT

.PHONY: setup setup-train setup-browser run build test test-unit test-race fuzz bench vet fmt clean

## setup: install what is missing (Go modules, pinned ONNX Runtime); safe to repeat
setup: $(ORT_LIB)
	@$(GO) version >/dev/null || { echo "Go is required: https://go.dev/dl"; exit 1; }
	@$(GO) mod download
	@$(GO) mod verify >/dev/null

$(ORT_LIB): deploy/setup-ort.sh
	./deploy/setup-ort.sh

## setup-train: Debian packages for the Python training scripts and fixtures
setup-train:
	./deploy/setup-debian.sh

## setup-browser: Debian's Chromium, only for the web console's browser test
setup-browser:
	./deploy/setup-browser.sh

build: setup
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/fenzhen

## run: build and serve on 127.0.0.1:8080 with the committed models and embedded knowledge graph
run: build
	./$(BIN) serve

vet:
	$(GO) vet ./...

## test: vet, unit and integration tests (the docs' examples included), bounded fuzzing, then the skipped tests and why
test: setup vet test-unit fuzz
	@cat $(SKIPS)

test-unit:
	@mkdir -p bin
	set -o pipefail; $(GO) test -count=1 -timeout 8m -json ./... | $(GO) run ./deploy/testsummary -skips $(SKIPS)

test-race: setup
	$(GO) test -race -count=1 -timeout 10m ./inference/ ./api/

fuzz: setup
	./deploy/fuzz.sh

## bench: serving benchmark (raw ORT vs server without and with dynamic batching)
bench: build
	./$(BIN) bench --out bench/RESULTS.md

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
