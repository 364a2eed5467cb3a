# wayfarer — two commands: `make run` and `make test`.
PROFILE ?= release
TARGET_DIR := $(if $(filter dev,$(PROFILE)),debug,$(PROFILE))

.PHONY: run test deps build bench bench-browser bench-perception lint

## Installs what is missing, builds, and starts the server on embedded defaults
## (SQLite in ./wayfarer-data, local Chromium, offline planner). Prints the URL and,
## on the first start, an API key.
run: deps
	cargo build --profile $(PROFILE) -p wayfarer --bin wayfarer
	./target/$(TARGET_DIR)/wayfarer serve

## Everything: formatting, lints, unit and integration tests (real Chromium, real SQLite).
test: deps
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo test --workspace

## Installs Chromium (and a C compiler) from Debian's packages when missing.
deps:
	@bash scripts/install-deps.sh

build:
	cargo build --profile $(PROFILE) -p wayfarer --bin wayfarer

## API benchmark (numbers go to docs/benchmarks.md).
bench: deps
	cargo build --release -p wayfarer --bin wayfarer
	./target/release/wayfarer bench api

## Perceive+act overhead, lifecycle vs playwright-core, memory per idle session, crash detection.
bench-browser: deps
	cargo build --release -p wayfarer --bin wayfarer
	cd bench/lifecycle && npm install --no-audit --no-fund --silent
	./target/release/wayfarer bench browser

## Tokens per observation on ../shared/corpus vs Playwright MCP and browser-use (npm, PyPI).
bench-perception: deps
	cargo build --release -p wayfarer --bin wayfarer
	bench/perception/run.sh
