# neural-host build. `make demo` runs the quickstart on the local platform;
# `make test` runs every test.
GO       ?= go
BIN      ?= bin
PROTO_DIR = proto
PB_OUT    = sdk/internal/platformpb
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

PLUGINS := $(notdir $(patsubst %/VERSION,%,$(wildcard plugins/*/VERSION)))
# A plugin's build tags, from its optional TAGS file (vertex drops the gRPC
# transport of cloud.google.com/go/storage, which it does not use).
tags = $(strip $(shell cat plugins/$(1)/TAGS 2>/dev/null))
PLUGIN_TAGS := $(strip $(sort $(foreach p,$(PLUGINS),$(call tags,$(p)))))

.PHONY: all build host plugins demo test check proto proto-check bench fmt vet clean tools deps release

all: build

build: host plugins

host:
	$(GO) build -o $(BIN)/neural-host ./host/cmd/neural-host

plugins: $(addprefix plugin-,$(PLUGINS))

plugin-%:
	$(GO) build -tags "$(call tags,$*)" -o $(BIN)/neural-plugin-$* ./plugins/$*

demo: host plugin-local
	./scripts/demo.sh

# The host and the SDK run under the race detector (the e2e tests build
# neural-host with it too); the plugins, whose tests drive cloud SDKs against
# local stand-ins, run without it to keep the suite's time in bounds.
test:
	$(GO) test -count=1 -race -timeout 30m ./host/... ./sdk/...
	$(GO) test -count=1 -timeout 30m -tags "$(PLUGIN_TAGS)" ./plugins/... ./bench/...

check: fmt vet proto-check

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

tools:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2

proto:
	protoc -I $(PROTO_DIR) \
	  --go_out=$(PB_OUT) --go_opt=paths=source_relative \
	  --go-grpc_out=$(PB_OUT) --go-grpc_opt=paths=source_relative \
	  neural/platform/v1/platform.proto
	mv $(PB_OUT)/neural/platform/v1/*.go $(PB_OUT)/ && rm -rf $(PB_OUT)/neural

proto-check: proto
	@git diff --exit-code -- $(PB_OUT) || { echo "generated proto code is stale: run 'make proto' and commit"; exit 1; }

# Each binary's non-standard dependencies, checked by host/deps_test.go.
deps:
	for d in host/cmd/neural-host $(addprefix plugins/,$(PLUGINS)); do \
	  $(GO) list -tags "$$(cat $$d/TAGS 2>/dev/null)" -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./$$d | LC_ALL=C sort > $$d/deps.txt; \
	done

# Cross-built archives of the host and every plugin, with SHA256SUMS, in dist/.
release:
	./scripts/release.sh

bench:
	./scripts/bench.sh

clean:
	rm -rf $(BIN) dist
