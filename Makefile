# Two commands: `make run` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: run test test-postgres lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/powerstrip serve --dev --with-examples

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

# The tests' Debian programs (espeak-ng for speech, Chromium for the browser tests) are
# installed first when missing, as root.
pytest: $(STAMP)
	bash .ci/apt-packages.sh
	bash .ci/chromium.sh
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/pytest -n auto -m "not restarts_services"
	# The tests that restart PostgreSQL and Redis, alone: they would break tests using them.
	$(BIN)/pytest -n 0 -m restarts_services

# The store and host tests against a throwaway PostgreSQL (installed from Debian when missing, as root).
test-postgres: $(STAMP)
	bash .ci/postgres.sh $(BIN)/pytest -n auto tests/store tests/host tests/server

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/convert_corpus.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
