# fleetwatch: `make setup` installs the tools, `make test` is the whole check (CI runs exactly it).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
# The project's tools (moto, cfn-lint, sam, cargo-lambda) come first on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
ARM64 := aarch64-unknown-linux-gnu

# Functions to build are the `Binary` build properties of template.yaml.
FUNCTIONS = $(shell sed -n 's/^ *Binary: *//p' template.yaml)

DEMO_OUT := target/demo

.PHONY: help demo setup toolchain test lambda-build clean-venv

help:
	@echo "make demo          the whole story on the samples in events/, locally: ALB report, Slack messages, capacity simulation, health check (no AWS account)"
	@echo "make setup         install the pinned test tools into $(VENV) and the arm64 Rust target"
	@echo "make test          setup, fmt check, clippy, all tests, sam validate --lint, arm64 release build, cargo lambda deploy --dry"
	@echo "make lambda-build  cargo lambda build --release --arm64 of every function in template.yaml"

# The functions' code through the CLI, on the samples: the ALB report (documents, Parquet and dead
# letters under $(DEMO_OUT)/alb), every sample event's Slack message, the capacity simulation and
# its chart, a health check against a local server. See scripts/demo.
demo:
	scripts/demo $(DEMO_OUT)

setup: $(VENV)/.installed toolchain

# Rebuilt only when the pins change; pip itself is not upgraded (offline-friendly, reproducible).
$(VENV)/.installed: tools/requirements.txt tools/constraints.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --disable-pip-version-check --quiet \
		-r tools/requirements.txt -c tools/constraints.txt
	touch $@

toolchain:
	@rustup target list --installed | grep -qx $(ARM64) || rustup target add $(ARM64)
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

# Every step is timed (scripts/step) and listed again at the end. The CLI's `aws` feature is on
# for clippy and the tests, so `alerts render --enrich` and SSM secrets are checked too; it adds
# no SDK build (the tests link the SDK anyway) and only the CLI is compiled twice.
STEPS_LOG = $${TMPDIR:-/tmp}/fleetwatch-steps
WITH_CLI_AWS := --features fleetwatch-cli/aws

test: setup
	@rm -f "$(STEPS_LOG)"
	scripts/step "format (cargo fmt --check)" cargo fmt --all --check
	scripts/step "lint (clippy, all features)" \
		cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
	scripts/step "build and run the tests" \
		scripts/cargo-test-summary cargo test --workspace --locked $(WITH_CLI_AWS)
	scripts/step "template (sam validate --lint)" sam validate --lint --template template.yaml
	scripts/step "arm64 release build (cargo lambda)" $(MAKE) --no-print-directory lambda-build
	scripts/step "cargo lambda deploy --dry (every function)" scripts/deploy-dry
	@echo; echo "Steps:"; cat "$(STEPS_LOG)"
	@cat "$${TMPDIR:-/tmp}/fleetwatch-test-summary"

lambda-build: setup
	@if [ -z "$(strip $(FUNCTIONS))" ]; then \
		echo "template.yaml declares no function yet: nothing to build for arm64"; \
	else \
		cargo lambda build --release --arm64 --locked $(addprefix --bin ,$(FUNCTIONS)); \
	fi

clean-venv:
	rm -rf $(VENV)
