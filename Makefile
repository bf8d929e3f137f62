# Asgard: `make run` and `make test` work on a fresh machine: each installs what is missing first.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

DEBIAN_PACKAGES := libsqlite3-dev libyaml-dev libcurl4-openssl-dev sqlite3
VENV := .venv
PYTHON := $(VENV)/bin/python
ASGARD := .build/debug/asgard
export ASGARD_DATA_DIR ?= .asgard

.PHONY: help setup debian venv build test run bench bench-debian bench-venv bench-gateway clean

help:
	@echo "make run    install what is missing, build, and bring Asgard up on SQLite with desired/"
	@echo "make test   install what is missing, build, and run every test"
	@echo "make bench  run the benchmarks and print the figures for BENCHMARKS.md"

setup: debian venv

# Debian packages, installed only when one is missing (apt-get update runs once, first).
debian:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Python test clients, pinned, in a local venv; reinstalled when requirements-test.txt changes.
$(VENV)/.installed: requirements-test.txt
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	@touch $@

venv: $(VENV)/.installed

build: setup
	swift build

test: setup
	swift build --build-tests
	$(PYTHON) scripts/check_desired_yaml.py $(ASGARD) desired
	$(ASGARD) policy test policies
	swift test

run: build
	@scripts/run.sh $(ASGARD)

bench: setup
	swift package --package-path Benchmarks benchmark --no-progress --scale | tee .build/bench.txt
	$(PYTHON) scripts/bench_cedarpy.py | tee -a .build/bench.txt
	$(MAKE) --no-print-directory bench-gateway

# The gateway load benchmark (BENCHMARKS.md, "Gateway"): nginx as the upstream, wrk, and a
# LiteLLM proxy in its own venv, each installed only when missing; Asgard in release.
BENCH_DEBIAN_PACKAGES := nginx wrk gcc
BENCH_VENV := .venv-bench

bench-debian:
	@missing=""; for p in $(BENCH_DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BENCH_VENV)/.installed: Benchmarks/gateway/requirements.txt
	@test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r Benchmarks/gateway/requirements.txt
	@touch $@

bench-venv: $(BENCH_VENV)/.installed

bench-gateway: debian bench-debian bench-venv
	swift build -c release --product asgard
	$(BENCH_VENV)/bin/python scripts/bench_gateway.py

clean:
	rm -rf .build Benchmarks/.build $(VENV)
