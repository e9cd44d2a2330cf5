# The single entry point. Every target installs what it needs first (quietly, and only when inputs changed).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
STAGE ?=
CDK := npx --no-install cdk

# Offline by default: no Node end-of-life banner, no CDK telemetry or notices, no EC2 metadata probing.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export AWS_EC2_METADATA_DISABLED := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install synth diff deploy destroy demo local web lint test test-at test-clock bench mutation clean review smoke ci-deploy deploy-assembly diff-assembly

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMPS)/venv: $(wildcard requirements*.txt) pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing Python dependencies into $(VENV) (log: $(STAMPS)/pip.log)"
	@{ $(PY) -m pip install --upgrade pip==25.3 && $(PY) -m pip install -r requirements-dev.txt \
	   && $(PY) -m pip install --no-deps -e . ; } > $(STAMPS)/pip.log 2>&1 || { tail -n 30 $(STAMPS)/pip.log; exit 1; }
	@$(PY) -c "import aws_cdk, cdk_nag, boto3, moto, aiohttp, pytest, xdist" # fail here if an install above failed
	@touch $@

$(STAMPS)/npm: package.json package-lock.json
	@mkdir -p $(STAMPS)
	@echo "installing Node dependencies (the pinned aws-cdk CLI)"
	@npm ci --no-audit --no-fund --loglevel=error > $(STAMPS)/npm.log 2>&1 || { tail -n 30 $(STAMPS)/npm.log; exit 1; }
	@touch $@

# Debian's faketime, installed only by root (CI); anyone else gets the one line that says what to run.
$(STAMPS)/faketime:
	@mkdir -p $(STAMPS)
	@command -v faketime >/dev/null || { [ "$$(id -u)" = 0 ] && echo "installing Debian faketime (for make test-at)" \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; } \
	  || { echo "make test-at needs faketime: sudo apt-get install faketime" >&2; exit 1; }
	@touch $@

install: $(STAMPS)/venv $(STAMPS)/npm ## Install Python and Node dependencies

synth: install ## Synthesize every stage to cdk.out/ and print what was synthesized
	@$(CDK) synth --quiet $(if $(STAGE),--context stage=$(STAGE)) 2>&1 | grep -vE 'feature flags are not configured|Supply a stack id' || true
	@test -f cdk.out/manifest.json
	@$(PY) -m eventapi.infra.summary cdk.out

diff: install ## Compare a stage with what is deployed (needs AWS credentials): make diff STAGE=dev
	@test -n "$(STAGE)" || { echo "usage: make diff STAGE=<stage>" >&2; exit 2; }
	@$(PY) -m eventapi.deploy preflight --stage $(STAGE) --for diff # credentials, account, bootstrap: before synth
	$(CDK) diff --context stage=$(STAGE)

deploy: install ## Deploy a stage to AWS, then write its endpoints and key to SSM: make deploy STAGE=dev
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=<stage>" >&2; exit 2; }
	@$(PY) -m eventapi.deploy preflight --stage $(STAGE) --for deploy # credentials, account, bootstrap: before synth
	$(CDK) deploy --all --context stage=$(STAGE) --require-approval broadening --outputs-file cdk.out/outputs-$(STAGE).json
	$(PY) -m eventapi.deploy publish --stage $(STAGE) --outputs-file cdk.out/outputs-$(STAGE).json

destroy: install ## Delete a stage from AWS and the SSM parameters the post-deploy step wrote: make destroy STAGE=dev
	@test -n "$(STAGE)" || { echo "usage: make destroy STAGE=<stage>" >&2; exit 2; }
	@$(PY) -m eventapi.deploy preflight --stage $(STAGE) --for destroy # credentials, account, bootstrap: before synth
	$(CDK) destroy --all --context stage=$(STAGE) --force
	$(PY) -m eventapi.deploy unpublish --stage $(STAGE)

demo: $(STAMPS)/venv ## The seed post's scenario on a local Event API: deploy locally, subscribe, publish, receive
	@$(PY) -m eventapi.demo --stage dev

local: $(STAMPS)/venv ## Deploy a stage locally and keep it running (Ctrl-C stops): make local STAGE=dev
	@$(PY) -m eventapi.local up --stage $(or $(STAGE),dev)

web: $(STAMPS)/venv ## The browser page (web/) on a local deploy of dev: prints the URL; Ctrl-C stops everything
	@$(PY) -m eventapi.local web --stage $(or $(STAGE),dev)

lint: install ## ruff (format + check), mypy --strict, eslint (APPSYNC_JS) on handlers/, cfn-lint, actionlint + zizmor on workflows
	@$(VENV)/bin/ruff format --check --quiet .
	@$(VENV)/bin/ruff check --quiet .
	@$(VENV)/bin/mypy eventapi
	@npx --no-install eslint handlers/  # APPSYNC_JS restrictions (@aws-appsync/eslint-plugin); too slow for every synth
	@$(CDK) synth --quiet 2>&1 | grep -vE 'feature flags are not configured|Supply a stack id' || true
	@$(VENV)/bin/cfn-lint cdk.out/*.template.json
	@$(VENV)/bin/actionlint
	@$(VENV)/bin/zizmor --offline --quiet .github/workflows

# pytest's exit 5 (no test collected, or every one deselected) fails the target, and says so.
NO_TEST_RAN = || { rc=$$?; [ $$rc -ne 5 ] || echo "error: pytest ran no test (exit 5); check PYTEST_ARGS" >&2; exit $$rc; }
# In parallel (pytest-xdist, a worker per core): the tests that must not run beside each other share an xdist group,
# given in tests/conftest.py (README, Developing). `make test PYTEST_PARALLEL=` runs serially. The browser tests use an installed Chromium
# (CHROME_PATH, chromium or google-chrome) and skip without one; .ci/run installs it and requires it.
PYTEST_PARALLEL ?= -n auto --dist loadgroup

# The `timing` tests (sub-second budgets on child processes) run after the rest, alone: beside a busy worker they
# measure the machine, not the code.
test: install ## Run the whole test suite (in parallel; the timing tests after it, serially)
	@$(PY) -m pytest $(PYTEST_PARALLEL) -m "not timing" $(PYTEST_ARGS) $(NO_TEST_RAN)
	@$(PY) -m pytest -n 0 -m timing $(PYTEST_ARGS) $(NO_TEST_RAN)

# A month's last minutes, a year's last minute, a leap day: `make test-clock` (and .ci/run) runs the clock tests there.
CLOCK_INSTANTS := 2027-04-30T23:57:00 2027-12-31T23:59:00 2028-02-29T12:00:00

test-at: install $(STAMPS)/faketime ## Run the clock-sensitive tests with every process at another instant: make test-at AT=2027-12-31T23:59:00
	@test -n "$(AT)" || { echo "usage: make test-at AT=YYYY-MM-DDTHH:MM:SS (UTC)" >&2; exit 2; }
	@offset=$$(( $$(date -u -d '$(AT)' +%s) - $$(date -u +%s) )); [ $$offset -lt 0 ] || offset="+$$offset"; \
	  echo "== clock-sensitive tests at $(AT) UTC (faketime $${offset}s for pytest, moto, Node and every child)"; \
	  EVENTAPI_TEST_AT='$(AT)' TZ=UTC faketime -f "$${offset}" \
	    $(PY) -m pytest -m clock -q -p no:cacheprovider $(PYTEST_ARGS) $(NO_TEST_RAN)

test-clock: ## Run the clock-sensitive tests at each of CLOCK_INSTANTS
	@for at in $(CLOCK_INSTANTS); do $(MAKE) --no-print-directory test-at AT=$$at || exit 1; done

bench: $(STAMPS)/venv ## Run the benchmarks (figures and ratios, not pass/fail)
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script; done

# Not part of `make test`: each target reruns its tests once per mutant (minutes per target, not seconds).
mutation: $(STAMPS)/venv ## Mutation-test the security and correctness modules, score per module: make mutation [TARGETS='protocol deploy']
	@$(PY) mutation/run.py $(TARGETS)

# --- CI/CD (the `ci` section of cdk.json; .github/workflows) -------------------------------------------------------
# A stage's stack name, from the one definition in eventapi.config (STAGE passes through the environment).
STACK_OF_STAGE = $$(STAGE=$(STAGE) $(PY) -c 'import os; from eventapi.config import load_stage; print(load_stage(os.environ["STAGE"]).stack_name)')
OLD ?= tests/infra/snapshots
NEW ?= cdk.out
REVIEW_ACCEPT_FILE ?= .github/review-accepted.txt

review: install ## Review template changes for clients and security: make review [OLD=dir] [NEW=dir] [ACCEPT='id ...']
	@if [ "$(NEW)" = cdk.out ]; then $(CDK) synth --quiet 2>&1 | grep -vE 'feature flags are not configured|Supply a stack id' >&2 || true; fi
	@$(PY) -m eventapi.review $(OLD) $(NEW) $(foreach id,$(ACCEPT),--accept $(id)) \
	  $(if $(wildcard $(REVIEW_ACCEPT_FILE)),--accept-file $(REVIEW_ACCEPT_FILE))

smoke: $(STAMPS)/venv ## Smoke-test a deployed stage with every auth mode at hand: make smoke STAGE=dev
	@test -n "$(STAGE)" || { echo "usage: make smoke STAGE=<stage>" >&2; exit 2; }
	@$(PY) -m eventapi.client smoke --stage $(STAGE) $(SMOKE_ARGS)

ci-deploy: install ## Deploy the <App>-ci stack (GitHub OIDC roles) once, with admin credentials
	@stack=$$($(PY) -c 'from eventapi.config import load_config; c = load_config().ci; print(c.stack_name if c else "")'); \
	  test -n "$$stack" || { echo "error: cdk.json has no eventapi.ci section; see README 'CI/CD'" >&2; exit 2; }; \
	  $(CDK) deploy "$$stack" --require-approval broadening --outputs-file cdk.out/outputs-ci.json

deploy-assembly: install ## Deploy a stage from an already synthesized cdk.out, then publish (CI): make deploy-assembly STAGE=dev
	@test -n "$(STAGE)" || { echo "usage: make deploy-assembly STAGE=<stage>" >&2; exit 2; }
	@test -f cdk.out/manifest.json || { echo "error: no cdk.out/manifest.json; run make synth (or download the artifact)" >&2; exit 2; }
	$(CDK) deploy --app cdk.out "$(STACK_OF_STAGE)" --require-approval never --outputs-file cdk.out/outputs-$(STAGE).json
	$(PY) -m eventapi.deploy publish --stage $(STAGE) --outputs-file cdk.out/outputs-$(STAGE).json

diff-assembly: install ## cdk diff of a stage from an already synthesized cdk.out, read-only (CI): make diff-assembly STAGE=dev
	@test -n "$(STAGE)" || { echo "usage: make diff-assembly STAGE=<stage>" >&2; exit 2; }
	$(CDK) diff --app cdk.out "$(STACK_OF_STAGE)" --no-change-set

clean: ## Remove build output (keeps the venv and node_modules)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache mutants
