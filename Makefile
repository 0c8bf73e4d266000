# Kesu: `make run` serves the app with demo data; `make test` runs every test. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app app
CHROMIUM ?= /usr/bin/chromium
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
QUIET_PIP := { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: setup run worker lint test test-postgres bench translations extract clean

setup: $(VENV)/.installed static/vendor/.built translations

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip 2>&1 | $(QUIET_PIP)
	$(BIN)/pip install --quiet -r requirements.txt 2>&1 | $(QUIET_PIP)
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# bpmn-js's distribution and licence as they are, each page script in static/src bundled with esbuild, and the
# scripts' words in each language from the gettext catalogs (static/vendor is git-ignored; the licences of every
# bundled library are copied beside the bundles).
BUNDLED := bpmn-js bpmn-js-properties-panel @bpmn-io/properties-panel camunda-bpmn-moddle camunda-bpmn-js-behaviors \
           bpmn-js-bpmnlint bpmnlint dmn-js bpmn-js-differ bpmn-js-token-simulation diagram-js-minimap
static/vendor/.built: node_modules/.installed static/build_i18n.py $(wildcard translations/*/LC_MESSAGES/messages.po) \
                      $(shell find static/src -name '*.js' -o -name '*.css')
	rm -rf static/vendor && mkdir -p static/vendor/bpmn-js static/vendor/bundles
	cp -r node_modules/bpmn-js/dist/assets node_modules/bpmn-js/dist/*.production.min.js node_modules/bpmn-js/LICENSE static/vendor/bpmn-js/
	node_modules/.bin/esbuild static/src/*.js --bundle --minify --log-level=warning --outdir=static/vendor/bundles \
	  --loader:.woff=file --loader:.woff2=file --loader:.ttf=file --loader:.eot=file --loader:.svg=file
	for p in $(BUNDLED); do cp node_modules/$$p/LICENSE static/vendor/bundles/LICENSE-$$(basename $$p); done
	$(BIN)/python static/build_i18n.py static/vendor/i18n
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d translations 2>&1 | { grep -v '^compiling catalog' || true; }

extract: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o translations/messages.pot --no-location --sort-output app.py demo.py accounts complaints engine forms notifications web templates static/src
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

run: setup $(CHROMIUM)
	$(FLASK) db upgrade
	$(FLASK) kesu demo
	@echo "Kesu is at http://127.0.0.1:$(PORT)/"
	KESU_EMBEDDED_WORKER=1 $(FLASK) run --host 127.0.0.1 --port $(PORT)

# Scale-out timers: Celery workers and beat on Redis (KESU_REDIS_URL) against KESU_DATABASE_URL (PostgreSQL).
# Beat runs once: start further workers with `make worker CELERY_BEAT=`.
CELERY_BEAT ?= --beat --schedule instance/celerybeat-schedule
worker: setup
	mkdir -p instance
	$(BIN)/celery --app worker.celery_app worker $(CELERY_BEAT) --loglevel INFO

$(CHROMIUM):
	apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null

# Ruff and mypy with the settings in pyproject.toml (mypy: strict on engine/ and complaints/).
# The guardrails: ruff (style and bugs), mypy (strict on engine/ and complaints/), import-linter (the layers of
# .importlinter, transitively).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: setup $(CHROMIUM)
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: setup $(CHROMIUM)
	KESU_TEST_DATABASE_URL=$${KESU_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules static/vendor instance
