# Every target creates/uses .venv and installs what it needs, so each works on a fresh machine
# that has only Python 3.11, pip, Node/npm and gcc.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
PYTEST_ARGS ?=
# Two workers (one per core of the reference machine); each test file stays on one worker, so a
# module's started processes (chain, nodes, Orthanc) are shared by its tests as before.
PYTEST_WORKERS ?= 2
XDIST := -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: help demo test fuzz lint format typecheck bench contracts docs clean

help:
	@echo "make demo       create .venv, install, run the local consortium end to end"
	@echo "make test       install and run the whole test suite (lint + types + pytest)"
	@echo "make fuzz       bounded fuzzing (decoders, OpenAPI surfaces) with many more inputs than make test"
	@echo "make bench      run the benchmarks, results as JSON under bench/results/"
	@echo "make contracts  recompile the Solidity contracts into contracts/artifacts/"
	@echo "make lint       ruff (lint + format check) and mypy --strict"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	@touch $@

# Node.js tools are for development only (compiler, reference engines); running a node never needs them.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-fund --no-audit --loglevel=error
	@touch $@

demo: $(STAMP)
	$(BIN)/medledger demo $(DEMO_ARGS)

# The gateway's pages are tested in a real headless browser (Debian's chromium) and every
# standard against a real third-party implementation: Debian's orthanc (+ DICOMweb plugin)
# and dcmtk (CI runs as root). Orthanc's service is never started; the tests start their own.
DEBIAN_TEST_PACKAGES := chromium orthanc orthanc-dicomweb dcmtk
CHROMIUM_STAMP := $(VENV)/.debian-test-packages
$(CHROMIUM_STAMP): | $(BIN)/python
	@dpkg -s $(DEBIAN_TEST_PACKAGES) >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEBIAN_TEST_PACKAGES); }
	@touch $@

test: $(STAMP) $(NPM_STAMP) $(CHROMIUM_STAMP) lint
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# The fuzz tests also run in make test with few inputs each (tests/fuzz/conftest.py sizes them).
fuzz: $(STAMP) $(NPM_STAMP)
	MEDLEDGER_FUZZ=long $(BIN)/python -m pytest -m fuzz $(XDIST) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

contracts: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m contracts.build

# The CLI reference, the gateway's OpenAPI and docker-compose.yml are generated from the code.
docs: $(STAMP)
	$(BIN)/python -m medledger.docs
	$(BIN)/python -m medledger.compose > docker-compose.yml

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache
