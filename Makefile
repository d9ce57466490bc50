# reform-search: `make serve` runs the web UI over the default corpus, `make test` runs the tests.
# Both set up a virtualenv in .venv first (torch is installed only for the test extras, CPU build).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: serve test test-fast install install-test system-deps index bench bench-1m lint format docs clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[ui]"
	touch $@

# torch==2.13.0 first: it is a CPU build already on disk; a plain torch requirement pulls CUDA (GBs).
$(BIN)/.installed-test: $(BIN)/.installed
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[ui,st,test]"
	touch $@

install: $(BIN)/.installed

# Debian's Chromium (never a downloaded browser) and a Japanese font, for the browser tests: installed when
# missing and apt-get is at hand (as root, or through sudo); elsewhere the browser tests are skipped.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi ipagothic; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=""; [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-ipafont-gothic >/dev/null \
	    || echo "could not install chromium and fonts-ipafont-gothic: browser tests will be skipped"; \
	  else echo "no apt-get: browser tests will be skipped (install Chromium at /usr/bin/chromium)"; fi; \
	fi

install-test: $(BIN)/.installed-test

## serve: set up, build the index of the default corpus if needed, start the web UI on http://$(HOST):$(PORT)
serve: install
	$(BIN)/reform-search serve --host $(HOST) --port $(PORT)

## test: set up (Python packages; Chromium and a Japanese font from Debian when missing) and run every test
## (two workers: on 2 cores the suite takes about 2 minutes instead of 3). Bytecode is kept in __pycache__
## (gitignored) even where PYTHONDONTWRITEBYTECODE is set: the suite starts the CLI some 200 times, and
## compiling the project's modules anew each time made a second run a fifth slower.
test: install-test system-deps
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -n 2 --dist worksteal

## test-fast: skip the tests that load the real model or a browser
test-fast: install-test
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -m "not model and not browser and not slow"

## index: build or update the index of the default corpus
index: install
	$(BIN)/reform-search index

## bench: measure build, latency, compare, HTTP, ingest, soak, throughput and scale to 100k; rewrite docs/BENCHMARKS.md
bench: install-test
	$(BIN)/python bench/bench.py --out docs/BENCHMARKS.md

## bench-1m: the scale and ANN sections at 10k, 100k and 1M synthetic passages (about an hour)
bench-1m: install-test
	$(BIN)/python bench/bench.py --only scale --only ann --scale-1m --out docs/BENCHMARKS.md

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## docs: regenerate the settings table in README.md from reform_search/settings.py
docs: install
	$(BIN)/python -m reform_search.readme

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist *.egg-info
