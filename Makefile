# Every target creates .venv from uv.lock first, so each works as the first
# command on a fresh clone. uv is bootstrapped with pip when it is missing and
# always uses this machine's python3 (it never downloads an interpreter).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
export UV_PYTHON_DOWNLOADS := never
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
# pytest-xdist workers for `make test`: a module's tests, and the modules sharing an expensive
# session fixture, stay on one worker (retail_platform_tests/conftest.py); 0: one process.
TEST_WORKERS ?= 2

.PHONY: setup demo dev test test-fast test-bigquery test-image image lint bench contract clean

$(STAMP): pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	# --compile-bytecode: every dbt invocation is a new Python process; without .pyc files
	# (e.g. under PYTHONDONTWRITEBYTECODE=1) each one compiles dbt and its deps again (~4 s).
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

setup: $(STAMP)  ## the environment, and dbt's manifest.json (dbt parse) for the local target
	RETAIL_TARGET=local $(BIN)/python -c \
		"from retail_platform.defs.transforms.project import ensure_manifest; ensure_manifest()"

demo: setup  ## simulate the 120 days ending yesterday (UTC), run every layer and the churn model over them (DEMO_ARGS="--start 2025-05-01 --days 30")
	$(BIN)/retail-platform demo $(DEMO_ARGS)

dev: setup  ## the Dagster UI on http://127.0.0.1:3000 (local target); says how to load data when empty
	RETAIL_TARGET=local $(BIN)/python -m retail_platform.instance
	RETAIL_TARGET=local VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/dg dev -h 127.0.0.1 -p 3000

test: setup  ## the whole pytest suite (the BigQuery-target tests included), on TEST_WORKERS processes
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

test-fast: setup  ## under two minutes: the tests that need no pipeline run, emulator, browser or PostgreSQL (conftest.py's FAST_MODULES)
	$(BIN)/pytest -m fast -n $(TEST_WORKERS) --dist loadgroup

test-bigquery: setup  ## only the tests against the BigQuery and GCS emulators
	$(BIN)/pytest -m "bigquery or gcs"

image:  ## the deployment's image (deploy/image/Containerfile) with buildah, in .image-build/ (root; installs buildah, debootstrap)
	deploy/image/build.sh

test-image: setup  ## build the image and check it from inside (pytest -m image; root)
	$(BIN)/pytest -m image -s

lint: setup  ## ruff, sqlfluff (.sqlfluff: the dbt models and macros), dg check defs (the local target's definitions load), terraform fmt where installed
	$(BIN)/ruff check retail_platform retail_platform_tests benchmarks sql/lint_context
	$(BIN)/ruff format --check retail_platform retail_platform_tests benchmarks sql/lint_context
	$(BIN)/sqlfluff lint sql/models sql/macros
	@# dg (pyproject.toml's [tool.dg]) loads retail_platform.definitions with a throwaway instance,
	@# not data/dagster_home; VIRTUAL_ENV: the venv at the root is the one dg runs in
	home=$$(mktemp -d) && printf 'telemetry:\n  enabled: false\n' >$$home/dagster.yaml && VIRTUAL_ENV=$(abspath $(VENV)) \
	RETAIL_TARGET=local DAGSTER_HOME=$$home $(BIN)/dg check defs; \
	status=$$?; rm -rf $$home; exit $$status
	@# terraform is not in Debian's archive; where it is installed, its format is checked
	@if command -v terraform >/dev/null; then terraform fmt -check -recursive deploy/terraform; \
	else echo "terraform not installed: deploy/terraform's format not checked"; fi

bench: setup  ## benchmarks; each replaces its section of benchmarks/RESULTS.md and appends its figures to benchmarks/history.csv (BENCH_ARGS="--only backfill,daily --keep")
	$(BIN)/python -m benchmarks.run --record $(BENCH_ARGS)

contract: setup  ## regenerate sql/macros/contract.sql, sql/models/raw_sources.yml and docs/contract.md's tables from retail_platform/contract.toml
	$(BIN)/python -m retail_platform.lib.contract_codegen

clean:
	rm -rf $(VENV) .venv-bqemulator data sql/target sql/logs .image-build
