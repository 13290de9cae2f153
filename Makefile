# The two commands a newcomer needs:  make demo   and   make test
# Everything else here is what those two are made of. Nothing needs Docker or a cloud account.

# The functions run on python3.12 in Lambda: the virtualenvs are built with it when the machine has it
# (on PATH, or in pyenv's versions), with python3 otherwise. `make python` says which.
PYTHON ?= $(shell for candidate in python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3; do \
	"$$candidate" -c 'import sys' >/dev/null 2>&1 && { command -v "$$candidate"; break; }; done)
STEP := scripts/step.sh
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

.PHONY: demo test fuzz api lint typecheck validate scan build layer-check openapi openapi-check unit integration bench ferretdb clean

API_PORT ?= 3000

demo: $(VENV)/.installed ferretdb  ## the whole flow on the local stack, narrated
	$(PY) -m local.demo

api: $(VENV)/.installed ferretdb web  ## template.yaml's routes on 127.0.0.1:$(API_PORT), like sam local start-api (JWTs not verified)
	$(PY) -m local.http_api --port $(API_PORT) --ready-file $(STACK_STATE)

# ---------------------------------------------------------------- one function at a time
.PHONY: stack invoke call events
STACK_STATE := .cache/local-stack.json

stack: $(VENV)/.installed ferretdb  ## the local stack on fixed ports (API 3000, FerretDB 27017, Retell 8081, Twilio 8082) with the events' agent
	$(PY) -m local.http_api --port 3000 --fixed-ports --seed-events --ready-file $(STACK_STATE)

invoke: $(VENV)/.installed  ## FN=<function> EVENT=<file>: one handler in a fresh process, like sam local invoke, against make stack
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=get_agents EVENT=events/get_agent.json" >&2; exit 2; }
	@$(PY) -m local.invoke $(FN) $(EVENT)

call: $(VENV)/.installed  ## AGENT=<id> [ARGS="--play --transfer|--retell-down"]: a signed call to the running local API; prints the TwiML (--play: the whole call, as the caller lives it)
	@test -n "$(AGENT)" || { echo "usage: make call AGENT=<agentId> [ARGS=--play]" >&2; exit 2; }
	@$(PY) -m local.call $(AGENT) $(ARGS)

events: $(VENV)/.installed  ## re-sign events/twilio_webhook.json and rewrite env.json from the local stack's settings
	$(PY) -m local.events

# ---------------------------------------------------------------- does a deployment work? (docs/smoke.md)
.PHONY: smoke smoke-deployed

smoke: $(VENV)/.installed  ## Retell and Twilio through our adapters, with your credentials (SMOKE_STACK=<stack>|local, SMOKE_BUY=1 buys one number); skipped without any
	$(PY) -m smoke.providers

smoke-deployed: $(VENV)/.installed  ## SMOKE_STACK=<stack>|local: an agent created, called, listed and deleted through the deployed API
	$(PY) -m smoke.deployed

test: lint typecheck validate scan layer-check openapi-check web-test  ## everything CI runs: lint, types, template, security scan, layer, API types, dashboard, all tests, the contract fuzzed
	@$(PY) -c "import platform, sys; print(f'==> tests on Python {platform.python_version()} ({sys.executable})')"
	$(PY) -m pytest
	$(MAKE) fuzz
	$(MAKE) browser-test

fuzz: $(VENV)/.installed ferretdb  ## Schemathesis (schemathesis.toml) against a fresh local API: all phases, every check
	$(PY) scripts/contract_fuzz.py

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
	@$(STEP) "npm ci in openapi/" npm ci --prefix openapi

# ---------------------------------------------------------------- the dashboard (web/)
.PHONY: web web-test browser-test screenshots
WEB_SOURCES := $(shell find web/src -type f) web/index.html web/vite.config.ts web/tsconfig.json openapi/types.ts

web: web/dist/index.html  ## build the dashboard that make api serves at / (rebuilt only when its sources change)

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	@$(STEP) "building the dashboard (web/dist)" npm run --silent --prefix web build

web/node_modules/.package-lock.json: web/package-lock.json
	@$(STEP) "npm ci in web/" npm ci --prefix web

web-test: web/node_modules/.package-lock.json  ## the dashboard's types and component tests (vitest)
	cd web && npx tsc --noEmit && npx vitest run

browser-test: $(VENV)/.installed ferretdb web $(CHROMIUM)  ## the dashboard in headless Chromium against make api's stack
	cd web && npx playwright test --project browser

screenshots: $(VENV)/.installed ferretdb web $(CHROMIUM)  ## docs/dashboard.png, taken by the browser test
	cd web && npx playwright test --project screenshots

# Debian's chromium package (CI's machine is Debian too): apt-get as root, sudo otherwise.
$(CHROMIUM):
	$(if $(filter 0,$(shell id -u)),,sudo) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'

bench: $(VENV)/.installed ferretdb  ## create latency against the critical-path bound; cold starts against their floors; webhook overhead and under a flood; the rate limit's cost; a call record's weight; the cost of scale; slow providers against the timeout; notification delivery
	$(PY) -m tests.benchmarks.bench_create_agent
	$(PY) -m tests.benchmarks.bench_update_agent
	$(PY) -m tests.benchmarks.bench_cold_start
	$(PY) -m tests.benchmarks.bench_webhook
	$(PY) -m tests.benchmarks.bench_webhook_flood
	$(PY) -m tests.benchmarks.bench_call_history
	$(PY) -m tests.benchmarks.bench_rate_limit
	$(PY) -m tests.benchmarks.bench_call_record
	$(PY) -m tests.benchmarks.bench_scale
	$(PY) -m tests.benchmarks.bench_slow_providers
	$(PY) -m tests.benchmarks.bench_notifications

.PHONY: unaccounted
unaccounted: $(VENV)/.installed  ## resources tagged for this deployment that no record names (ARGS="--older-than 7d --confirm" releases)
	$(PY) -m voice_agents.repair.operate unaccounted $(ARGS)

.PHONY: repoint
repoint: $(VENV)/.installed  ## numbers and Retell agents to move onto WEBHOOK_BASE_URL (ARGS="--confirm" moves them)
	$(PY) -m voice_agents.repair.operate repoint $(ARGS)

ferretdb: $(VENV)/.installed  ## build the local MongoDB-compatible server once (cached per machine)
	@$(STEP) "FerretDB (built once per machine, about a minute, then cached)" \
		$(PY) -c "from local import ferretdb; print(ferretdb.build())"

# Every virtualenv is installed from a lock, every package checked against its hashes, by the pip of
# requirements-pip.lock (installed first, the same way): the pip a Python bundles may be too old for
# some locks. $(call virtualenv,DIR) makes one.
virtualenv = $(PYTHON) -m venv $(1) && $(1)/bin/pip install --quiet --require-hashes -r requirements-pip.lock

# The .pth file puts the layer's package on sys.path, as Lambda does with /opt/python.
$(VENV)/.installed: requirements-dev.lock requirements-pip.lock
	@$(STEP) "virtualenv $(VENV) with $$($(PYTHON) --version) ($(PYTHON))" sh -c '$(call virtualenv,$(VENV))'
	@$(STEP) "installing requirements-dev.lock into $(VENV) (about a minute the first time)" \
		$(VENV)/bin/pip install --progress-bar off --require-hashes -r requirements-dev.lock
	$(PY) -c "import pathlib, site; pathlib.Path(site.getsitepackages()[0], 'voice-agents-layer.pth').write_text('$(CURDIR)/layers/common\n')"
	touch $@

# aws-sam-cli pins boto3 exactly, checkov many packages: each gets a virtualenv of its own.
$(TOOLS)/.installed: requirements-tools.lock requirements-pip.lock
	@$(STEP) "virtualenv $(TOOLS) for aws-sam-cli" sh -c '$(call virtualenv,$(TOOLS))'
	@$(STEP) "installing requirements-tools.lock into $(TOOLS) (about a minute the first time)" \
		$(TOOLS)/bin/pip install --progress-bar off --require-hashes -r requirements-tools.lock
	touch $@

$(SCAN)/.installed: requirements-scan.lock requirements-pip.lock
	@$(STEP) "virtualenv $(SCAN) for checkov" sh -c '$(call virtualenv,$(SCAN))'
	@$(STEP) "installing requirements-scan.lock into $(SCAN) (about a minute the first time)" \
		$(SCAN)/bin/pip install --progress-bar off --require-hashes -r requirements-scan.lock
	touch $@

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache web/dist

# ---------------------------------------------------------------- locked dependencies
.PHONY: lock python
LOCKER := .venv-lock
UV := $(LOCKER)/bin/uv

# The layer's lock is resolved for Lambda (aarch64, CPython 3.12); development's for every platform and
# Python 3.11+, held to the layer's versions; the tools' (aws-sam-cli, checkov, uv, pip) for every
# platform and Python 3.11+, each on its own. All carry every file's hash; pip installs every one of
# them with --require-hashes.
lock: $(UV)  ## regenerate layers/common/requirements.lock and requirements-{dev,tools,scan,lock,pip}.lock from the .txt files
	@$(STEP) "locking the layer (aarch64, CPython 3.12)" $(UV) pip compile --quiet --generate-hashes \
		--python-version 3.12 --python-platform aarch64-manylinux2014 --no-header \
		--output-file layers/common/requirements.lock layers/common/requirements.txt
	@$(STEP) "locking development" $(UV) pip compile --quiet --generate-hashes --universal \
		--python-version 3.11 --no-header --constraint layers/common/requirements.lock \
		--output-file requirements-dev.lock requirements-dev.txt
	@for tool in tools scan lock pip; do $(STEP) "locking requirements-$$tool.txt" $(UV) pip compile --quiet \
		--generate-hashes --universal --python-version 3.11 --no-header \
		--output-file requirements-$$tool.lock requirements-$$tool.txt || exit 1; done

$(UV): requirements-lock.lock requirements-pip.lock
	@$(STEP) "virtualenv $(LOCKER) with uv" sh -c '$(call virtualenv,$(LOCKER)) && \
		$(LOCKER)/bin/pip install --quiet --require-hashes -r requirements-lock.lock'
	touch $@

python:  ## which Python the virtualenvs are built with
	@echo "$(PYTHON): $$($(PYTHON) --version)"
