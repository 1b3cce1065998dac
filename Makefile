# The two commands a newcomer needs: `make run` and `make test`. Both set everything up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Development secrets; production sets its own (see README "Deploying").
export DJANGO_DEBUG ?= 1
# `make run` serves through gunicorn, reloading on code changes: runserver answers a
# keep-alive client ~44 ms late (Nagle against delayed ACKs). One process, since the
# default state lives in that process's memory; threads serve requests side by side.
# The worker class gives each live-stream subscriber a thread beside the 8 (manage.py serve).
DEV_SERVER_FLAGS := --workers 1 --threads 8 --reload --no-control-socket \
	--worker-class agent33_site.management.commands.serve.StreamingThreadWorker

.PHONY: install browsers redis run serve test lint format bench sdk schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) manage.py migrate --noinput -v 0
	@echo ""
	@echo "Operator token (admin, every tenant):"
	@$(PY) manage.py issue_token --sub operator --scopes admin --operator --ttl 86400
	@echo ""
	@echo "Tenant token (tenant acme, one of the two demo tenants; read/write/execute, no admin):"
	@$(PY) manage.py issue_token --sub acme-integration --tenant acme --ttl 86400 \
		--scopes workflows:read,workflows:write,workflows:execute,multimodal:read,multimodal:write,outcomes:read,outcomes:write
	@echo ""
	@$(PY) manage.py ensure_superuser
	@echo "Docs: http://$(HOST):$(PORT)/v1/docs/  (paste a token under Authorize)"
	@echo "Staff console: http://$(HOST):$(PORT)/admin/  (user admin, password above)"
	AGENT33_SEED_DEMO=1 $(VENV)/bin/gunicorn $(DEV_SERVER_FLAGS) --bind $(HOST):$(PORT) agent33_site.wsgi

# The production start on one host (README "Deploying"): settings and secrets come from the
# environment, DJANGO_DEBUG defaults to 0 here; AGENT33_WORKERS processes (more than one
# needs AGENT33_STATE_BACKEND=redis).
SERVE_DEBUG := $(if $(filter environment command,$(origin DJANGO_DEBUG)),$(DJANGO_DEBUG),0)
serve: install
	DJANGO_DEBUG=$(SERVE_DEBUG) $(PY) manage.py serve --host $(HOST) --port $(PORT)

# Debian's chromium for the console's real-browser tests; without it they skip loudly.
browsers:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	if command -v apt-get >/dev/null 2>&1 && $$SUDO apt-get update -qq >/dev/null 2>&1 \
	   && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null 2>&1; \
	then echo "make browsers: installed Debian chromium"; \
	else echo "make browsers: WARNING could not install Debian chromium; browser tests will SKIP"; fi

# Debian's redis-server for the Redis store tests (each test session starts its own, on a
# free loopback port in a temp dir; never a system service).
redis:
	@if command -v redis-server >/dev/null 2>&1; then exit 0; fi; \
	SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	if command -v apt-get >/dev/null 2>&1 && $$SUDO apt-get update -qq >/dev/null 2>&1 \
	   && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null 2>&1; \
	then echo "make redis: installed Debian redis-server"; \
	else echo "make redis: WARNING could not install Debian redis-server; Redis tests will FAIL"; fi

# The whole suite on the memory backend, then the API and app tests again with the state in
# a private Redis, and the cross-process tests (Redis only). The kit's store tests already
# run on both backends in the first pass.
REDIS_TESTS := tests/api tests/outcomes tests/operations tests/multimodal \
	tests/platform/test_cross_process.py tests/platform/test_metrics.py \
	tests/platform/test_rate_limits.py tests/platform/test_request_ids.py
test: install browsers redis
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure."; fi; \
	[ $$rc -eq 0 ] || exit $$rc; \
	echo "== the same state tests with AGENT33_STATE_BACKEND=redis"; \
	$(PY) -m pytest --state-backend=redis $(REDIS_TESTS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure."; fi; \
	exit $$rc

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: install
	@set -e; for script in bench/*_bench.py; do echo "== $$script"; $(PY) $$script; done

schema: install
	$(PY) manage.py spectacular --validate --fail-on-warn --file schema.yml

# A typed Python client generated from the committed schema (not committed itself).
sdk: schema
	$(VENV)/bin/openapi-python-client generate --path schema.yml --config tools/sdk-config.yml \
		--meta setup --output-path build/sdk --overwrite --fail-on-warning
	@echo "SDK (package agent33_client) in build/sdk: $(PY) -m pip install ./build/sdk"

clean:
	rm -rf $(VENV) build staticfiles db.sqlite3 *.egg-info
