# distsync developer commands. Every target installs what it needs on first use.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(abspath $(VENV)/bin)
STAMP := $(VENV)/.installed
PORT ?= 8080
# Test workers (pytest-xdist): e2e tests spend most of their time waiting on the local stack, so more workers
# than this 2-core machine's cores pay off: 4 measured 275 s against 300 s with 3 (docs/performance.md, section 8).
TEST_WORKERS ?= 4
# Base of the contracts breaking-change check: empty = the merge-base with main on a branch, HEAD~1 on main
# (docs/contracts.md); `make lint CONTRACTS_BASE=<ref>` to compare with another ref.
CONTRACTS_BASE ?=
export PATH := $(BIN):$(abspath node_modules/.bin):$(PATH)
export AWS_DEFAULT_REGION ?= us-east-1
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION ?= 1
# Bytecode caches on, whatever the shell says: without them every test worker, CLI call and Lambda worker
# process compiles the project's modules again, and pytest rewrites every test module's asserts again
# (collection 10.5 s -> 4.8 s; docs/performance.md, section 8).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install run test test-fast synth lint schemas openapi catalogue bench bench-cycle clean

install: $(STAMP) node_modules/.installed

$(STAMP): requirements.txt requirements-dev.txt layers/shared/requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## run: the stack on moto (no AWS account, no Docker), the demo scenario, then serve on 127.0.0.1:$(PORT)
run: install
	$(BIN)/distsync local up --port $(PORT)

## test: lint (ruff, import rules, types), then the whole suite (unit, integration on moto, CDK assertions +
## cdk-nag + cfn-lint, end to end)
test: lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

## test-fast: unit and integration tiers only (no synth, no local stack)
test-fast: install
	$(PY) -m pytest -n 4 tests/unit tests/integration

synth: install
	cdk synth --quiet --no-notices

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/distsync contracts check $(if $(CONTRACTS_BASE),--against $(CONTRACTS_BASE))

schemas: install
	$(PY) -m distsync.schemas schemas

openapi: install
	$(PY) -m distsync.openapi docs/openapi.json

catalogue: install
	$(BIN)/distsync catalogue --out docs/event-catalogue.md

bench: install
	$(PY) bench/cold_start.py
	$(PY) bench/aws_requests.py
	$(PY) bench/transformer_cost.py
	$(PY) bench/connector_requests.py

## bench-cycle: a generated 1,000,000-row forecast cycle through the bulk path (~4 min, ~0.5 GB)
bench-cycle: install
	$(PY) bench/forecast_cycle.py

clean:
	rm -rf cdk.out .build .distsync .pytest_cache
