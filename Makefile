# Everything builds from a fresh clone with only Python 3.11+ and pip.
PYTHON ?= python3
# Where `make serve` listens: `make serve PORT=9000 HOST=0.0.0.0`. Set here with `:=`, so only
# the command line changes them (a HOST or PORT in the shell's environment does not).
HOST := 127.0.0.1
PORT := 8080
VENV := .venv
BIN := $(VENV)/bin
# Two installs: what serving needs, then the test tools on top. `make serve` never installs
# the test tools; `make test` adds them to the same virtual environment.
SERVE_STAMP := $(VENV)/.installed-serve
DEV_STAMP := $(VENV)/.installed-dev
# The panel's browser tests drive Debian's chromium: a Playwright browser download is not possible.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: serve test lint soak bench clean screenshots

$(SERVE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(SERVE_STAMP)

$(DEV_STAMP): $(SERVE_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

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

test: lint $(CHROMIUM)
	$(BIN)/pytest -m "not soak"

# Ten minutes of steady load through three replicas, with figures (tests/faults/test_soak.py).
soak: $(DEV_STAMP)
	$(BIN)/pytest -m soak -s tests/faults

# The README's screenshots of the control panel, from a throwaway hub.
screenshots: $(DEV_STAMP) $(CHROMIUM)
	$(BIN)/python -m tests.web.screenshots docs/screenshots

clean:
	rm -rf $(VENV) .modelport .pytest_cache .mypy_cache .ruff_cache
