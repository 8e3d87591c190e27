# litebridge: build the offline JupyterLite site, serve it, test it.
#
#   make serve   install what is needed, build _output/, serve it at http://127.0.0.1:$(PORT)
#   make site    build _output/ only (static files, deployable under any sub-path)
#   make test    install everything (incl. Debian's browsers), build, lint, unit (CPython + node) + browser tests
#   make lint    ruff, mypy, actionlint (.github/workflows) and the JS linter
#   make soak    the soak tests make test leaves out (kernel boots under CPU load, a few minutes)
#   make clean   remove build products (keeps .venv and download caches)
#
# Every step is stamped, so a second run with nothing changed does (almost) nothing.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
BUILD := _build
OUTPUT := _output
CHROMIUM := /usr/bin/chromium
# the other browsers of the test matrix (tests/browser/browsers.py) and the X server WebKit needs
FIREFOX := /usr/bin/firefox-esr
WEBKIT_DRIVER := /usr/bin/WebKitWebDriver
XVFB := /usr/bin/Xvfb
# browsers the browser tests run in (`make browser BROWSERS=chromium` for Chromium only)
BROWSERS ?= chromium firefox webkit
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# the site-building tools (`jupyter`, `jupyter labextension`) must be found by npm scripts
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' py/litebridge/__init__.py)
WHEEL := $(BUILD)/dist/litebridge-$(VERSION)-py3-none-any.whl
PYODIDE_DIR := lite/static/pyodide
PIPLITE_DIR := lite/pypi
HAS_JS := $(wildcard js/package.json)

DEPS_STAMP := $(VENV)/.deps.stamp
NPM_STAMP := js/node_modules/.npm-ci.stamp
SIDECAR_DIR := tests/browser/firefox_sidecar
SIDECAR_STAMP := $(SIDECAR_DIR)/node_modules/.npm-ci.stamp
JS_STAMP := $(BUILD)/js.stamp
PIPLITE_STAMP := $(PIPLITE_DIR)/.stamp
SITE_STAMP := $(OUTPUT)/.site.stamp

PY_SOURCES := $(wildcard py/litebridge/*.py py/ipython_startup/*.py) py/litebridge/py.typed pyproject.toml README.md
JS_SOURCES := $(shell [ -d js ] && find js/src js/scripts -type f 2>/dev/null) $(wildcard js/package.json js/package-lock.json js/tsconfig*.json)
SITE_SOURCES := jupyter_lite_config.json lite/jupyter-lite.json $(shell find content -type f 2>/dev/null)

.PHONY: help serve site test lint unit browser soak deps chromium browsers js clean bench

help:
	@sed -n '3,8p' Makefile | sed 's/^# \{0,1\}//'

# --- environment ---------------------------------------------------------------------------

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(DEPS_STAMP): requirements/site.txt requirements/test.txt requirements/lint.txt | $(PY)
	$(PIP) install --quiet -r requirements/site.txt -r requirements/test.txt -r requirements/lint.txt
	touch $@

deps: $(DEPS_STAMP)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

chromium: $(CHROMIUM)

$(FIREFOX):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq firefox-esr

$(WEBKIT_DRIVER):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq webkit2gtk-driver

$(XVFB):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq xvfb

# puppeteer-core, which drives Firefox for the tests (its own package: not part of the labextension)
$(SIDECAR_STAMP): $(SIDECAR_DIR)/package.json $(SIDECAR_DIR)/package-lock.json
	cd $(SIDECAR_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

browsers: $(CHROMIUM) $(FIREFOX) $(WEBKIT_DRIVER) $(XVFB) $(SIDECAR_STAMP)

# --- JavaScript: labextension + worker helper into py/litebridge/ ---------------------------

ifneq ($(HAS_JS),)
$(NPM_STAMP): js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(JS_STAMP): $(JS_SOURCES) $(NPM_STAMP) $(DEPS_STAMP)
	mkdir -p $(BUILD)
	cd js && npm run --silent build
	touch $@
else
$(NPM_STAMP):
	@echo "js/package.json not found: skipping the npm install"
$(JS_STAMP):
	@echo "js/package.json not found: skipping the JS build (the site has no litebridge labextension)"
endif

js: $(JS_STAMP)

# --- the site -------------------------------------------------------------------------------

$(WHEEL): $(PY_SOURCES) $(JS_STAMP) $(DEPS_STAMP)
	rm -rf $(BUILD)/dist
	$(VENV)/bin/hatchling build -t wheel -d $(BUILD)/dist

$(PYODIDE_DIR)/pyodide-lock.json: $(WHEEL) scripts/assemble_pyodide.py requirements/site.txt
	$(PY) scripts/assemble_pyodide.py --dest $(PYODIDE_DIR) --cache $(BUILD)/pyodide --wheel $(WHEEL) 2> >(grep -v '^WARNING: Location' >&2)

$(PIPLITE_STAMP): requirements/piplite.txt $(DEPS_STAMP)
	rm -rf $(PIPLITE_DIR) && mkdir -p $(PIPLITE_DIR)
	$(PIP) download --quiet --no-deps --only-binary=:all: --python-version 3.14 --implementation py \
		--abi none --platform any --dest $(PIPLITE_DIR) -r requirements/piplite.txt 2> >(grep -v '^WARNING: Location' >&2)
	touch $@

# jupyterlite's doit cache skips its jupyter-lite.json patches when it thinks they ran: always
# build from scratch (a few seconds).
$(SITE_STAMP): $(PYODIDE_DIR)/pyodide-lock.json $(PIPLITE_STAMP) $(SITE_SOURCES) $(DEPS_STAMP)
	rm -rf $(OUTPUT) .jupyterlite.doit.db
	$(VENV)/bin/jupyter lite build --log-level=WARN
	# isolation in the service worker, the kernel package preloaded, embed.js in <site>/litebridge/
	PYTHONPATH=py $(PY) -m litebridge.site_build $(OUTPUT) --wheel $(WHEEL)
	touch $@
	@echo "site built in $(OUTPUT)/ ($$(du -sh $(OUTPUT) | cut -f1))"

site: $(SITE_STAMP)

serve: $(SITE_STAMP)
	PYTHONPATH=py $(PY) -m litebridge.serve --port $(PORT) $(OUTPUT)

# --- checks ---------------------------------------------------------------------------------

lint: $(DEPS_STAMP) $(NPM_STAMP)
	$(VENV)/bin/ruff check py tests scripts bench
	$(VENV)/bin/ruff format --check py tests scripts bench
	$(VENV)/bin/mypy
	MYPYPATH=py:tests/browser $(VENV)/bin/mypy --strict scripts bench tests/browser tests/conftest.py
	$(VENV)/bin/actionlint .github/workflows/*.yml
ifneq ($(HAS_JS),)
	cd js && npm run --silent lint
endif

unit: $(DEPS_STAMP) $(NPM_STAMP)
	$(PY) -m pytest -q tests/unit
ifneq ($(HAS_JS),)
	cd js && npm run --silent test 2>&1 | tail -n 12
endif

browser: $(SITE_STAMP) browsers
	$(PY) -m pytest -q --durations=25 tests/browser $(foreach name,$(BROWSERS),--browser $(name))

# soak tests (marked soak, deselected by `make browser`): kernel boots under CPU load
soak: $(SITE_STAMP) browsers
	$(PY) -m pytest -q tests/browser/test_boot_soak.py --soak

test: $(DEPS_STAMP) browsers $(SITE_STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory browser

# the benchmark of issues 4 and 11 (bench/), Chromium and Firefox ESR: figures, ratios and targets;
# writes bench/results/latest.{json,md}
bench: $(SITE_STAMP) $(CHROMIUM) $(FIREFOX) $(SIDECAR_STAMP)
	$(PY) -m bench

clean:
	rm -rf $(OUTPUT) $(BUILD)/dist $(BUILD)/js.stamp $(PYODIDE_DIR) $(PIPLITE_DIR) .jupyterlite.doit.db
