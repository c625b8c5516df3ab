# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

## Set up everything on the embedded SQLite default and serve http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(BIN)/cityflow init --demo
	$(BIN)/cityflow serve --host $(HOST) --port $(PORT) --with-worker

## Install the test extras and run the whole suite (PostgreSQL too, when it can be started)
test: $(VENV)/.installed-test
	@url=$${CITYFLOW_TEST_POSTGRES_URL:-$$(.ci/postgres-up 2>/dev/null)}; \
	if [ -n "$$url" ]; then export CITYFLOW_TEST_POSTGRES_URL="$$url"; \
	else echo "note: PostgreSQL could not be started here; its tests are skipped"; fi; \
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory lint

lint: $(VENV)/.installed-test
	$(BIN)/ruff check engine api forms tests bench
	$(BIN)/mypy

## Benchmarks (never part of `make test`)
bench: $(VENV)/.installed-test
	@url=$${CITYFLOW_TEST_POSTGRES_URL:-$$(.ci/postgres-up 2>/dev/null)}; \
	[ -n "$$url" ] && export CITYFLOW_TEST_POSTGRES_URL="$$url"; \
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
