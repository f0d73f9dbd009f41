# Entry points. `make demo` and `make test` work on a fresh machine with Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo build test test-fast lint format docs dagster bench clean browser serve

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

install: $(STAMP)

## The main job end to end on the embedded DuckDB with generated sample data.
demo: install
	$(BIN)/aiusage demo

build: install
	$(BIN)/aiusage build

## Headless Chromium for the dashboard test (Debian package; apt needs root, as in CI).
browser:
	@command -v chromium >/dev/null || if [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && apt-get install -y -q chromium; \
	else echo "chromium missing and not root: the dashboard browser test will be skipped"; fi

## Every test (unit, integration, end to end).
test: install browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check orchestration tests bench
	$(BIN)/ruff format --check orchestration tests bench

format: install
	$(BIN)/ruff format orchestration tests bench
	$(BIN)/ruff check --fix orchestration tests bench

## dbt docs (descriptions of every model and column) into target/.
docs: install
	cd . && DBT_PROFILES_DIR=. $(BIN)/dbt docs generate

## The Dagster UI on http://127.0.0.1:3000
dagster: install
	DBT_PROFILES_DIR=. $(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

## Benchmarks (not part of `make test`): 90 days at ~1M and ~10M events, cached in bench/.cache.
bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

## The team API and dashboard on http://127.0.0.1:8321 (tokens: aiusage tokens create).
serve: install
	$(BIN)/aiusage serve

clean:
	rm -rf target logs data/warehouse.duckdb data/landing data/gx_docs
