# Sundial: `make run` starts the whole product, `make test` checks it. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= $(shell bash scripts/find-python.sh)
VENV := .venv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.sundial-synced

.PHONY: run test install lint system-deps clean

$(VENV)/bin/uv:
	@test -n "$(PYTHON)" || { echo "make: error: Python 3.11 or newer is required (python3 --version)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(VENV)/bin/uv
	$(VENV)/bin/uv sync --locked --quiet
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/sundial manage migrate --noinput
	$(VENV)/bin/sundial demo
	exec $(VENV)/bin/sundial up --no-migrate

system-deps:
	@bash scripts/system-deps.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

test: install system-deps lint
	bash scripts/test.sh

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
