# The two commands: `make run` (the suite against the embedded reference server) and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint spec mutation benchmark speed clean

run: $(STAMP)
	$(BIN)/conformance run

# worksteal: an idle worker takes queued tests from a busy one, so a few long whole-run tests do not end the run alone.
test: lint
	$(BIN)/python -m pytest -n auto --dist worksteal

# ruff (lint and format, 120 columns) and mypy (strict) on the package, as configured in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check conformance
	$(BIN)/ruff format --check conformance
	$(BIN)/mypy

spec: $(STAMP)
	$(BIN)/conformance spec

# The suite against every fault-injected mutant: caught or missed, by which check, and the score.
mutation: $(STAMP)
	$(BIN)/python scripts/mutation.py

# The same, beside plain schemathesis, written to docs/benchmarks.md.
benchmark: $(STAMP)
	$(BIN)/python scripts/mutation.py --with-schemathesis --write docs/benchmarks.md

# Speed side by side (reference server vs Prism, gate vs plain schemathesis), also to docs/benchmarks.md.
speed: $(STAMP)
	$(BIN)/python scripts/bench_speed.py --write docs/benchmarks.md

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache
