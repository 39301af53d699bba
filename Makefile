# The README's commands. `make run` starts everything locally; `make test` runs the whole suite.
# Both work on a fresh machine: they install what is missing (uv, the locked Python dependencies, PostgreSQL,
# the Kafka broker jars) and start what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: help run test stop lint unit bench chaos asyncapi venv infra tools services clean-local

help:
	@echo "make run    - start Kafka, PostgreSQL and every service locally (URLs printed at the end)"
	@echo "make test   - set up what the tests need and run the whole suite (lint included)"
	@echo "make stop   - stop what run/test started"
	@echo "make bench  - run the benchmarks under bench/"
	@echo "make chaos  - the chaos test at full size (make test runs a bounded one)"
	@echo "make lint   - ruff, the type checker (mypy) and the import contracts"
	@echo "make unit   - the fast tier: domain and service-layer tests, no broker, no database (under 30 s)"

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml shared/*/pyproject.toml services/*/pyproject.toml
	UV_PYTHON=$(PYTHON) $(UV) sync --frozen --all-packages
	touch $@

venv: $(VENV)/.synced

infra:
	bash deploy/local/stack.sh up

# programs the tests run as real clients (Debian's prometheus), installed when missing
tools:
	bash deploy/local/tools.sh

services: venv infra
	bash deploy/local/services.sh start

run: services

stop:
	bash deploy/local/services.sh stop
	bash deploy/local/stack.sh down

lint: venv
	$(VENV)/bin/ruff check shared services tests bench
	$(VENV)/bin/mypy
	MYPYPATH=tests $(VENV)/bin/mypy --explicit-package-bases tests/*/service  # the fakes meet the ports
	$(VENV)/bin/lint-imports --no-cache

test: venv infra tools lint
	$(VENV)/bin/pytest -q --durations=25 $(PYTEST_ARGS)

unit: venv
	$(VENV)/bin/pytest -q tests/*/unit tests/*/service $(PYTEST_ARGS)

# the chaos test at full size: one and three replicas of every worker, every replica killed twice, 400 applications
chaos: venv infra
	CHAOS_APPLICATIONS=400 CHAOS_KILLS=2 CHAOS_EVERY_REPLICA=1 CHAOS_REPLICAS=1,3 CHAOS_TIMEOUT_S=5400 \
		$(VENV)/bin/pytest -q -s tests/chaos $(PYTEST_ARGS)

bench: venv infra
	$(PY) -m bench

asyncapi: venv
	$(PY) -m contracts.asyncapi > shared/contracts/asyncapi.json
