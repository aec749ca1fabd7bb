# Two commands for a new user: `make demo` and `make test`. Both build .venv first if needed.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The embedded default runs in development mode (dev-only keys); production sets real ones.
export DEBUG ?= true

.PHONY: install demo test lint bench bench-serving clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

# The browser tests drive Debian's Chromium: `make test` installs it when it is missing.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

$(CHROMIUM):
	@echo "Installing Debian's Chromium for the browser tests (apt-get; set CHROMIUM to use another)"
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install: $(VENV)/.installed node_modules/.installed

demo: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  Hospital Workload demo on http://$(HOST):$(PORT)/"
	@echo "    dashboard       http://$(HOST):$(PORT)/            (sign in as ed_staff, icu_staff, integrator or admin)"
	@echo "    admin           http://$(HOST):$(PORT)/admin/      (admin)"
	@echo "    browsable API   http://$(HOST):$(PORT)/api/v1/"
	@echo "    API docs        http://$(HOST):$(PORT)/api/docs/"
	@echo "    password        $${DEMO_PASSWORD:-ward-demo-2026}  (DEMO_PASSWORD overrides it)"
	@echo ""
	@echo "  replaying the ED's last week at 12x as live events posted to the API, so the dashboard moves (replay.log)"
	$(PY) manage.py replay --department ED --from 7d --speed 12 --post-to http://$(HOST):$(PORT) > replay.log 2>&1 & REPLAY=$$!; \
	trap "kill $$REPLAY 2>/dev/null" EXIT INT TERM; \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

test: install $(CHROMIUM)
	CHROMIUM_PATH=$(CHROMIUM) $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

bench: install
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e ".[dev,bench]"
	$(PY) bench/ingest.py
	$(PY) bench/forecast.py
	$(PY) bench/staffing.py
	$(PY) bench/optimize_latency.py
	$(PY) bench/live_latency.py

# Serving (wrk: gunicorn, daphne, a bare DRF baseline), the locust load test and PostgreSQL restarts
# under load: each takes minutes and the whole machine, so they are not part of `make bench`.
bench-serving: install
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e ".[dev,bench]"
	$(PY) bench/serving.py
	$(PY) bench/load.py
	$(PY) bench/faults.py

clean:
	rm -rf $(VENV) node_modules db.sqlite3 db.sqlite3-shm db.sqlite3-wal staticfiles replay.log
