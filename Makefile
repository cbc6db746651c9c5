# stdf_duck developer tasks. `make` or `make help` lists them.
# Everything runs in ./.venv (created on demand); Rust builds use the release profile only, so
# `cargo test --release` and `maturin develop --release` share one build of the dependencies.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
CARGO  ?= cargo
BENCH_ARGS ?=
export VIRTUAL_ENV := $(abspath $(VENV))

# the dev extras of pyproject.toml, installed once per change of pyproject.toml
DEV_STAMP := $(VENV)/.dev-deps

.DEFAULT_GOAL := help
.PHONY: help develop extension test test-rust test-python lint bench demo golden clean distclean browser tour
.PHONY: fuzz fuzz-smoke

help: ## list the targets
	@echo "stdf_duck: make <target>"
	@awk 'BEGIN {FS = ":.*?## "} /^[a-zA-Z_-]+:.*?## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print("\n".join(["maturin>=1.7,<2"] + p["dependencies"] + p["optional-dependencies"]["dev"]))' \
		> $(VENV)/dev-requirements.txt
	$(PIP) install --quiet -r $(VENV)/dev-requirements.txt
	@touch $@

develop: $(DEV_STAMP) extension ## create .venv, install maturin and the dev extras, build the native module (release)
	$(VENV)/bin/maturin develop --release

extension: ## build the DuckDB extension (cdylib + metadata footer) into target/release and the package
	CARGO=$(CARGO) $(PYTHON) build-backend/stdf_duck_build.py

test: develop extension ## what CI runs: develop, extension, lint, cargo test --workspace --release, browser, pytest, fuzz-smoke
	$(MAKE) lint
	$(CARGO) test --workspace --release
	$(MAKE) browser
	$(PY) -m pytest -q
	$(MAKE) fuzz-smoke

# headless Chromium for the dashboard's browser tests (tests/test_web_browser.py): Debian's package,
# installed only when /usr/bin/chromium is absent and we may (root, apt-get); else those tests skip
browser: ## install Chromium from Debian for the browser tests when it is absent (root, apt-get)
	@if [ -x /usr/bin/chromium ]; then \
		echo "browser: /usr/bin/chromium present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && \
		echo "browser: installed $$(/usr/bin/chromium --version 2>/dev/null)"; \
	else \
		echo "browser: no /usr/bin/chromium and no root apt-get to install it: the browser tests skip"; \
	fi

test-rust: ## cargo test --workspace --release
	$(CARGO) test --workspace --release

test-python: ## pytest -q (needs `make develop`)
	$(PY) -m pytest -q

PY_SOURCES := stdf_duck tests bench examples

lint: develop ## clippy -D warnings, rustfmt --check, ruff check + format --check, mypy --strict, stubtest of stdf_duck._native
	$(CARGO) clippy --workspace --release --all-targets -- -D warnings
	$(CARGO) fmt --all --check
	$(PY) -m ruff check $(PY_SOURCES)
	$(PY) -m ruff format --check $(PY_SOURCES)
	$(PY) -m mypy --strict --ignore-missing-imports stdf_duck
	$(PY) -m mypy.stubtest stdf_duck._native

bench: develop ## benchmarks: peers (bench/run.py), materialize (bench_materialize.py), sync from FTP (bench_sync.py), analysis latency (bench_analysis.py), dashboard and API latency (bench_web.py); BENCH_ARGS=--quick, STDF2PQ=<checkout of stdf2pq>
	$(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/bench_materialize.py $(BENCH_ARGS) $(if $(STDF2PQ),--stdf2pq $(STDF2PQ))
	$(PY) bench/bench_sync.py $(BENCH_ARGS)
	$(PY) bench/bench_analysis.py $(BENCH_ARGS)
	$(PY) bench/bench_web.py

demo: develop extension ## write a sample lot with stdf-gen, query it with DuckDB, materialize it into an archive
	$(PY) examples/demo.py
	$(PY) examples/demo_archive.py

tour: demo browser ## the README's dashboard pictures: docs/tour/<page>.png of the demo lot (examples/web_tour.py)
	$(PY) examples/web_tour.py

# fuzzing (rust/fuzz/fuzz.sh): libFuzzer on the stable toolchain, its own target dir rust/fuzz/target
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_TARGET ?=

fuzz: ## coverage-guided fuzzing: every target (or FUZZ_TARGET=name) for FUZZ_SECONDS each (default 600)
	CARGO=$(CARGO) FUZZ_SECONDS=$(FUZZ_SECONDS) rust/fuzz/fuzz.sh run $(FUZZ_TARGET)

fuzz-smoke: ## replay rust/fuzz/regressions, then each fuzz target for FUZZ_SMOKE_SECONDS (default 20)
	CARGO=$(CARGO) FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) rust/fuzz/fuzz.sh smoke

golden: ## regenerate tests/fixtures with the project's writer (never edit them by hand)
	$(CARGO) test -p stdf-gen --release -- --ignored regenerate_fixtures

clean: ## remove build outputs (target/, the built module, caches, demo-out/)
	$(CARGO) clean
	rm -f stdf_duck/_native*.so stdf_duck/_native*.pyd
	rm -rf demo-out .pytest_cache .mypy_cache
	find . -name __pycache__ -type d -not -path "./$(VENV)/*" -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
