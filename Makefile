# Workflows: `make run` serves the API (embedded default), `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint format bench bench-instructions schema install clean

$(VENV)/.installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.lock
	touch $@

install: $(VENV)/.installed

# Only here: DEBUG pages and webhooks to private addresses (a local receiver). The local settings
# make the secret key once, in var/secret_key (0600); manage.py alone loosens nothing.
RUN_ENV := DJANGO_SETTINGS_MODULE=config.settings.local DJANGO_DEBUG=1 WEBHOOK_ALLOW_PRIVATE=1
RUN_ADDR ?= 127.0.0.1:8000

run: install
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py seed_demo
	$(RUN_ENV) $(PY) manage.py relay_outbox --once  # what a stopped run left undone
	$(RUN_ENV) $(PY) manage.py runserver --noreload $(RUN_ADDR)

test: install
	bash scripts/test.sh $(ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DATABASE_URL=sqlite:///:memory: $(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	bash scripts/with_postgres.sh $(PY) bench/approval_chain.py $(ARGS)

bench-instructions: install
	bash scripts/with_postgres.sh $(PY) bench/instructions.py $(ARGS)

schema: install
	$(PY) manage.py spectacular --file var/openapi.yaml --validate
	@echo "wrote var/openapi.yaml"

clean:
	rm -rf $(VENV) var
