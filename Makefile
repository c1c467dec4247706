# The two commands: `make run` (the suite against the embedded reference server) and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test spec mutation benchmark speed clean

run: $(STAMP)
	$(BIN)/conformance run

test: $(STAMP)
	$(BIN)/python -m pytest -n auto

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
