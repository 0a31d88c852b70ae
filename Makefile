# Two commands for a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install migrate demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

migrate: install
	mkdir -p var
	DEBUG=true $(BIN)/python manage.py migrate --noinput

demo: migrate
	DEBUG=true $(BIN)/python manage.py seed_demo

# Embedded default: SQLite under var/, tasks run eagerly (no Redis needed).
run: demo
	@echo
	@echo "  testmanager is starting on http://127.0.0.1:8000/"
	@echo "  log in as: demo / demo-password   (admin: http://127.0.0.1:8000/admin/)"
	@echo
	DEBUG=true TRACKER_ALLOW_PRIVATE_HOSTS=false $(BIN)/python manage.py runserver 127.0.0.1:8000

# Guards, run by `make test` before the suite and failing it: lint and import sorting, formatting
# ([tool.ruff] in pyproject.toml) and the import contracts ([tool.importlinter]).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The guards above, then the whole suite on real PostgreSQL and Redis, with the Redmine tests against a
# real Redmine (all started here, stopped after; a service that cannot start stops the target with its
# message, and the suite refuses to run on anything else: TEST_SERVICES_REQUIRED), then the model tests
# again on SQLite. Fails on any failure and on "no tests collected" (exit 5).
test: lint
	@set -euo pipefail; \
	trap 'scripts/test-services.sh stop' EXIT; \
	services=$$(scripts/test-services.sh start); \
	eval "$$services"; \
	echo "== PostgreSQL + Redis pass"; \
	TEST_SERVICES_REQUIRED=true $(BIN)/pytest -p no:cacheprovider -n 2; \
	echo "== SQLite pass (model tests)"; \
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-sqlite.sqlite3 REDIS_URL= \
	  $(BIN)/pytest -p no:cacheprovider -m "not postgres" tests/projects/test_models.py tests/integrations/test_models.py tests/issues/test_models.py

# Production-like run on 127.0.0.1: gunicorn, a Celery worker with beat, whitenoise, PostgreSQL and
# Redis (started under var/prod-services unless DATABASE_URL and REDIS_URL are set); Ctrl-C stops
# everything. Needs SECRET_KEY: see the README's "Production" section.
.PHONY: prod
prod: install
	scripts/prod.sh

clean:
	rm -rf $(VENV) var *.egg-info
