# kinesis-sentiment — every command a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
# cargo-lambda finds zig through `python3 -m ziglang`: the venv must come first on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

DEMO_ARGS ?=

.PHONY: help venv ipadic demo test lint unit e2e bench bench-transform bench-lexicon bench-producer bench-put bench-purge bench-iceberg invoke-transform invoke-producer build

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## Install the pinned Python tools (cargo-lambda, zig, emulators) into .venv

$(VENV)/.installed: requirements-dev.txt crates/lexicon/reference/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

# Japanese segmentation: ks-lexicon embeds a vibrato dictionary compiled from Debian's
# mecab-ipadic source (EUC-JP CSVs, BSD-style + ICOT terms), committed under
# crates/lexicon/data/ja so a build needs nothing else; `make unit` installs the package (pinned;
# sudo unless already root) and checks the committed dictionary is what it compiles to.
IPADIC_DIR     := /usr/share/mecab/dic/ipadic
IPADIC_VERSION := 2.7.0-20070801+main-3
SUDO           := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

ipadic: $(IPADIC_DIR)/matrix.def ## Install the Japanese dictionary source the committed dictionary is compiled from (apt: mecab-ipadic)

$(IPADIC_DIR)/matrix.def:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends mecab-ipadic=$(IPADIC_VERSION)

# --no-default-features: the demo is offline, so a newcomer's first build compiles no AWS SDK.
demo: ## Run the whole pipeline locally on the embedded default and show the result
	cargo run --release -q -p kinesis-sentiment --no-default-features -- demo $(DEMO_ARGS)

test: lint unit fuzz-replay e2e infra-check ## fmt check, clippy -D warnings, every test, the fuzz corpus replayed, end to end on emulators, the infra checks

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	python3 .ci/layout.py

# The lexicon ports' references (crates/lexicon/reference, pinned in .venv) are run again and
# their output diffed with the committed corpora, golden files and exported tables (Japanese:
# crates/lexicon/tests/ja.rs runs reference/ja.py --check), and the committed Japanese
# dictionary is compiled again from Debian's mecab-ipadic and compared.
unit: venv ipadic
	cargo test --workspace
	cargo test -p ks-lexicon --test ja_dictionary -- --ignored
	$(PY) crates/lexicon/reference/languages.py --check

# The pipeline end to end on moto and `cargo lambda watch`, through `kinesis-sentiment firehose`.
e2e: venv ## The whole pipeline on local emulators (moto, cargo lambda watch, Comprehend stand-in)
	./.ci/e2e.sh

bench: bench-transform bench-lexicon bench-producer bench-put bench-purge bench-iceberg ## Benchmarks, with the baselines they are compared to

bench-transform:
	cargo bench -p firehose-transform --bench transform

# The transform benchmark writes its event's texts to target/bench/event-texts.jsonl; both VADERs
# score the corpus and those texts, one thread each, so the numbers sit side by side.
bench-lexicon: venv bench-transform
	cargo bench -p ks-lexicon --bench vader -- --texts $(CURDIR)/target/bench/event-texts.jsonl
	$(PY) crates/lexicon/reference/bench.py --texts $(CURDIR)/target/bench/event-texts.jsonl

# The Jetstream rows run the Python baseline (benches/jetstream_baseline.py) with .venv's python.
bench-producer: venv
	cargo bench -p stream-producer --bench producer

# 1 GB of JSON Lines (generated once under target/bench) through the real `kinesis-sentiment put`
# into the Kinesis stand-in: records/s, MB/s, peak RSS, PutRecords calls against the floor.
bench-put:
	cargo bench -p kinesis-sentiment --bench put

# One hour of deletions over 7 days of data: objects read against objects in the bucket, every
# S3 call counted (LIST pages, GET, PUT, DELETE).
bench-purge:
	cargo bench -p ks-purge --bench purge

# The local Firehose into Iceberg tables (copy-on-write updates and deletes) against NDJSON
# objects, on the same input.
bench-iceberg:
	cargo bench -p ks-firehose-local --no-default-features --bench iceberg

invoke-transform: venv ## Run firehose-transform under `cargo lambda watch` and invoke it with events/
	./.ci/invoke-transform.sh

invoke-producer: venv ## Run stream-producer under `cargo lambda watch` against moto and invoke it with events/
	./.ci/invoke-producer.sh

build: venv ## Build every function for Lambda (arm64, release)
	cargo lambda build --release --arm64

# --- Infrastructure (infra/): offline checks and the AWS deployment ---------------------------
# The infra tools live in their own pinned venv: aws-sam-cli and checkov pin boto3 versions that
# would fight the emulator tools in .venv.
INFRA_VENV   := .venv-infra
INFRA_PYTHON ?= python3.11
INFRA_BIN    := $(CURDIR)/$(INFRA_VENV)/bin
# The linters resolve a region even offline; any real one does for the checks.
INFRA_CHECK_REGION ?= us-east-1
# Build output stays under target/ (git-ignored); infra/samconfig.toml is written by the first
# (guided) deploy and holds that deployer's stack name, region and parameters.
SAM_BUILD := $(CURDIR)/target/sam
export SAM_CLI_TELEMETRY := 0

.PHONY: infra-venv infra-check deploy

infra-venv: $(INFRA_VENV)/.installed ## Install the pinned infra tools (sam, cfn-lint, checkov, pytest) into .venv-infra

$(INFRA_VENV)/.installed: infra/requirements.txt
	$(INFRA_PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --disable-pip-version-check -q -r infra/requirements.txt
	touch $@

infra-check: infra-venv ## cfn-lint, sam validate --lint, checkov and the template tests (offline)
	$(INFRA_BIN)/cfn-lint infra/template.yaml
	cd infra && AWS_DEFAULT_REGION=$(INFRA_CHECK_REGION) $(INFRA_BIN)/sam validate --lint --template-file template.yaml
	$(INFRA_BIN)/checkov --quiet --compact --skip-download --framework cloudformation --file infra/template.yaml
	$(INFRA_BIN)/pytest -q -p no:cacheprovider infra/tests

deploy: venv infra-venv ## Build both functions and deploy the stack (the first run asks its questions: sam deploy --guided)
	cd infra && $(INFRA_BIN)/sam build --beta-features --template-file template.yaml --build-dir $(SAM_BUILD)/build --cache-dir $(SAM_BUILD)/cache
	# sam looks for its config beside the template it is given (the built one): name ours.
	cd infra && if [ -f samconfig.toml ]; then \
		$(INFRA_BIN)/sam deploy --template-file $(SAM_BUILD)/build/template.yaml --config-file $(CURDIR)/infra/samconfig.toml; \
	else \
		$(INFRA_BIN)/sam deploy --guided --template-file $(SAM_BUILD)/build/template.yaml --config-file $(CURDIR)/infra/samconfig.toml; \
	fi

# --- Fuzzing (fuzz/): cargo-fuzz targets on nightly; `make test` only replays their corpus -----
# cargo-fuzz is pinned and installed into .tools/ (git-ignored); the nightly toolchain it needs
# is the machine's (`cargo +nightly`). Each target's property lives in fuzz/checks, which the
# replay runs on stable over fuzz/corpus/ and fuzz/regressions/. See fuzz/README.md.
CARGO_FUZZ_VERSION := 0.13.2
TOOLS              := $(CURDIR)/.tools
FUZZ_SECONDS       ?= 60
FUZZ_RUNS          ?=
FUZZ_TARGETS       ?=

.PHONY: fuzz fuzz-tools fuzz-nightly fuzz-replay

fuzz-tools: fuzz-nightly $(TOOLS)/.cargo-fuzz-$(CARGO_FUZZ_VERSION) ## Check for the nightly toolchain and install the pinned cargo-fuzz into .tools/
	@echo "fuzz tools: $$(cargo +nightly --version), $$($(TOOLS)/bin/cargo-fuzz --version)"

fuzz-nightly:
	@cargo +nightly --version >/dev/null 2>&1 || { \
		echo "make fuzz needs the nightly Rust toolchain (cargo +nightly), and this machine has none:"; \
		echo "  rustup toolchain install nightly"; \
		echo "(make test does not: it replays the fuzz corpus on stable)"; exit 2; }

$(TOOLS)/.cargo-fuzz-$(CARGO_FUZZ_VERSION):
	cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked --root $(TOOLS)
	touch $@

# FUZZ_SECONDS per target (FUZZ_RUNS caps executions), FUZZ_TARGETS="kpl put_csv" for some only.
fuzz: fuzz-tools ## Fuzz every target for FUZZ_SECONDS (60) each, then print executions, corpus and crashes per target
	PATH="$(TOOLS)/bin:$$PATH" FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) ./fuzz/run.sh $(FUZZ_TARGETS)

# Shares target/ with the workspace, so the project's crates are not built twice.
fuzz-replay: ## The fuzz checks' fmt and clippy, then every corpus and regression input through its target's check (stable; fuzzes nothing)
	cargo fmt --manifest-path fuzz/Cargo.toml --all -- --check
	CARGO_TARGET_DIR=$(CURDIR)/target cargo clippy --manifest-path fuzz/Cargo.toml -p ks-fuzz-checks --all-targets -- -D warnings
	CARGO_TARGET_DIR=$(CURDIR)/target cargo test --manifest-path fuzz/Cargo.toml -p ks-fuzz-checks
