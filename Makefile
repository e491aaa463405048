# dvc-mobile — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := backend
PORT ?= 5000
# HOST=0.0.0.0 make run: reachable from a phone on the same network.
HOST ?= 127.0.0.1
# pytest-xdist workers for `make test` (0 runs the suite in one process).
TEST_WORKERS ?= 2

.PHONY: help install run test lint format openapi migration bench bench-reports \
	bench-notifications clean browser clients

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-19s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

# `make run` also mounts the demo e-ID provider (never in production) and registers it.
run: export DEMO_IDP_ENABLED := 1
run: export DEMO_IDP_ISSUER := http://127.0.0.1:$(PORT)/demo-idp
run: $(STAMP) ## serve the API on the embedded default (SQLite, no Redis) with demo data and demo e-ID
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	$(BIN)/flask providers add-demo
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: $(STAMP) clients ## run the whole test suite (PostgreSQL + Redis, then SQLite + memory)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(ARGS)

# The TypeScript client test's npm packages, pinned by its package-lock.json.
TS_CLIENT := tests/clients/typescript
$(TS_CLIENT)/node_modules/.package-lock.json: $(TS_CLIENT)/package-lock.json
	npm ci --prefix $(TS_CLIENT) --no-audit --no-fund

clients: ## the npm packages the generated TypeScript client is tested with (needs node and npm)
	@if command -v npm >/dev/null; then $(MAKE) -s --no-print-directory $(TS_CLIENT)/node_modules/.package-lock.json; \
	else echo "npm is missing: the TypeScript client test will be skipped (node 20+ and npm)"; fi

browser: ## Debian's chromium and chromium-driver, for the /docs test (needs root or sudo)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ apt-get install -y chromium chromium-driver || sudo apt-get install -y chromium chromium-driver; }

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check backend tests bench
	$(BIN)/ruff format --check backend tests bench

format: $(STAMP) ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix backend tests bench
	$(BIN)/ruff format backend tests bench

openapi: $(STAMP) ## regenerate openapi.yaml from the code
	$(BIN)/flask openapi write --format=yaml openapi.yaml

migration: $(STAMP) ## new migration from the models: make migration m="what changed"
	$(BIN)/flask db revision --autogenerate -m "$(m)"

bench: $(STAMP) ## the API under load (gunicorn, wrk) at 1M dossiers, beside a bare endpoint
	@command -v wrk >/dev/null || apt-get install -y wrk || \
		{ echo "wrk is missing: sudo apt-get install -y wrk"; exit 2; }
	$(BIN)/python bench/api.py $(ARGS)

bench-reports: $(STAMP) ## the quality report's time at 10k vs 1M dossiers
	$(BIN)/python bench/reports.py $(ARGS)

bench-notifications: $(STAMP) ## notifications per second of one worker vs a bare loop
	$(BIN)/python bench/notifications.py $(ARGS)

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
