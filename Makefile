# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each step is skipped when its result is already there.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KEYS_DIR := keys/generated
STAMP := $(VENV)/.installed
APT_UPDATED := /tmp/.federation-apt-updated

.PHONY: demo test setup system-packages browser-packages test-packages redis assets keys lint fuzz bench profile matching-report clean

demo: setup
	$(BIN)/python -m federation.demo

test: setup browser-packages test-packages redis
	$(BIN)/python -m pytest

setup: system-packages $(STAMP) assets keys

# Debian packages the project truly needs, installed only if missing:
# xmlsec1 (the interop tests check our XML security against the reference tool), redis-server, npm.
system-packages:
	@missing=""; \
	command -v xmlsec1 >/dev/null || missing="$$missing xmlsec1"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  [ -f $(APT_UPDATED) ] || { apt-get update -q && touch $(APT_UPDATED); }; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# Debian packages only the tests need, installed only if missing: redis-sentinel (the hub's store through a
# Sentinel failover), postgresql-client (pg_dump and pg_restore: the matching database's backup test) and
# haproxy (the balancer in front of two hub processes in the soak test, tests/faults/test_soak.py) and nginx
# (TLS in front of the hub, from deploy/nginx/hub.conf: tests/deploy/test_behind_nginx.py).
test-packages:
	@missing=""; \
	command -v redis-sentinel >/dev/null || missing="$$missing redis-sentinel"; \
	command -v haproxy >/dev/null || missing="$$missing haproxy"; \
	command -v nginx >/dev/null || missing="$$missing nginx"; \
	{ command -v pg_dump >/dev/null && command -v pg_restore >/dev/null && command -v psql >/dev/null; } || \
	  missing="$$missing postgresql-client"; \
	command -v sqlite3 >/dev/null || missing="$$missing sqlite3"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages for the tests:$$missing"; \
	  [ -f $(APT_UPDATED) ] || { apt-get update -q && touch $(APT_UPDATED); }; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# Debian's Chromium for the real-browser tests; if it cannot be installed those tests skip and say why.
browser-packages:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  { [ -f $(APT_UPDATED) ] || { apt-get update -q && touch $(APT_UPDATED); }; } && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium || \
	  echo "WARNING: chromium could not be installed; browser tests will be skipped"; }

# The hub's Redis store tests talk to a real Redis on 127.0.0.1:6379; start one only if nothing answers there
# (same flags as the machine's own: no persistence; its data directory if it exists, else /tmp).
redis: system-packages
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
	  dir=/var/lib/redis; [ -d $$dir ] && [ -w $$dir ] || dir=/tmp; \
	  echo "Starting redis-server on 127.0.0.1:6379"; \
	  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir $$dir && \
	  for i in $$(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done; }

$(STAMP): pyproject.toml constraints.txt
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# GOV.UK Frontend (pinned in package.json / package-lock.json), copied where the hub serves it.
assets: hub/static/govuk/.installed

hub/static/govuk/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m federation.assets node_modules/govuk-frontend/dist/govuk hub/static/govuk
	@touch $@

keys: $(STAMP)
	$(BIN)/federation-keys generate $(KEYS_DIR)

lint: $(STAMP)
	$(BIN)/ruff check .

# Coverage-guided fuzzing of the inbound parsers (atheris, the `fuzz` extra). FUZZ_ARGS="--seconds 120" etc.
fuzz: setup
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,fuzz]'
	$(BIN)/python -m tests.fuzz $(FUZZ_ARGS)

# XML security micro-benchmarks, then the journey benchmark: CPU ms per journey per process (from /proc),
# journeys/s and p50/p99 per hop at 1, 4, 16 and 50 concurrent journeys, operations per journey; a table, and
# JSON in var/bench/. BENCH_ARGS="--quick" (a smoke run), "--redis" (the hub on Redis too), "--journeys 200",
# "--driver browser" (the end-to-end tests' BrowserClient instead of the light load driver).
# docs/performance.md says what each figure means.
bench: setup
	$(BIN)/python -m tests.bench.xmlsecurity_bench
	$(BIN)/python -m tests.bench.journey_bench $(BENCH_ARGS)
	$(BIN)/python -m tests.bench.signals_bench
	$(BIN)/python -m tests.bench.handoff_bench

# One service under cProfile over N matched journeys: var/profile/<service>-<UTC>.prof and .txt (where its CPU
# goes per journey, by area and by function; the top 40 functions by cumulative and by own CPU time).
# `make profile SERVICE=matching_service N=100`.
SERVICE ?= hub
N ?= 200
profile: setup
	$(BIN)/python -m tests.bench.profile_service --service $(SERVICE) --journeys $(N)

# The local matcher on the repository's hard set (matching_service/quality): false matches and the
# true-match rate per kind, through the real import, store and decision. `make test` checks the same numbers.
matching-report: $(STAMP)
	$(BIN)/python -m matching_service.quality.report

clean:
	rm -rf $(VENV) node_modules hub/static/govuk
