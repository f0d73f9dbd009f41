# Entry points. `make demo` and `make test` work on a fresh machine with Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: focus-validator bi test-bi dev-build install demo build test test-fast test-slow test-spark lint lint-dbt format format-sql validate docs dagster bench clean browser serve bench-api bench-100m

$(STAMP): pyproject.toml packages/aiusage-tracking/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./packages/aiusage-tracking -e '.[test,lint]'
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
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) \
		|| echo "could not install chromium: the dashboard browser tests will be skipped"; \
	else echo "chromium missing and not root: the dashboard browser tests will be skipped"; fi

## Every Great Expectations suite; Data Docs into $$AIUSAGE_GX_DOCS_DIR (data/gx_docs).
validate: install
	$(BIN)/aiusage validate

## Every test (unit, integration, end to end).
test: install browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

## The whole project on local Spark (dbt-spark session) vs DuckDB over one small sample;
## every mart must match (tests/integration/test_spark_parity.py). Needs Java 17.
SPARK_STAMP := $(VENV)/.installed-spark
$(SPARK_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e ./packages/aiusage-tracking -e '.[test,lint,spark]'
	touch $(SPARK_STAMP)

test-spark: install $(SPARK_STAMP)
	$(BIN)/python -m pytest -q -m spark -p no:cacheprovider tests/integration/test_spark_parity.py

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

## Fault injection (killed refreshes, concurrent readers, full disk, hostile input builds):
## several real refreshes (about 10 minutes of CPU on 2 cores); run by CI after `make test`.
test-slow: install focus-validator
	$(BIN)/python -m pytest -q -m slow_ci

## Conventions checked by tools: ruff (Python), import-linter (the one-way import order of
## pyproject.toml), yamllint (the dbt project's YAML; .yamllint), sqlfluff (SQL, dbt
## templater, DuckDB dialect), dbt-score (manifest: names by layer, descriptions, primary-key
## tests, layering, contracts, source freshness; rules in tests/lint/dbt_score_rules.py; no
## exclusions).
PY_LINT := src orchestration packages tests bench bi
# sqlfluff runs twice over models/ and tests/dbt. Pass 1 lints the SQL as written. Pass 2
# lints what the macros (macros/) render: sqlfluff cannot lint a macro file by itself (the
# dbt templater skips files under macro-paths, "Skipped file ... because it is a macro";
# the jinja templater renders a file of {% macro %} blocks to nothing, so no rule sees a
# macro body), and in a model a macro's output lies in templated slices, which sqlfluff
# does not report by default. Pass 2 sets ignore_templated_areas = False (.sqlfluff-macros),
# so every rule applies to each macro's SQL where a model or test renders it (a violation
# points at the macro call); RF06 is off in that pass only, since dbt quotes every relation
# it renders. Not covered: the spark__ forms (the lint target is DuckDB), and the SQL a
# macro runs itself (run_query) or a generic test renders.
# Lint debt, listed so `make lint` guards everything else: sqlfluff rules not yet clean.
# Shrink this list; never grow it. (ST06, RF04 and AM04 are documented choices,
# pyproject.toml [tool.sqlfluff.core].)
SQLFLUFF_PENDING :=
comma := ,
SQLFLUFF_EXCLUDE := ST06,RF04,AM04$(if $(SQLFLUFF_PENDING),$(comma)$(SQLFLUFF_PENDING))
LINT_ENV := DBT_PROFILES_DIR=. AIUSAGE_DUCKDB_PATH=$(CURDIR)/target/lint.duckdb
# The SQL sqlfluff lints (`make lint-dbt SQL_PATHS=models/marts/finance/my_mart.sql`: one
# model; tests/integration/test_mart_template.py lints the template of docs/adding-a-mart.md).
SQL_PATHS ?= models tests/dbt

lint: install
	$(BIN)/ruff check $(PY_LINT)
	$(BIN)/ruff format --check $(PY_LINT)
	$(BIN)/lint-imports
	$(MAKE) --no-print-directory lint-dbt

## The dbt project's conventions alone: yamllint, dbt-score, sqlfluff over $$(SQL_PATHS).
lint-dbt: install
	$(BIN)/yamllint models seeds dbt_project.yml profiles.yml .yamllint .pre-commit-config.yaml
	$(LINT_ENV) $(BIN)/dbt parse --quiet
	$(LINT_ENV) PYTHONPATH=. $(BIN)/dbt-score lint -m target/manifest.json
	$(LINT_ENV) $(BIN)/sqlfluff lint $(SQL_PATHS) --exclude-rules $(SQLFLUFF_EXCLUDE)
	$(LINT_ENV) $(BIN)/sqlfluff lint $(SQL_PATHS) --config .sqlfluff-macros \
		--exclude-rules $(SQLFLUFF_EXCLUDE),RF06

format: install
	$(BIN)/ruff format $(PY_LINT)
	$(BIN)/ruff check --fix $(PY_LINT)

format-sql: install
	$(LINT_ENV) $(BIN)/sqlfluff fix models tests/dbt

## dbt docs (descriptions of every model and column) into target/.
docs: install
	cd . && DBT_PROFILES_DIR=. $(BIN)/dbt docs generate

## The Dagster UI on http://127.0.0.1:3000; its state (runs, sensor cursors) in
## $$DAGSTER_HOME (data/dagster_home); SIGINT or SIGTERM stops it cleanly (orchestration/ui.py).
DAGSTER_PORT ?= 3000
dagster: install
	exec $(BIN)/python -m orchestration.ui -p $(DAGSTER_PORT)

## Benchmarks (not part of `make test`): 90 days at ~1M and ~10M events, cached in bench/.cache.
bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

## 100M events (not in CI; ~210 GB of disk, checked before anything is generated): full
## build and one new day on that history, wall time and peak RSS (issue 16).
bench-100m: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/bench.py --events-per-day 1111112 --scale-run $(BENCH_ARGS)

## API load benchmark (not part of `make test`): 50 clients for 30 s against `aiusage serve`.
bench-api: install
	$(BIN)/python bench/load_api.py $(BENCH_API_ARGS)

## The team API and dashboard on http://127.0.0.1:8321 (tokens: aiusage tokens create).
serve: install
	$(BIN)/aiusage serve

## Apache Superset on http://127.0.0.1:8088 (user admin, password $$AIUSAGE_BI_ADMIN_PASSWORD)
## with the dashboard "AI usage" of bi/bundle over data/published/current.duckdb (bi/run.py).
## Its own venv (.venv-bi): Superset's pins never touch the warehouse's.
BI_VENV := .venv-bi
BI_STAMP := $(BI_VENV)/.installed
BI_PATHS = $(BIN)/python -c 'from aiusage.settings import Settings; 	from aiusage.snapshot import stable_duckdb_path; s = Settings.from_env(); 	print(stable_duckdb_path(s), s.bi_home)'
$(BI_STAMP): bi/requirements.txt
	test -x $(BI_VENV)/bin/python || $(PYTHON) -m venv $(BI_VENV)
	$(BI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BI_VENV)/bin/python -m pip install --quiet -r bi/requirements.txt
	touch $(BI_STAMP)

BI_PORT ?= 8088
bi: install $(BI_STAMP)
	@test -n "$$AIUSAGE_BI_ADMIN_PASSWORD" || { echo "Set AIUSAGE_BI_ADMIN_PASSWORD"; exit 2; }
	read -r snapshot home <<< "$$($(BI_PATHS))" && \
		exec $(BI_VENV)/bin/python bi/run.py --snapshot "$$snapshot" --home "$$home" --port $(BI_PORT)

## Superset and the Dagster UI in headless Chromium, figures against the marts, during a
## refresh (tests/bi; screenshots into $$AIUSAGE_BI_SCREENSHOTS, data/bi/screenshots).
test-bi: install browser $(BI_STAMP)
	$(BIN)/python -m pytest -q -m bi -p no:cacheprovider tests/bi

## An analyst's build of their models into their own DuckDB file (dbt target `dev`, reading
## the published marts; docs/bi.md): make dev-build SELECT=my_model. The production
## manifest (target/prod-state) names the relations --defer reads from the snapshot.
dev-build: install
	@test -n "$(SELECT)" || { echo "make dev-build SELECT=<dbt selection>"; exit 2; }
	mkdir -p data/dev
	DBT_PROFILES_DIR=. $(BIN)/dbt parse --quiet --target-path target/prod-state
	DBT_PROFILES_DIR=. $(BIN)/dbt build --target dev --target-path target/dev \
		--defer --state target/prod-state --select $(SELECT)

clean:
	rm -rf target logs data/warehouse.duckdb data/landing data/gx_docs

## The FinOps Foundation's focus-validator 2.2.1 in its own Python 3.12 venv ($(FOCUS_VENV)):
## it needs Python >= 3.12 and numpy < 2, hence pyarrow 21.0.0 beside it. `aiusage export
## validate-focus FILE` runs it offline on an export; make test-slow checks the FOCUS 1.2
## export of a generated warehouse with it (tests/integration/test_otel_focus.py).
FOCUS_VENV ?= .venv-focus
FOCUS_STAMP := $(FOCUS_VENV)/.installed
$(FOCUS_STAMP):
	@py=$$(for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12; do \
		$$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && echo $$p && break; \
	done); test -n "$$py" || { echo "focus-validator needs Python 3.12 (python3.12 not found)"; exit 1; }; \
	test -x $(FOCUS_VENV)/bin/python || $$py -m venv $(FOCUS_VENV)
	$(FOCUS_VENV)/bin/python -m pip install --quiet focus-validator==2.2.1 pyarrow==21.0.0
	touch $(FOCUS_STAMP)

focus-validator: $(FOCUS_STAMP)
