# The two commands the README promises: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PG_INITDB := $(wildcard /usr/lib/postgresql/*/bin/initdb)
# Test processes (pytest-xdist) for the passes without a browser: much of the suite waits
# on sockets and subprocesses. The browser tests run on their own, one at a time: Chromium
# is busy enough, and their timing stays that of a real user.
TEST_WORKERS ?= 2

.PHONY: run test translations

TRANSLATIONS := portal/translations
CATALOGS := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)

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
run: $(VENV)/.deps $(VENV)/.catalogs
	@$(BIN)/python -m portal.setup_run check-port
	$(BIN)/flask --app portal db upgrade
	$(BIN)/flask --app portal ensure-admin
	$(BIN)/honcho --procfile Procfile start

# Lint, then the whole suite on SQLite (the browser tests after the rest), then again on PostgreSQL
# (all but the tests that touch no database).
test: $(VENV)/.dev-deps $(VENV)/.catalogs
	$(BIN)/ruff check .
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not browser"
	$(BIN)/pytest -m browser
ifneq ($(PG_INITDB),)
	PORTAL_TEST_DB=postgresql $(BIN)/pytest -n $(TEST_WORKERS) -m "not browser and not backend_free"
else
	@echo "PostgreSQL is not installed: skipped the PostgreSQL pass (apt-get install postgresql)."
endif

# The compiled catalogs (.mo) are built from the committed .po files, never committed.
$(VENV)/.catalogs: $(CATALOGS) | $(VENV)/.deps
	$(BIN)/pybabel -q compile -d $(TRANSLATIONS)
	touch $@

# After changing text in the code or templates: collect it into messages.pot and add
# the new messages to each catalog, then translate them (tests/test_catalogs.py checks).
translations: $(VENV)/.deps
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k _l -k lazy_ngettext:1,2 \
		--add-location=file --sort-by-file --no-wrap -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel -q update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) \
		--no-fuzzy-matching --ignore-obsolete --no-wrap
