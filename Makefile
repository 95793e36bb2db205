# Everything builds from a fresh clone with only Python 3.11+ and pip.
PYTHON ?= python3
# Where `make serve` listens: `make serve PORT=9000 HOST=0.0.0.0`. Set here with `:=`, so only
# the command line changes them (a HOST or PORT in the shell's environment does not).
HOST := 127.0.0.1
PORT := 8080
VENV := .venv
BIN := $(VENV)/bin
# Two installs: what serving needs, then the test tools on top, each from its lock file
# (requirements/*.txt: every package pinned, with its hashes; `make lock` rewrites them).
# `make serve` never installs the test tools; `make test` adds them to the same virtual
# environment.
SERVE_STAMP := $(VENV)/.installed-serve
DEV_STAMP := $(VENV)/.installed-dev
SERVE_LOCK := requirements/serve.txt
DEV_LOCK := requirements/dev.txt
# pip-tools lives in a virtual environment of its own: `make lock` never changes .venv.
LOCK_VENV := .venv-lock
# `make lock LOCK_FLAGS=--upgrade` moves every pin to the newest release pyproject allows;
# plain `make lock` keeps the pins it can and adds what pyproject.toml added.
LOCK_FLAGS ?=
PIP_COMPILE = $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_FLAGS)
# The panel's browser tests drive Debian's chromium: a Playwright browser download is not possible.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: serve test lint lock soak bench clean screenshots

$(SERVE_STAMP): pyproject.toml $(SERVE_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(SERVE_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(SERVE_STAMP)

$(DEV_STAMP): $(SERVE_STAMP) $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	touch $(DEV_STAMP)

# The lock files, from pyproject.toml: serving's dependencies, then every extra (the test
# tools and the optional ones) on top, held to the same pins.
lock: $(LOCK_VENV)/bin/pip-compile
	$(PIP_COMPILE) --output-file $(SERVE_LOCK) pyproject.toml
	$(PIP_COMPILE) --all-extras --constraint $(SERVE_LOCK) --output-file $(DEV_LOCK) pyproject.toml

$(LOCK_VENV)/bin/pip-compile:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet 'pip-tools>=7.4'

serve: $(SERVE_STAMP)
	$(BIN)/modelport serve --host $(HOST) --port $(PORT) --data-dir .modelport

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

$(CHROMIUM):
	@echo "The browser tests need Debian's chromium: installing it with apt-get$(if $(SUDO), (through sudo),)."
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

# Two pytest-xdist workers, each test sent to whichever is free: serially the suite keeps the
# machine only half busy (processes starting, tests waiting on leases and timeouts), and side by
# side it took 6m19s against 8m59s on CI's two cores (docs/architecture.md).
test: lint $(CHROMIUM)
	$(BIN)/pytest -m "not soak" -n 2

# Ten minutes of steady load through three replicas, with figures (tests/faults/test_soak.py).
soak: $(DEV_STAMP)
	$(BIN)/pytest -m soak -s tests/faults

# The README's screenshots of the control panel, from a throwaway hub.
screenshots: $(DEV_STAMP) $(CHROMIUM)
	$(BIN)/python -m tests.web.screenshots docs/screenshots

clean:
	rm -rf $(VENV) $(LOCK_VENV) .modelport .pytest_cache .mypy_cache .ruff_cache
