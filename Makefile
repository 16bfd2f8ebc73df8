# openim-py — the two commands of the README, and a few for developers.
#
#   make run    create .venv (Python >= 3.11), install, run `openim start` (every role, embedded defaults)
#   make test   install the test tools, start PostgreSQL/Redis/etcd if needed, run every check and test
#   make lint   ruff + mypy + import-linter (scripts/check)
#   make fmt    ruff format + ruff's safe fixes
#   make lock   re-resolve requirements/*.txt from pyproject.toml (after changing a dependency there)
#   make bench  every `openim bench` scenario on SQLite and PostgreSQL, server and load on a core each → bench/RESULTS.md
#
# Variables: PYTHON (the interpreter to build .venv with), PYTEST_ARGS (default: 4 pytest-xdist workers; e.g.
# PYTEST_ARGS="-k settings -x" for one process), E2E_ARGS (the same for the e2e step),
# BENCH_ARGS (e.g. BENCH_ARGS="--runs 1 --databases sqlite --scenarios rest").
# .ci/run is `make test` with CI=true: there a PostgreSQL, Redis or etcd that cannot be started is a failure.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

PYTHON ?= python3
# More workers than cores: much of a test's time is waiting (servers, databases, sleeps); docs/development.md#parallel-runs.
# --dist loadfile gives a worker whole files (a module-scoped server starts once; tests that build on each other
# stay in order), in the order of their first test with --no-loadscope-reorder: tests/conftest.py puts the slow tests
# first. (xdist_group/loadgroup does not group with pytest 9 and xdist 3.8.) Each worker has its own PostgreSQL
# database and redis-server (tests/databases.py).
PYTEST_ARGS ?= -q -n 4 --dist loadfile --no-loadscope-reorder --durations=25
E2E_ARGS ?= -q -n 2
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# Every install comes from a lock with hashes; the project itself is built with the locked setuptools.
PIP_LOCKED := $(PIP) --require-hashes -r
INSTALL_SELF := $(PIP) --no-deps --no-build-isolation -e .
UV_VERSION := 0.13.9
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes

.PHONY: help run test lint fmt lock bench

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

run: $(VENV)/.installed
	exec $(BIN)/openim start

# Every step runs even when an earlier one failed, so one CI run shows every failure; the exit code is 1 if any did.
# A new step (the Node.js e2e tests, say) is one more `|| failed+=(name)` line before the summary.
# The tools first: scripts/test-services starts the etcd that scripts/test-tools installs.
test: $(VENV)/.installed-test
	@failed=()
	scripts/test-tools || failed+=(test-tools)
	services=$$(scripts/test-services)
	eval "$$services"
	scripts/check || failed+=(check)
	$(BIN)/python -m pytest $(PYTEST_ARGS) || failed+=(pytest)
	$(BIN)/python -m pytest $(E2E_ARGS) -m e2e tests/e2e || failed+=(e2e)
	if (( $${#failed[@]} )); then echo "make test: FAILED: $${failed[*]}" >&2; exit 1; fi
	echo "make test: all green" >&2

lint: $(VENV)/.installed-test
	@scripts/check

fmt: $(VENV)/.installed-test
	@$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

# Needs taskset and 2 cores; PostgreSQL through scripts/test-services (its database openim_bench is recreated).
bench: $(VENV)/.installed-test
	@services=$$(scripts/test-services)
	$(BIN)/python scripts/bench $(BENCH_ARGS)

# The virtual environment, built with the first Python >= 3.11 found ($(PYTHON) first).
$(BIN)/python:
	@for candidate in $(PYTHON) python3.13 python3.12 python3.11; do
	  if command -v "$$candidate" >/dev/null && "$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
	    echo "creating $(VENV) with $$candidate ($$("$$candidate" --version))" >&2
	    exec "$$candidate" -m venv $(VENV)
	  fi
	done
	echo "openim-py needs Python >= 3.11; install it or run: make PYTHON=/path/to/python3.11 ..." >&2
	exit 1

# Installs are redone only when pyproject.toml or a lock changes (the stamps live inside .venv, so a new .venv
# reinstalls). requirements/run.txt pins what the server needs, requirements/test.txt that plus the test tools.
$(VENV)/.installed: pyproject.toml requirements/run.txt | $(BIN)/python
	@echo "installing openim-py into $(VENV) from requirements/run.txt" >&2
	$(PIP_LOCKED) requirements/run.txt
	$(INSTALL_SELF)
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements/test.txt | $(BIN)/python
	@echo "installing openim-py with its test tools into $(VENV) from requirements/test.txt" >&2
	$(PIP_LOCKED) requirements/test.txt
	$(INSTALL_SELF)
	touch $@ $(VENV)/.installed

# The locks: newest versions pyproject.toml allows, for every platform and Python >= 3.11, with hashes.
lock: | $(BIN)/python
	@$(PIP) "uv==$(UV_VERSION)"
	$(UV_COMPILE) pyproject.toml requirements/build.in -o requirements/run.txt
	$(UV_COMPILE) --extra test pyproject.toml requirements/build.in -o requirements/test.txt
	echo "make lock: requirements/run.txt and requirements/test.txt rewritten; commit them with pyproject.toml" >&2
