# The two commands the README promises: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PG_INITDB := $(wildcard /usr/lib/postgresql/*/bin/initdb)

.PHONY: run test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.deps

# Set up (venv, schema, first admin) and run the web app and the deferred-mail worker.
# The port is checked first, so a busy one stops everything before a first admin exists;
# `ready` in the Procfile prints the address and credentials once the web app answers.
run: $(VENV)/.deps
	@$(BIN)/python -m portal.setup_run check-port
	$(BIN)/flask --app portal db upgrade
	$(BIN)/flask --app portal ensure-admin
	$(BIN)/honcho --procfile Procfile start

# Lint, then the whole suite on SQLite (browser tests included), then again on PostgreSQL.
test: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/pytest
ifneq ($(PG_INITDB),)
	PORTAL_TEST_DB=postgresql $(BIN)/pytest -m "not browser"
else
	@echo "PostgreSQL is not installed: skipped the PostgreSQL pass (apt-get install postgresql)."
endif
