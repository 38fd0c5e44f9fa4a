# variant-autoscaler. `make demo` and `make test` set up everything they need.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

export GOWORK := off
GO ?= go

K8S_VERSION   := 1.37.2
CACHE_DIR     ?= $(HOME)/.cache/variant-autoscaler
ENVTEST_DIR   ?= $(CACHE_DIR)/envtest/$(K8S_VERSION)
BIN           := $(CURDIR)/bin
CONTROLLER_GEN := $(BIN)/controller-gen
GOLANGCI_LINT  := $(BIN)/golangci-lint

# The envtest binaries; test targets find them through KUBEBUILDER_ASSETS.
export KUBEBUILDER_ASSETS := $(ENVTEST_DIR)

GO_TEST_FLAGS ?= -count=1
# Everything outside test/ is pure enough to test without a control plane.
PKGS_UNIT         = $$($(GO) list ./... | grep -v '/test/')
PKGS_INTEGRATION := ./test/integration/... ./test/load/...

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z0-9_.-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRD and RBAC manifests.
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:dir=config/crd/bases
	cp config/crd/bases/llmd.ai_variantautoscalings.yaml charts/variant-autoscaler/crds/  # Helm reads only the chart's folder
	$(CONTROLLER_GEN) rbac:roleName=manager-role paths=./controller/... output:rbac:dir=config/rbac
	cp config/rbac/role.yaml charts/variant-autoscaler/files/role.yaml

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code.
	$(CONTROLLER_GEN) object paths=./api/...

.PHONY: dashboard
dashboard: ## Generate the Grafana dashboard (config/grafana and the chart's copy) from hack/dashboard.
	cd hack/dashboard && $(GO) run .

.PHONY: verify
verify: manifests generate verify-mod ## Regenerate and fail if anything tracked by git changed, or go.mod/go.sum are not tidy.
	@if [ -n "$$(git status --porcelain -- api config charts)" ]; then \
	  git status --porcelain -- api config charts; git --no-pager diff -- api config charts | head -50; \
	  echo "generated files are out of date: run 'make manifests generate' and commit"; exit 1; fi

.PHONY: verify-mod
verify-mod: ## Fail when `go mod tidy` would change go.mod or go.sum.
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit"; exit 1; }

.PHONY: fmt
fmt: ## Format the Go code.
	$(GO) fmt ./...

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

.PHONY: build
build: ## Build every binary into bin/.
	$(GO) build -o $(BIN)/ ./cmd/...

##@ Demo and image

DEMO_DURATION ?=
.PHONY: demo
demo: envtest-bins ## Run the operator on a local control plane with simulated load (Ctrl-C stops it; DEMO_DURATION=60s stops by itself).
	$(GO) run ./cmd/demo $(if $(DEMO_DURATION),--duration=$(DEMO_DURATION))

IMG ?= variant-autoscaler:dev
CONTAINER_TOOL ?= docker
.PHONY: docker-build
docker-build: ## Build the manager image IMG=... with the Dockerfile (needs a container engine).
	$(CONTAINER_TOOL) build -t $(IMG) .

##@ Tests

.PHONY: test
test: envtest-bins vet test-unit test-tools test-integration test-e2e ## Run every test (builds the control plane first).

.PHONY: test-unit
test-unit: ## Unit tests of pure packages (fuzz seeds included).
	$(GO) test $(GO_TEST_FLAGS) $(PKGS_UNIT)

.PHONY: test-tools
test-tools: ## The Helm chart (helm lint, renders; Helm Go SDK) and the dashboard (every PromQL parses), each in its own module.
	cd hack/helmtest && $(GO) test $(GO_TEST_FLAGS) ./...
	cd hack/dashboard && $(GO) test $(GO_TEST_FLAGS) ./...

.PHONY: test-integration
test-integration: envtest-bins ## Tests against a real kube-apiserver and etcd.
	$(GO) test $(GO_TEST_FLAGS) -timeout 20m $(PKGS_INTEGRATION)

.PHONY: loadtest
loadtest: envtest-bins ## Load test: sharded vs global baselines; LOADTEST_N=500,1000 LOADTEST_STRATEGIES=... LOADTEST_OUT=... (docs/performance.md).
	$(GO) build -o $(BIN)/loadtest ./test/load/cmd/loadtest
	LOADTEST_MAKE=1 $(BIN)/loadtest $(LOADTEST_FLAGS)

.PHONY: replay
replay: ## Decision-quality replays: simulator, policies, hindsight; regenerates docs/decision-quality/ (docs/decision-quality.md).
	$(GO) run ./cmd/replay -what-if -out docs/decision-quality $(REPLAY_FLAGS)

.PHONY: envtest-bins
envtest-bins: ## Build the local cluster from source into $(ENVTEST_DIR): kube-apiserver, kubectl, etcd, kube-controller-manager, kube-scheduler, kwok, Prometheus, KEDA.
	@hack/build-envtest.sh $(ENVTEST_DIR)

.PHONY: test-e2e
test-e2e: envtest-bins ## The operator against a real Prometheus (built from source by envtest-bins) scraping the vLLM and gateway emulator (about 8 minutes; docs/prometheus.md, docs/scale-to-zero.md).
	$(GO) test $(GO_TEST_FLAGS) -v -timeout 15m ./test/e2e/...

##@ Tools

$(CONTROLLER_GEN): hack/tools/go.mod
	cd hack/tools && $(GO) build -o $(CONTROLLER_GEN) sigs.k8s.io/controller-tools/cmd/controller-gen

$(GOLANGCI_LINT): hack/lint/go.mod
	cd hack/lint && $(GO) build -o $(GOLANGCI_LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint
