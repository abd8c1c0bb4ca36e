# vbotflow: one entry point for installing, testing and running.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
# -qq: pip's per-package index warnings on some machines would drown real errors.
PIP     := $(PY) -m pip -qq --disable-pip-version-check

.PHONY: install test lint lock bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt -r requirements-dev.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

# Every benchmark in bench/ (PostgreSQL on 127.0.0.1:5432, wrk); figures go to BENCHMARKS.md by hand.
bench: install
	$(PY) bench/receiver_bench.py $(BENCH_ARGS)

# Re-lock after editing requirements*.in (needs uv: pip install uv).
lock:
	uv pip compile requirements.in -o requirements.txt --python-version 3.11 --no-header
	uv pip compile requirements-dev.in -o requirements-dev.txt --python-version 3.11 --no-header

clean:
	rm -rf $(VENV) var .pytest_cache
