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

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver --noreload 127.0.0.1:8000

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
