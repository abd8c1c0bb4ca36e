# vbotflow: one entry point for installing, testing and running.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
# -qq: pip's per-package index warnings on some machines would drown real errors.
PIP     := $(PY) -m pip -qq --disable-pip-version-check

.PHONY: install test lint lock clean demo bench
.PHONY: up down

install: python-check $(VENV)/.installed

# The locks are compiled for Python 3.11 (`make lock`): on another version pip fails minutes into the
# install with a resolver error that does not name the cause, so say it first, with the fix.
.PHONY: python-check
python-check:
	@v="$$( { test -x $(PY) && $(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])'; } 2>/dev/null \
	    || $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)"; \
	if [ "$$v" != "3.11" ]; then \
	    echo "error: vbotflow needs Python 3.11 (its pinned requirements are locked for 3.11); found $$v" \
	         "($$(test -x $(PY) && echo $(PY) || echo $(PYTHON)))." >&2; \
	    echo "  fix: install Python 3.11 (e.g. apt-get install python3.11 python3.11-venv, or pyenv install 3.11)," \
	         "then: rm -rf $(VENV) && make install PYTHON=python3.11" >&2; \
	    exit 1; \
	fi

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt -r requirements-dev.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# The main job: the whole product end to end on this machine (see scripts/demo.py).
demo: install
	$(PY) scripts/demo.py

# Benchmarks (figures go to BENCHMARKS.md); reconcile and receiver need PostgreSQL on 127.0.0.1:5432,
# the receiver one also wrk (apt-get install wrk); BENCH_ARGS go to the receiver one.
bench: install
	$(PY) bench/transform_bench.py
	$(PY) bench/reconcile_bench.py
	$(PY) bench/receiver_bench.py $(BENCH_ARGS)
	$(PY) bench/day_bench.py

lint: install
	$(VENV)/bin/ruff check .

# The local stack: Airflow UI/API on 127.0.0.1:8080, receiver, simulator; state in var/ (scripts/local/).
# EXECUTOR=celery: docker-compose's topology as processes (PostgreSQL, Redis, Celery workers, receivers
# behind nginx; README "The distributed stack").
EXECUTOR ?= local
up: install
	VBOTFLOW_VENV=$(abspath $(VENV)) VBOTFLOW_EXECUTOR=$(EXECUTOR) scripts/local/up.sh

down:
	scripts/local/down.sh

# Re-lock after editing requirements*.in (needs uv: pip install uv).
lock:
	uv pip compile requirements.in -o requirements.txt --python-version 3.11 --no-header
	uv pip compile requirements-dev.in -o requirements-dev.txt --python-version 3.11 --no-header
	uv pip compile requirements-deploy.in -o requirements-deploy.txt --python-version 3.11 --no-header

clean: down
	rm -rf $(VENV) var .pytest_cache
