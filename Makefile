# The two commands a newcomer needs:  make demo   and   make test
# Everything else here is what those two are made of. Nothing needs Docker or a cloud account.

PYTHON ?= python3
VENV := .venv
TOOLS := .venv-tools
PY := $(VENV)/bin/python
SAM := $(TOOLS)/bin/sam
SCAN := .venv-scan
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= ap-southeast-2
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export NO_UPDATE_NOTIFIER := 1
export npm_config_fund := false
export npm_config_audit := false
export npm_config_update_notifier := false
# Browsers are never downloaded: the browser tests drive the system's Chromium (the $(CHROMIUM) rule).
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

.PHONY: demo test api lint typecheck validate scan build layer-check openapi openapi-check unit integration bench ferretdb clean

API_PORT ?= 3000

demo: $(VENV)/.installed ferretdb  ## the whole flow on the local stack, narrated
	$(PY) -m local.demo

api: $(VENV)/.installed ferretdb web  ## template.yaml's routes on 127.0.0.1:$(API_PORT), like sam local start-api (JWTs not verified)
	$(PY) -m local.http_api --port $(API_PORT)

test: lint typecheck validate scan layer-check openapi-check web-test  ## everything CI runs: lint, types, template, security scan, layer, API types, dashboard, all tests
	$(PY) -m pytest
	$(MAKE) browser-test

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

integration: $(VENV)/.installed ferretdb
	$(PY) -m pytest tests/integration

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

validate: $(VENV)/.installed $(TOOLS)/.installed  ## sam validate --lint and cfn-lint, both offline
	$(SAM) validate --lint
	$(VENV)/bin/cfn-lint template.yaml

# Offline: no platform download, no version check (the machine reaches package registries only).
# Any failed check fails the target; a deliberate exception is a `checkov: skip:` entry with its
# reason in the resource's Metadata in template.yaml.
scan: $(SCAN)/.installed  ## checkov over template.yaml: fails on any failed check not skipped in the template
	BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE $(SCAN)/bin/checkov --file template.yaml \
		--framework cloudformation serverless --skip-download --quiet --compact

build: $(TOOLS)/.installed  ## sam build without Docker (makefile build methods, aarch64 wheels)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(SAM) build

layer-check: build  ## every compiled extension in the built layer is aarch64
	$(PY) scripts/check_layer_arch.py .aws-sam/build/CommonLayer

openapi: $(VENV)/.installed openapi/node_modules/.package-lock.json  ## regenerate openapi/openapi.json and openapi/types.ts from the resolvers
	$(PY) scripts/generate_openapi.py
	npm run --silent --prefix openapi generate

openapi-check: $(VENV)/.installed openapi/node_modules/.package-lock.json  ## the committed OpenAPI document and TypeScript types are current
	$(PY) scripts/generate_openapi.py --check
	npm run --silent --prefix openapi check || { echo "openapi/types.ts is out of date: run make openapi" >&2; exit 1; }
	npm run --silent --prefix openapi typecheck

# npm ci writes node_modules/.package-lock.json last: reinstall only when the lock file changed.
openapi/node_modules/.package-lock.json: openapi/package-lock.json
	npm ci --prefix openapi

# ---------------------------------------------------------------- the dashboard (web/)
.PHONY: web web-test browser-test screenshots
WEB_SOURCES := $(shell find web/src -type f) web/index.html web/vite.config.ts web/tsconfig.json openapi/types.ts

web: web/dist/index.html  ## build the dashboard that make api serves at / (rebuilt only when its sources change)

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	npm run --silent --prefix web build

web/node_modules/.package-lock.json: web/package-lock.json
	npm ci --prefix web

web-test: web/node_modules/.package-lock.json  ## the dashboard's types and component tests (vitest)
	cd web && npx tsc --noEmit && npx vitest run

browser-test: $(VENV)/.installed ferretdb web $(CHROMIUM)  ## the dashboard in headless Chromium against make api's stack
	cd web && npx playwright test --project browser

screenshots: $(VENV)/.installed ferretdb web $(CHROMIUM)  ## docs/dashboard.png, taken by the browser test
	cd web && npx playwright test --project screenshots

# Debian's chromium package (CI's machine is Debian too): apt-get as root, sudo otherwise.
$(CHROMIUM):
	$(if $(filter 0,$(shell id -u)),,sudo) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'

bench: $(VENV)/.installed ferretdb  ## create latency against the critical-path bound; cold starts against their floors; webhook overhead; the cost of scale; slow providers against the timeout
	$(PY) -m tests.benchmarks.bench_create_agent
	$(PY) -m tests.benchmarks.bench_cold_start
	$(PY) -m tests.benchmarks.bench_webhook
	$(PY) -m tests.benchmarks.bench_scale
	$(PY) -m tests.benchmarks.bench_slow_providers

.PHONY: unaccounted
unaccounted: $(VENV)/.installed  ## resources tagged for this deployment that no record names (ARGS="--older-than 7d --confirm" releases)
	$(PY) -m voice_agents.operate unaccounted $(ARGS)

ferretdb: $(VENV)/.installed  ## build the local MongoDB-compatible server once (cached per machine)
	$(PY) -c "from local import ferretdb; print(ferretdb.build())"

# The .pth file puts the layer's package on sys.path, as Lambda does with /opt/python.
$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	$(PY) -c "import pathlib, site; pathlib.Path(site.getsitepackages()[0], 'voice-agents-layer.pth').write_text('$(CURDIR)/layers/common\n')"
	touch $@

# aws-sam-cli pins boto3 exactly: it gets a virtualenv of its own.
$(TOOLS)/.installed: requirements-tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet -r requirements-tools.txt
	touch $@

$(SCAN)/.installed: requirements-scan.txt
	$(PYTHON) -m venv $(SCAN)
	$(SCAN)/bin/pip install --quiet -r requirements-scan.txt
	touch $@

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache web/dist
