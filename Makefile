# The README's commands. Every target sets up the virtualenv first if it is missing or stale.
SHELL := /bin/bash
.DEFAULT_GOAL := plan

STACK ?= dev
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: plan plan-all test lint typecheck pytest verify query e2e e2e-alerts faults diff bench docs schema clean

$(STAMP): requirements.txt requirements-dev.txt policy/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

## plan: the offline plan of STACK (default dev) with the policy pack -> build/$(STACK)/
plan: $(STAMP)
	@$(PY) -m tooling.plan --stack $(STACK)

## plan-all: the offline plan of every stack
plan-all: $(STAMP)
	@$(PY) -m tooling.plan --all

## policy-report: break every security promise in copies of the stacks' plans; count catches
.PHONY: policy-report
policy-report: $(STAMP)
	@$(PY) -m tooling.mutations

## test: linters, type checks and every test (offline)
test: lint typecheck pytest

lint: $(STAMP)
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .

typecheck: $(STAMP)
	@$(PY) -m mypy .

pytest: $(STAMP)
	@$(PY) -m pytest -q

clean:
	rm -rf build

## docs: regenerate docs/config-reference.md from the config models
docs: $(STAMP)
	@$(PY) -m tooling.config_reference > docs/config-reference.md

## schema: regenerate the committed Fluent Bit plugin schema from the binary (fluent-bit -J)
schema: $(STAMP)
	@$(PY) -m tooling.fluent_bit_schema --write

## verify: prove the demo's audit events reached S3 (stack outputs, or flags in ARGS)
verify: $(STAMP)
	@$(PY) -m tooling.verify --stack $(STACK) $(ARGS)

## query: a named query Q on the stack's Athena workgroup, or on DuckDB with LOCAL=<dir|S3 endpoint>
##        e.g. make query Q=failed-commands STACK=dev START=2026-11-30 END=2026-12-01
##             make query Q=commands-in-pod LOCAL=./archive PARAMS="namespace=demo pod=web-1"
Q ?=
query: $(STAMP)
	@$(PY) -m tooling.query --stack $(STACK) --query "$(Q)" \
		$(if $(LOCAL),--local "$(LOCAL)") $(if $(BUCKET),--bucket "$(BUCKET)") \
		$(if $(START),--start "$(START)") $(if $(END),--end "$(END)") \
		$(foreach p,$(PARAMS),--param "$(p)") $(ARGS)

## e2e: the local stack end to end on this machine (needs fluent-bit and rsyslogd)
e2e: $(STAMP)
	@$(PY) -m tooling.e2e

## faults: the fault table (real fluent-bit, rsyslogd, moto; ~30 min with the 10 min outage)
FAULTS_ARGS ?=
faults: $(STAMP)
	@$(PY) -m tooling.faults $(FAULTS_ARGS)

## e2e-alerts: the alert rules against the real agent and Prometheus, S3 cut and restored (6-9 min)
e2e-alerts: $(STAMP)
	@$(PY) -m tooling.alert_check

## diff: what this change does to every stack's plan, against BASE (default origin/main)
BASE ?= origin/main
DIFF_ARGS ?=
diff: $(STAMP)
	@$(PY) -m tooling.diff --base $(BASE) $(DIFF_ARGS)

## bench: benchmarks (not tests); they print tables
bench: $(STAMP)
	@$(PY) -m bench.plan_speed
	@$(PY) -m bench.rsyslog_throughput
	@$(PY) -m bench.s3_object_sizes
	@$(PY) -m bench.agent_throughput --variants
