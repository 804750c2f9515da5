# Workflows: `make run` serves the API (embedded default), `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run up down test lint format bench bench-instructions bench-inbox load schema install console frontend-types e2e clean

$(VENV)/.installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.lock
	touch $@

install: $(VENV)/.installed

# The console (frontend/): npm ci from the committed lock whenever it changes, a Vite build
# whenever a source changes. Needs Node 20+ and npm; never downloads a browser.
NPM_ENV := PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_config_audit=false npm_config_fund=false
CONSOLE_SRC := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/tsconfig.json

frontend/node_modules/.installed: frontend/package-lock.json
	@command -v npm >/dev/null || { echo "The console needs Node.js 20+ and npm (e.g. apt-get install nodejs npm)" >&2; exit 1; }
	cd frontend && $(NPM_ENV) npm ci --no-progress
	touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(CONSOLE_SRC)
	cd frontend && npm run --silent build

console: frontend/dist/index.html

# TypeScript types of the API, generated from the OpenAPI schema (commit the result).
frontend-types: install frontend/node_modules/.installed
	DATABASE_URL=sqlite:///:memory: $(PY) manage.py spectacular --file var/openapi.yaml 2>/dev/null
	cd frontend && npx openapi-typescript ../var/openapi.yaml -o src/api/schema.d.ts

# Only here: DEBUG pages and webhooks to private addresses (a local receiver). The local settings
# make the secret key once, in var/secret_key (0600); manage.py alone loosens nothing.
RUN_ADDR ?= 127.0.0.1:8000
RUN_ENV := DJANGO_SETTINGS_MODULE=config.settings.local DJANGO_DEBUG=1 WEBHOOK_ALLOW_PRIVATE=1 \
	WORKFLOWS_CONSOLE_URL=http://$(RUN_ADDR)

run: install console
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py seed_demo
	$(RUN_ENV) $(PY) manage.py relay_outbox --once  # what a stopped run left undone
	@echo "Console: http://$(RUN_ADDR)/ (sign in with a demo login above)"
# The job poller (retries, timers) beside the server, stopped with it: a poller crosses
# tenants, which the web process never does.
	$(RUN_ENV) $(PY) manage.py run_jobs & jobs=$$!; trap 'kill $$jobs 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(PY) manage.py runserver --noreload $(RUN_ADDR)

# The production topology on this machine (README "Production topology: make up"): gunicorn,
# the relay and a Celery worker under honcho, on PostgreSQL, RabbitMQ and Redis. make down stops it.
up: install console
	bash scripts/up.sh

down:
	bash scripts/down.sh

test: install console
	bash scripts/test.sh $(ARGS)

# Only the browser tests (make test runs them too); extra Playwright arguments in E2E_ARGS.
e2e: install console
	bash scripts/with_postgres.sh bash scripts/e2e.sh $(E2E_ARGS)

lint: install frontend/node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache  # imports go one way (pyproject: tool.importlinter)
	DATABASE_URL=sqlite:///:memory: $(VENV)/bin/mypy  # the engine, services, selectors (pyproject: tool.mypy)
	DATABASE_URL=sqlite:///:memory: $(PY) manage.py makemigrations --check --dry-run
	bash scripts/lint_frontend.sh

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	bash scripts/with_postgres.sh $(PY) bench/approval_chain.py $(ARGS)
	bash scripts/with_postgres.sh $(PY) bench/timers.py $(TIMER_ARGS)

bench-instructions: install
	bash scripts/with_postgres.sh $(PY) bench/instructions.py $(ARGS)

# GET /api/tasks/ at 1,000 and 100,000 transfers in a tenant (bench/inbox.py).
bench-inbox: install
	bash scripts/with_postgres.sh $(PY) bench/inbox.py $(ARGS)

# The make up topology over HTTP with locust, from a separate process (bench/load/run.py):
# starts make up on its own database and port unless one answers there, make down after.
load: install console
	$(PY) bench/load/run.py $(ARGS)

schema: install
	$(PY) manage.py spectacular --file var/openapi.yaml --validate
	@echo "wrote var/openapi.yaml"

clean:
	rm -rf $(VENV) var frontend/node_modules frontend/dist frontend/test-artifacts
