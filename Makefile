# Everything builds from a fresh clone with only Python 3.11+ and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The panel's browser tests drive Debian's chromium: a Playwright browser download is not possible.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: serve test lint soak bench clean screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/modelport serve --host 127.0.0.1 --port 8080 --data-dir .modelport

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

test: lint $(CHROMIUM)
	$(BIN)/pytest -m "not soak"

# Ten minutes of steady load through three replicas, with figures (tests/faults/test_soak.py).
soak: $(STAMP)
	$(BIN)/pytest -m soak -s tests/faults

# The README's screenshots of the control panel, from a throwaway hub.
screenshots: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m tests.web.screenshots docs/screenshots

clean:
	rm -rf $(VENV) .modelport .pytest_cache .mypy_cache .ruff_cache
